//! The table walk over a synthetic physical memory image: RSDP (v1 and v2)
//! → RSDT/XSDT → DMAR and MCFG, and each way the walk can fail.

mod common;

use acpi::error::AcpiError;
use acpi::mcfg::{EcamAllocation, Mcfg};
use acpi::rsdp::{RootTable, Rsdp};
use acpi::walk::{
    find_rsdp, find_table, read_rsdp, read_table, PhysMem, WalkError, BIOS_RSDP_AREA,
};
use acpi::Dmar;
use common::{fix_checksum, DmarBuilder};

/// Physical memory from 0 to 1 MiB; reads past it fail.
struct Image(Vec<u8>);

#[derive(Debug, PartialEq)]
struct OutOfRange;

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "outside the image")
    }
}

impl PhysMem for Image {
    type Error = OutOfRange;
    fn read(&self, address: u64, buf: &mut [u8]) -> Result<(), OutOfRange> {
        let start = usize::try_from(address).map_err(|_| OutOfRange)?;
        let src = self.0.get(start..start + buf.len()).ok_or(OutOfRange)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl Image {
    fn put(&mut self, address: usize, bytes: &[u8]) {
        self.0[address..address + bytes.len()].copy_from_slice(bytes);
    }
}

const RSDP_AT: usize = 0xe_0010;
const ROOT_AT: usize = 0x1000;
const FACP_AT: usize = 0x2000;
const DMAR_AT: usize = 0x3000;
const MCFG_AT: usize = 0x4000;

/// A table with `signature` and `body` after a standard header.
fn table(signature: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut t = DmarBuilder::new(0, 0).build()[..36].to_vec();
    t[..4].copy_from_slice(signature);
    t.extend(body);
    let len = t.len() as u32;
    t[4..8].copy_from_slice(&len.to_le_bytes());
    fix_checksum(&mut t);
    t
}

fn rsdp(revision: u8, rsdt: u32, xsdt: u64) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend(b"RSD PTR ");
    r.push(0);
    r.extend(b"CUSTDY");
    r.push(revision);
    r.extend(rsdt.to_le_bytes());
    let v1_sum = r.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    r[8] = 0u8.wrapping_sub(v1_sum);
    if revision >= 2 {
        r.extend(36u32.to_le_bytes());
        r.extend(xsdt.to_le_bytes());
        r.extend([0, 0, 0, 0]);
        let sum = r.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        r[32] = 0u8.wrapping_sub(sum);
    }
    r
}

fn mcfg_table() -> Vec<u8> {
    let mut body = vec![0u8; 8];
    body.extend(0xb000_0000u64.to_le_bytes());
    body.extend([0, 0, 0, 0xff, 0, 0, 0, 0]);
    table(b"MCFG", &body)
}

/// Memory with FACP, DMAR and MCFG listed by an XSDT (v2) or RSDT (v1).
fn image(xsdt: bool) -> Image {
    let mut image = Image(vec![0; 0x10_0000]);
    let entries = [FACP_AT as u64, DMAR_AT as u64, MCFG_AT as u64];
    let root = if xsdt {
        table(
            b"XSDT",
            &entries
                .iter()
                .flat_map(|e| e.to_le_bytes())
                .collect::<Vec<_>>(),
        )
    } else {
        table(
            b"RSDT",
            &entries
                .iter()
                .flat_map(|e| (*e as u32).to_le_bytes())
                .collect::<Vec<_>>(),
        )
    };
    image.put(ROOT_AT, &root);
    image.put(FACP_AT, &table(b"FACP", &[0; 8]));
    image.put(DMAR_AT, &common::qemu_table());
    image.put(MCFG_AT, &mcfg_table());
    let r = if xsdt {
        rsdp(2, 0, ROOT_AT as u64)
    } else {
        rsdp(0, ROOT_AT as u32, 0)
    };
    image.put(RSDP_AT, &r);
    image
}

#[test]
fn rsdp_v2_walk_finds_the_dmar_through_the_xsdt() {
    let mem = image(true);
    let rsdp = read_rsdp(&mem, RSDP_AT as u64).unwrap();
    assert_eq!(rsdp.root_table(), RootTable::Xsdt(ROOT_AT as u64));
    let found = find_table(&mem, RSDP_AT as u64, b"DMAR").unwrap();
    assert_eq!((found.address, found.length), (DMAR_AT as u64, 128));
    let mut buf = [0u8; 4096];
    let bytes = read_table(&mem, &found, &mut buf).unwrap();
    assert_eq!(
        Dmar::parse(bytes)
            .unwrap()
            .drhds()
            .next()
            .unwrap()
            .register_base(),
        0xfed9_0000
    );
}

#[test]
fn rsdp_v1_walk_finds_the_dmar_through_the_rsdt() {
    let mem = image(false);
    assert_eq!(
        read_rsdp(&mem, RSDP_AT as u64).unwrap().root_table(),
        RootTable::Rsdt(ROOT_AT as u32)
    );
    let found = find_table(&mem, RSDP_AT as u64, b"DMAR").unwrap();
    assert_eq!(found.address, DMAR_AT as u64);
}

#[test]
fn mcfg_found_by_the_walk_gives_the_ecam_window() {
    let mem = image(true);
    let found = find_table(&mem, RSDP_AT as u64, b"MCFG").unwrap();
    let mut buf = [0u8; 256];
    let mcfg = Mcfg::parse(read_table(&mem, &found, &mut buf).unwrap()).unwrap();
    let allocations: Vec<EcamAllocation> = mcfg.allocations().collect();
    assert_eq!(
        allocations,
        vec![EcamAllocation {
            base_address: 0xb000_0000,
            segment: 0,
            start_bus: 0,
            end_bus: 0xff
        }]
    );
    assert_eq!(allocations[0].config_address(1, 1, 0), Some(0xb010_8000));
    assert_eq!(allocations[0].config_address(0, 32, 0), None);
}

#[test]
fn rsdp_is_found_by_scanning_the_bios_area() {
    let mem = image(true);
    assert_eq!(find_rsdp(&mem, BIOS_RSDP_AREA), Ok(RSDP_AT as u64));
    let empty = Image(vec![0; 0x10_0000]);
    assert_eq!(
        find_rsdp(&empty, BIOS_RSDP_AREA),
        Err(WalkError::RsdpNotFound {
            start: 0xe_0000,
            end: 0x10_0000
        })
    );
}

#[test]
fn table_not_listed_is_not_found() {
    let mem = image(true);
    let e = find_table(&mem, RSDP_AT as u64, b"SRAT").unwrap_err();
    assert_eq!(
        e,
        WalkError::NotFound {
            signature: *b"SRAT"
        }
    );
    assert_eq!(e.to_string(), "no SRAT table in the RSDT/XSDT");
}

#[test]
fn dmar_with_bad_checksum_in_memory_is_a_table_error() {
    let mut mem = image(true);
    mem.0[DMAR_AT + 0x40] ^= 1;
    let e = find_table(&mem, RSDP_AT as u64, b"DMAR").unwrap_err();
    assert!(matches!(
        e,
        WalkError::Table {
            address: 0x3000,
            error: AcpiError::BadChecksum { .. }
        }
    ));
    assert!(e
        .to_string()
        .starts_with("table at 0x3000: offset 0x0: table checksum fails"));
}

#[test]
fn root_table_outside_memory_is_a_read_error() {
    let mut mem = image(true);
    mem.put(RSDP_AT, &rsdp(2, 0, 0x10_0000));
    let e = find_table(&mem, RSDP_AT as u64, b"DMAR").unwrap_err();
    assert_eq!(
        e,
        WalkError::Read {
            address: 0x10_0000,
            length: 36,
            error: OutOfRange
        }
    );
}

#[test]
fn root_table_with_huge_length_is_table_too_long() {
    let mut mem = image(true);
    mem.put(ROOT_AT + 4, &0xffff_ff00u32.to_le_bytes());
    let e = find_table(&mem, RSDP_AT as u64, b"DMAR").unwrap_err();
    assert!(
        matches!(
            e,
            WalkError::TableTooLong {
                length: 0xffff_ff00,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn buffer_smaller_than_the_table_is_buffer_too_small() {
    let mem = image(true);
    let found = find_table(&mem, RSDP_AT as u64, b"DMAR").unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(
        read_table(&mem, &found, &mut buf),
        Err(WalkError::BufferTooSmall {
            address: DMAR_AT as u64,
            needed: 128,
            available: 64
        })
    );
}

#[test]
fn rsdp_errors_name_the_rule() {
    let good = rsdp(2, 0, 0x1000);
    assert!(Rsdp::parse(&good).is_ok());
    let mut bad_sig = good.clone();
    bad_sig[0] = b'X';
    assert!(matches!(
        Rsdp::parse(&bad_sig),
        Err(AcpiError::BadRsdpSignature { .. })
    ));
    let mut v1_sum = good.clone();
    v1_sum[10] ^= 1;
    assert!(matches!(
        Rsdp::parse(&v1_sum),
        Err(AcpiError::BadChecksum { what: "RSDP", .. })
    ));
    let mut ext_sum = good.clone();
    ext_sum[24] ^= 1;
    let e = Rsdp::parse(&ext_sum).unwrap_err();
    assert!(matches!(
        e,
        AcpiError::BadChecksum {
            what: "RSDP extended",
            length: 36,
            ..
        }
    ));
    assert!(e.to_string().contains("RSDP extended checksum fails"));
    let mut short = good.clone();
    short[20..24].copy_from_slice(&20u32.to_le_bytes());
    assert_eq!(
        Rsdp::parse(&short),
        Err(AcpiError::RsdpLengthTooSmall { length: 20 })
    );
    assert!(matches!(
        Rsdp::parse(&good[..30]),
        Err(AcpiError::Truncated {
            what: "RSDP v2",
            ..
        })
    ));
}
