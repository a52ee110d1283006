//! [`PageAllocator`] over a DMA pool window: pages are handed out from a
//! bump pointer, and freed pages are kept on a free list threaded through
//! the first word of each free page (so the allocator needs no memory of
//! its own). Every page handed out is zeroed first, as the trait requires.
//!
//! A free of an address that was never handed out (outside the pool,
//! unaligned, above the bump pointer, or already free) is refused and
//! counted rather than corrupting the list.

use crate::hw::PageAllocator;
use crate::mmio::pool::PoolWindow;
use crate::regs::{PAGE_MASK, PAGE_SIZE};

/// End of the free list (no page has physical address 0 in a pool: a pool
/// at 0 loses its first page to this marker, see `PoolAllocator::new`).
const LIST_END: u64 = 0;

/// A page allocator over one pool window.
#[derive(Debug)]
pub struct PoolAllocator {
    window: PoolWindow,
    /// Physical address of the next never-used page.
    next: u64,
    /// Head of the free list (`LIST_END` when empty).
    free: u64,
    in_use: u64,
    refused_frees: u32,
}

impl PoolAllocator {
    /// An allocator owning every page of `window` (but page 0 of physical
    /// memory, which the free list uses as its end marker).
    pub fn new(window: PoolWindow) -> PoolAllocator {
        let next = if window.pa() == 0 {
            PAGE_SIZE
        } else {
            window.pa()
        };
        PoolAllocator {
            window,
            next,
            free: LIST_END,
            in_use: 0,
            refused_frees: 0,
        }
    }

    /// Pages currently handed out.
    pub fn in_use(&self) -> u64 {
        self.in_use
    }

    /// Pages still available.
    pub fn available(&self) -> u64 {
        let never_used = (self.window.pa() + self.window.size() - self.next) / PAGE_SIZE;
        never_used + self.free_list_len()
    }

    /// Frees refused so far (double frees, foreign addresses).
    pub fn refused_frees(&self) -> u32 {
        self.refused_frees
    }

    fn page_ptr(&self, pa: u64) -> Option<*mut u64> {
        if pa & PAGE_MASK != 0 {
            return None;
        }
        self.window.va_of(pa, PAGE_SIZE).map(|va| va as *mut u64)
    }

    fn free_list_len(&self) -> u64 {
        let mut n = 0;
        let mut cur = self.free;
        let limit = self.window.size() / PAGE_SIZE;
        while cur != LIST_END && n < limit {
            let Some(p) = self.page_ptr(cur) else { break };
            // SAFETY: `cur` is a free page inside the window (only pages
            // that passed `free_page`'s checks are linked).
            cur = unsafe { p.read_volatile() };
            n += 1;
        }
        n
    }

    fn is_free(&self, pa: u64) -> bool {
        let mut cur = self.free;
        let limit = self.window.size() / PAGE_SIZE;
        for _ in 0..limit {
            if cur == LIST_END {
                return false;
            }
            if cur == pa {
                return true;
            }
            let Some(p) = self.page_ptr(cur) else {
                return false;
            };
            // SAFETY: as in `free_list_len`.
            cur = unsafe { p.read_volatile() };
        }
        false
    }
}

impl PageAllocator for PoolAllocator {
    fn alloc_page(&mut self) -> Option<u64> {
        let pa = if self.free != LIST_END {
            let pa = self.free;
            let p = self.page_ptr(pa)?;
            // SAFETY: the head is a free page inside the window.
            self.free = unsafe { p.read_volatile() };
            pa
        } else if self.next + PAGE_SIZE <= self.window.pa() + self.window.size() {
            let pa = self.next;
            self.next += PAGE_SIZE;
            pa
        } else {
            return None;
        };
        let p = self.page_ptr(pa)?;
        // SAFETY: the whole page is inside the mapped window, and a page
        // being handed out is not yet linked into anything a unit walks.
        unsafe { core::ptr::write_bytes(p, 0, (PAGE_SIZE / 8) as usize) };
        self.in_use += 1;
        Some(pa)
    }

    fn free_page(&mut self, phys: u64) {
        let handed_out = phys >= self.window.pa() && phys < self.next;
        let Some(p) = self.page_ptr(phys) else {
            self.refused_frees += 1;
            return;
        };
        if !handed_out || phys == LIST_END || self.is_free(phys) {
            self.refused_frees += 1;
            return;
        }
        // SAFETY: a page of the window that was handed out and is not on
        // the list: its first word becomes the link.
        unsafe { p.write_volatile(self.free) };
        self.free = phys;
        self.in_use -= 1;
    }

    fn owns(&self, phys: u64) -> bool {
        let handed_out = phys >= self.window.pa() && phys < self.next;
        handed_out && phys != LIST_END && self.page_ptr(phys).is_some() && !self.is_free(phys)
    }
}
