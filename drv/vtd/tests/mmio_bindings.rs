//! The `mmio` bindings on host memory: a page-aligned buffer stands in for
//! the DMA pool (with a made-up physical base) and for the register page.

use vtd::mmio::{has_cx16, MmioRegisters, PoolAllocator, PoolFault, PoolMemory, PoolWindow};
use vtd::{regs, Cmpxchg16bError, Levels, PageAllocator, PageTable, Perm, Registers, TableMemory};

const PA: u64 = 0x0200_0000;
const PAGES: usize = 8;
const PAGE: usize = 4096;

/// Page-aligned host memory of `pages` pages.
struct Buffer {
    raw: Vec<u8>,
    pages: usize,
}

impl Buffer {
    fn new(pages: usize) -> Buffer {
        Buffer {
            raw: vec![0; (pages + 1) * PAGE],
            pages,
        }
    }

    fn base(&mut self) -> *mut u8 {
        let p = self.raw.as_mut_ptr();
        p.wrapping_add(p.align_offset(PAGE))
    }

    fn window(&mut self) -> PoolWindow {
        // SAFETY: the buffer is mapped, page aligned, `pages` pages long and
        // outlives every test's use of the window.
        unsafe { PoolWindow::new(self.base() as usize, PA, (self.pages * PAGE) as u64) }.unwrap()
    }
}

#[test]
fn window_refuses_unaligned_empty_or_overflowing_ranges() {
    // SAFETY: refused windows are never used.
    unsafe {
        assert!(PoolWindow::new(0x1000, 0x1001, 0x1000).is_err());
        assert!(PoolWindow::new(0x1000, 0x1000, 0).is_err());
        assert!(PoolWindow::new(0x1000, !0xfff, 0x2000).is_err());
    }
}

#[test]
fn window_translates_physical_to_virtual_and_back_within_bounds() {
    let mut buf = Buffer::new(PAGES);
    let w = buf.window();
    let va = buf.base() as usize;
    assert_eq!(w.va_of(PA + 0x1008, 8), Some(va + 0x1008));
    assert_eq!(w.pa_of(va + 0x2010), Some(PA + 0x2010));
    assert_eq!(w.va_of(PA - 8, 8), None);
    assert_eq!(w.va_of(PA + (PAGES * PAGE) as u64 - 4, 8), None);
    assert_eq!(w.pa_of(va + PAGES * PAGE), None);
}

#[test]
fn pool_memory_reads_and_writes_words_at_translated_addresses() {
    let mut buf = Buffer::new(PAGES);
    let mut mem = PoolMemory::new(buf.window());
    mem.write_u64(PA + 0x1008, 0x1122_3344_5566_7788);
    assert_eq!(mem.read_u64(PA + 0x1008), 0x1122_3344_5566_7788);
    let base = buf.base();
    // SAFETY: offset 0x1008 is inside the buffer.
    let raw = unsafe { (base.add(0x1008) as *const u64).read() };
    assert_eq!(raw, 0x1122_3344_5566_7788);
    assert_eq!(mem.faults(), 0);
}

#[test]
fn pool_memory_refuses_and_counts_accesses_outside_or_misaligned() {
    let mut buf = Buffer::new(PAGES);
    let mut mem = PoolMemory::new(buf.window());
    assert_eq!(mem.read_u64(0x1000), 0);
    assert_eq!(
        mem.last_fault(),
        Some(PoolFault::OutsidePool { pa: 0x1000, len: 8 })
    );
    mem.write_u64(PA + (PAGES * PAGE) as u64, 1);
    mem.read_u64(PA + 4);
    assert_eq!(
        mem.last_fault(),
        Some(PoolFault::Misaligned {
            pa: PA + 4,
            align: 8
        })
    );
    assert_eq!(mem.faults(), 3);
    assert!(mem
        .write_bytes(PA + (PAGES * PAGE) as u64 - 2, &[1, 2, 3])
        .is_err());
}

