//! The model's physical memory: 4 KiB pages created on first write, reading
//! as zero before that, and the page allocator the driver's tables come from.
//!
//! Table pages are handed out far above the addresses tests use for domain
//! memory, so the two never collide.

use std::collections::{BTreeSet, HashMap};

/// Where the allocator starts handing out pages (4 GiB).
pub const TABLE_POOL_BASE: u64 = 0x1_0000_0000;

const WORDS: usize = 512;

/// Sparse physical memory.
#[derive(Default)]
pub(crate) struct PhysMem {
    pages: HashMap<u64, Box<[u64; WORDS]>>,
}

impl PhysMem {
    pub(crate) fn read_u64(&self, addr: u64) -> u64 {
        let word = ((addr & 0xfff) / 8) as usize;
        self.pages
            .get(&(addr & !0xfff))
            .and_then(|p| p.get(word).copied())
            .unwrap_or(0)
    }

    pub(crate) fn write_u64(&mut self, addr: u64, value: u64) {
        let word = ((addr & 0xfff) / 8) as usize;
        let page = self
            .pages
            .entry(addr & !0xfff)
            .or_insert_with(|| Box::new([0; WORDS]));
        if let Some(slot) = page.get_mut(word) {
            *slot = value;
        }
    }

    /// A 32-bit store (the wait descriptor's status write).
    pub(crate) fn write_u32(&mut self, addr: u64, value: u32) {
        let shift = (addr & 4) * 8;
        let word = self.read_u64(addr & !7);
        let merged = (word & !(0xffff_ffffu64 << shift)) | ((value as u64) << shift);
        self.write_u64(addr & !7, merged);
    }

    pub(crate) fn read_u128(&self, addr: u64) -> u128 {
        self.read_u64(addr) as u128 | ((self.read_u64(addr + 8) as u128) << 64)
    }

    pub(crate) fn write_u128(&mut self, addr: u64, value: u128) {
        self.write_u64(addr, value as u64);
        self.write_u64(addr + 8, (value >> 64) as u64);
    }

    pub(crate) fn drop_page(&mut self, page: u64) {
        self.pages.remove(&page);
    }
}

/// Page allocator state.
pub(crate) struct AllocState {
    next: u64,
    free: Vec<u64>,
    pub(crate) live: BTreeSet<u64>,
    /// Allocations left before `alloc` fails (a test knob).
    pub(crate) fail_after: Option<u64>,
    pub(crate) double_frees: u64,
}

impl Default for AllocState {
    fn default() -> Self {
        AllocState {
            next: TABLE_POOL_BASE,
            free: Vec::new(),
            live: BTreeSet::new(),
            fail_after: None,
            double_frees: 0,
        }
    }
}

impl AllocState {
    pub(crate) fn alloc(&mut self, mem: &mut PhysMem) -> Option<u64> {
        if let Some(left) = self.fail_after.as_mut() {
            if *left == 0 {
                return None;
            }
            *left -= 1;
        }
        let page = match self.free.pop() {
            Some(page) => page,
            None => {
                let page = self.next;
                self.next += 0x1000;
                page
            }
        };
        mem.drop_page(page);
        self.live.insert(page);
        Some(page)
    }

    pub(crate) fn free(&mut self, mem: &mut PhysMem, page: u64) {
        if !self.live.remove(&page) {
            self.double_frees += 1;
            return;
        }
        mem.drop_page(page);
        self.free.push(page);
    }
}
