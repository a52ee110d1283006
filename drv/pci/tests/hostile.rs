//! Hostile config space: a device may present any header. Enumeration must
//! neither fail for it nor let it take another device's requester IDs.
//!
//! The machine is QEMU's q35 (`pci::q35`): edu0 at 00:02.0, the
//! pcie-pci-bridge 00:03.0 (secondary bus 1), edu1 at 01:01.0 behind it,
//! which DMAs as 01:00.0. edu0 is the device that turns hostile: it sits on
//! bus 0 and is scanned before the real bridge.

use pci::fake::{FakeConfig, FakeFunction};
use pci::{q35, Bdf, Direction, Flaw, PciError, Topology, Unreadable};

fn b(bus: u8, dev: u8, func: u8) -> Bdf {
    Bdf::new(0, bus, dev, func).unwrap()
}

/// Class 06/04, a type 1 header.
const PCI_BRIDGE_CLASS: u32 = 0x060400;
const HEADER_TYPE_BRIDGE: u8 = 1;
/// Offset of the capabilities pointer and of the first capability.
const CAP_POINTER: u16 = 0x34;
const FIRST_CAP: u8 = 0x40;
/// Status register's "capabilities list" bit, as two bytes at 0x06.
const STATUS: u16 = 0x06;
const STATUS_CAPS: [u8; 2] = [0x10, 0x00];

/// What edu1 uses without anything hostile on the bus.
fn edu1_ids() -> [Bdf; 3] {
    [
        q35::EDU_BEHIND_BRIDGE,
        q35::PCIE_PCI_BRIDGE,
        Bdf::from_rid(0, q35::EDU_BEHIND_BRIDGE_SOURCE_ID),
    ]
}

/// edu0 presenting itself as a PCI-to-PCI bridge with these bus numbers.
fn q35_with_fake_bridge(primary: u8, secondary: u8, subordinate: u8) -> FakeConfig<12> {
    q35::machine().with(
        FakeFunction::new(
            q35::EDU,
            q35::EDU_VENDOR,
            q35::EDU_DEVICE,
            PCI_BRIDGE_CLASS,
            HEADER_TYPE_BRIDGE,
        )
        .bridge_buses(primary, secondary, subordinate),
    )
}

/// A function whose capability list is `pointer`, and whose first
/// capability links to `next`.
fn with_caps(f: FakeFunction, pointer: u8, next: u8) -> FakeFunction {
    f.raw(STATUS, &STATUS_CAPS)
        .raw(CAP_POINTER, &[pointer])
        .raw(u16::from(FIRST_CAP), &[0x09, next])
}

fn edu(at: Bdf) -> FakeFunction {
    FakeFunction::new(at, q35::EDU_VENDOR, q35::EDU_DEVICE, q35::EDU_CLASS, 0)
}

#[test]
fn a_fake_bridge_over_a_real_bridges_secondary_bus_with_a_foreign_primary_bus_is_refused_and_the_real_bridges_devices_keep_their_requester_ids(
) {
    // edu0 claims bus 1 but says it sits on bus 0x20.
    let t: Topology<16> = Topology::enumerate(&q35_with_fake_bridge(0x20, 1, 1), 0);
    let fake = t.require(q35::EDU).unwrap();
    assert_eq!(
        fake.flaw,
        Some(Flaw::ForeignPrimaryBus {
            bus: 0,
            primary: 0x20
        })
    );
    let ids = t
        .requester_ids(q35::EDU_BEHIND_BRIDGE, Direction::Assign)
        .unwrap();
    assert_eq!(&ids[..], edu1_ids());
    assert_eq!(
        t.get(q35::EDU_BEHIND_BRIDGE).unwrap().parent,
        Some(q35::PCIE_PCI_BRIDGE)
    );
    assert!(matches!(
        t.requester_ids(q35::EDU, Direction::Assign),
        Err(PciError::NotAssignable { .. } | PciError::Unassignable { .. })
    ));
}

#[test]
fn a_fake_bridge_over_a_real_bridges_secondary_bus_whose_range_leaves_its_bus_is_refused_and_the_real_bridges_devices_keep_their_requester_ids(
) {
    // Secondary 1 above subordinate 0: not a range at all.
    let t: Topology<16> = Topology::enumerate(&q35_with_fake_bridge(0, 1, 0), 0);
    assert!(matches!(
        t.require(q35::EDU).unwrap().flaw,
        Some(Flaw::BusRangeOutsideParent { .. })
    ));
    let ids = t
        .requester_ids(q35::EDU_BEHIND_BRIDGE, Direction::Assign)
        .unwrap();
    assert_eq!(&ids[..], edu1_ids());
}