#[test]
fn pool_memory_copies_and_fills_byte_ranges() {
    let mut buf = Buffer::new(PAGES);
    let mut mem = PoolMemory::new(buf.window());
    mem.fill(PA + 0x100, 16, 0xaa).unwrap();
    mem.write_bytes(PA + 0x104, b"dma!").unwrap();
    let mut out = [0u8; 16];
    mem.read_bytes(PA + 0x100, &mut out).unwrap();
    assert_eq!(&out[..8], &[0xaa, 0xaa, 0xaa, 0xaa, b'd', b'm', b'a', b'!']);
    assert_eq!(out[15], 0xaa);
}

#[test]
fn cmpxchg16b_stores_only_when_memory_matches() {
    let mut buf = Buffer::new(PAGES);
    let mut mem = PoolMemory::new(buf.window());
    assert_eq!(mem.has_cx16(), has_cx16());
    let slot = PA + 0x20;
    mem.write_u64(slot, 5);
    mem.write_u64(slot + 8, 6);
    let old = (6u128 << 64) | 5;
    let new = (0x22u128 << 64) | 0x11;
    if !has_cx16() {
        // Refused, never a made-up "found" value.
        assert_eq!(
            mem.cmpxchg16b(slot, old, new),
            Err(Cmpxchg16bError::Refused)
        );
        assert_eq!(mem.last_fault(), Some(PoolFault::NoCx16 { pa: slot }));
        return;
    }
    assert_eq!(mem.cmpxchg16b(slot, old, new), Ok(()));
    assert_eq!((mem.read_u64(slot), mem.read_u64(slot + 8)), (0x11, 0x22));
    assert_eq!(
        mem.cmpxchg16b(slot, old, 0),
        Err(Cmpxchg16bError::Changed(new)),
        "stale expectation"
    );
    assert_eq!((mem.read_u64(slot), mem.read_u64(slot + 8)), (0x11, 0x22));
}

#[test]
fn cmpxchg16b_refuses_unaligned_or_outside_addresses() {
    let mut buf = Buffer::new(PAGES);
    let mut mem = PoolMemory::new(buf.window());
    if !has_cx16() {
        return;
    }
    assert_eq!(mem.cmpxchg16b(PA + 8, 0, 1), Err(Cmpxchg16bError::Refused));
    assert_eq!(
        mem.last_fault(),
        Some(PoolFault::Misaligned {
            pa: PA + 8,
            align: 16
        })
    );
    assert_eq!(mem.cmpxchg16b(PA - 16, 0, 1), Err(Cmpxchg16bError::Refused));
    assert_eq!(mem.read_u64(PA + 8), 0, "nothing written");
}

#[test]
fn allocator_hands_out_distinct_zeroed_pages_until_exhausted() {
    let mut buf = Buffer::new(PAGES);
    let mut mem = PoolMemory::new(buf.window());
    mem.fill(PA, (PAGES * PAGE) as u64, 0xff).unwrap();
    let mut alloc = PoolAllocator::new(buf.window());
    let mut pages = Vec::new();
    while let Some(p) = alloc.alloc_page() {
        assert_eq!(p % PAGE as u64, 0);
        assert!((PA..PA + (PAGES * PAGE) as u64).contains(&p));
        assert!(
            (0..512).all(|i| mem.read_u64(p + i * 8) == 0),
            "page {p:#x} not zeroed"
        );
        pages.push(p);
    }
    pages.sort();
    pages.dedup();
    assert_eq!(pages.len(), PAGES);
    assert_eq!((alloc.in_use(), alloc.available()), (PAGES as u64, 0));
}

#[test]
fn freed_page_is_reused_and_zeroed_again() {
    let mut buf = Buffer::new(PAGES);
    let mut mem = PoolMemory::new(buf.window());
    let mut alloc = PoolAllocator::new(buf.window());
    let a = alloc.alloc_page().unwrap();
    let _b = alloc.alloc_page().unwrap();
    mem.write_u64(a + 0x80, 0xdead);
    alloc.free_page(a);
    assert_eq!(alloc.available(), PAGES as u64 - 1);
    assert_eq!(alloc.alloc_page(), Some(a));
    assert_eq!(mem.read_u64(a), 0, "link word cleared");
    assert_eq!(mem.read_u64(a + 0x80), 0);
}

