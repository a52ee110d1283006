//! Random map/unmap sequences against a plain reference map: the tables must
//! translate every page as the reference does, refuse exactly what the
//! reference refuses, use 2 MiB leaves exactly where allowed, and hold
//! exactly the table pages still needed.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use proptest::prelude::*;
use vtd::{Config, Error, PageTable, Perm, LARGE_PAGE};

/// The window the sequences work in: 2 large-page chunks just below 1 GiB
/// and 2 just above, so level-2 tables are created and freed too.
const WINDOW_BASE: u64 = (1 << 30) - 2 * LARGE_PAGE;
const WINDOW_PAGES: u64 = 4 * 512;
const PHYS_BASE: u64 = 0x8000_0000;

#[derive(Debug, Clone)]
enum Op {
    Map {
        page: u64,
        pages: u64,
        shift: u64,
        perm: Perm,
    },
    Unmap {
        page: u64,
        pages: u64,
    },
    /// Unmap starting at a mapped page picked from the reference, so most
    /// unmaps succeed.
    UnmapMapped {
        pick: prop::sample::Index,
        pages: u64,
    },
}

fn perm() -> impl Strategy<Value = Perm> {
    prop::sample::select(vec![Perm::R, Perm::W, Perm::RW])
}

fn pages() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..8, Just(512u64), 500u64..1100]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0..WINDOW_PAGES,
            pages(),
            prop::sample::select(vec![0u64, 1, 512]),
            perm()
        )
            .prop_map(|(page, pages, shift, perm)| Op::Map {
                page,
                pages,
                shift,
                perm
            }),
        (0..WINDOW_PAGES, pages()).prop_map(|(page, pages)| Op::Unmap { page, pages }),
        (any::<prop::sample::Index>(), pages())
            .prop_map(|(pick, pages)| Op::UnmapMapped { pick, pages }),
    ]
}

/// Page-granular reference with the same large-page rule as the tables.
#[derive(Default)]
struct Reference {
    pages: BTreeMap<u64, (u64, Perm)>,
    /// IOVAs of 2 MiB leaves.
    large: BTreeSet<u64>,
}

impl Reference {
    /// A window page to start an unmap at: a mapped page (the start of its
    /// 2 MiB leaf if it is in one), or page 0 when nothing is mapped.
    fn pick(&self, pick: &prop::sample::Index) -> u64 {
        if self.pages.is_empty() {
            return 0;
        }
        let Some((&iova, _)) = self.pages.iter().nth(pick.index(self.pages.len())) else {
            return 0;
        };
        let chunk = iova & !(LARGE_PAGE - 1);
        let start = if self.large.contains(&chunk) {
            chunk
        } else {
            iova
        };
        (start - WINDOW_BASE) / 0x1000
    }

    fn map(&mut self, iova: u64, phys: u64, len: u64, perm: Perm) -> Result<(), Error> {
        if let Some((&at, _)) = self.pages.range(iova..iova + len).next() {
            return Err(Error::Overlap { iova: at });
        }
        let mut addr = iova;
        while addr < iova + len {
            let p = phys + (addr - iova);
            if addr.is_multiple_of(LARGE_PAGE)
                && p.is_multiple_of(LARGE_PAGE)
                && addr + LARGE_PAGE <= iova + len
            {
                self.large.insert(addr);
            }
            self.pages.insert(addr, (p, perm));
            addr += 0x1000;
        }
        Ok(())
    }

    fn unmap(&mut self, iova: u64, len: u64) -> Result<(), Error> {
        let mut addr = iova;
        while addr < iova + len {
            let chunk = addr & !(LARGE_PAGE - 1);
            if self.large.contains(&chunk) {
                if addr != chunk || chunk + LARGE_PAGE > iova + len {
                    return Err(Error::SplitsLargePage { iova: addr });
                }
                addr += LARGE_PAGE;
                continue;
            }
            if !self.pages.contains_key(&addr) {
                return Err(Error::NotMapped { iova: addr });
            }
            addr += 0x1000;
        }
        for addr in (iova..iova + len).step_by(0x1000) {
            self.pages.remove(&addr);
        }
        self.large
            .retain(|&chunk| chunk < iova || chunk >= iova + len);
        Ok(())
    }

    /// Table pages a 3-level tree needs: root, one level-2 table per 1 GiB
    /// region in use, one level-1 table per 2 MiB chunk with small pages.
    fn table_pages(&self) -> usize {
        let gigs: BTreeSet<u64> = self.pages.keys().map(|a| a >> 30).collect();
        let chunks: BTreeSet<u64> = self
            .pages
            .keys()
            .map(|a| a & !(LARGE_PAGE - 1))
            .filter(|c| !self.large.contains(c))
            .collect();
        1 + gigs.len() + chunks.len()
    }
}

fn check(
    rig: &mut Rig,
    table: &PageTable,
    reference: &Reference,
    pages: impl Iterator<Item = u64>,
) {
    let (mem, _) = rig.unit.tables();
    for page in pages {
        let iova = WINDOW_BASE + page * 0x1000;
        let got = table.translate(mem, iova).map(|t| (t.phys, t.perm));
        assert_eq!(got, reference.pages.get(&iova).copied(), "iova {iova:#x}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_map_unmap_sequences_match_a_reference_map(ops in prop::collection::vec(op(), 1..24)) {
        let mut rig = rig(Config::default());
        let before = rig.model.live_pages();
        let mut table = rig.unit.new_page_table().unwrap();
        let mut reference = Reference::default();
        for op in &ops {
            let (page, pages) = match op {
                Op::Map { page, pages, .. } | Op::Unmap { page, pages } => (*page, *pages),
                Op::UnmapMapped { pick, pages } => (reference.pick(pick), *pages),
            };
            let count = pages.min(WINDOW_PAGES - page);
            let iova = WINDOW_BASE + page * 0x1000;
            let len = count * 0x1000;
            let (got, want) = match *op {
                Op::Map { shift, perm, .. } => {
                    let phys = PHYS_BASE + (page + shift) * 0x1000;
                    (
                        rig.unit.map(&mut table, DID_A, iova, phys, len, perm).map(|_| ()),
                        reference.map(iova, phys, len, perm),
                    )
                }
                Op::Unmap { .. } | Op::UnmapMapped { .. } => (
                    rig.unit.unmap_and_flush(&mut table, DID_A, iova, len).map(|_| ()),
                    reference.unmap(iova, len),
                ),
            };
            prop_assert_eq!(got, want, "{:?}", op);
            check(&mut rig, &table, &reference, page..page + count);
            prop_assert_eq!(rig.model.live_pages(), before + reference.table_pages());
        }
        check(&mut rig, &table, &reference, 0..WINDOW_PAGES);
        // Everything left can be unmapped, leaving only the root.
        let mapped: Vec<u64> = reference.pages.keys().copied().collect();
        for iova in mapped {
            if !reference.pages.contains_key(&iova) {
                continue;
            }
            let chunk = iova & !(LARGE_PAGE - 1);
            let len = if reference.large.contains(&chunk) { LARGE_PAGE } else { 0x1000 };
            let got = rig.unit.unmap_and_flush(&mut table, DID_A, iova, len).map(|_| ());
            prop_assert_eq!(got, reference.unmap(iova, len));
        }
        prop_assert_eq!(rig.model.live_pages(), before + 1);
        rig.unit.destroy_page_table(table);
        prop_assert_eq!(rig.model.live_pages(), before);
        prop_assert_eq!(rig.model.double_frees(), 0);
    }
}
