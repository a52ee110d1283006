//! The acpi task on QEMU's DMAR: one unit at 0xfed90000 whose scopes name
//! the root-bus devices, the pcie-pci-bridge as a sub-hierarchy (resolved
//! through the pci task's config reads), and the RMRR app.toml adds.

use idl_types::{Bdf, MemRange, ResolvedScope, ScopeKind, UnitId};

use super::pci::{BRIDGE, BRIDGED_EDU, EDU};
use crate::{config, ensure, Outcome, Peers};

/// QEMU's intel-iommu register page.
const QEMU_VTD_BASE: u64 = 0xfed9_0000;
/// More scopes than QEMU's table has; the walk must end before.
const MAX_SCOPES: u16 = 64;

pub fn unit_at_fed90000(p: &mut Peers) -> Outcome {
    let count = p.acpi.unit_count().map_err(|_| "unit_count failed")?;
    ensure(count == 1, "QEMU has one unit; acpi reports another count")?;
    let info = p
        .acpi
        .unit_info(UnitId(0))
        .map_err(|_| "unit_info(0) failed")?;
    ensure(
        info.unit == UnitId(0),
        "unit_info answered for another unit",
    )?;
    ensure(
        info.register_base == QEMU_VTD_BASE,
        "unit 0 is not at 0xfed90000",
    )?;
    ensure(info.segment == 0, "unit 0 is not on segment 0")?;
    ensure(
        p.acpi.unit_info(UnitId(1)).is_err(),
        "unit_info(1) answered though there is one unit",
    )
}

pub fn bridge_scope(p: &mut Peers) -> Outcome {
    let unit = p
        .acpi
        .unit_of(BRIDGED_EDU)
        .map_err(|_| "unit_of(01:01.0) failed: the bridge scope did not resolve")?;
    ensure(unit == UnitId(0), "01:01.0 is not covered by unit 0")?;
    ensure(
        p.acpi.unit_of(EDU) == Ok(UnitId(0)),
        "00:02.0 is not covered by unit 0",
    )?;
    let mut bridge_hierarchy = false;
    let mut edu_endpoint = false;
    let mut index = 0;
    loop {
        let scope = p
            .acpi
            .unit_scope(UnitId(0), index)
            .map_err(|_| "unit_scope failed")?;
        let Some(scope) = scope else { break };
        match (scope.kind, scope.resolved) {
            (
                ScopeKind::PciSubHierarchy,
                ResolvedScope::Hierarchy {
                    bridge,
                    secondary,
                    subordinate,
                },
            ) if bridge == BRIDGE => {
                ensure(
                    secondary == 1 && subordinate == 1,
                    "the bridge's hierarchy is not bus 1",
                )?;
                bridge_hierarchy = true;
            }
            (ScopeKind::PciEndpoint, ResolvedScope::Device(d)) if d == EDU => edu_endpoint = true,
            _ => {}
        }
        index += 1;
        ensure(index < MAX_SCOPES, "unit_scope never ends")?;
    }
    ensure(bridge_hierarchy, "no scope resolved to the bridge's bus 1")?;
    ensure(edu_endpoint, "no scope resolved to the edu at 00:02.0")
}

pub fn configured_rmrr(p: &mut Peers) -> Outcome {
    let rmrr = config::system::RMRRS
        .first()
        .ok_or("app.toml declares no RMRR to look for")?;
    let (base, end) = (rmrr.base, rmrr.end);
    let wanted = MemRange { base, end };
    let mut named = [false; 2];
    for d in rmrr.devices {
        let device = Bdf::from_requester_id(d.rid);
        let list = p.acpi.rmrrs_of(device).map_err(|_| "rmrrs_of failed")?;
        ensure(
            list.device == device,
            "rmrrs_of answered for another device",
        )?;
        ensure(
            list.ranges.as_slice() == [wanted],
            "the configured RMRR is not its device's only RMRR",
        )?;
        for (i, d) in [EDU, BRIDGED_EDU].iter().enumerate() {
            if *d == device {
                named[i] = true;
            }
        }
    }
    for (i, d) in [EDU, BRIDGED_EDU].into_iter().enumerate() {
        if !named[i] {
            let list = p.acpi.rmrrs_of(d).map_err(|_| "rmrrs_of failed")?;
            ensure(
                list.ranges.is_empty(),
                "a device the RMRR does not name has an RMRR",
            )?;
        }
    }
    ensure(
        named.contains(&false),
        "the RMRR names both edus: nothing shows it is per device",
    )
}

pub fn raw_dmar(p: &mut Peers) -> Outcome {
    let mut head = [0u8; 48];
    let length = p
        .acpi
        .read_dmar(0, &mut head)
        .map_err(|_| "read_dmar failed")?;
    ensure(&head[..4] == b"DMAR", "the table does not start with DMAR")?;
    let declared = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    ensure(declared == length, "the reported length is not the table's")?;
    ensure(
        p.acpi.read_dmar(length + 1, &mut head).is_err(),
        "a read past the table's end was answered",
    )
}
