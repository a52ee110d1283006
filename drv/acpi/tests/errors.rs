//! Each malformed-table rule, by name: the error variant, the offset it
//! names, and that its message says so. Tables are built well formed by
//! `common::DmarBuilder` and then broken in exactly one way.

mod common;

use acpi::dmar::Structure;
use acpi::error::AcpiError;
use acpi::mcfg::Mcfg;
use acpi::root::RootSdt;
use acpi::Dmar;
use common::{endpoint, fix_checksum, DmarBuilder};

fn one_drhd() -> Vec<u8> {
    DmarBuilder::new(38, 1)
        .drhd(1, 0, 0xfed9_0000, &[endpoint(0, 2, 0)])
        .build()
}

/// The error `Dmar::parse` gives; when the header is sound, the lazy walk
/// after `parse_header_only` must reach the same error.
fn walk_error(bytes: &[u8]) -> AcpiError {
    let error = Dmar::parse(bytes).expect_err("table must not parse");
    if let Ok(dmar) = Dmar::parse_header_only(bytes) {
        let lazy = dmar
            .structures()
            .find_map(|s| match s {
                Err(e) => Some(e),
                Ok(s) => s.scopes().find_map(Result::err),
            })
            .expect("the lazy walk must find the error too");
        assert_eq!(lazy, error);
    }
    error
}

