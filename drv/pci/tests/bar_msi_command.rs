//! BAR decoding and sizing, MSI programming, and bus mastering.

use pci::fake::{FakeConfig, FakeFunction};
use pci::{
    is_bus_master, probe_bar_size, q35, read_bar, read_bar0, require_msi, set_bus_master, Bar, Bdf,
    ConfigAccess, MsiCapability, MsiMessage, PciError,
};

fn b(bus: u8, dev: u8, func: u8) -> Bdf {
    Bdf::new(0, bus, dev, func).unwrap()
}

#[test]
fn edu_bar0_decodes_as_a_32_bit_memory_window() {
    let m = q35::machine();
    assert_eq!(
        read_bar0(&m, q35::EDU),
        Ok(Bar::Memory {
            base: 0xfea0_0000,
            prefetchable: false,
            is_64bit: false
        })
    );
    assert_eq!(
        read_bar0(&m, q35::EDU_BEHIND_BRIDGE),
        Ok(Bar::Memory {
            base: 0xfe80_0000,
            prefetchable: false,
            is_64bit: false
        })
    );
    assert_eq!(read_bar(&m, q35::EDU, 1), Ok(Bar::Absent));
}

#[test]
fn bar_probe_finds_edu_1_mib_and_restores_bar_and_command() {
    let mut m = q35::machine();
    m.write16(q35::EDU, 0x04, 0x0006).unwrap();
    assert_eq!(probe_bar_size(&mut m, q35::EDU, 0), Ok(1 << 20));
    assert_eq!(m.read32(q35::EDU, 0x10), Ok(0xfea0_0000));
    assert_eq!(m.read16(q35::EDU, 0x04), Ok(0x0006));
    assert_eq!(probe_bar_size(&mut m, q35::EDU, 1), Ok(0));
}

#[test]
fn a_64_bit_bar_spans_two_slots() {
    let at = b(0, 4, 0);
    let mut m = FakeConfig::<1>::new()
        .with(FakeFunction::new(at, 0x8086, 1, 0x020000, 0).mem64_bar(2, 0x8_0000_0000, 1 << 32));
    assert_eq!(
        read_bar(&m, at, 2),
        Ok(Bar::Memory {
            base: 0x8_0000_0000,
            prefetchable: false,
            is_64bit: true
        })
    );
    assert_eq!(probe_bar_size(&mut m, at, 2), Ok(1 << 32));
    assert_eq!(m.read32(at, 0x18), Ok(0x4));
    assert_eq!(m.read32(at, 0x1c), Ok(0x8));
}

#[test]
fn an_io_bar_decodes_its_port_and_16_bit_size() {
    let at = b(0, 4, 0);
    let mut m = FakeConfig::<1>::new()
        .with(FakeFunction::new(at, 0x8086, 1, 0x020000, 0).io_bar(0, 0xc000, 0x20));
    assert_eq!(read_bar0(&m, at), Ok(Bar::Io { port: 0xc000 }));
    assert_eq!(probe_bar_size(&mut m, at, 0), Ok(0x20));
}

#[test]
fn bar_indices_beyond_the_header_and_a_64_bit_bar_in_the_last_slot_are_errors() {
    let m = q35::machine();
    assert_eq!(
        read_bar(&m, q35::EDU, 6),
        Err(PciError::BarIndexOutOfRange {
            bdf: q35::EDU,
            index: 6,
            bars: 6
        })
    );
    assert!(matches!(
        read_bar(&m, q35::PCIE_PCI_BRIDGE, 2),
        Err(PciError::BarIndexOutOfRange { bars: 2, .. })
    ));
    let at = b(0, 4, 0);
    let m = FakeConfig::<1>::new()
        .with(FakeFunction::new(at, 0x8086, 1, 0x020000, 0).raw(0x24, &[0x04, 0, 0, 0]));
    assert_eq!(
        read_bar(&m, at, 5),
        Err(PciError::Bar64InLastSlot { bdf: at, index: 5 })
    );
}

