//! Second-level page tables of one domain: map and unmap 4 KiB-aligned
//! ranges with read/write permissions, using 2 MiB leaves where the range and
//! the unit allow.
//!
//! Requests are checked whole before anything is written: a map over any
//! mapped page, or an unmap of any unmapped page or of part of a 2 MiB page,
//! changes nothing. Table pages left empty by an unmap are detached from
//! the tree; [`PageTable::unmap`] frees them at once (tables no unit walks),
//! [`PageTable::unmap_detached`] hands them to the caller, which frees them
//! only once the IOTLB is flushed ([`crate::Unit::unmap_and_flush`]): a unit
//! may cache walks through them until then, and a page reused as another
//! domain's table before that could be walked with the old DID.

use crate::cap::Levels;
use crate::error::Error;
use crate::format::SlPte;
use crate::hw::{PageAllocator, TableMemory};
use crate::regs::{PAGE_MASK, PAGE_SIZE, PT_ENTRIES};

/// Largest physical address an entry can hold.
const PHYS_LIMIT: u64 = 1 << 52;
/// Size of a level-2 leaf.
pub const LARGE_PAGE: u64 = 2 << 20;

/// Access rights of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Perm {
    pub read: bool,
    pub write: bool,
}

impl Perm {
    pub const R: Perm = Perm {
        read: true,
        write: false,
    };
    pub const W: Perm = Perm {
        read: false,
        write: true,
    };
    pub const RW: Perm = Perm {
        read: true,
        write: true,
    };
}

/// A translation found in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    pub phys: u64,
    pub perm: Perm,
    /// Size of the leaf (4 KiB or 2 MiB or 1 GiB).
    pub page_size: u64,
}

/// What a map or unmap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// 4 KiB leaves written or cleared.
    pub small: u64,
    /// 2 MiB leaves written or cleared.
    pub large: u64,
    /// Table pages allocated (map) or freed (unmap).
    pub tables: u64,
}

/// Byte span of one entry at `level` (1 = leaf level).
pub(crate) const fn span(level: u8) -> u64 {
    PAGE_SIZE << (9 * (level as u32 - 1))
}

/// Index of `iova` in a table at `level`.
pub(crate) const fn index(iova: u64, level: u8) -> u64 {
    (iova >> (12 + 9 * (level as u32 - 1))) & (PT_ENTRIES as u64 - 1)
}

/// One domain's second-level tables.
#[derive(Debug, PartialEq, Eq)]
pub struct PageTable {
    root: u64,
    levels: Levels,
    large_pages: bool,
}

impl PageTable {
    /// An empty table tree. `large_pages`: may use 2 MiB leaves (CAP bit 34).
    pub fn new<A: PageAllocator>(
        alloc: &mut A,
        levels: Levels,
        large_pages: bool,
    ) -> Result<PageTable, Error> {
        let root = alloc.alloc_page().ok_or(Error::OutOfMemory)?;
        Ok(PageTable {
            root,
            levels,
            large_pages,
        })
    }

    /// Physical address of the top table (the context entry's SLPTPTR).
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Depth.
    pub fn levels(&self) -> Levels {
        self.levels
    }

    /// Maps `[iova, iova+len)` to `[phys, phys+len)` with `perm`. Nothing is
    /// changed when any page of the range is mapped already, or on error.
    pub fn map<M: TableMemory, A: PageAllocator>(
        &mut self,
        mem: &mut M,
        alloc: &mut A,
        iova: u64,
        phys: u64,
        len: u64,
        perm: Perm,
    ) -> Result<Stats, Error> {
        self.check_range(iova, phys, len)?;
        if phys.checked_add(len).is_none_or(|end| end > PHYS_LIMIT) {
            return Err(Error::PhysTooLarge { phys });
        }
        if !perm.read && !perm.write {
            return Err(Error::NoAccess { iova });
        }
        let end = iova + len;
        if let Some(at) = self.first_mapped(mem, self.root, self.top(), iova, end) {
            return Err(Error::Overlap { iova: at });
        }
        let mut stats = Stats::default();
        let leaf = SlPte {
            read: perm.read,
            write: perm.write,
            ..SlPte::default()
        };
        let result = self.map_in(
            mem,
            alloc,
            self.root,
            self.top(),
            iova,
            end,
            phys,
            leaf,
            &mut stats,
        );
        if let Err(e) = result {
            // Everything in the range is ours (checked above): take it back.
            // Those tables held nothing before this call, so no unit has a
            // translation through them to forget.
            let mut undo = Stats::default();
            let mut free = |page| alloc.free_page(page);
            self.unmap_in(mem, self.root, self.top(), iova, end, &mut undo, &mut free);
            return Err(e);
        }
        Ok(stats)
    }