fn assert_message(error: &AcpiError, parts: &[&str]) {
    let message = error.to_string();
    for part in parts {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
}

#[test]
fn well_formed_synthetic_table_parses() {
    let bytes = one_drhd();
    let dmar = Dmar::parse(&bytes).unwrap();
    assert_eq!(dmar.drhds().count(), 1);
}

#[test]
fn table_shorter_than_its_header_is_truncated() {
    let bytes = one_drhd();
    let error = walk_error(&bytes[..20]);
    assert_eq!(
        error,
        AcpiError::Truncated {
            what: "table header",
            offset: 0,
            needed: 36,
            available: 20
        }
    );
    assert_message(&error, &["offset 0x0", "table header", "36", "20"]);
}

#[test]
fn wrong_signature_is_bad_signature() {
    let mut bytes = one_drhd();
    bytes[..4].copy_from_slice(b"DMAX");
    fix_checksum(&mut bytes);
    let error = walk_error(&bytes);
    assert!(matches!(error, AcpiError::BadSignature { found, .. } if &found == b"DMAX"));
    assert_message(&error, &["\"DMAX\"", "expected \"DMAR\""]);
}

#[test]
fn length_field_below_dmar_fixed_part_is_table_length_too_small() {
    let mut bytes = one_drhd();
    bytes[4..8].copy_from_slice(&40u32.to_le_bytes());
    fix_checksum(&mut bytes);
    let error = walk_error(&bytes);
    assert_eq!(
        error,
        AcpiError::TableLengthTooSmall {
            signature: *b"DMAR",
            length: 40,
            minimum: 48
        }
    );
    assert_message(&error, &["offset 0x4", "40", "48"]);
}

#[test]
fn length_field_zero_is_table_length_too_small() {
    let mut bytes = one_drhd();
    bytes[4..8].copy_from_slice(&0u32.to_le_bytes());
    fix_checksum(&mut bytes);
    assert!(matches!(
        walk_error(&bytes),
        AcpiError::TableLengthTooSmall { length: 0, .. }
    ));
}

#[test]
fn length_field_past_the_bytes_is_table_length_past_end() {
    let mut bytes = one_drhd();
    let len = bytes.len() as u32;
    bytes[4..8].copy_from_slice(&(len + 1).to_le_bytes());
    fix_checksum(&mut bytes);
    let error = walk_error(&bytes);
    assert_eq!(
        error,
        AcpiError::TableLengthPastEnd {
            signature: *b"DMAR",
            length: len + 1,
            available: len as usize
        }
    );
    assert_message(&error, &["offset 0x4", "only"]);
}

#[test]
fn bytes_after_the_length_field_are_ignored() {
    let mut bytes = one_drhd();
    bytes.extend([0xff; 7]);
    assert_eq!(
        Dmar::parse(&bytes).unwrap().sdt().bytes().len(),
        bytes.len() - 7
    );
}

#[test]
fn flipped_byte_is_bad_checksum() {
    let mut bytes = one_drhd();
    bytes[0x38] ^= 0x10;
    let error = walk_error(&bytes);
    assert!(
        matches!(
            error,
            AcpiError::BadChecksum {
                what: "table",
                sum: 0x10,
                ..
            }
        ),
        "{error:?}"
    );
    assert_message(&error, &["checksum", "0x10"]);
}

#[test]
fn structure_with_length_zero_is_structure_length_zero() {
    let bytes = DmarBuilder::new(38, 0).raw(&[0, 0, 0, 0]).build();
    let error = walk_error(&bytes);
    assert_eq!(
        error,
        AcpiError::StructureLengthZero {
            offset: 0x30,
            kind: 0
        }
    );
    assert_message(&error, &["offset 0x30", "DRHD", "length 0"]);
}

#[test]
fn structure_length_past_the_table_is_structure_past_end() {
    let mut bytes = one_drhd();
    bytes[0x32] += 1; // DRHD length 24 -> 25, one byte more than the table has
    fix_checksum(&mut bytes);
    let error = walk_error(&bytes);
    assert_eq!(
        error,
        AcpiError::StructurePastEnd {
            offset: 0x30,
            kind: 0,
            length: 25,
            remaining: 24
        }
    );
    assert_message(&error, &["offset 0x30", "25", "24"]);
}

#[test]
fn drhd_shorter_than_its_fixed_part_is_structure_too_short() {
    let bytes = DmarBuilder::new(38, 0)
        .raw(&[0, 0, 8, 0, 0, 0, 0, 0])
        .build();
    let error = walk_error(&bytes);
    assert_eq!(
        error,
        AcpiError::StructureTooShort {
            offset: 0x30,
            kind: 0,
            length: 8,
            minimum: 16
        }
    );
    assert_message(&error, &["offset 0x30", "DRHD", "minimum of 16"]);
}

#[test]
fn each_known_type_below_its_minimum_is_structure_too_short() {
    for (kind, minimum) in [(1u16, 24usize), (2, 8), (3, 20), (4, 9), (5, 8)] {
        let short = (minimum - 1) as u16;
        let mut raw = vec![0u8; minimum - 1];
        raw[..2].copy_from_slice(&kind.to_le_bytes());
        raw[2..4].copy_from_slice(&short.to_le_bytes());
        let bytes = DmarBuilder::new(38, 0).raw(&raw).build();
        assert_eq!(
            walk_error(&bytes),
            AcpiError::StructureTooShort {
                offset: 0x30,
                kind,
                length: short,
                minimum
            }
        );
    }
}

#[test]
fn unknown_type_with_length_below_its_header_is_structure_too_short() {
    let bytes = DmarBuilder::new(38, 0).raw(&[0x40, 0, 2, 0]).build();
    assert!(matches!(
        walk_error(&bytes),
        AcpiError::StructureTooShort {
            kind: 0x40,
            length: 2,
            minimum: 4,
            ..
        }
    ));
}

#[test]
fn partial_structure_header_at_the_end_is_truncated() {
    let mut bytes = DmarBuilder::new(38, 0)
        .drhd(1, 0, 0x1000, &[])
        .raw(&[1, 0])
        .build();
    fix_checksum(&mut bytes);
    let error = walk_error(&bytes);
    assert_eq!(
        error,
        AcpiError::Truncated {
            what: "remapping structure header",
            offset: 0x40,
            needed: 4,
            available: 2
        }
    );
}

#[test]
fn scope_shorter_than_header_and_one_hop_is_scope_too_short() {
    let bytes = DmarBuilder::new(38, 0)
        .drhd(0, 0, 0x1000, &[vec![1, 6, 0, 0, 0, 0]])
        .build();
    let error = walk_error(&bytes);
    assert_eq!(
        error,
        AcpiError::ScopeTooShort {
            offset: 0x40,
            length: 6
        }
    );
    assert_message(&error, &["offset 0x40", "below 8"]);
}

#[test]
fn scope_length_zero_is_scope_too_short() {
    let bytes = DmarBuilder::new(38, 0)
        .drhd(0, 0, 0x1000, &[vec![1, 0, 0, 0, 0, 0, 2, 0]])
        .build();
    assert_eq!(
        walk_error(&bytes),
        AcpiError::ScopeTooShort {
            offset: 0x40,
            length: 0
        }
    );
}

#[test]
fn scope_longer_than_its_structure_is_scope_past_structure() {
    let bytes = DmarBuilder::new(38, 0)
        .drhd(0, 0, 0x1000, &[vec![1, 10, 0, 0, 0, 0, 2, 0]])
        .build();
    let error = walk_error(&bytes);
    assert_eq!(
        error,
        AcpiError::ScopePastStructure {
            offset: 0x40,
            length: 10,
            remaining: 8
        }
    );
    assert_message(&error, &["offset 0x40", "past its structure"]);
}

#[test]
fn scope_with_odd_path_length_is_scope_path_odd() {
    let bytes = DmarBuilder::new(38, 0)
        .rmrr(0, 0x1000, 0x1fff, &[vec![1, 9, 0, 0, 0, 0, 2, 0, 1]])
        .build();
    let error = walk_error(&bytes);
    assert_eq!(
        error,
        AcpiError::ScopePathOdd {
            offset: 0x48,
            length: 9
        }
    );
    assert_message(&error, &["offset 0x48", "odd"]);
}

#[test]
fn one_byte_left_after_the_scopes_is_truncated_scope() {
    let mut scope = endpoint(0, 2, 0);
    scope.push(1);
    let bytes = DmarBuilder::new(38, 0).atsr(0, 0, &[scope]).build();
    let error = walk_error(&bytes);
    assert_eq!(
        error,
        AcpiError::Truncated {
            what: "device scope type and length",
            offset: 0x40,
            needed: 2,
            available: 1
        }
    );
}

#[test]
fn iterators_yield_the_error_once_and_then_stop() {
    let bytes = DmarBuilder::new(38, 0)
        .drhd(
            0,
            0,
            0x1000,
            &[
                endpoint(0, 2, 0),
                vec![1, 3, 0, 0, 0, 0, 0, 0],
                endpoint(0, 3, 0),
            ],
        )
        .build();
    assert!(Dmar::parse(&bytes).is_err());
    // The structure itself is fine: the iterator is usable without parse.
    let dmar = Dmar::parse_header_only(&bytes).unwrap();
    let mut structures = dmar.structures();
    let Some(Ok(Structure::Drhd(drhd))) = structures.next() else {
        panic!("first structure must be a DRHD");
    };
    assert!(structures.next().is_none());
    let results: Vec<_> = drhd.scopes().collect();
    assert_eq!(
        results.len(),
        2,
        "one good scope, then the error, then nothing"
    );
    assert!(results[0].is_ok());
    assert_eq!(
        results[1].as_ref().unwrap_err(),
        &AcpiError::ScopeTooShort {
            offset: 0x48,
            length: 3
        }
    );
}

#[test]
fn xsdt_with_a_partial_entry_is_partial_entry() {
    let mut xsdt = DmarBuilder::new(0, 0).build()[..36].to_vec();
    xsdt[..4].copy_from_slice(b"XSDT");
    xsdt.extend(0x1000u64.to_le_bytes());
    xsdt.extend([0; 4]);
    let len = xsdt.len() as u32;
    xsdt[4..8].copy_from_slice(&len.to_le_bytes());
    fix_checksum(&mut xsdt);
    let error = RootSdt::parse_xsdt(&xsdt).unwrap_err();
    assert_eq!(
        error,
        AcpiError::PartialEntry {
            signature: *b"XSDT",
            offset: 44,
            entry_size: 8,
            remaining: 4
        }
    );
    assert_message(&error, &["offset 0x2c", "XSDT", "8 bytes"]);
}

#[test]
fn mcfg_with_a_partial_allocation_is_partial_entry() {
    let mut mcfg = DmarBuilder::new(0, 0).build()[..36].to_vec();
    mcfg[..4].copy_from_slice(b"MCFG");
    mcfg.extend([0; 8]);
    mcfg.extend(0xb000_0000u64.to_le_bytes());
    mcfg.extend([0, 0, 0, 0xff]);
    let len = mcfg.len() as u32;
    mcfg[4..8].copy_from_slice(&len.to_le_bytes());
    fix_checksum(&mut mcfg);
    assert!(matches!(
        Mcfg::parse(&mcfg).unwrap_err(),
        AcpiError::PartialEntry {
            offset: 44,
            entry_size: 16,
            remaining: 12,
            ..
        }
    ));
}