#[test]
fn x86_msi_message_targets_the_apic_with_the_vector() {
    assert_eq!(
        MsiMessage::x86(1, 0x30),
        MsiMessage {
            address: 0xfee0_1000,
            data: 0x30
        }
    );
}

#[test]
fn a_remappable_msi_message_carries_the_handle_and_the_format_bit() {
    // Handle 3: bits 19:5 = 3, bit 4 (remappable) set, SHV clear, data 0.
    assert_eq!(
        MsiMessage::remappable(3),
        MsiMessage {
            address: 0xfee0_0070,
            data: 0
        }
    );
    // Bit 15 of the handle travels in address bit 2.
    assert_eq!(MsiMessage::remappable(0x8001).address, 0xfee0_0034);
}

#[test]
fn programming_edu_msi_writes_the_64_bit_layout_enables_and_masks_intx() {
    let mut m = q35::machine();
    let mut cap = require_msi(&m, q35::EDU).unwrap();
    assert!(cap.is_64bit() && !cap.per_vector_masking() && !cap.is_enabled());
    assert_eq!(cap.vectors(), 1);
    let msg = MsiMessage::x86(0, 0x41);
    cap.program(&mut m, q35::EDU, msg).unwrap();
    assert_eq!(cap.read_message(&m, q35::EDU), Ok(msg));
    let fresh = MsiCapability::find(&m, q35::EDU).unwrap().unwrap();
    assert!(fresh.is_enabled());
    assert_eq!(m.read16(q35::EDU, cap.offset as u16 + 0x0c), Ok(0x41));
    assert_ne!(m.read16(q35::EDU, 0x04).unwrap() & (1 << 10), 0);
    cap.disable(&mut m, q35::EDU).unwrap();
    assert!(!MsiCapability::find(&m, q35::EDU)
        .unwrap()
        .unwrap()
        .is_enabled());
}

#[test]
fn a_32_bit_msi_capability_puts_data_at_8_and_refuses_high_addresses() {
    let at = b(0, 4, 0);
    let mut m = FakeConfig::<1>::new()
        .with(FakeFunction::new(at, 0x8086, 1, 0x020000, 0).msi(false, false));
    let mut cap = require_msi(&m, at).unwrap();
    cap.program(&mut m, at, MsiMessage::x86(2, 0x50)).unwrap();
    assert_eq!(m.read16(at, cap.offset as u16 + 0x08), Ok(0x50));
    assert_eq!(m.read32(at, cap.offset as u16 + 0x04), Ok(0xfee0_2000));
    let wide = MsiMessage {
        address: 1 << 32,
        data: 0,
    };
    assert_eq!(
        cap.program(&mut m, at, wide),
        Err(PciError::MsiAddressTooWide {
            bdf: at,
            address: 1 << 32
        })
    );
}

#[test]
fn a_device_without_msi_is_named_in_the_error() {
    let m = q35::machine();
    assert_eq!(
        require_msi(&m, q35::HOST_BRIDGE),
        Err(PciError::NoMsi(q35::HOST_BRIDGE))
    );
}

#[test]
fn bus_master_enable_sets_and_clears_only_its_bit() {
    let mut m = q35::machine();
    m.write16(q35::EDU, 0x04, 0x0002).unwrap();
    assert_eq!(set_bus_master(&mut m, q35::EDU, true), Ok(0x0002));
    assert_eq!(m.read16(q35::EDU, 0x04), Ok(0x0006));
    assert_eq!(is_bus_master(&m, q35::EDU), Ok(true));
    assert_eq!(set_bus_master(&mut m, q35::EDU, false), Ok(0x0006));
    assert_eq!(m.read16(q35::EDU, 0x04), Ok(0x0002));
    assert_eq!(
        set_bus_master(&mut m, b(0, 9, 0), true),
        Err(PciError::NoDevice(b(0, 9, 0)))
    );
}
