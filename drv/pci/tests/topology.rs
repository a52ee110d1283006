//! Enumeration, upstream bridges, requester IDs and the ME WiFi quirk.

use pci::fake::{FakeConfig, FakeFunction};
use pci::quirks::{me_wifi_phantom, ME_WIFI_PLATFORMS};
use pci::{q35, Bdf, DeviceType, Direction, PciError, Topology};

fn b(bus: u8, dev: u8, func: u8) -> Bdf {
    Bdf::new(0, bus, dev, func).unwrap()
}

fn q35_topology() -> Topology<16> {
    Topology::enumerate(&q35::machine(), 0)
}

#[test]
fn q35_enumeration_finds_every_function_including_behind_the_bridge() {
    let t = q35_topology();
    let found: Vec<Bdf> = t.functions().iter().map(|f| f.bdf).collect();
    assert_eq!(
        found,
        [
            q35::HOST_BRIDGE,
            q35::VGA,
            q35::EDU,
            q35::PCIE_PCI_BRIDGE,
            q35::LPC,
            q35::SATA,
            q35::SMBUS,
            q35::EDU_BEHIND_BRIDGE,
        ]
    );
    let edu2 = t.get(q35::EDU_BEHIND_BRIDGE).unwrap();
    assert_eq!(edu2.parent, Some(q35::PCIE_PCI_BRIDGE));
    assert_eq!(t.get(q35::EDU).unwrap().parent, None);
    assert_eq!(
        t.get(q35::PCIE_PCI_BRIDGE)
            .unwrap()
            .buses
            .map(|b| b.secondary),
        Some(1)
    );
}

#[test]
fn functions_above_0_are_scanned_only_on_multifunction_devices() {
    // 00:04.1 answers, but 00:04.0 does not say multi-function.
    let m = FakeConfig::<4>::new()
        .with(FakeFunction::new(b(0, 4, 0), 0x8086, 1, 0x020000, 0))
        .with(FakeFunction::new(b(0, 4, 1), 0x8086, 2, 0x020000, 0));
    let t: Topology<4> = Topology::enumerate(&m, 0);
    assert!(t.get(b(0, 4, 1)).is_none());
    let m = m.with(FakeFunction::new(b(0, 4, 0), 0x8086, 1, 0x020000, 0).multifunction());
    let t: Topology<4> = Topology::enumerate(&m, 0);
    assert!(t.get(b(0, 4, 1)).is_some());
}

#[test]
fn a_bridge_pointing_back_at_a_visited_bus_is_not_followed() {
    let m = FakeConfig::<4>::new()
        .with(FakeFunction::new(b(0, 1, 0), 0x8086, 1, 0x060400, 1).bridge_buses(0, 1, 1))
        // A bridge on bus 1 whose secondary bus is 0 again, and one to 1.
        .with(FakeFunction::new(b(1, 0, 0), 0x8086, 1, 0x060400, 1).bridge_buses(1, 0, 0))
        .with(FakeFunction::new(b(1, 1, 0), 0x8086, 1, 0x060400, 1).bridge_buses(1, 1, 1));
    let t: Topology<8> = Topology::enumerate(&m, 0);
    assert_eq!(t.functions().len(), 3);
}

#[test]
fn running_out_of_capacity_is_counted_not_an_error() {
    let t = Topology::<4>::enumerate(&q35::machine(), 0);
    assert_eq!(t.functions().len(), 4);
    assert_eq!(t.beyond_capacity(), 4);
}

#[test]
fn upstream_bridge_of_the_edu_behind_the_bridge_is_the_bridge_with_secbus_1() {
    let t = q35_topology();
    let up = t.upstream_bridge(q35::EDU_BEHIND_BRIDGE).unwrap().unwrap();
    assert_eq!(up.bridge, q35::PCIE_PCI_BRIDGE);
    assert_eq!(up.kind, DeviceType::PcieToPciBridge);
    assert_eq!(up.secondary_bus, 1);
    assert_eq!(t.upstream_bridge(q35::EDU), Ok(None));
}

