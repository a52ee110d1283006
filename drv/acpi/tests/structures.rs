//! Typed decoding of each remapping structure and the DMAR header flags,
//! on synthetic tables (the fixtures have no SATC and no unknown type).

mod common;

use acpi::dmar::{DmarFlags, ScopeType, Structure};
use acpi::Dmar;
use common::{endpoint, scope, DmarBuilder};

fn only(bytes: &[u8]) -> Structure<'_> {
    let dmar = Dmar::parse(bytes).unwrap();
    let mut all: Vec<Structure<'_>> = dmar.checked_structures().collect();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

#[test]
fn dmar_header_flags_decode_each_bit() {
    let bytes = DmarBuilder::new(45, 0b111).build();
    let dmar = Dmar::parse(&bytes).unwrap();
    assert_eq!(dmar.host_address_width(), 46);
    assert_eq!(dmar.host_address_width_field(), 45);
    let f = dmar.flags();
    assert!(f.intr_remap() && f.x2apic_opt_out() && f.dma_ctrl_platform_opt_in());
    assert_eq!(
        f.to_string(),
        "0x07 INTR_REMAP X2APIC_OPT_OUT DMA_CTRL_PLATFORM_OPT_IN"
    );
    assert!(!DmarFlags(DmarFlags::X2APIC_OPT_OUT).intr_remap());
    assert_eq!(
        dmar.checked_structures().count(),
        0,
        "a table with no structures is valid"
    );
}

#[test]
fn drhd_decodes_flags_size_segment_and_register_base() {
    let mut bytes = DmarBuilder::new(38, 0)
        .drhd(1, 2, 0xfed9_1000, &[endpoint(0, 2, 0)])
        .build();
    bytes[0x35] = 1; // size field: 2^1 pages
    common::fix_checksum(&mut bytes);
    let Structure::Drhd(d) = only(&bytes) else {
        panic!()
    };
    assert!(d.include_pci_all());
    assert_eq!(
        (d.segment(), d.register_base(), d.size_field()),
        (2, 0xfed9_1000, 1)
    );
    assert_eq!(d.register_set_size(), 8192);
    assert_eq!(d.scopes().count(), 1);
}

#[test]
fn rmrr_decodes_range_size_and_scope_paths() {
    let bytes = DmarBuilder::new(38, 0)
        .rmrr(
            0,
            0x7c00_0000,
            0x807f_ffff,
            &[scope(1, 0, 0, &[(0x1c, 4), (0, 2)])],
        )
        .build();
    let Structure::Rmrr(r) = only(&bytes) else {
        panic!()
    };
    assert_eq!(
        (r.base(), r.end(), r.size()),
        (0x7c00_0000, 0x807f_ffff, Some(72 << 20))
    );
    let s = r.scopes().next().unwrap().unwrap();
    assert_eq!(s.kind(), ScopeType::PciEndpoint);
    assert_eq!(s.path().len(), 2);
    assert_eq!(s.to_string(), "00:1c.4/00.2");
}

#[test]
fn atsr_all_ports_flag_decodes() {
    let bytes = DmarBuilder::new(38, 0).atsr(1, 3, &[]).build();
    let Structure::Atsr(a) = only(&bytes) else {
        panic!()
    };
    assert!(a.all_ports());
    assert_eq!(a.segment(), 3);
    assert_eq!(a.scopes().count(), 0);
}

#[test]
fn rhsa_decodes_register_base_and_proximity_domain() {
    let bytes = DmarBuilder::new(38, 0).rhsa(0xfbff_c000, 7).build();
    let Structure::Rhsa(r) = only(&bytes) else {
        panic!()
    };
    assert_eq!((r.register_base(), r.proximity_domain()), (0xfbff_c000, 7));
    assert_eq!(Structure::Rhsa(r).scopes().count(), 0);
}

#[test]
fn andd_name_stops_at_its_nul_and_padding_is_ignored() {
    let bytes = DmarBuilder::new(38, 0)
        .raw(&[4, 0, 20, 0, 0, 0, 0, 2])
        .raw(b"\\_SB.UA00\0\0\0")
        .build();
    let Structure::Andd(a) = only(&bytes) else {
        panic!()
    };
    assert_eq!(a.device_number(), 2);
    assert_eq!(a.name(), b"\\_SB.UA00");
    assert_eq!(a.name_str(), Some("\\_SB.UA00"));
}

#[test]
fn andd_name_without_nul_runs_to_the_structure_end() {
    let bytes = DmarBuilder::new(38, 0)
        .raw(&[4, 0, 12, 0, 0, 0, 0, 1])
        .raw(b"ABCD")
        .build();
    let Structure::Andd(a) = only(&bytes) else {
        panic!()
    };
    assert_eq!(a.name(), b"ABCD");
}

#[test]
fn satc_decodes_atc_required_segment_and_scopes() {
    let bytes = DmarBuilder::new(38, 0)
        .satc(1, 0, &[endpoint(0, 2, 0), endpoint(0, 0xb, 0)])
        .build();
    let Structure::Satc(s) = only(&bytes) else {
        panic!()
    };
    assert!(s.atc_required());
    assert_eq!(s.segment(), 0);
    let devices: Vec<String> = s.scopes().map(|x| x.unwrap().to_string()).collect();
    assert_eq!(devices, vec!["00:02.0", "00:0b.0"]);
}

#[test]
fn scope_types_decode_including_unknown_codes() {
    let bytes = DmarBuilder::new(38, 0)
        .drhd(
            1,
            0,
            0x1000,
            &[
                scope(3, 8, 0xf0, &[(0x1f, 0)]),
                scope(4, 0, 0, &[(0x1f, 7)]),
                scope(5, 1, 0, &[(0x15, 0)]),
                scope(0x42, 0, 0, &[(1, 0)]),
            ],
        )
        .build();
    let Structure::Drhd(d) = only(&bytes) else {
        panic!()
    };
    let kinds: Vec<ScopeType> = d.scopes().map(|s| s.unwrap().kind()).collect();
    assert_eq!(
        kinds,
        vec![
            ScopeType::IoApic,
            ScopeType::Hpet,
            ScopeType::AcpiNamespace,
            ScopeType::Unknown(0x42)
        ]
    );
}
