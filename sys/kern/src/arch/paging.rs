//! Physical page allocation and 4-level page tables.
//!
//! Physical memory for tasks and page tables comes from one bump allocator
//! over the RAM between the kernel image and the region window xtask keeps
//! for fixed-address regions. Nothing is ever freed: a task's memory is
//! allocated once at boot and re-initialized in place on restart.

/// Bytes in a page.
pub const PAGE: u64 = 4096;
/// Present.
pub const P: u64 = 1;
/// Writable.
pub const RW: u64 = 1 << 1;
/// User-accessible.
pub const US: u64 = 1 << 2;
/// Write-through.
pub const PWT: u64 = 1 << 3;
/// Cache disable.
pub const PCD: u64 = 1 << 4;
/// No execute.
pub const NX: u64 = 1 << 63;
const ADDR_MASK: u64 = 0x000F_FFFF_FFFF_F000;
const ENTRIES: u64 = 512;
/// Bytes one level-1 table maps (512 pages).
const LEVEL1_SPAN: u64 = ENTRIES * PAGE;

/// Why memory could not be set up.
#[derive(Copy, Clone, Debug)]
pub enum MapError {
    /// The allocator ran out of RAM.
    OutOfMemory,
    /// The virtual page is already mapped (the build placed two things at
    /// one address).
    AlreadyMapped(u64),
}

/// A bump allocator of zeroed physical pages.
pub struct FrameAllocator {
    next: u64,
    end: u64,
}

impl FrameAllocator {
    /// Hands out `[start, end)`, page-aligned.
    pub const fn new(start: u64, end: u64) -> Self {
        FrameAllocator {
            next: (start + PAGE - 1) & !(PAGE - 1),
            end,
        }
    }

    /// `pages` contiguous zeroed pages.
    pub fn alloc(&mut self, pages: u64) -> Result<u64, MapError> {
        let base = self.next;
        let end = base
            .checked_add(pages * PAGE)
            .filter(|e| *e <= self.end)
            .ok_or(MapError::OutOfMemory)?;
        self.next = end;
        // SAFETY: [base, end) is RAM the boot code identity-mapped and no one
        // else owns (the allocator never hands a page out twice).
        unsafe { core::ptr::write_bytes(base as *mut u8, 0, (pages * PAGE) as usize) };
        Ok(base)
    }

    /// The first address not yet handed out.
    pub fn watermark(&self) -> u64 {
        self.next
    }
}

fn table(pa: u64) -> *mut u64 {
    pa as *mut u64
}

/// The level-1 entry of `va` under `pml4`, if its tables exist.
fn leaf_entry(pml4: u64, va: u64) -> Option<*mut u64> {
    let mut t = pml4;
    for level in (1..4).rev() {
        let index = (va >> (12 + 9 * level)) & (ENTRIES - 1);
        // SAFETY: `t` is a page-table page (from the frame pool or the boot
        // tables), identity-mapped; `index < 512`.
        let value = unsafe { table(t).add(index as usize).read() };
        if value & P == 0 {
            return None;
        }
        t = value & ADDR_MASK;
    }
    // SAFETY: as above, `t` is a level-1 table.
    Some(unsafe { table(t).add(((va >> 12) & (ENTRIES - 1)) as usize) })
}

/// Creates the tables above `[va, va + size)` (leaves left not present), so
/// that [`set_leaves`] later needs no memory: run-time grants never
/// allocate. One walk per level-1 table.
pub fn prepare_range(
    frames: &mut FrameAllocator,
    pml4: u64,
    va: u64,
    size: u64,
) -> Result<(), MapError> {
    let mut at = va;
    while at < va + size {
        level1_table(frames, pml4, at)?;
        // The next level-1 table's first page.
        at = (at | (LEVEL1_SPAN - 1)) + 1;
    }
    Ok(())
}

/// Writes the leaves `[va, va + size) → [pa, ...)` with `flags` (P
/// implied) into tables [`prepare_range`] made; `false` if one is missing.
/// One walk per level-1 table, then consecutive stores: a 1 MiB BAR is
/// one walk and 256 stores.
pub fn set_leaves(pml4: u64, va: u64, pa: u64, size: u64, flags: u64) -> bool {
    for_each_leaf(pml4, va, size, |leaf, off| {
        // SAFETY: a level-1 entry of this task's tables.
        unsafe { leaf.write(((pa + off) & ADDR_MASK) | flags | P) }
    })
}

