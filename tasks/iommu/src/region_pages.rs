//! A page allocator over the task's DMA pool whose books (one bit a page)
//! live in a region that outlives the task, so a restarted server never
//! hands out a page its previous life put a table in.
//!
//! Two things a reader must know:
//! - A page is marked used *before* it is zeroed and handed out, and
//!   unmarked only when freed; a crash in between leaks the page, never
//!   hands it out twice.
//! - The books carry the pool's physical base and page count; books made
//!   for another pool (or a zeroed region on first boot) start empty.

use core::fmt;

use vtd::{PageAllocator, TableMemory};

/// "CIOP" at the start of valid books.
const MAGIC: u32 = 0x4349_4f50;
/// Magic, pool base, page count.
const HEADER_LEN: usize = 4 + 8 + 4;
const PAGE: u64 = 4096;

/// Bytes of books a pool of `pool_bytes` needs.
pub const fn pages_region_bytes(pool_bytes: u64) -> usize {
    HEADER_LEN + (pool_bytes / PAGE).div_ceil(8) as usize
}

/// Why the books cannot be set up.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PagesError {
    /// The pool's base or size is not page aligned, or it is empty.
    BadPool { base: u64, size: u64 },
    /// The region cannot hold a bit for every page.
    RegionTooSmall { len: usize, need: usize },
}

impl fmt::Display for PagesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PagesError::BadPool { base, size } => write!(
                f,
                "DMA pool at {base:#x} of {size:#x} bytes is empty or not page aligned"
            ),
            PagesError::RegionTooSmall { len, need } => {
                write!(f, "page books of {len} bytes, need {need}")
            }
        }
    }
}

/// Pages of one pool, zeroed through `M` (the pool's table memory).
pub struct RegionPages<'a, M> {
    books: &'a mut [u8],
    base: u64,
    pages: u32,
    mem: M,
    resumed: bool,
    refused_frees: u32,
}

impl<'a, M: TableMemory> RegionPages<'a, M> {
    /// The allocator of the pool `[base, base+size)`, keeping its books in
    /// `books`; books an earlier life left for this pool are kept.
    pub fn new(books: &'a mut [u8], base: u64, size: u64, mem: M) -> Result<Self, PagesError> {
        if size == 0 || !base.is_multiple_of(PAGE) || !size.is_multiple_of(PAGE) {
            return Err(PagesError::BadPool { base, size });
        }
        let pages = u32::try_from(size / PAGE).map_err(|_| PagesError::BadPool { base, size })?;
        let need = pages_region_bytes(size);
        if books.len() < need {
            return Err(PagesError::RegionTooSmall {
                len: books.len(),
                need,
            });
        }
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(&MAGIC.to_le_bytes());
        header[4..12].copy_from_slice(&base.to_le_bytes());
        header[12..].copy_from_slice(&pages.to_le_bytes());
        let resumed = books.get(..HEADER_LEN) == Some(&header[..]);
        if !resumed {
            books.fill(0);
            if let Some(h) = books.get_mut(..HEADER_LEN) {
                h.copy_from_slice(&header);
            }
        }
        Ok(RegionPages {
            books,
            base,
            pages,
            mem,
            resumed,
            refused_frees: 0,
        })
    }

    /// Whether the books of an earlier life were kept.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// Pages handed out and not freed (by any life).
    pub fn in_use(&self) -> u32 {
        (0..self.pages).filter(|&i| self.is_used(i)).count() as u32
    }

    /// Frees refused so far (foreign, unaligned or already free pages).
    pub fn refused_frees(&self) -> u32 {
        self.refused_frees
    }

    fn bit(&self, index: u32) -> (usize, u8) {
        (HEADER_LEN + (index / 8) as usize, 1u8 << (index % 8))
    }

    /// The lowest free page: skips full bytes of the books, then the bit.
    fn first_free(&self) -> Option<u32> {
        let bits = self.books.get(HEADER_LEN..)?;
        let byte = bits.iter().position(|&b| b != u8::MAX)?;
        let index = u32::try_from(byte).ok()? * 8 + bits.get(byte)?.trailing_ones();
        (index < self.pages).then_some(index)
    }

    fn is_used(&self, index: u32) -> bool {
        let (byte, mask) = self.bit(index);
        self.books.get(byte).is_some_and(|b| b & mask != 0)
    }

