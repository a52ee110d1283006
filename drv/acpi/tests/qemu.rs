//! The DMAR QEMU 7.2 builds for q35 + intel-iommu + edu + pcie-pci-bridge
//! (+ edu behind it), parsed and resolved against a config space describing
//! that machine: the platform the QEMU scenarios run on.

mod common;

use acpi::dmar::{ScopeType, Structure};
use acpi::resolve::{resolve_scope, rmrrs_for, unit_for, RequesterId, Resolved};
use acpi::Dmar;

#[test]
fn qemu_table_has_one_drhd_at_fed90000_with_flags_0() {
    let bytes = common::qemu_table();
    let dmar = Dmar::parse(&bytes).unwrap();
    assert_eq!(dmar.host_address_width(), 39);
    assert_eq!(dmar.flags().0, 0);
    let structures: Vec<_> = dmar.structures().collect::<Result<_, _>>().unwrap();
    assert_eq!(structures.len(), 1);
    let Structure::Drhd(drhd) = structures[0] else {
        panic!("not a DRHD: {:?}", structures[0]);
    };
    assert_eq!(drhd.register_base(), 0xfed9_0000);
    assert_eq!(drhd.flags(), 0);
    assert!(!drhd.include_pci_all());
    assert_eq!(drhd.segment(), 0);
    assert_eq!(dmar.rmrrs().count(), 0, "QEMU never emits an RMRR");
}

/// (type, enumeration ID, start bus, path) of a scope.
type ScopeSummary = (ScopeType, u8, u8, Vec<(u8, u8)>);

#[test]
fn qemu_scopes_are_the_ioapic_the_endpoints_and_the_bridge() {
    let bytes = common::qemu_table();
    let dmar = Dmar::parse(&bytes).unwrap();
    let drhd = dmar.drhds().next().unwrap();
    let scopes: Vec<ScopeSummary> = drhd
        .scopes()
        .map(|s| {
            let s = s.unwrap();
            let path = s.path().iter().map(|p| (p.device, p.function)).collect();
            (s.kind(), s.enumeration_id(), s.start_bus(), path)
        })
        .collect();
    use ScopeType::*;
    assert_eq!(
        scopes,
        vec![
            (IoApic, 0, 0xff, vec![(0, 0)]),
            (PciEndpoint, 0, 0, vec![(0, 0)]),
            (PciEndpoint, 0, 0, vec![(1, 0)]),
            (PciEndpoint, 0, 0, vec![(2, 0)]),
            (PciSubHierarchy, 0, 0, vec![(3, 0)]),
            (PciEndpoint, 0, 0, vec![(0x1f, 0)]),
            (PciEndpoint, 0, 0, vec![(0x1f, 2)]),
            (PciEndpoint, 0, 0, vec![(0x1f, 3)]),
        ]
    );
}

#[test]
fn qemu_scopes_resolve_to_requester_ids_on_the_qemu_machine() {
    let bytes = common::qemu_table();
    let dmar = Dmar::parse(&bytes).unwrap();
    let machine = common::qemu_machine();
    let drhd = dmar.drhds().next().unwrap();
    let resolved: Vec<Resolved> = drhd
        .scopes()
        .map(|s| resolve_scope(drhd.segment(), &s.unwrap(), &machine).unwrap())
        .collect();
    let rid = RequesterId::new;
    assert_eq!(
        resolved,
        vec![
            Resolved::Device(rid(0xff, 0, 0)),
            Resolved::Device(rid(0, 0, 0)),
            Resolved::Device(rid(0, 1, 0)),
            Resolved::Device(rid(0, 2, 0)),
            Resolved::Hierarchy {
                bridge: rid(0, 3, 0),
                secondary: 1,
                subordinate: 1,
            },
            Resolved::Device(rid(0, 0x1f, 0)),
            Resolved::Device(rid(0, 0x1f, 2)),
            Resolved::Device(rid(0, 0x1f, 3)),
        ]
    );
    // The edu behind the bridge is covered through the bridge's scope.
    assert!(resolved[4].contains(rid(1, 1, 0)));
    assert_eq!(rid(1, 1, 0).0, 0x0108);
    let bridge_rids: Vec<RequesterId> = resolved[4].requester_ids().collect();
    assert_eq!(bridge_rids.len(), 1 + 256);
    assert_eq!(bridge_rids[0], rid(0, 3, 0));
}

#[test]
fn both_edu_devices_are_translated_by_the_qemu_unit_and_an_unlisted_one_is_not() {
    let bytes = common::qemu_table();
    let dmar = Dmar::parse(&bytes).unwrap();
    let machine = common::qemu_machine();
    let rid = RequesterId::new;
    for edu in [rid(0, 2, 0), rid(1, 1, 0)] {
        let unit = unit_for(&dmar, 0, edu, &machine).unwrap_or_else(|| panic!("{edu} has no unit"));
        assert_eq!(unit.register_base(), 0xfed9_0000);
        assert_eq!(rmrrs_for(&dmar, 0, edu, &machine).count(), 0);
    }
    // No INCLUDE_PCI_ALL unit: a function no scope lists is not translated.
    assert!(unit_for(&dmar, 0, rid(0, 4, 0), &machine).is_none());
    assert!(unit_for(&dmar, 1, rid(0, 2, 0), &machine).is_none());
}

#[test]
fn qemu_table_renders_with_its_bridge_scope_and_include_all_warning() {
    let bytes = common::qemu_table();
    let text = acpi::report::render_text("qemu", &bytes).unwrap();
    assert!(text.contains("registers 0xfed90000"), "{text}");
    assert!(text.contains("bridge         00:03.0"), "{text}");
    assert!(text.contains("none with INCLUDE_PCI_ALL"), "{text}");
}