#[test]
fn double_or_foreign_free_is_refused_and_counted() {
    let mut buf = Buffer::new(PAGES);
    let mut alloc = PoolAllocator::new(buf.window());
    let a = alloc.alloc_page().unwrap();
    alloc.free_page(a);
    alloc.free_page(a);
    alloc.free_page(0x1000);
    alloc.free_page(a + 8);
    alloc.free_page(PA + 5 * PAGE as u64);
    assert_eq!(alloc.refused_frees(), 4);
    assert_eq!((alloc.in_use(), alloc.available()), (0, PAGES as u64));
}

#[test]
fn allocator_owns_only_pages_handed_out_and_not_freed() {
    let mut buf = Buffer::new(PAGES);
    let mut alloc = PoolAllocator::new(buf.window());
    let a = alloc.alloc_page().unwrap();
    let b = alloc.alloc_page().unwrap();
    alloc.free_page(a);
    assert!(alloc.owns(b));
    assert!(!alloc.owns(a), "freed");
    assert!(!alloc.owns(b + 8), "unaligned");
    assert!(!alloc.owns(b + PAGE as u64), "never handed out");
    assert!(!alloc.owns(PA - PAGE as u64), "outside the pool");
}

#[test]
fn library_page_tables_work_on_pool_bindings() {
    let mut buf = Buffer::new(PAGES);
    let mut mem = PoolMemory::new(buf.window());
    let mut alloc = PoolAllocator::new(buf.window());
    let mut table = PageTable::new(&mut alloc, Levels::Three, true).unwrap();
    table
        .map(
            &mut mem,
            &mut alloc,
            0x10_0000,
            PA + 0x7000,
            0x1000,
            Perm::RW,
        )
        .unwrap();
    let t = table.translate(&mut mem, 0x10_0123).unwrap();
    assert_eq!(t.phys, PA + 0x7123);
    assert_eq!(alloc.in_use(), 3, "root and two lower levels");
    table
        .unmap(&mut mem, &mut alloc, 0x10_0000, 0x1000)
        .unwrap();
    table.destroy(&mut mem, &mut alloc);
    assert_eq!(
        (alloc.in_use(), alloc.refused_frees(), mem.faults()),
        (0, 0, 0)
    );
}

#[test]
fn mmio_registers_access_page_and_ignore_offsets_beyond_it() {
    let mut buf = Buffer::new(1);
    // SAFETY: a page of host memory stands in for the register page.
    let mut r = unsafe { MmioRegisters::new(buf.base()) };
    r.write64(regs::RTADDR, 0x1234_5000);
    assert_eq!(r.read64(regs::RTADDR), 0x1234_5000);
    r.write32(regs::FECTL, 0x8000_0000);
    assert_eq!(r.read32(regs::FECTL), 0x8000_0000);
    // FSTS and FECTL are 32-bit only: a 64-bit call is split, same bytes.
    r.write64(regs::FSTS, 0x0000_0001_0000_0002);
    assert_eq!(r.read64(regs::FSTS), 0x0000_0001_0000_0002);
    r.write32(0x1000, 7);
    assert_eq!(r.read32(0x1000), u32::MAX);
    assert_eq!(r.read64(0xffc), u64::MAX);
}

#[test]
fn pool_memory_zeroes_and_reads_whole_pages_and_refuses_a_page_outside() {
    let mut buf = Buffer::new(PAGES);
    let mut mem = PoolMemory::new(buf.window());
    for i in 0..512u64 {
        mem.write_u64(PA + 0x2000 + i * 8, i + 1);
    }
    mem.write_u64(PA + 0x3000, 0xfeed);
    let mut words = [0u64; 512];
    mem.read_page(PA + 0x2000, &mut words);
    assert!(words.iter().enumerate().all(|(i, &w)| w == i as u64 + 1));
    mem.zero_page(PA + 0x2000);
    mem.read_page(PA + 0x2000, &mut words);
    assert!(words.iter().all(|&w| w == 0));
    assert_eq!(
        mem.read_u64(PA + 0x3000),
        0xfeed,
        "the next page is untouched"
    );
    assert_eq!(mem.faults(), 0);
    mem.zero_page(PA + (PAGES * PAGE) as u64);
    mem.read_page(PA + 0x2008, &mut words);
    assert_eq!(mem.faults(), 2, "outside the pool, and not page aligned");
}