#[test]
fn edu_behind_the_pcie_pci_bridge_uses_its_id_the_bridge_and_secbus_0_0() {
    let t = q35_topology();
    let ids = t
        .requester_ids(q35::EDU_BEHIND_BRIDGE, Direction::Assign)
        .unwrap();
    assert_eq!(
        &ids[..],
        [
            q35::EDU_BEHIND_BRIDGE,
            q35::PCIE_PCI_BRIDGE,
            Bdf::from_rid(0, q35::EDU_BEHIND_BRIDGE_SOURCE_ID)
        ]
    );
    // The source ID QEMU's DMA actually carries is among them.
    assert!(ids
        .iter()
        .any(|b| b.rid() == q35::EDU_BEHIND_BRIDGE_SOURCE_ID));
}

#[test]
fn edu_on_the_root_bus_uses_only_its_own_id() {
    let t = q35_topology();
    let ids = t.requester_ids(q35::EDU, Direction::Assign).unwrap();
    assert_eq!(&ids[..], [q35::EDU]);
}

#[test]
fn a_device_at_secbus_0_0_is_not_listed_twice() {
    let m = q35::machine().with(FakeFunction::new(
        b(1, 0, 0),
        q35::EDU_VENDOR,
        q35::EDU_DEVICE,
        q35::EDU_CLASS,
        0,
    ));
    let t: Topology<16> = Topology::enumerate(&m, 0);
    let ids = t.requester_ids(b(1, 0, 0), Direction::Assign).unwrap();
    assert_eq!(&ids[..], [b(1, 0, 0), q35::PCIE_PCI_BRIDGE]);
}

/// Root port 00:1c.0 → PCIe-to-PCI bridge 02:00.0 (secbus 3) → legacy
/// bridge 03:04.0 (secbus 4) → legacy device 04:05.0.
fn nested() -> FakeConfig<8> {
    FakeConfig::new()
        .with(
            FakeFunction::new(b(0, 0x1c, 0), 0x8086, 1, 0x060400, 1)
                .pcie(4, 0)
                .bridge_buses(0, 2, 4),
        )
        .with(
            FakeFunction::new(b(2, 0, 0), 0x8086, 2, 0x060400, 1)
                .pcie(7, 0)
                .bridge_buses(2, 3, 4),
        )
        .with(FakeFunction::new(b(3, 4, 0), 0x8086, 3, 0x060400, 1).bridge_buses(3, 4, 4))
        .with(FakeFunction::new(b(4, 5, 0), 0x10ec, 0x8139, 0x020000, 0))
        .with(FakeFunction::new(b(3, 6, 0), 0x10ec, 0x8139, 0x020000, 0))
}

#[test]
fn upstream_bridge_is_the_topmost_legacy_bridge_below_a_pcie_port() {
    let t: Topology<8> = Topology::enumerate(&nested(), 0);
    let up = t.upstream_bridge(b(4, 5, 0)).unwrap().unwrap();
    assert_eq!(up.bridge, b(2, 0, 0));
    assert_eq!(up.secondary_bus, 3);
    let ids = t.requester_ids(b(4, 5, 0), Direction::Assign).unwrap();
    assert_eq!(&ids[..], [b(4, 5, 0), b(2, 0, 0), b(3, 0, 0)]);
}

/// PCIe-to-PCI bridge 00:1e.0 (secbus 1) → a PCIe port 01:00.0 (secbus 2)
/// → legacy bridge 02:03.0 (secbus 3) → legacy device 03:04.0.
#[test]
fn the_upstream_walk_stops_at_the_first_bus_no_legacy_bridge_opens() {
    let m = FakeConfig::<8>::new()
        .with(
            FakeFunction::new(b(0, 0x1e, 0), 0x8086, 1, 0x060400, 1)
                .pcie(7, 0)
                .bridge_buses(0, 1, 3),
        )
        .with(
            FakeFunction::new(b(1, 0, 0), 0x8086, 2, 0x060400, 1)
                .pcie(4, 0)
                .bridge_buses(1, 2, 3),
        )
        .with(FakeFunction::new(b(2, 3, 0), 0x8086, 3, 0x060400, 1).bridge_buses(2, 3, 3))
        .with(FakeFunction::new(b(3, 4, 0), 0x10ec, 0x8139, 0x020000, 0));
    let t: Topology<8> = Topology::enumerate(&m, 0);
    let up = t.upstream_bridge(b(3, 4, 0)).unwrap().unwrap();
    assert_eq!((up.bridge, up.secondary_bus), (b(2, 3, 0), 3));
    let ids = t.requester_ids(b(3, 4, 0), Direction::Assign).unwrap();
    assert_eq!(&ids[..], [b(3, 4, 0), b(2, 3, 0)]);
}

