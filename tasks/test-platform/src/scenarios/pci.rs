//! The pci task on the test machine: 00:02.0 an edu, 00:03.0 a
//! pcie-pci-bridge (secondary bus 1), 01:01.0 an edu behind it.

use idl_runtime::ClientError;
use idl_types::{AccessWidth, AliasOrder, Bdf, ConfigRegister, DeviceKind, PciError, TaskIndex};

use crate::{config, ensure, Outcome, Peers};

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

const COMMAND: u16 = 0x04;
const COMMAND_MEMORY: u32 = 1 << 1;
const COMMAND_INTX_DISABLE: u32 = 1 << 10;
const BAR0: u16 = 0x10;
const CAPABILITIES_POINTER: u16 = 0x34;
const CAP_ID_MSI: u32 = 0x05;
/// MSI's message address (low dword) within the capability.
const MSI_ADDRESS_LO: u16 = 0x04;
/// More capabilities than 192 bytes hold: the list loops.
const MAX_CAPS: usize = 48;
/// Values no refused write may leave behind.
const HOSTILE_BAR: u32 = 0xdead_0000;
const HOSTILE_MSI_ADDRESS: u32 = 0xfee0_f000;

/// The runner's own task index (it plays the broker, so it may name
/// itself the edu's owner).
fn me() -> Result<TaskIndex, &'static str> {
    let index = config::TASK_NAMES
        .iter()
        .position(|n| *n == config::TASK_NAME)
        .ok_or("the runner is not in its own task list")?;
    u16::try_from(index)
        .map(TaskIndex)
        .map_err(|_| "task index out of range")
}

fn read(p: &mut Peers, offset: u16, width: AccessWidth) -> Result<u32, &'static str> {
    p.pci
        .config_read(EDU, offset, width)
        .map_err(|_| "the owner's config read failed")
}

/// The edu's MSI capability, found by walking its list through pci.
fn msi_offset(p: &mut Peers) -> Result<u16, &'static str> {
    let mut at = read(p, CAPABILITIES_POINTER, AccessWidth::Byte)? as u16;
    for _ in 0..MAX_CAPS {
        if at == 0 {
            break;
        }
        let header = read(p, at, AccessWidth::Word)?;
        if header & 0xff == CAP_ID_MSI {
            return Ok(at);
        }
        at = (header >> 8) as u16 & 0xfc;
    }
    Err("the edu has no MSI capability")
}

/// Writes `value` as the edu's owner and checks the write was refused
/// naming `register`, and left the register as it was.
fn refused(
    p: &mut Peers,
    offset: u16,
    width: AccessWidth,
    value: u32,
    register: ConfigRegister,
    not_refused: &'static str,
) -> Outcome {
    let before = read(p, offset, width)?;
    let answer = p.pci.config_write(EDU, offset, width, value);
    let after = read(p, offset, width)?;
    if answer.is_ok() {
        // Put it back, so the scenarios after this one see QEMU's machine.
        let _ = p.pci.config_write(EDU, offset, width, before);
        return Err(not_refused);
    }
    ensure(
        answer
            == Err(ClientError::Op(PciError::ProtectedRegister {
                device: EDU,
                offset,
                register,
            })),
        "a protected write was refused without naming its register",
    )?;
    ensure(after == before, "a refused write changed the register")
}

/// What an owner may and may not do with its device's config space.
pub fn owner_writes_refused(p: &mut Peers) -> Outcome {
    let me = me()?;
    p.pci
        .set_owner(EDU, Some(me))
        .map_err(|_| "pci refused to name the runner the edu's owner")?;
    let outcome = owner_writes(p);
    let _ = p.pci.set_owner(EDU, None);
    outcome
}

fn owner_writes(p: &mut Peers) -> Outcome {
    refused(
        p,
        BAR0,
        AccessWidth::Dword,
        HOSTILE_BAR,
        ConfigRegister::Bar(0),
        "the owner's write to BAR0 was not refused",
    )?;
    let command = read(p, COMMAND, AccessWidth::Word)?;
    refused(
        p,
        COMMAND,
        AccessWidth::Word,
        command ^ COMMAND_MEMORY,
        ConfigRegister::CommandDecode,
        "the owner's write to the command register's memory decode bit was not refused",
    )?;
    let msi = msi_offset(p)?;
    refused(
        p,
        msi + MSI_ADDRESS_LO,
        AccessWidth::Dword,
        HOSTILE_MSI_ADDRESS,
        ConfigRegister::Msi,
        "the owner's write to the MSI address was not refused",
    )?;
    // What a driver needs still works: bus mastering, and the command
    // register's other bits.
    let was = p
        .pci
        .enable_bus_master(EDU, true)
        .map_err(|_| "the owner's enable_bus_master was refused")?;
    let command = read(p, COMMAND, AccessWidth::Word)?;
    p.pci
        .config_write(
            EDU,
            COMMAND,
            AccessWidth::Word,
            command ^ COMMAND_INTX_DISABLE,
        )
        .map_err(|_| "the owner's write to the command register's INTx bit was refused")?;
    ensure(
        read(p, COMMAND, AccessWidth::Word)? == command ^ COMMAND_INTX_DISABLE,
        "the owner's INTx write did not land",
    )?;
    p.pci
        .config_write(EDU, COMMAND, AccessWidth::Word, command)
        .map_err(|_| "restoring the command register was refused")?;
    p.pci
        .enable_bus_master(EDU, was)
        .map_err(|_| "restoring bus mastering was refused")?;
    Ok(())
}