    fn set(&mut self, index: u32, used: bool) {
        let (byte, mask) = self.bit(index);
        if let Some(b) = self.books.get_mut(byte) {
            if used {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
    }

    /// The index of the page at `pa`, if it is one of the pool's.
    fn index_of(&self, pa: u64) -> Option<u32> {
        let offset = pa.checked_sub(self.base)?;
        if !offset.is_multiple_of(PAGE) {
            return None;
        }
        u32::try_from(offset / PAGE)
            .ok()
            .filter(|&i| i < self.pages)
    }
}

impl<M: TableMemory> PageAllocator for RegionPages<'_, M> {
    fn alloc_page(&mut self) -> Option<u64> {
        let index = self.first_free()?;
        self.set(index, true);
        let pa = self.base + u64::from(index) * PAGE;
        self.mem.zero_page(pa);
        self.mem.sync(pa, PAGE);
        Some(pa)
    }

    fn free_page(&mut self, phys: u64) {
        match self.index_of(phys) {
            Some(index) if self.is_used(index) => self.set(index, false),
            _ => self.refused_frees = self.refused_frees.saturating_add(1),
        }
    }

    fn owns(&self, phys: u64) -> bool {
        self.index_of(phys).is_some_and(|index| self.is_used(index))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;

    use super::*;
    use vtd::model::Model;

    const BASE: u64 = 0x20_0000;
    const SIZE: u64 = 8 * PAGE;

    #[test]
    fn pages_are_handed_out_once_and_zeroed() {
        let model = Model::qemu();
        let mut books = vec![0u8; pages_region_bytes(SIZE)];
        let mut pages = RegionPages::new(&mut books, BASE, SIZE, model.memory()).unwrap();
        let a = pages.alloc_page().unwrap();
        let mut mem = model.memory();
        mem.write_u64(a + 8, 0xdead);
        pages.free_page(a);
        let b = pages.alloc_page().unwrap();
        assert_eq!(a, b);
        assert_eq!(mem.read_u64(b + 8), 0);
        let c = pages.alloc_page().unwrap();
        assert_ne!(b, c);
        assert_eq!(pages.in_use(), 2);
    }

    #[test]
    fn a_restarted_allocator_keeps_the_pages_of_its_previous_life() {
        let model = Model::qemu();
        let mut books = vec![0u8; pages_region_bytes(SIZE)];
        let first: std::vec::Vec<u64> = {
            let mut pages = RegionPages::new(&mut books, BASE, SIZE, model.memory()).unwrap();
            assert!(!pages.resumed());
            (0..3).filter_map(|_| pages.alloc_page()).collect()
        };
        let mut pages = RegionPages::new(&mut books, BASE, SIZE, model.memory()).unwrap();
        assert!(pages.resumed());
        assert_eq!(pages.in_use(), 3);
        let next = pages.alloc_page().unwrap();
        assert!(!first.contains(&next));
    }

    #[test]
    fn it_owns_the_pages_its_books_mark_used_in_any_life() {
        let model = Model::qemu();
        let mut books = vec![0u8; pages_region_bytes(SIZE)];
        let (a, b) = {
            let mut pages = RegionPages::new(&mut books, BASE, SIZE, model.memory()).unwrap();
            (pages.alloc_page().unwrap(), pages.alloc_page().unwrap())
        };
        let mut pages = RegionPages::new(&mut books, BASE, SIZE, model.memory()).unwrap();
        pages.free_page(a);
        assert!(pages.owns(b), "used by the previous life");
        assert!(!pages.owns(a), "freed");
        assert!(!pages.owns(b + 8), "unaligned");
        assert!(!pages.owns(BASE + SIZE), "beyond the pool");
        assert!(!pages.owns(BASE - PAGE), "below the pool");
    }

    #[test]
    fn books_of_another_pool_start_empty() {
        let model = Model::qemu();
        let mut books = vec![0u8; pages_region_bytes(SIZE)];
        {
            let mut pages = RegionPages::new(&mut books, BASE, SIZE, model.memory()).unwrap();
            pages.alloc_page().unwrap();
        }
        let pages = RegionPages::new(&mut books, BASE + SIZE, SIZE, model.memory()).unwrap();
        assert!(!pages.resumed());
        assert_eq!(pages.in_use(), 0);
    }

    #[test]
    fn a_freed_page_is_the_next_one_handed_out_and_comes_back_zeroed() {
        let model = Model::qemu();
        let mut books = vec![0u8; pages_region_bytes(SIZE)];
        let mut pages = RegionPages::new(&mut books, BASE, SIZE, model.memory()).unwrap();
        let all: vec::Vec<u64> = (0..8).map(|_| pages.alloc_page().unwrap()).collect();
        let mut mem = model.memory();
        mem.write_u64(all[3] + 64, 0xdead_beef);
        pages.free_page(all[3]);
        assert_eq!(pages.alloc_page(), Some(all[3]));
        assert_eq!(mem.read_u64(all[3] + 64), 0);
        assert_eq!(pages.alloc_page(), None);
    }

    #[test]
    fn an_exhausted_pool_gives_none() {
        let model = Model::qemu();
        let mut books = vec![0u8; pages_region_bytes(SIZE)];
        let mut pages = RegionPages::new(&mut books, BASE, SIZE, model.memory()).unwrap();
        for _ in 0..8 {
            assert!(pages.alloc_page().is_some());
        }
        assert_eq!(pages.alloc_page(), None);
    }

    #[test]
    fn foreign_unaligned_or_double_frees_are_refused() {
        let model = Model::qemu();
        let mut books = vec![0u8; pages_region_bytes(SIZE)];
        let mut pages = RegionPages::new(&mut books, BASE, SIZE, model.memory()).unwrap();
        let a = pages.alloc_page().unwrap();
        pages.free_page(a + 8);
        pages.free_page(BASE + SIZE);
        pages.free_page(a);
        pages.free_page(a);
        assert_eq!(pages.refused_frees(), 3);
        assert_eq!(pages.in_use(), 0);
    }

    #[test]
    fn a_bad_pool_or_small_region_is_refused() {
        let model = Model::qemu();
        let mut books = vec![0u8; pages_region_bytes(SIZE)];
        assert_eq!(
            RegionPages::new(&mut books, BASE + 1, SIZE, model.memory()).err(),
            Some(PagesError::BadPool {
                base: BASE + 1,
                size: SIZE
            })
        );
        let mut small = vec![0u8; HEADER_LEN];
        assert_eq!(
            RegionPages::new(&mut small, BASE, SIZE, model.memory()).err(),
            Some(PagesError::RegionTooSmall {
                len: HEADER_LEN,
                need: HEADER_LEN + 1
            })
        );
    }
}
