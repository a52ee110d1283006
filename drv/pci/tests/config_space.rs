//! Addresses, config access rules, headers, capabilities and device kinds.

use pci::fake::{FakeConfig, FakeFunction};
use pci::{
    q35, AccessError, Bdf, ClassCode, ConfigAccess, DeviceType, Header, HeaderKind, PciError,
    PcieInfo, PciePortType,
};

fn b(bus: u8, dev: u8, func: u8) -> Bdf {
    Bdf::new(0, bus, dev, func).unwrap()
}

#[test]
fn bdf_packs_into_a_requester_id_and_back() {
    let edu = b(1, 1, 0);
    assert_eq!(edu.rid(), 0x0108);
    assert_eq!(edu.devfn(), 0x08);
    assert_eq!(Bdf::from_rid(0, 0x0108), edu);
    assert_eq!(std::format!("{}", b(0, 0x1f, 3)), "0000:00:1f.3");
}

#[test]
fn bdf_refuses_device_32_and_function_8() {
    assert_eq!(
        Bdf::new(0, 0, 32, 0),
        Err(PciError::BadAddress {
            bus: 0,
            dev: 32,
            func: 0
        })
    );
    assert!(Bdf::new(0, 0, 0, 8).is_err());
}

#[test]
fn absent_function_reads_all_ones() {
    let m = q35::machine();
    let nobody = b(0, 9, 0);
    assert_eq!(m.read8(nobody, 0), Ok(0xff));
    assert_eq!(m.read16(nobody, 0), Ok(0xffff));
    assert_eq!(m.read32(nobody, 0), Ok(0xffff_ffff));
    assert_eq!(Header::read(&m, nobody), Ok(None));
}

#[test]
fn misaligned_and_out_of_range_accesses_are_errors() {
    let mut m = q35::machine();
    assert_eq!(
        m.read32(q35::EDU, 2),
        Err(AccessError::Misaligned {
            offset: 2,
            width: 4
        })
    );
    assert_eq!(
        m.read16(q35::EDU, 0x100),
        Err(AccessError::OffsetOutOfRange {
            offset: 0x100,
            width: 2,
            limit: 0x100
        })
    );
    assert!(m.write16(q35::EDU, 0xff, 0).is_err());
}

#[test]
fn writes_change_only_writable_bits() {
    let mut m = q35::machine();
    m.write16(q35::EDU, 0x00, 0xdead).unwrap(); // vendor ID is read-only
    assert_eq!(m.read16(q35::EDU, 0x00), Ok(0x1234));
    m.write16(q35::EDU, 0x04, 0xffff).unwrap();
    assert_eq!(m.read16(q35::EDU, 0x04), Ok(0x0407));
}

#[test]
fn q35_headers_carry_ids_and_class_codes() {
    let m = q35::machine();
    let host = Header::read(&m, q35::HOST_BRIDGE).unwrap().unwrap();
    assert_eq!((host.vendor, host.device), (0x8086, 0x29c0));
    assert!(host.class.is_host_bridge());
    let edu = Header::read(&m, q35::EDU).unwrap().unwrap();
    assert_eq!(edu.id(), 0x11e8_1234);
    assert_eq!(
        edu.class,
        ClassCode {
            base: 0x00,
            sub: 0xff,
            prog_if: 0
        }
    );
    assert_eq!(edu.kind, HeaderKind::Endpoint);
    let bridge = Header::read(&m, q35::PCIE_PCI_BRIDGE).unwrap().unwrap();
    assert_eq!(bridge.kind, HeaderKind::Bridge);
    assert!(bridge.class.is_pci_bridge());
    assert!(Header::read(&m, q35::LPC).unwrap().unwrap().multifunction);
}

#[test]
fn q35_device_types_are_told_apart_as_xen_does() {
    let m = q35::machine();
    let kind = |bdf| DeviceType::read(&m, bdf).unwrap();
    assert_eq!(kind(q35::HOST_BRIDGE), DeviceType::HostBridge);
    assert_eq!(kind(q35::EDU), DeviceType::LegacyEndpoint);
    assert_eq!(kind(q35::PCIE_PCI_BRIDGE), DeviceType::PcieToPciBridge);
    assert_eq!(kind(q35::EDU_BEHIND_BRIDGE), DeviceType::LegacyEndpoint);
    assert_eq!(
        DeviceType::read(&m, b(0, 9, 0)),
        Err(PciError::NoDevice(b(0, 9, 0)))
    );
}

#[test]
fn bridge_kind_follows_the_pcie_port_type() {
    let at = b(0, 4, 0);
    let bridge = |f: FakeFunction| DeviceType::read(&FakeConfig::<1>::new().with(f), at).unwrap();
    let plain = || FakeFunction::new(at, 0x8086, 0x1234, 0x060400, 1);
    assert_eq!(bridge(plain()), DeviceType::LegacyBridge);
    assert_eq!(bridge(plain().pcie(4, 0)), DeviceType::PcieBridge); // root port
    assert_eq!(bridge(plain().pcie(5, 0)), DeviceType::PcieBridge); // upstream
    assert_eq!(bridge(plain().pcie(6, 0)), DeviceType::PcieBridge); // downstream
    assert_eq!(bridge(plain().pcie(7, 0)), DeviceType::PcieToPciBridge);
    assert_eq!(bridge(plain().pcie(8, 0)), DeviceType::PciToPcieBridge);
    let nic = FakeFunction::new(at, 0x8086, 0x10d3, 0x020000, 0).pcie(0, 0);
    assert_eq!(bridge(nic), DeviceType::PcieEndpoint);
}

#[test]
fn pcie_capability_gives_port_type_and_phantom_stride() {
    let at = b(2, 0, 0);
    let m = FakeConfig::<1>::new().with(
        FakeFunction::new(at, 0x8086, 1, 0x020000, 0)
            .msi(false, false)
            .pcie(0, 2),
    );
    let info = PcieInfo::read(&m, at).unwrap().unwrap();
    assert_eq!(info.port_type, PciePortType::Endpoint);
    assert_eq!(info.phantom_bits, 2);
    assert_eq!(info.phantom_stride(), Some(2));
    let strides: Vec<_> = (0..4)
        .map(|bits| {
            PcieInfo {
                phantom_bits: bits,
                ..info
            }
            .phantom_stride()
        })
        .collect();
    assert_eq!(strides, [None, Some(4), Some(2), Some(1)]);
}

#[test]
fn a_looping_capability_list_is_an_error_not_a_hang() {
    let at = b(0, 5, 0);
    // Status says "capabilities", pointer 0x40, and 0x40 links to itself.
    let f = FakeFunction::new(at, 0x8086, 1, 0x020000, 0)
        .raw(0x06, &[0x10, 0])
        .raw(0x34, &[0x40])
        .raw(0x40, &[0x09, 0x40]);
    let m = FakeConfig::<1>::new().with(f);
    assert_eq!(
        pci::find_capability(&m, at, 0x10),
        Err(PciError::CapabilityLoop { bdf: at })
    );
}

#[test]
fn a_capability_pointer_into_the_header_is_refused() {
    let at = b(0, 5, 0);
    let f = FakeFunction::new(at, 0x8086, 1, 0x020000, 0)
        .raw(0x06, &[0x10, 0])
        .raw(0x34, &[0x20]);
    let m = FakeConfig::<1>::new().with(f);
    assert_eq!(
        pci::find_capability(&m, at, 0x10),
        Err(PciError::BadCapabilityPointer {
            bdf: at,
            pointer: 0x20
        })
    );
}