#[test]
fn a_legacy_pci_bridge_adds_its_own_id_but_no_secbus_alias() {
    let m = FakeConfig::<4>::new()
        .with(FakeFunction::new(b(0, 1, 0), 0x8086, 1, 0x060400, 1).bridge_buses(0, 5, 5))
        .with(FakeFunction::new(b(5, 2, 0), 0x10ec, 0x8139, 0x020000, 0));
    let t: Topology<4> = Topology::enumerate(&m, 0);
    let ids = t.requester_ids(b(5, 2, 0), Direction::Assign).unwrap();
    assert_eq!(&ids[..], [b(5, 2, 0), b(0, 1, 0)]);
}

#[test]
fn a_pcie_endpoint_behind_a_root_port_uses_only_its_own_id() {
    let m = FakeConfig::<4>::new()
        .with(
            FakeFunction::new(b(0, 0x1c, 0), 0x8086, 1, 0x060400, 1)
                .pcie(4, 0)
                .bridge_buses(0, 2, 2),
        )
        .with(FakeFunction::new(b(2, 0, 0), 0x8086, 0x10d3, 0x020000, 0).pcie(0, 0));
    let t: Topology<4> = Topology::enumerate(&m, 0);
    let ids = t.requester_ids(b(2, 0, 0), Direction::Assign).unwrap();
    assert_eq!(&ids[..], [b(2, 0, 0)]);
}

#[test]
fn phantom_functions_come_after_the_real_function_on_assign_and_before_on_deassign() {
    let m = FakeConfig::<4>::new()
        .with(FakeFunction::new(b(0, 2, 0), 0x8086, 1, 0x020000, 0).pcie(0, 2));
    let t: Topology<4> = Topology::enumerate(&m, 0);
    let assign = t.requester_ids(b(0, 2, 0), Direction::Assign).unwrap();
    assert_eq!(
        &assign[..],
        [b(0, 2, 0), b(0, 2, 2), b(0, 2, 4), b(0, 2, 6)]
    );
    let deassign = t.requester_ids(b(0, 2, 0), Direction::Deassign).unwrap();
    assert_eq!(
        &deassign[..],
        [b(0, 2, 2), b(0, 2, 4), b(0, 2, 6), b(0, 2, 0)]
    );
}

#[test]
fn phantom_stride_1_uses_all_seven_other_functions() {
    let m = FakeConfig::<4>::new()
        .with(FakeFunction::new(b(0, 2, 0), 0x8086, 1, 0x020000, 0).pcie(0, 3));
    let t: Topology<4> = Topology::enumerate(&m, 0);
    let ids = t.requester_ids(b(0, 2, 0), Direction::Assign).unwrap();
    assert_eq!(ids.len(), 8);
}

#[test]
fn no_phantoms_when_the_function_number_is_not_below_the_stride() {
    // Stride 4: function 5 is itself in function 1's phantom range.
    let m = FakeConfig::<4>::new()
        .with(FakeFunction::new(b(0, 2, 0), 0x8086, 1, 0x020000, 0).multifunction())
        .with(FakeFunction::new(b(0, 2, 5), 0x8086, 1, 0x020000, 0).pcie(0, 1));
    let t: Topology<4> = Topology::enumerate(&m, 0);
    let ids = t.requester_ids(b(0, 2, 5), Direction::Assign).unwrap();
    assert_eq!(&ids[..], [b(0, 2, 5)]);
}

