//! QEMU's q35 machine as custody's QEMU scenarios run it
//! (`-device intel-iommu -device edu -device pcie-pci-bridge,id=br0
//! -device edu,bus=br0,addr=1`), with the addresses SeaBIOS gives them.
//!
//! The one fact a reader must know: the edu behind the pcie-pci-bridge DMAs
//! with source ID 0x0100, (secondary bus 1, 0.0), not its own 01:01.0.

use crate::addr::Bdf;
use crate::fake::{FakeConfig, FakeFunction};

const fn bdf(bus: u8, dev: u8, func: u8) -> Bdf {
    match Bdf::new(0, bus, dev, func) {
        Ok(b) => b,
        // Only ever evaluated on the constants below, at compile time.
        Err(_) => panic!("bad q35 address"),
    }
}

/// The MCH host bridge (8086:29c0).
pub const HOST_BRIDGE: Bdf = bdf(0, 0, 0);
/// The default VGA (1234:1111), which is why the first edu lands on 00:02.0.
pub const VGA: Bdf = bdf(0, 1, 0);
/// The first edu (1234:11e8), a conventional PCI device on the root bus.
pub const EDU: Bdf = bdf(0, 2, 0);
/// The pcie-pci-bridge (1b36:000e), secondary bus 1.
pub const PCIE_PCI_BRIDGE: Bdf = bdf(0, 3, 0);
/// ICH9 LPC (8086:2918), function 0 of a multi-function device.
pub const LPC: Bdf = bdf(0, 0x1f, 0);
/// ICH9 AHCI (8086:2922).
pub const SATA: Bdf = bdf(0, 0x1f, 2);
/// ICH9 SMBus (8086:2930).
pub const SMBUS: Bdf = bdf(0, 0x1f, 3);
/// The second edu, behind the pcie-pci-bridge.
pub const EDU_BEHIND_BRIDGE: Bdf = bdf(1, 1, 0);
/// The source ID the second edu's DMA carries: (secondary bus 1, 0.0).
pub const EDU_BEHIND_BRIDGE_SOURCE_ID: u16 = 0x0100;

pub const EDU_VENDOR: u16 = 0x1234;
pub const EDU_DEVICE: u16 = 0x11e8;
/// edu's class code: 00/ff (unclassified, "other").
pub const EDU_CLASS: u32 = 0x00ff00;
pub const EDU_BAR0: u32 = 0xfea0_0000;
pub const EDU_BEHIND_BRIDGE_BAR0: u32 = 0xfe80_0000;
/// edu's register window, 1 MiB.
pub const EDU_BAR0_SIZE: u32 = 1 << 20;

/// Capacity of [`machine`]'s table: its 8 functions and room for a test
/// to add a few.
pub const FUNCTIONS: usize = 12;

/// PCIe device/port type value of a PCIe-to-PCI bridge.
const PORT_TYPE_PCIE_TO_PCI: u8 = 0x7;

fn edu(at: Bdf, bar0: u32) -> FakeFunction {
    // QEMU's edu: msi_init(..., 1 vector, 64-bit, no per-vector mask).
    FakeFunction::new(at, EDU_VENDOR, EDU_DEVICE, EDU_CLASS, 0)
        .mem32_bar(0, bar0, EDU_BAR0_SIZE, false)
        .msi(true, false)
}

/// The machine's config space.
pub fn machine() -> FakeConfig<FUNCTIONS> {
    FakeConfig::new()
        .with(FakeFunction::new(HOST_BRIDGE, 0x8086, 0x29c0, 0x060000, 0))
        .with(
            FakeFunction::new(VGA, 0x1234, 0x1111, 0x030000, 0).mem32_bar(
                0,
                0xfd00_0000,
                16 << 20,
                true,
            ),
        )
        .with(edu(EDU, EDU_BAR0))
        .with(
            FakeFunction::new(PCIE_PCI_BRIDGE, 0x1b36, 0x000e, 0x060400, 1)
                .bridge_buses(0, 1, 1)
                .pcie(PORT_TYPE_PCIE_TO_PCI, 0)
                .msi(true, true),
        )
        .with(FakeFunction::new(LPC, 0x8086, 0x2918, 0x060100, 0).multifunction())
        .with(FakeFunction::new(SATA, 0x8086, 0x2922, 0x010601, 0))
        .with(FakeFunction::new(SMBUS, 0x8086, 0x2930, 0x0c0500, 0))
        .with(edu(EDU_BEHIND_BRIDGE, EDU_BEHIND_BRIDGE_BAR0))
}
