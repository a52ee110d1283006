//! The hardware the library drives, as traits: a unit's register page, the
//! physical memory holding the tables, a page allocator and a pause between
//! polls.
//!
//! The iommu task binds these to MMIO and its DMA pool; the host tests bind
//! them to the software model (`model`, feature `model`). Nothing else in the
//! crate touches hardware.

use crate::regs::PT_ENTRIES;

/// One VT-d unit's 4 KiB register page.
///
/// QEMU only honours 32-bit accesses to FSTS, FECTL, ICS, IECTL and the
/// 32-bit halves of wider registers, so the library uses `read32`/`write32`
/// for those and the 64-bit calls only for 64-bit registers.
pub trait Registers {
    /// 32-bit read at `offset` from the start of the register page.
    fn read32(&mut self, offset: usize) -> u32;
    /// 32-bit write at `offset`.
    fn write32(&mut self, offset: usize, value: u32);
    /// 64-bit read at `offset` (8-byte aligned).
    fn read64(&mut self, offset: usize) -> u64;
    /// 64-bit write at `offset` (8-byte aligned).
    fn write64(&mut self, offset: usize, value: u64);
}

/// Physical memory holding root, context and page tables, the invalidation
/// queue and its status word.
pub trait TableMemory {
    /// Reads the naturally aligned 64-bit word at physical `addr`.
    fn read_u64(&mut self, addr: u64) -> u64;
    /// Writes the naturally aligned 64-bit word at physical `addr` as one
    /// store (hardware may observe the memory between two calls).
    fn write_u64(&mut self, addr: u64, value: u64);
    /// Atomically replaces the 16-byte-aligned 128-bit value at `addr` with
    /// `new` if it equals `old`; otherwise writes nothing and says why: the
    /// value found, or that this memory could not do the exchange at all
    /// (then nothing was read either). Low 64 bits are the word at `addr`.
    fn cmpxchg16b(&mut self, addr: u64, old: u128, new: u128) -> Result<(), Cmpxchg16bError>;
    /// Whether the CPU has CMPXCHG16B (`cmpxchg16b` may only be called then).
    fn has_cx16(&self) -> bool;
    /// Makes `len` bytes at `addr` visible to a unit whose page walks do not
    /// snoop the CPU caches (ECAP.C = 0): a cache-line flush on real
    /// hardware. The default does nothing (coherent memory).
    fn sync(&mut self, _addr: u64, _len: u64) {}
    /// Zeroes the 4 KiB page at `addr` (a fresh table). The default writes
    /// it a word at a time; memory that can do better (one `memset` over a
    /// mapped window) overrides it. Callers `sync` afterwards.
    fn zero_page(&mut self, addr: u64) {
        for word in 0..PT_ENTRIES as u64 {
            self.write_u64(addr + word * 8, 0);
        }
    }
    /// Reads the 512 words of the table at `addr` into `out` (to scan a
    /// whole table, e.g. whether it is empty). The default reads a word at
    /// a time; a mapped window overrides it with one copy.
    fn read_page(&mut self, addr: u64, out: &mut [u64; PT_ENTRIES]) {
        for (i, word) in out.iter_mut().enumerate() {
            *word = self.read_u64(addr + i as u64 * 8);
        }
    }
}

/// Why a 128-bit compare-exchange stored nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmpxchg16bError {
    /// The memory held another value: this one (the instruction ran).
    Changed(u128),
    /// The memory cannot do it: no CMPXCHG16B on this CPU, or the address
    /// is misaligned or outside the memory. The instruction never ran, so
    /// nothing is known of the value there.
    Refused,
}

/// Supplies 4 KiB pages for tables.
pub trait PageAllocator {
    /// A zero-filled, 4 KiB-aligned physical page, or `None` when exhausted.
    fn alloc_page(&mut self) -> Option<u64>;
    /// Returns a page obtained from `alloc_page`.
    fn free_page(&mut self, phys: u64);
    /// Whether `phys` is a page this allocator handed out and has not taken
    /// back. [`crate::Unit::resume`] checks every table address it reads
    /// from a running unit against this, so a corrupt register can never
    /// make the driver write outside its own pages.
    fn owns(&self, phys: u64) -> bool;
}

/// What the library does between two polls of a status bit. The number of
/// polls is bounded by [`crate::Config::poll_limit`]; a wait that runs out is
/// an error, never a hang.
pub trait Delay {
    /// Waits a little before the next poll.
    fn pause(&mut self);
}

/// A [`Delay`] that only hints the CPU that it is spinning.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpinDelay;

impl Delay for SpinDelay {
    fn pause(&mut self) {
        core::hint::spin_loop();
    }
}
