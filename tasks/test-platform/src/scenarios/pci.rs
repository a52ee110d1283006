//! The pci task on the test machine: 00:02.0 an edu, 00:03.0 a
//! pcie-pci-bridge (secondary bus 1), 01:01.0 an edu behind it.

use idl_runtime::ClientError;
use idl_types::{AccessWidth, AliasOrder, Bdf, DeviceKind, PciError};

use crate::{ensure, Outcome, Peers};

pub const EDU: Bdf = Bdf {
    bus: 0,
    device: 2,
    function: 0,
};
pub const BRIDGE: Bdf = Bdf {
    bus: 0,
    device: 3,
    function: 0,
};
pub const BRIDGED_EDU: Bdf = Bdf {
    bus: 1,
    device: 1,
    function: 0,
};
/// The (secondary bus, 0.0) alias a PCIe-to-PCI bridge gives its devices.
const SECBUS_ALIAS: Bdf = Bdf {
    bus: 1,
    device: 0,
    function: 0,
};
const EDU_VENDOR: u16 = 0x1234;
const EDU_DEVICE: u16 = 0x11e8;
const BRIDGE_VENDOR: u16 = 0x1b36;
const BRIDGE_DEVICE: u16 = 0x000e;
/// A type 1 header's bus numbers: primary 7:0, secondary 15:8.
const BRIDGE_BUS_NUMBERS: u16 = 0x18;
/// More functions than the machine has; the walk must end before.
const MAX_FUNCTIONS: usize = 64;

pub fn devices_and_kinds(p: &mut Peers) -> Outcome {
    let mut seen = [false; 3];
    let mut after = None;
    let mut count = 0;
    while let Some(device) = p.pci.next_device(after).map_err(|_| "next_device failed")? {
        count += 1;
        ensure(count <= MAX_FUNCTIONS, "next_device never ends")?;
        let info = p
            .pci
            .device_info(device)
            .map_err(|_| "device_info failed")?;
        ensure(
            info.device == device,
            "device_info answered for another device",
        )?;
        if device == EDU || device == BRIDGED_EDU {
            ensure(
                (info.vendor, info.device_id) == (EDU_VENDOR, EDU_DEVICE),
                "an edu slot holds another device",
            )?;
            // QEMU's edu has no PCI Express capability.
            ensure(
                info.kind == DeviceKind::LegacyEndpoint,
                "the edu is not a legacy endpoint",
            )?;
            seen[usize::from(device == BRIDGED_EDU)] = true;
        }
        if device == BRIDGE {
            ensure(
                (info.vendor, info.device_id) == (BRIDGE_VENDOR, BRIDGE_DEVICE),
                "00:03.0 is not the pcie-pci-bridge",
            )?;
            ensure(
                info.kind == DeviceKind::PcieToPciBridge,
                "the bridge is not a PCIe-to-PCI bridge",
            )?;
            ensure(
                info.secondary_bus == Some(1),
                "the bridge's secondary bus is not 1",
            )?;
            seen[2] = true;
        }
        if device == BRIDGED_EDU {
            ensure(
                info.upstream_bridge == Some(BRIDGE),
                "01:01.0's upstream bridge is not 00:03.0",
            )?;
        }
        after = Some(device);
    }
    ensure(seen[0], "00:02.0 (edu) was not listed")?;
    ensure(seen[1], "01:01.0 (edu behind the bridge) was not listed")?;
    ensure(seen[2], "00:03.0 (the bridge) was not listed")
}

pub fn bridge_aliases(p: &mut Peers) -> Outcome {
    let list = p
        .pci
        .requester_ids(BRIDGED_EDU, AliasOrder::Assign)
        .map_err(|_| "requester_ids failed")?;
    ensure(list.device == BRIDGED_EDU, "answered for another device")?;
    ensure(
        list.ids.as_slice() == [BRIDGED_EDU, BRIDGE, SECBUS_ALIAS],
        "assign order is not [01:01.0, 00:03.0, 01:00.0]",
    )?;
    let own = p
        .pci
        .requester_ids(EDU, AliasOrder::Assign)
        .map_err(|_| "requester_ids failed")?;
    ensure(
        own.ids.as_slice() == [EDU],
        "a root-bus edu has requester IDs besides its own",
    )
}

/// What the acpi task's scope resolution relies on: a listed function's
/// config space reads through the pci task, an unlisted one is `NoDevice`
/// (which acpi treats as an absent function, all ones).
pub fn config_reads(p: &mut Peers) -> Outcome {
    let id = p
        .pci
        .config_read(EDU, 0, AccessWidth::Dword)
        .map_err(|_| "config_read of the edu failed")?;
    ensure(
        id == u32::from(EDU_DEVICE) << 16 | u32::from(EDU_VENDOR),
        "the edu's vendor/device dword is wrong",
    )?;
    let buses = p
        .pci
        .config_read(BRIDGE, BRIDGE_BUS_NUMBERS, AccessWidth::Dword)
        .map_err(|_| "config_read of the bridge failed")?;
    ensure(
        (buses >> 8) & 0xff == 1,
        "the bridge's secondary bus register is not 1",
    )?;
    let unlisted = Bdf {
        bus: 0,
        device: 5,
        function: 0,
    };
    ensure(
        p.pci.config_read(unlisted, 0, AccessWidth::Dword)
            == Err(ClientError::Op(PciError::NoDevice(unlisted))),
        "reading an unlisted function was not refused as NoDevice",
    )
}