    /// Unmaps `[iova, iova+len)`. Every page must be mapped and no 2 MiB page
    /// may be cut; otherwise nothing changes. Emptied tables are freed at
    /// once: only for tables no context entry uses (nothing cached).
    pub fn unmap<M: TableMemory, A: PageAllocator>(
        &mut self,
        mem: &mut M,
        alloc: &mut A,
        iova: u64,
        len: u64,
    ) -> Result<Stats, Error> {
        self.unmap_detached(mem, iova, len, &mut |page| alloc.free_page(page))
    }

    /// [`PageTable::unmap`], handing every emptied table page to `detached`
    /// instead of freeing it: the caller frees it once the unit's caches
    /// have forgotten the tree.
    pub fn unmap_detached<M: TableMemory>(
        &mut self,
        mem: &mut M,
        iova: u64,
        len: u64,
        detached: &mut dyn FnMut(u64),
    ) -> Result<Stats, Error> {
        self.check_range(iova, 0, len)?;
        let end = iova + len;
        self.check_fully_mapped(mem, self.root, self.top(), iova, end)?;
        let mut stats = Stats::default();
        self.unmap_in(mem, self.root, self.top(), iova, end, &mut stats, detached);
        Ok(stats)
    }

    /// The translation of `iova`, if mapped.
    pub fn translate<M: TableMemory>(&self, mem: &mut M, iova: u64) -> Option<Translation> {
        if iova >= 1u64 << self.levels.width() {
            return None;
        }
        let mut table = self.root;
        let mut perm = Perm::RW;
        let mut level = self.top();
        loop {
            let pte = SlPte::decode(mem.read_u64(table + index(iova, level) * 8));
            if !pte.present() {
                return None;
            }
            perm.read &= pte.read;
            perm.write &= pte.write;
            if level == 1 || pte.superpage {
                let size = span(level);
                return Some(Translation {
                    phys: pte.addr + (iova & (size - 1)),
                    perm,
                    page_size: size,
                });
            }
            table = pte.addr;
            level -= 1;
        }
    }

    /// Frees every table page, root included.
    pub fn destroy<M: TableMemory, A: PageAllocator>(self, mem: &mut M, alloc: &mut A) {
        free_tree(mem, alloc, self.root, self.top());
    }

    fn top(&self) -> u8 {
        self.levels.count()
    }

    fn check_range(&self, iova: u64, phys: u64, len: u64) -> Result<(), Error> {
        if len == 0 || (iova | phys | len) & PAGE_MASK != 0 {
            return Err(Error::Misaligned { iova, phys, len });
        }
        let width = self.levels.width();
        if iova.checked_add(len).is_none_or(|end| end > 1u64 << width) {
            return Err(Error::BeyondAddressWidth { iova, len, width });
        }
        Ok(())
    }

    /// First mapped address in `[start, end)`, walking only present entries.
    fn first_mapped<M: TableMemory>(
        &self,
        mem: &mut M,
        table: u64,
        level: u8,
        start: u64,
        end: u64,
    ) -> Option<u64> {
        let mut addr = start;
        while addr < end {
            let size = span(level);
            let next = ((addr & !(size - 1)) + size).min(end);
            let pte = SlPte::decode(mem.read_u64(table + index(addr, level) * 8));
            if pte.present() {
                if level == 1 || pte.superpage {
                    return Some(addr);
                }
                if let Some(found) = self.first_mapped(mem, pte.addr, level - 1, addr, next) {
                    return Some(found);
                }
            }
            addr = next;
        }
        None
    }