#[test]
fn a_fake_bridge_cloning_a_real_bridges_bus_numbers_gets_no_bus_and_steals_no_requester_id() {
    // A perfect clone of 00:03.0's bus numbers: config space cannot tell
    // which of the two routes bus 1, so it goes to neither, both claims are
    // reported, and nothing on bus 1 is assignable: no context entry is
    // ever derived from the fake's claim (before, edu1's list was
    // [01:01.0, 00:02.0] and assigning it moved edu0's own entry).
    let t: Topology<16> = Topology::enumerate(&q35_with_fake_bridge(0, 1, 1), 0);
    assert_eq!(
        t.require(q35::EDU).unwrap().flaw,
        Some(Flaw::BusClaimedTwice {
            bus: 1,
            other: q35::PCIE_PCI_BRIDGE
        })
    );
    assert_eq!(
        t.require(q35::PCIE_PCI_BRIDGE).unwrap().flaw,
        Some(Flaw::BusClaimedTwice {
            bus: 1,
            other: q35::EDU
        })
    );
    let edu1 = t.require(q35::EDU_BEHIND_BRIDGE).unwrap();
    assert_eq!(edu1.parent, None, "bus 1 is attributed to neither bridge");
    let expected = Flaw::BehindDisputedBus {
        bus: 1,
        claimants: (q35::EDU, q35::PCIE_PCI_BRIDGE),
    };
    assert_eq!(edu1.flaw, Some(expected));
    assert_eq!(
        t.requester_ids(q35::EDU_BEHIND_BRIDGE, Direction::Assign),
        Err(PciError::Unassignable {
            bdf: q35::EDU_BEHIND_BRIDGE,
            flaw: expected
        })
    );
    // The rest of the machine is untouched.
    assert_eq!(t.functions().len(), 8);
    assert_eq!(
        t.requester_ids(q35::VGA, Direction::Assign).unwrap()[..],
        [q35::VGA]
    );
    let flawed: Vec<Bdf> = t.flawed().map(|f| f.bdf).collect();
    assert_eq!(
        flawed,
        [q35::EDU, q35::PCIE_PCI_BRIDGE, q35::EDU_BEHIND_BRIDGE]
    );
}

#[test]
fn a_bus_claimed_by_two_bridges_goes_to_neither_even_when_their_ranges_only_overlap() {
    // 00:01.0 claims 1..=3, 00:02.0 claims 3..=3; 03:00.0 is on the shared
    // bus, 01:00.0 only behind 00:01.0 (whose whole claim is refused).
    let m = FakeConfig::<4>::new()
        .with(FakeFunction::new(b(0, 1, 0), 0x8086, 1, PCI_BRIDGE_CLASS, 1).bridge_buses(0, 1, 3))
        .with(FakeFunction::new(b(0, 2, 0), 0x8086, 1, PCI_BRIDGE_CLASS, 1).bridge_buses(0, 3, 3))
        .with(edu(b(3, 0, 0)))
        .with(edu(b(1, 0, 0)));
    let t: Topology<8> = Topology::enumerate(&m, 0);
    assert_eq!(
        t.require(b(0, 1, 0)).unwrap().flaw,
        Some(Flaw::BusClaimedTwice {
            bus: 3,
            other: b(0, 2, 0)
        })
    );
    for dev in [b(3, 0, 0), b(1, 0, 0)] {
        assert!(
            matches!(
                t.requester_ids(dev, Direction::Assign),
                Err(PciError::Unassignable { .. })
            ),
            "{dev}"
        );
    }
}

