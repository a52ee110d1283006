//! Scope resolution errors and multi-hop paths, on the QEMU machine's
//! config space (`common::qemu_machine`).

mod common;

use acpi::resolve::{resolve_scope, RequesterId, ResolveError, Resolved};
use acpi::Dmar;
use common::{scope, DmarBuilder};

/// Resolves the single scope of a one-DRHD table built around `s`.
fn resolve_one(segment: u16, s: Vec<u8>) -> Result<Resolved, ResolveError> {
    let bytes = DmarBuilder::new(38, 0)
        .drhd(0, segment, 0xfed9_0000, &[s])
        .build();
    let dmar = Dmar::parse(&bytes).unwrap();
    let drhd = dmar.drhds().next().unwrap();
    let scope = drhd.scopes().next().unwrap().unwrap();
    resolve_scope(drhd.segment(), &scope, &common::qemu_machine())
}

const SCOPE_AT: usize = 0x40;

#[test]
fn two_hop_endpoint_path_crosses_the_bridge_to_its_secondary_bus() {
    let r = resolve_one(0, scope(1, 0, 0, &[(3, 0), (1, 0)])).unwrap();
    assert_eq!(r, Resolved::Device(RequesterId::new(1, 1, 0)));
    assert_eq!(RequesterId::new(1, 1, 0).to_string(), "01:01.0");
}

#[test]
fn missing_endpoint_is_device_missing() {
    let e = resolve_one(0, scope(1, 0, 0, &[(5, 0)])).unwrap_err();
    assert_eq!(
        e,
        ResolveError::DeviceMissing {
            scope: SCOPE_AT,
            hop: 0,
            rid: RequesterId::new(0, 5, 0)
        }
    );
    assert_eq!(
        e.to_string(),
        "scope at 0x40: path entry 0: no device at 00:05.0"
    );
}

#[test]
fn missing_device_behind_the_bridge_is_device_missing_at_hop_1() {
    let e = resolve_one(0, scope(1, 0, 0, &[(3, 0), (2, 0)])).unwrap_err();
    assert!(
        matches!(e, ResolveError::DeviceMissing { hop: 1, rid, .. } if rid == RequesterId::new(1, 2, 0))
    );
}

#[test]
fn path_through_an_endpoint_is_not_a_bridge() {
    let e = resolve_one(0, scope(1, 0, 0, &[(2, 0), (0, 0)])).unwrap_err();
    assert_eq!(
        e,
        ResolveError::NotABridge {
            scope: SCOPE_AT,
            hop: 0,
            rid: RequesterId::new(0, 2, 0),
            header_layout: 0
        }
    );
    assert!(e.to_string().contains("not a PCI-to-PCI bridge"));
}

#[test]
fn sub_hierarchy_scope_on_an_endpoint_is_not_a_bridge() {
    let e = resolve_one(0, scope(2, 0, 0, &[(2, 0)])).unwrap_err();
    assert!(matches!(e, ResolveError::NotABridge { hop: 0, .. }));
}

#[test]
fn bridge_with_unassigned_buses_is_buses_unassigned() {
    let mut machine = common::qemu_machine();
    for f in &mut machine.functions {
        if f.bridge.is_some() {
            f.bridge = Some((0, 0));
        }
    }
    let bytes = DmarBuilder::new(38, 0)
        .drhd(0, 0, 0xfed9_0000, &[scope(2, 0, 0, &[(3, 0)])])
        .build();
    let dmar = Dmar::parse(&bytes).unwrap();
    let s = dmar
        .drhds()
        .next()
        .unwrap()
        .scopes()
        .next()
        .unwrap()
        .unwrap();
    let e = resolve_scope(0, &s, &machine).unwrap_err();
    assert_eq!(
        e,
        ResolveError::BusesUnassigned {
            scope: SCOPE_AT,
            rid: RequesterId::new(0, 3, 0),
            secondary: 0,
            subordinate: 0
        }
    );
}

#[test]
fn path_entry_with_device_above_31_is_hop_out_of_range() {
    let e = resolve_one(0, scope(1, 0, 0, &[(0x20, 0)])).unwrap_err();
    assert_eq!(
        e,
        ResolveError::HopOutOfRange {
            scope: SCOPE_AT,
            hop: 0,
            device: 0x20,
            function: 0
        }
    );
    let e = resolve_one(0, scope(1, 0, 0, &[(3, 0), (1, 8)])).unwrap_err();
    assert!(matches!(
        e,
        ResolveError::HopOutOfRange {
            hop: 1,
            function: 8,
            ..
        }
    ));
}

#[test]
fn unreadable_segment_is_config_unreadable() {
    let e = resolve_one(1, scope(1, 0, 0, &[(2, 0)])).unwrap_err();
    assert_eq!(
        e,
        ResolveError::ConfigUnreadable {
            scope: SCOPE_AT,
            bus: 0,
            device: 2,
            function: 0,
            offset: 0
        }
    );
}

#[test]
fn unknown_scope_type_is_unknown_scope_type() {
    let e = resolve_one(0, scope(9, 0, 0, &[(2, 0)])).unwrap_err();
    assert_eq!(
        e,
        ResolveError::UnknownScopeType {
            scope: SCOPE_AT,
            code: 9
        }
    );
}

#[test]
fn ioapic_hpet_and_namespace_scopes_give_their_source_id_without_a_lookup() {
    for kind in [3, 4, 5] {
        // 00:1e.7 does not exist on the machine: not looked up.
        let r = resolve_one(0, scope(kind, 2, 0xf0, &[(0x1e, 7)])).unwrap();
        assert_eq!(r, Resolved::Device(RequesterId::new(0xf0, 0x1e, 7)));
    }
    // But the bridges before the last hop are walked.
    let r = resolve_one(0, scope(3, 0, 0, &[(3, 0), (0x1f, 0)])).unwrap();
    assert_eq!(r, Resolved::Device(RequesterId::new(1, 0x1f, 0)));
}

#[test]
fn hierarchy_covers_the_bridge_and_its_buses_only() {
    let r = Resolved::Hierarchy {
        bridge: RequesterId::new(0, 3, 0),
        secondary: 2,
        subordinate: 4,
    };
    assert!(r.contains(RequesterId::new(0, 3, 0)));
    assert!(r.contains(RequesterId::new(2, 0, 0)));
    assert!(r.contains(RequesterId::new(4, 31, 7)));
    assert!(!r.contains(RequesterId::new(1, 0, 0)));
    assert!(!r.contains(RequesterId::new(5, 0, 0)));
    assert!(!r.contains(RequesterId::new(0, 3, 1)));
    assert_eq!(r.requester_ids().count(), 1 + 3 * 256);
}
