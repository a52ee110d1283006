//! Each firmware quirk, by name: a table with exactly that quirk gives
//! exactly that warning, and a clean table gives none.

mod common;

use acpi::dmar::Structure;
use acpi::quirks::{check, MemRange, RmrrOrigin, Warning};
use acpi::Dmar;
use common::{endpoint, scope, DmarBuilder};

fn ioapic() -> Vec<u8> {
    scope(3, 2, 0xf0, &[(0x1f, 0)])
}

/// A sane laptop-like table: graphics unit, INCLUDE_PCI_ALL unit, one RMRR.
fn clean() -> DmarBuilder {
    DmarBuilder::new(38, 1)
        .drhd(0, 0, 0xfed9_0000, &[endpoint(0, 2, 0)])
        .drhd(1, 0, 0xfed9_1000, &[ioapic()])
}

fn warnings_of(bytes: &[u8], ram: &[MemRange]) -> Vec<String> {
    let dmar = Dmar::parse(bytes).unwrap();
    let mut out = Vec::new();
    check(&dmar, ram, &mut |w| out.push(w.to_string()));
    out
}

fn warnings_debug(bytes: &[u8], ram: &[MemRange]) -> Vec<String> {
    let dmar = Dmar::parse(bytes).unwrap();
    let mut out = Vec::new();
    check(&dmar, ram, &mut |w| out.push(format!("{w:?}")));
    out
}

