//! 200 000 mutated real DMAR tables through the parser, the iterators, the
//! warnings, scope resolution and (every few) the reports: none may panic,
//! and whatever parses must be self-consistent.
//!
//! Deterministic: a fixed-seed xorshift generator, no extra crate. The
//! mutations aim at what a parser gets wrong: bit flips and byte changes,
//! truncation, and length fields (table, structure, scope) set to 0, to
//! huge values and off by one. Most mutated tables get their checksum
//! fixed afterwards, or the checksum check would stop nearly all of them.

mod common;

use std::collections::BTreeMap;

use acpi::dmar::Structure;
use acpi::quirks::{check, MemRange};
use acpi::resolve::resolve_scope;
use acpi::Dmar;
use common::{endpoint, fix_checksum, DmarBuilder};

const ITERATIONS: usize = 200_000;
const SEED: u64 = 0x5eed_dada_c0ff_ee00;

/// xorshift64*: small, fast and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// A corpus table and where its length fields are.
struct Sample {
    bytes: Vec<u8>,
    structures: Vec<usize>,
    scopes: Vec<usize>,
}

fn sample(bytes: Vec<u8>) -> Sample {
    let dmar = Dmar::parse(&bytes).unwrap();
    let structures = dmar.checked_structures().map(|s| s.offset()).collect();
    let scopes = dmar
        .checked_structures()
        .flat_map(|s| s.scopes().map(|x| x.unwrap().offset()).collect::<Vec<_>>())
        .collect();
    Sample {
        bytes,
        structures,
        scopes,
    }
}

fn corpus() -> Vec<Sample> {
    let mut tables: Vec<Vec<u8>> = common::linuxhw_tables()
        .into_iter()
        .map(|(_, b, _)| b)
        .collect();
    tables.push(common::qemu_table());
    // Kinds the real tables lack: SATC, an unknown type, multi-hop paths.
    tables.push(
        DmarBuilder::new(38, 7)
            .drhd(
                0,
                0,
                0xfed9_0000,
                &[endpoint(0, 2, 0), common::scope(2, 0, 0, &[(3, 0), (1, 0)])],
            )
            .drhd(
                1,
                0,
                0xfed9_1000,
                &[common::scope(3, 2, 0xf0, &[(0x1f, 0)])],
            )
            .rmrr(0, 0x7c00_0000, 0x7c0f_ffff, &[endpoint(0, 2, 0)])
            .satc(1, 0, &[endpoint(0, 2, 0)])
            .other(0x77, &[1, 2, 3, 4])
            .andd(1, "\\_SB.PCI0.I2C0")
            .build(),
    );
    tables.into_iter().map(sample).collect()
}

fn set_u16(buf: &mut [u8], at: usize, value: u16) {
    if let Some(field) = buf.get_mut(at..at + 2) {
        field.copy_from_slice(&value.to_le_bytes());
    }
}

fn get_u16(buf: &[u8], at: usize) -> u16 {
    buf.get(at..at + 2)
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
}

fn mutate(rng: &mut Rng, s: &Sample, buf: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        let len = buf.len();
        match rng.below(9) {
            0 | 1 if len > 0 => {
                let at = rng.below(len);
                buf[at] ^= 1 << rng.below(8);
            }
            2 if len > 0 => {
                let at = rng.below(len);
                buf[at] = rng.next() as u8;
            }
            3 => buf.truncate(rng.below(len + 1)),
            4 if len >= 8 => {
                let value =
                    rng.pick(&[0, 35, 36, 47, 48, len as u32 - 1, len as u32 + 1, u32::MAX]);
                buf[4..8].copy_from_slice(&value.to_le_bytes());
            }
            5 | 6 if !s.structures.is_empty() => {
                let at = rng.pick(&s.structures);
                let old = get_u16(buf, at + 2);
                let random = rng.next() as u16;
                let value = rng.pick(&[
                    0,
                    1,
                    3,
                    4,
                    old.wrapping_sub(1),
                    old.wrapping_add(1),
                    old.wrapping_add(2),
                    0xffff,
                    random,
                ]);
                set_u16(buf, at + 2, value);
            }
            7 if !s.scopes.is_empty() => {
                let at = rng.pick(&s.scopes) + 1;
                if let Some(length) = buf.get_mut(at) {
                    let old = *length;
                    *length = rng.pick(&[
                        0,
                        1,
                        6,
                        7,
                        9,
                        old.wrapping_sub(1),
                        old.wrapping_add(1),
                        old.wrapping_add(2),
                        0xff,
                    ]);
                }
            }
            _ if !s.structures.is_empty() => {
                // Retype a structure: its body is then read as another type.
                let at = rng.pick(&s.structures);
                set_u16(buf, at, rng.below(8) as u16);
            }
            _ => {}
        }
    }
    if rng.below(4) != 0 {
        fix_checksum(buf);
    }
}