/// Clears the leaves of `[va, va + size)`, then flushes every non-global
/// translation (one CPU, no PCIDs: reloading CR3 is the whole shootdown),
/// so no access through them can happen after this returns.
pub fn clear_leaves(pml4: u64, va: u64, size: u64) {
    for_each_leaf(pml4, va, size, |leaf, _| {
        // SAFETY: a level-1 entry of this task's tables.
        unsafe { leaf.write(0) }
    });
    super::cpu::flush_tlb();
}

/// Calls `f(leaf, offset)` for each page of `[va, va + size)`, walking
/// the upper levels once per level-1 table; `false` if a table is missing.
fn for_each_leaf(pml4: u64, va: u64, size: u64, mut f: impl FnMut(*mut u64, u64)) -> bool {
    let mut off = 0;
    while off < size {
        let Some(first) = leaf_entry(pml4, va + off) else {
            return false;
        };
        let index = ((va + off) >> 12) & (ENTRIES - 1);
        let run = (ENTRIES - index).min((size - off).div_ceil(PAGE));
        for i in 0..run {
            // SAFETY: `index + i < 512`: inside the same level-1 table.
            f(unsafe { first.add(i as usize) }, off + i * PAGE);
        }
        off += run * PAGE;
    }
    true
}

/// The physical page `va` maps to under `pml4`, if present.
pub fn lookup(pml4: u64, va: u64) -> Option<u64> {
    let leaf = leaf_entry(pml4, va)?;
    // SAFETY: a level-1 entry of this task's tables.
    let value = unsafe { leaf.read() };
    (value & P != 0).then_some(value & ADDR_MASK)
}

/// The level-1 table that holds `va`'s leaf under `pml4`, creating the
/// tables above it that are missing (user-accessible and writable: the
/// leaf decides).
fn level1_table(frames: &mut FrameAllocator, pml4: u64, va: u64) -> Result<u64, MapError> {
    let mut t = pml4;
    for level in (1..4).rev() {
        let index = (va >> (12 + 9 * level)) & (ENTRIES - 1);
        // SAFETY: `t` is a page-table page from `frames` or the boot tables,
        // identity-mapped; `index < 512`.
        let entry = unsafe { table(t).add(index as usize) };
        // SAFETY: as above.
        let value = unsafe { entry.read() };
        t = if value & P != 0 {
            value & ADDR_MASK
        } else {
            let next = frames.alloc(1)?;
            // SAFETY: as above.
            unsafe { entry.write(next | P | RW | US) };
            next
        };
    }
    Ok(t)
}

/// Maps one 4 KiB page `va → pa` with `flags` (P is implied) under `pml4`.
/// Intermediate tables are user-accessible and writable; the leaf decides.
pub fn map_page(
    frames: &mut FrameAllocator,
    pml4: u64,
    va: u64,
    pa: u64,
    flags: u64,
) -> Result<(), MapError> {
    let t = level1_table(frames, pml4, va)?;
    let index = (va >> 12) & (ENTRIES - 1);
    // SAFETY: `t` is a level-1 table page, `index < 512`.
    let leaf = unsafe { table(t).add(index as usize) };
    // SAFETY: as above.
    if unsafe { leaf.read() } & P != 0 {
        return Err(MapError::AlreadyMapped(va));
    }
    // SAFETY: as above.
    unsafe { leaf.write((pa & ADDR_MASK) | flags | P) };
    Ok(())
}

/// Maps `[va, va + size)` to `[pa, ...)`, page by page.
pub fn map_range(
    frames: &mut FrameAllocator,
    pml4: u64,
    va: u64,
    pa: u64,
    size: u64,
    flags: u64,
) -> Result<(), MapError> {
    let mut off = 0;
    while off < size {
        map_page(frames, pml4, va + off, pa + off, flags)?;
        off += PAGE;
    }
    Ok(())
}
