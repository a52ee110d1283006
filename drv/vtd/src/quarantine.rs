//! Per-device quarantine page tables (Xen 14dd241aad, CVE-2022-26361).
//!
//! Every level is one page and every leaf points at one read/write scratch
//! page, so a quarantined device's DMA anywhere lands in the scratch page
//! instead of faulting; its RMRRs are identity-mapped on top through private
//! copies of the shared pages on their path. The scratch page is zeroed
//! again whenever the device is re-quarantined, so nothing one owner's
//! device wrote there reaches the next.

use crate::cap::Levels;
use crate::error::Error;
use crate::format::SlPte;
use crate::hw::{PageAllocator, TableMemory};
use crate::pagetable::{index, store};
use crate::regs::{PAGE_MASK, PAGE_SIZE, PT_ENTRIES};

/// Levels below the root that can be shared (a 4-level tree has 3).
const MAX_SHARED: usize = 3;

/// One device's quarantine tables.
#[derive(Debug, PartialEq, Eq)]
pub struct Quarantine {
    root: u64,
    levels: Levels,
    scratch: u64,
    /// `shared[l-1]`: the one page every level-`l` entry above points at.
    shared: [u64; MAX_SHARED],
}

impl Quarantine {
    /// Builds the tables: scratch page, one page per level, all wired up.
    pub fn build<M: TableMemory, A: PageAllocator>(
        mem: &mut M,
        alloc: &mut A,
        levels: Levels,
    ) -> Result<Quarantine, Error> {
        let mut pages = [0u64; MAX_SHARED + 2];
        let needed = levels.count() as usize + 1;
        for i in 0..needed {
            match alloc.alloc_page() {
                Some(page) => pages[i] = page,
                None => {
                    for &page in &pages[..i] {
                        alloc.free_page(page);
                    }
                    return Err(Error::OutOfMemory);
                }
            }
        }
        // pages[0] = scratch, pages[l] = the level-l page (top = root).
        let scratch = pages[0];
        for level in 1..=levels.count() as usize {
            let below = pages[level - 1];
            let pte = if level == 1 {
                SlPte {
                    read: true,
                    write: true,
                    addr: below,
                    ..SlPte::default()
                }
            } else {
                SlPte::table(below)
            };
            fill(mem, pages[level], pte.encode());
        }
        let mut shared = [0u64; MAX_SHARED];
        shared[..levels.count() as usize - 1].copy_from_slice(&pages[1..levels.count() as usize]);
        Ok(Quarantine {
            root: pages[levels.count() as usize],
            levels,
            scratch,
            shared,
        })
    }

    /// The top table (the context entry's SLPTPTR).
    pub fn root(&self) -> u64 {
        self.root
    }

    /// The scratch page every unmapped IOVA reaches.
    pub fn scratch(&self) -> u64 {
        self.scratch
    }

    /// Depth.
    pub fn levels(&self) -> Levels {
        self.levels
    }

    /// Identity-maps `[base, base+len)` (an RMRR) read/write over the
    /// scratch leaves.
    pub fn map_identity<M: TableMemory, A: PageAllocator>(
        &mut self,
        mem: &mut M,
        alloc: &mut A,
        base: u64,
        len: u64,
    ) -> Result<(), Error> {
        let width = self.levels.width();
        if len == 0 || (base | len) & PAGE_MASK != 0 {
            return Err(Error::Misaligned {
                iova: base,
                phys: base,
                len,
            });
        }
        if base.checked_add(len).is_none_or(|end| end > 1u64 << width) {
            return Err(Error::BeyondAddressWidth {
                iova: base,
                len,
                width,
            });
        }
        let mut page = base;
        while page < base + len {
            self.map_identity_page(mem, alloc, page)?;
            page += PAGE_SIZE;
        }
        Ok(())
    }

    fn map_identity_page<M: TableMemory, A: PageAllocator>(
        &mut self,
        mem: &mut M,
        alloc: &mut A,
        page: u64,
    ) -> Result<(), Error> {
        let mut table = self.root;
        let mut level = self.levels.count();
        while level > 1 {
            let slot = table + index(page, level) * 8;
            let pte = SlPte::decode(mem.read_u64(slot));
            let shared_below = self.shared[level as usize - 2];
            let child = if pte.addr == shared_below {
                // Give this path its own copy so the other 511 slots keep
                // pointing at the shared page.
                let copy = alloc.alloc_page().ok_or(Error::OutOfMemory)?;
                for i in 0..PT_ENTRIES as u64 {
                    let value = mem.read_u64(shared_below + i * 8);
                    mem.write_u64(copy + i * 8, value);
                }
                mem.sync(copy, PAGE_SIZE);
                store(mem, slot, SlPte::table(copy).encode());
                copy
            } else {
                pte.addr
            };
            table = child;
            level -= 1;
        }
        let leaf = SlPte {
            read: true,
            write: true,
            addr: page,
            ..SlPte::default()
        };
        store(mem, table + index(page, 1) * 8, leaf.encode());
        Ok(())
    }

    /// Zeroes the scratch page (on every re-quarantine).
    pub fn clear_scratch<M: TableMemory>(&mut self, mem: &mut M) {
        for i in 0..PT_ENTRIES as u64 {
            mem.write_u64(self.scratch + i * 8, 0);
        }
        mem.sync(self.scratch, PAGE_SIZE);
    }

    /// Frees every page: private copies, shared pages, root and scratch.
    pub fn destroy<M: TableMemory, A: PageAllocator>(self, mem: &mut M, alloc: &mut A) {
        self.free_private(mem, alloc, self.root, self.levels.count());
        for &page in &self.shared[..self.levels.count() as usize - 1] {
            alloc.free_page(page);
        }
        alloc.free_page(self.scratch);
    }

    /// Frees `table` and the private pages below it, not descending into
    /// shared pages (each is freed once by `destroy`).
    fn free_private<M: TableMemory, A: PageAllocator>(
        &self,
        mem: &mut M,
        alloc: &mut A,
        table: u64,
        level: u8,
    ) {
        if level > 1 {
            let shared_below = self.shared[level as usize - 2];
            for i in 0..PT_ENTRIES as u64 {
                let pte = SlPte::decode(mem.read_u64(table + i * 8));
                if pte.present() && pte.addr != shared_below {
                    self.free_private(mem, alloc, pte.addr, level - 1);
                }
            }
        }
        alloc.free_page(table);
    }
}

fn fill<M: TableMemory>(mem: &mut M, page: u64, value: u64) {
    for i in 0..PT_ENTRIES as u64 {
        mem.write_u64(page + i * 8, value);
    }
    mem.sync(page, PAGE_SIZE);
}
