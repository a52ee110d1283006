//! Page allocators that hand out a page that already exists, so the vtd
//! library's constructors can be pointed at tables a previous life of the
//! server built.
//!
//! [`vtd::PageTable::new`] and [`vtd::Unit::bring_up`] take their root
//! pages from a [`PageAllocator`]; giving them the existing root instead of
//! a fresh zeroed page is how this crate adopts running tables without the
//! library growing a second constructor. The adopted page is *not* zeroed:
//! that is the point.

use vtd::PageAllocator;

/// Hands out exactly one given page, once; frees nothing (adoption never
/// owns the page it hands out).
pub(crate) struct OnePage(pub Option<u64>);

impl PageAllocator for OnePage {
    fn alloc_page(&mut self) -> Option<u64> {
        self.0.take()
    }
    fn free_page(&mut self, _phys: u64) {}
}

/// The allocator a unit is built with: the real one, except that while
/// resuming, allocation number `skip` (0-based) returns the running root
/// table instead of a new page.
pub struct Adopting<A> {
    inner: A,
    pending: Option<(u8, u64)>,
}

impl<A> Adopting<A> {
    /// Plain allocation.
    pub(crate) fn fresh(inner: A) -> Self {
        Adopting {
            inner,
            pending: None,
        }
    }

    /// The allocation after `skip` others returns `page`.
    pub(crate) fn resuming(inner: A, skip: u8, page: u64) -> Self {
        Adopting {
            inner,
            pending: Some((skip, page)),
        }
    }
}

impl<A: PageAllocator> PageAllocator for Adopting<A> {
    fn alloc_page(&mut self) -> Option<u64> {
        match self.pending {
            Some((0, page)) => {
                self.pending = None;
                Some(page)
            }
            Some((skip, page)) => {
                self.pending = Some((skip - 1, page));
                self.inner.alloc_page()
            }
            None => self.inner.alloc_page(),
        }
    }

    fn free_page(&mut self, phys: u64) {
        self.inner.free_page(phys)
    }
}
