//! A page allocator that hands out a page that already exists, so the vtd
//! library's page-table constructor can be pointed at tables a previous life
//! of the server (or another domain) built.
//!
//! [`vtd::PageTable::new`] takes its root page from a [`PageAllocator`];
//! giving it the existing root instead of a fresh zeroed page is how this
//! crate views running tables without the library growing a second
//! constructor. The lent page is *not* zeroed: that is the point.

use vtd::PageAllocator;

/// Hands out exactly one given page, once; frees nothing and owns nothing
/// (the page is lent, the pool's allocator still keeps its books).
pub(crate) struct OnePage(pub Option<u64>);

impl PageAllocator for OnePage {
    fn alloc_page(&mut self) -> Option<u64> {
        self.0.take()
    }
    fn free_page(&mut self, _phys: u64) {}
    fn owns(&self, _phys: u64) -> bool {
        false
    }
}