#[test]
fn a_bridge_range_outside_its_parents_range_is_not_followed() {
    // Root port 00:1c.0 opens 2..=4; the bridge on bus 2 claims bus 5.
    let m = FakeConfig::<4>::new()
        .with(
            FakeFunction::new(b(0, 0x1c, 0), 0x8086, 1, PCI_BRIDGE_CLASS, 1)
                .pcie(4, 0)
                .bridge_buses(0, 2, 4),
        )
        .with(FakeFunction::new(b(2, 0, 0), 0x8086, 2, PCI_BRIDGE_CLASS, 1).bridge_buses(2, 5, 5))
        .with(edu(b(5, 0, 0)));
    let t: Topology<4> = Topology::enumerate(&m, 0);
    assert_eq!(
        t.require(b(2, 0, 0)).unwrap().flaw,
        Some(Flaw::BusRangeOutsideParent {
            secondary: 5,
            subordinate: 5,
            first: 2,
            last: 4
        })
    );
    assert!(t.get(b(5, 0, 0)).is_none(), "bus 5 is not walked");
    assert_eq!(t.require(b(0, 0x1c, 0)).unwrap().flaw, None);
}

#[test]
fn a_looping_capability_list_is_reported_and_every_other_device_still_enumerates() {
    // edu0's first capability links back to itself.
    let m = q35::machine().with(with_caps(edu(q35::EDU), FIRST_CAP, FIRST_CAP));
    let t: Topology<16> = Topology::enumerate(&m, 0);
    assert_eq!(t.functions().len(), 8, "every function is still recorded");
    let flaw = Some(Flaw::Unreadable(Unreadable::CapabilityLoop));
    assert_eq!(t.require(q35::EDU).unwrap().flaw, flaw);
    assert_eq!(
        t.requester_ids(q35::EDU, Direction::Assign),
        Err(PciError::Unassignable {
            bdf: q35::EDU,
            flaw: Flaw::Unreadable(Unreadable::CapabilityLoop)
        })
    );
    let ids = t
        .requester_ids(q35::EDU_BEHIND_BRIDGE, Direction::Assign)
        .unwrap();
    assert_eq!(&ids[..], edu1_ids());
    assert_eq!(t.flawed().count(), 1);
}

#[test]
fn a_misaligned_capability_pointer_is_reported_and_the_walk_goes_on() {
    let m = q35::machine().with(with_caps(edu(q35::EDU), FIRST_CAP + 1, 0));
    let t: Topology<16> = Topology::enumerate(&m, 0);
    assert_eq!(
        t.require(q35::EDU).unwrap().flaw,
        Some(Flaw::Unreadable(Unreadable::BadCapabilityPointer(
            FIRST_CAP + 1
        )))
    );
    assert_eq!(t.functions().len(), 8);
}

#[test]
fn devices_behind_a_bridge_with_a_looping_capability_list_are_unassignable_naming_it() {
    // The bridge's kind (PCIe-to-PCI or legacy) decides edu1's aliases, and
    // it cannot be read.
    let bridge = FakeFunction::new(q35::PCIE_PCI_BRIDGE, 0x1b36, 0x000e, PCI_BRIDGE_CLASS, 1)
        .bridge_buses(0, 1, 1);
    let m = q35::machine().with(with_caps(bridge, FIRST_CAP, FIRST_CAP));
    let t: Topology<16> = Topology::enumerate(&m, 0);
    assert_eq!(
        t.requester_ids(q35::EDU_BEHIND_BRIDGE, Direction::Assign),
        Err(PciError::Unassignable {
            bdf: q35::EDU_BEHIND_BRIDGE,
            flaw: Flaw::BehindUnreadableBridge {
                bridge: q35::PCIE_PCI_BRIDGE
            }
        })
    );
    assert_eq!(
        t.requester_ids(q35::EDU, Direction::Assign).unwrap()[..],
        [q35::EDU]
    );
}

#[test]
fn more_than_64_functions_is_a_warning_and_the_first_64_stay_assignable() {
    // Ten multi-function devices of eight functions on bus 0: 80 functions.
    let mut m = FakeConfig::<80>::new();
    for dev in 0..10 {
        for func in 0..8 {
            let f = edu(b(0, dev, func));
            m.add(if func == 0 { f.multifunction() } else { f })
                .unwrap();
        }
    }
    let t: Topology<64> = Topology::enumerate(&m, 0);
    assert_eq!(t.functions().len(), 64);
    assert_eq!(t.beyond_capacity(), 16);
    assert_eq!(t.flawed().count(), 0);
    assert_eq!(
        t.requester_ids(b(0, 7, 7), Direction::Assign).unwrap()[..],
        [b(0, 7, 7)]
    );
    assert_eq!(
        t.requester_ids(b(0, 8, 0), Direction::Assign),
        Err(PciError::NoDevice(b(0, 8, 0))),
        "a function beyond capacity is unknown, so never assigned"
    );
}