    fn check_fully_mapped<M: TableMemory>(
        &self,
        mem: &mut M,
        table: u64,
        level: u8,
        start: u64,
        end: u64,
    ) -> Result<(), Error> {
        let mut addr = start;
        while addr < end {
            let size = span(level);
            let base = addr & !(size - 1);
            let next = (base + size).min(end);
            let pte = SlPte::decode(mem.read_u64(table + index(addr, level) * 8));
            if !pte.present() {
                return Err(Error::NotMapped { iova: addr });
            }
            if pte.superpage && level > 1 {
                if addr != base || next != base + size {
                    return Err(Error::SplitsLargePage { iova: addr });
                }
            } else if level > 1 {
                self.check_fully_mapped(mem, pte.addr, level - 1, addr, next)?;
            }
            addr = next;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn map_in<M: TableMemory, A: PageAllocator>(
        &self,
        mem: &mut M,
        alloc: &mut A,
        table: u64,
        level: u8,
        start: u64,
        end: u64,
        phys_at_start: u64,
        leaf: SlPte,
        stats: &mut Stats,
    ) -> Result<(), Error> {
        let mut addr = start;
        while addr < end {
            let size = span(level);
            let base = addr & !(size - 1);
            let next = (base + size).min(end);
            let phys = phys_at_start + (addr - start);
            let slot = table + index(addr, level) * 8;
            let pte = SlPte::decode(mem.read_u64(slot));
            if level == 1 {
                store(mem, slot, SlPte { addr: phys, ..leaf }.encode());
                stats.small += 1;
            } else if level == 2
                && self.large_pages
                && !pte.present()
                && addr == base
                && next == base + size
                && phys & (size - 1) == 0
            {
                let large = SlPte {
                    addr: phys,
                    superpage: true,
                    ..leaf
                };
                store(mem, slot, large.encode());
                stats.large += 1;
            } else {
                let child = if pte.present() {
                    if pte.superpage {
                        return Err(Error::Overlap { iova: addr });
                    }
                    pte.addr
                } else {
                    let page = alloc.alloc_page().ok_or(Error::OutOfMemory)?;
                    stats.tables += 1;
                    store(mem, slot, SlPte::table(page).encode());
                    page
                };
                self.map_in(mem, alloc, child, level - 1, addr, next, phys, leaf, stats)?;
            }
            addr = next;
        }
        Ok(())
    }

    /// Clears every leaf in `[start, end)` below `table`; detaches child
    /// tables left empty, handing each to `detached`. Returns whether
    /// `table` itself is now empty.
    #[allow(clippy::too_many_arguments)]
    fn unmap_in<M: TableMemory>(
        &self,
        mem: &mut M,
        table: u64,
        level: u8,
        start: u64,
        end: u64,
        stats: &mut Stats,
        detached: &mut dyn FnMut(u64),
    ) -> bool {
        let mut addr = start;
        while addr < end {
            let size = span(level);
            let next = ((addr & !(size - 1)) + size).min(end);
            let slot = table + index(addr, level) * 8;
            let pte = SlPte::decode(mem.read_u64(slot));
            if pte.present() {
                if level == 1 || pte.superpage {
                    store(mem, slot, 0);
                    if level == 1 {
                        stats.small += 1;
                    } else {
                        stats.large += 1;
                    }
                } else if self.unmap_in(mem, pte.addr, level - 1, addr, next, stats, detached) {
                    store(mem, slot, 0);
                    detached(pte.addr);
                    stats.tables += 1;
                }
            }
            addr = next;
        }
        table_is_empty(mem, table)
    }
}

/// Writes one entry and makes it visible to a non-snooping unit.
pub(crate) fn store<M: TableMemory>(mem: &mut M, slot: u64, value: u64) {
    mem.write_u64(slot, value);
    mem.sync(slot, 8);
}

fn table_is_empty<M: TableMemory>(mem: &mut M, table: u64) -> bool {
    let mut words = [0u64; PT_ENTRIES];
    mem.read_page(table, &mut words);
    words.iter().all(|&w| !SlPte::decode(w).present())
}

/// Frees `table` and every table below it (leaves are not owned).
pub(crate) fn free_tree<M: TableMemory, A: PageAllocator>(
    mem: &mut M,
    alloc: &mut A,
    table: u64,
    level: u8,
) {
    if level > 1 {
        for i in 0..PT_ENTRIES as u64 {
            let pte = SlPte::decode(mem.read_u64(table + i * 8));
            if pte.present() && !pte.superpage {
                free_tree(mem, alloc, pte.addr, level - 1);
            }
        }
    }
    alloc.free_page(table);
}