/// Everything a consumer would do with a table; panics only on a broken
/// invariant of the parser.
fn exercise(buf: &[u8], deep: bool, outcomes: &mut BTreeMap<String, usize>) {
    let machine = common::qemu_machine();
    let ram = [MemRange {
        base: 0,
        end: 0x7fff_ffff,
    }];
    match Dmar::parse(buf) {
        Ok(dmar) => {
            *outcomes.entry("parsed".into()).or_default() += 1;
            let table_len = dmar.sdt().bytes().len();
            for s in dmar.structures() {
                let s = s.expect("a parsed table has no malformed structure");
                assert!(s.offset() < table_len);
                if let Structure::Unknown(u) = s {
                    assert!(u.offset + u.bytes.len() <= table_len);
                }
                let segment = match s {
                    Structure::Drhd(d) => d.segment(),
                    Structure::Rmrr(r) => r.segment(),
                    _ => 0,
                };
                for scope in s.scopes() {
                    let scope = scope.expect("a parsed table has no malformed scope");
                    assert!(scope.offset() + usize::from(scope.length()) <= table_len);
                    assert!(!scope.path().is_empty());
                    let _ = resolve_scope(segment, &scope, &machine);
                }
            }
            let mut warnings = 0usize;
            check(&dmar, &ram, &mut |w| {
                warnings += 1;
                if deep {
                    assert!(!w.to_string().is_empty());
                }
            });
            if deep {
                acpi::report::render_text("m", buf).expect("a parsed table renders");
                acpi::report::render_json("m", buf).expect("a parsed table renders");
            }
        }
        Err(error) => {
            let name = format!("{error:?}");
            let variant = name.split([' ', '{']).next().unwrap_or("").to_string();
            *outcomes.entry(variant).or_default() += 1;
            assert!(!error.to_string().is_empty());
            // The lazy walk stops at the first error and never panics.
            if let Ok(dmar) = Dmar::parse_header_only(buf) {
                let mut errors = 0;
                for s in dmar.structures() {
                    match s {
                        Ok(s) => errors += s.scopes().filter(Result::is_err).count(),
                        Err(_) => errors += 1,
                    }
                }
                assert!(errors <= dmar.checked_structures().count() + 1);
            }
        }
    }
}

#[test]
fn two_hundred_thousand_mutated_tables_never_panic() {
    let corpus = corpus();
    let mut rng = Rng(SEED);
    let mut buf = Vec::new();
    let mut outcomes = BTreeMap::new();
    let started = std::time::Instant::now();
    for i in 0..ITERATIONS {
        let s = &corpus[rng.below(corpus.len())];
        buf.clear();
        buf.extend_from_slice(&s.bytes);
        mutate(&mut rng, s, &mut buf);
        exercise(&buf, i % 16 == 0, &mut outcomes);
    }
    println!(
        "mutation: {ITERATIONS} tables from a corpus of {} in {:.1?}: {outcomes:?}",
        corpus.len(),
        started.elapsed()
    );
    // The mutations reach past the checksum into every structural rule.
    for rule in [
        "parsed",
        "BadChecksum",
        "Truncated",
        "TableLengthTooSmall",
        "TableLengthPastEnd",
        "StructureLengthZero",
        "StructureTooShort",
        "StructurePastEnd",
        "ScopeTooShort",
        "ScopePastStructure",
        "ScopePathOdd",
    ] {
        assert!(
            outcomes.get(rule).copied().unwrap_or(0) > 100,
            "{rule} seldom or never hit: {outcomes:?}"
        );
    }
}