#[test]
fn phantoms_that_collide_with_real_functions_are_left_out() {
    let m = FakeConfig::<4>::new()
        .with(
            FakeFunction::new(b(0, 2, 0), 0x8086, 1, 0x020000, 0)
                .pcie(0, 1)
                .multifunction(),
        )
        .with(FakeFunction::new(b(0, 2, 4), 0x8086, 2, 0x020000, 0));
    let t: Topology<4> = Topology::enumerate(&m, 0);
    let ids = t.requester_ids(b(0, 2, 0), Direction::Assign).unwrap();
    assert_eq!(&ids[..], [b(0, 2, 0)]);
}

#[test]
fn bridges_and_host_bridges_are_not_assignable() {
    let t = q35_topology();
    assert_eq!(
        t.requester_ids(q35::PCIE_PCI_BRIDGE, Direction::Assign),
        Err(PciError::NotAssignable {
            bdf: q35::PCIE_PCI_BRIDGE,
            kind: DeviceType::PcieToPciBridge
        })
    );
    assert!(matches!(
        t.requester_ids(q35::HOST_BRIDGE, Direction::Assign),
        Err(PciError::NotAssignable { .. })
    ));
    assert_eq!(
        t.requester_ids(b(7, 0, 0), Direction::Assign),
        Err(PciError::NoDevice(b(7, 0, 0)))
    );
}

#[test]
fn me_wifi_table_holds_the_ids_the_xen_fix_shows() {
    let cantiga = &ME_WIFI_PLATFORMS[0];
    assert_eq!(cantiga.me_device, 3);
    for id in [0x423b_8086, 0x423c_8086, 0x423d_8086] {
        assert!(cantiga.wlan_ids.contains(&id));
    }
    let ilk = &ME_WIFI_PLATFORMS[1];
    assert_eq!(ilk.me_device, 22);
    for id in [0x4238_8086, 0x422b_8086, 0x422c_8086] {
        assert!(ilk.wlan_ids.contains(&id));
    }
}

/// A Cantiga-like platform: host bridge 8086:2a40, ME at 00:03.0, a WLAN
/// behind root port 00:1c.0 on bus 2.
fn cantiga(with_me: bool, wlan: u16) -> Topology<8> {
    let mut m = FakeConfig::<8>::new()
        .with(FakeFunction::new(b(0, 0, 0), 0x8086, 0x2a40, 0x060000, 0))
        .with(
            FakeFunction::new(b(0, 0x1c, 0), 0x8086, 0x2940, 0x060400, 1)
                .pcie(4, 0)
                .bridge_buses(0, 2, 2),
        )
        .with(FakeFunction::new(b(2, 0, 0), 0x8086, wlan, 0x028000, 0).pcie(0, 0));
    if with_me {
        m = m.with(FakeFunction::new(b(0, 3, 0), 0x8086, 0x2a44, 0x078000, 0));
    }
    Topology::enumerate(&m, 0)
}

#[test]
fn me_wifi_quirk_adds_the_me_phantom_function_after_the_wlan() {
    let t = cantiga(true, 0x4232);
    let ids = t.requester_ids(b(2, 0, 0), Direction::Assign).unwrap();
    assert_eq!(&ids[..], [b(2, 0, 0), b(0, 3, 7)]);
}

#[test]
fn me_wifi_quirk_needs_the_me_present_and_a_listed_wlan() {
    let without_me = cantiga(false, 0x4232);
    assert_eq!(
        without_me
            .requester_ids(b(2, 0, 0), Direction::Assign)
            .unwrap()
            .len(),
        1
    );
    let other_nic = cantiga(true, 0x1234);
    assert_eq!(
        other_nic
            .requester_ids(b(2, 0, 0), Direction::Assign)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn me_wifi_quirk_uses_device_22_on_ironlake_and_only_segment_0() {
    let present = |_| true;
    assert_eq!(
        me_wifi_phantom(0, Some(0x0044_8086), 0x4238_8086, present),
        Some(b(0, 22, 7))
    );
    assert_eq!(
        me_wifi_phantom(1, Some(0x0044_8086), 0x4238_8086, present),
        None
    );
    assert_eq!(
        me_wifi_phantom(0, Some(0x29c0_8086), 0x4238_8086, present),
        None
    );
    assert_eq!(me_wifi_phantom(0, None, 0x4238_8086, present), None);
}