#[test]
fn clean_table_has_no_warnings() {
    let bytes = clean()
        .rmrr(0, 0x7c00_0000, 0x807f_ffff, &[endpoint(0, 2, 0)])
        .build();
    assert_eq!(
        warnings_of(
            &bytes,
            &[MemRange {
                base: 0,
                end: 0x7bff_ffff
            }]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn unknown_structure_type_is_skipped_by_length_and_reported() {
    let bytes = clean()
        .other(0x99, &[1, 2, 3, 4, 5, 6])
        .rhsa(0xfed9_1000, 0)
        .build();
    let dmar = Dmar::parse(&bytes).unwrap();
    let kinds: Vec<u16> = dmar.checked_structures().map(|s| s.kind()).collect();
    assert_eq!(
        kinds,
        vec![0, 0, 0x99, 3],
        "the RHSA after the unknown one is still read"
    );
    let Some(Structure::Unknown(u)) = dmar.checked_structures().nth(2) else {
        panic!("third structure must be unknown");
    };
    assert_eq!((u.offset, u.kind, u.bytes.len()), (0x60, 0x99, 10));
    let w = warnings_of(&bytes, &[]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("offset 0x60: unknown remapping structure type 153"),
        "{w:?}"
    );
}

#[test]
fn drhd_with_register_base_zero_is_a_warning() {
    let bytes = clean().drhd(0, 0, 0, &[endpoint(0, 3, 0)]).build();
    let w = warnings_debug(&bytes, &[]);
    assert_eq!(w, vec!["DrhdRegisterBaseZero { offset: 96, segment: 0 }"]);
    assert!(warnings_of(&bytes, &[])[0].contains("register base 0"));
}

#[test]
fn segment_with_units_but_no_include_pci_all_unit_is_a_warning() {
    let bytes = clean()
        .drhd(0, 1, 0xfed9_2000, &[endpoint(0, 2, 0)])
        .drhd(0, 1, 0xfed9_3000, &[endpoint(0, 3, 0)])
        .build();
    let w = warnings_debug(&bytes, &[]);
    assert_eq!(
        w,
        vec!["NoIncludeAllUnit { segment: 1 }"],
        "reported once for segment 1, not for 0"
    );
    assert!(warnings_of(&bytes, &[])[0]
        .contains("segment 0x1 has remapping units but none with INCLUDE_PCI_ALL"));
}

#[test]
fn device_listed_in_two_drhds_is_a_warning() {
    let bytes = clean()
        .drhd(0, 0, 0xfed9_2000, &[endpoint(0, 3, 0), endpoint(0, 2, 0)])
        .build();
    let dmar = Dmar::parse(&bytes).unwrap();
    let mut found = Vec::new();
    check(&dmar, &[], &mut |w| found.push(w));
    assert_eq!(found.len(), 1);
    let Warning::DeviceInTwoUnits {
        segment,
        first_unit,
        second_unit,
        scope,
    } = found[0]
    else {
        panic!("{:?}", found[0]);
    };
    assert_eq!((segment, first_unit, second_unit), (0, 0x30, 0x60));
    assert_eq!(scope.to_string(), "00:02.0");
    assert!(found[0].to_string().contains("device 0000:00:02.0 is in the scope of the DRHD at offset 0x30 and of the DRHD at offset 0x60"));
}

#[test]
fn same_device_on_two_segments_is_not_a_warning() {
    let bytes = clean()
        .drhd(0, 1, 0xfed9_2000, &[endpoint(0, 2, 0)])
        .drhd(1, 1, 0xfed9_3000, &[])
        .build();
    assert_eq!(warnings_of(&bytes, &[]), Vec::<String>::new());
}

#[test]
fn rmrr_with_end_below_base_is_a_warning() {
    let bytes = clean()
        .rmrr(0, 0x8000_0000, 0x7fff_ffff, &[endpoint(0, 2, 0)])
        .build();
    let w = warnings_debug(&bytes, &[]);
    assert_eq!(
        w,
        vec![
            "RmrrEndBelowBase { rmrr: Firmware { offset: 96 }, base: 2147483648, end: 2147483647 }"
        ]
    );
    assert!(warnings_of(&bytes, &[])[0]
        .contains("RMRR at offset 0x60: end 0x7fffffff is below base 0x80000000"));
}

#[test]
fn rmrr_base_not_4k_aligned_is_a_warning() {
    let bytes = clean()
        .rmrr(0, 0x7c00_0800, 0x7c00_ffff, &[endpoint(0, 2, 0)])
        .build();
    assert_eq!(
        warnings_debug(&bytes, &[]),
        vec!["RmrrBaseNotAligned { rmrr: Firmware { offset: 96 }, base: 2080376832 }"]
    );
}

#[test]
fn rmrr_end_plus_one_not_4k_aligned_is_a_warning() {
    let bytes = clean()
        .rmrr(0, 0x7c00_0000, 0x7c00_fffe, &[endpoint(0, 2, 0)])
        .build();
    assert_eq!(
        warnings_debug(&bytes, &[]),
        vec!["RmrrEndNotAligned { rmrr: Firmware { offset: 96 }, end: 2080440318 }"]
    );
    assert!(warnings_of(&bytes, &[])[0].contains("end + 1 must be aligned"));
}

#[test]
fn rmrr_without_devices_is_a_warning() {
    let bytes = clean().rmrr(0, 0x7c00_0000, 0x7c00_ffff, &[]).build();
    let w = warnings_of(&bytes, &[]);
    assert_eq!(
        w,
        vec!["RMRR at offset 0x60: region [0x7c000000-0x7c00ffff] lists no device"]
    );
}

#[test]
fn overlapping_rmrrs_are_a_warning() {
    let bytes = clean()
        .rmrr(0, 0x7c00_0000, 0x7c00_ffff, &[endpoint(0, 2, 0)])
        .rmrr(0, 0x7c00_f000, 0x7c01_ffff, &[endpoint(0, 0x14, 0)])
        .build();
    let dmar = Dmar::parse(&bytes).unwrap();
    let mut found = Vec::new();
    check(&dmar, &[], &mut |w| found.push(w));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(
        found[0],
        Warning::RmrrOverlap {
            first: RmrrOrigin::Firmware { offset: 0x60 },
            second: RmrrOrigin::Firmware { offset: 0x80 },
            ..
        }
    ));
    assert_eq!(
        found[0].to_string(),
        "RMRR at offset 0x60 [0x7c000000-0x7c00ffff] overlaps RMRR at offset 0x80 [0x7c00f000-0x7c01ffff]"
    );
}

#[test]
fn adjacent_rmrrs_are_not_a_warning() {
    let bytes = clean()
        .rmrr(0, 0x7c00_0000, 0x7c00_ffff, &[endpoint(0, 2, 0)])
        .rmrr(0, 0x7c01_0000, 0x7c01_ffff, &[endpoint(0, 0x14, 0)])
        .build();
    assert_eq!(warnings_of(&bytes, &[]), Vec::<String>::new());
}

#[test]
fn rmrr_overlapping_kernel_ram_is_a_warning() {
    let bytes = clean()
        .rmrr(0, 0x7c00_0000, 0x7c00_ffff, &[endpoint(0, 2, 0)])
        .build();
    let ram = [
        MemRange {
            base: 0,
            end: 0x9_ffff,
        },
        MemRange {
            base: 0x10_0000,
            end: 0x7c00_0fff,
        },
    ];
    let w = warnings_of(&bytes, &ram);
    assert_eq!(
        w,
        vec!["RMRR at offset 0x60: region [0x7c000000-0x7c00ffff] overlaps RAM [0x100000-0x7c000fff] in use by the kernel"]
    );
}

#[test]
fn real_table_with_rmrr_zero_to_zero_gives_its_warning() {
    let path = common::fixtures().join("linuxhw/795F37601A0A.bin");
    let bytes = std::fs::read(path).unwrap();
    let w = warnings_of(&bytes, &[]);
    assert_eq!(
        w,
        vec!["RMRR at offset 0x78: end 0x0 does not end a 4 KiB page (end + 1 must be aligned)"]
    );
}

#[test]
fn real_table_with_drhd_at_address_zero_gives_its_warning() {
    let path = common::fixtures().join("linuxhw/188EB681251A.bin");
    let bytes = std::fs::read(path).unwrap();
    let w = warnings_of(&bytes, &[]);
    assert_eq!(w, vec!["offset 0x60: DRHD on segment 0x0 has register base 0; the unit is unusable (broken BIOS)"]);
}
