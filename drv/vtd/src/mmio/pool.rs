//! [`TableMemory`] over a DMA pool window: physical addresses from the
//! library are translated to the task's virtual mapping, bounds-checked,
//! and accessed with volatile loads and stores (the IOMMU and devices read
//! and write this memory behind the compiler's back).
//!
//! An access outside the window, misaligned, or a compare-exchange on a CPU
//! without CX16, is refused: nothing is dereferenced, reads give 0, and the
//! refusal is counted and kept in [`PoolMemory::last_fault`] for the caller
//! to check, since most of the trait's methods cannot return errors (a
//! compare-exchange says [`Cmpxchg16bError::Refused`], never a made-up
//! value).

use core::fmt;

use crate::hw::{Cmpxchg16bError, TableMemory};
use crate::mmio::cpu;
use crate::regs::{PAGE_MASK, PAGE_SIZE, PT_ENTRIES};

/// A DMA pool: the same bytes at a virtual and a physical address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolWindow {
    va: usize,
    pa: u64,
    size: u64,
}

impl PoolWindow {
    /// The window of `size` bytes mapped at `va`, physically at `pa`.
    /// Refuses bases or a size that are not 4 KiB multiples, an empty
    /// window, and one whose end overflows.
    ///
    /// # Safety
    /// `[va, va+size)` must be mapped read/write for as long as any
    /// [`PoolMemory`] or [`crate::mmio::PoolAllocator`] made from it lives,
    /// backed by exactly the physical range `[pa, pa+size)`, and used by
    /// nothing but those (and devices they are told about).
    pub unsafe fn new(va: usize, pa: u64, size: u64) -> Result<PoolWindow, PoolFault> {
        let aligned = (va as u64 | pa | size) & PAGE_MASK == 0;
        let fits = pa.checked_add(size).is_some() && (va as u64).checked_add(size).is_some();
        if !aligned || size == 0 || !fits {
            return Err(PoolFault::BadWindow { va, pa, size });
        }
        Ok(PoolWindow { va, pa, size })
    }

    /// Physical base.
    pub fn pa(&self) -> u64 {
        self.pa
    }

    /// Virtual base.
    pub fn va(&self) -> usize {
        self.va
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The virtual address of `[pa, pa+len)`, if the whole range is inside.
    pub fn va_of(&self, pa: u64, len: u64) -> Option<usize> {
        let offset = pa.checked_sub(self.pa)?;
        let end = offset.checked_add(len)?;
        (end <= self.size).then(|| self.va + offset as usize)
    }

    /// The physical address of virtual `va`, if inside.
    pub fn pa_of(&self, va: usize) -> Option<u64> {
        let offset = (va as u64).checked_sub(self.va as u64)?;
        (offset < self.size).then(|| self.pa + offset)
    }

    /// A pointer to `[pa, pa+len)` aligned to `align`, or why not.
    fn ptr(&self, pa: u64, len: u64, align: u64) -> Result<*mut u8, PoolFault> {
        if !pa.is_multiple_of(align) {
            return Err(PoolFault::Misaligned { pa, align });
        }
        self.va_of(pa, len)
            .map(|va| va as *mut u8)
            .ok_or(PoolFault::OutsidePool { pa, len })
    }
}

/// Why the pool refused an access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolFault {
    /// A window with unaligned bases or size, empty, or overflowing.
    BadWindow { va: usize, pa: u64, size: u64 },
    /// `[pa, pa+len)` is not inside the pool.
    OutsidePool { pa: u64, len: u64 },
    /// `pa` is not aligned to the access size.
    Misaligned { pa: u64, align: u64 },
    /// A compare-exchange was asked for on a CPU without CMPXCHG16B.
    NoCx16 { pa: u64 },
}

impl fmt::Display for PoolFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PoolFault::BadWindow { va, pa, size } => write!(
                f,
                "DMA pool va {va:#x} pa {pa:#x} size {size:#x}: not page aligned, empty or overflowing"
            ),
            PoolFault::OutsidePool { pa, len } => {
                write!(f, "{len:#x} bytes at {pa:#x} are outside the DMA pool")
            }
            PoolFault::Misaligned { pa, align } => {
                write!(f, "{pa:#x} is not {align}-byte aligned")
            }
            PoolFault::NoCx16 { pa } => {
                write!(f, "cmpxchg16b at {pa:#x} on a CPU without CMPXCHG16B")
            }
        }
    }
}

/// Table memory in a DMA pool.
#[derive(Debug)]
pub struct PoolMemory {
    window: PoolWindow,
    cx16: bool,
    faults: u32,
    last_fault: Option<PoolFault>,
}

impl PoolMemory {
    /// Table memory over `window`; CX16 support is read from CPUID.
    pub fn new(window: PoolWindow) -> PoolMemory {
        PoolMemory {
            window,
            cx16: cpu::has_cx16(),
            faults: 0,
            last_fault: None,
        }
    }

    /// The window.
    pub fn window(&self) -> &PoolWindow {
        &self.window
    }

    /// How many accesses were refused so far.
    pub fn faults(&self) -> u32 {
        self.faults
    }

    /// The most recent refusal.
    pub fn last_fault(&self) -> Option<PoolFault> {
        self.last_fault
    }

    /// Copies `data` to physical `pa` (a DMA buffer), byte by byte volatile.
    pub fn write_bytes(&mut self, pa: u64, data: &[u8]) -> Result<(), PoolFault> {
        let p = self.checked(pa, data.len() as u64, 1)?;
        for (i, &b) in data.iter().enumerate() {
            // SAFETY: `checked` proved `[pa, pa+len)` is in the mapped
            // window (PoolWindow::new's contract).
            unsafe { p.add(i).write_volatile(b) };
        }
        Ok(())
    }

    /// Copies from physical `pa` into `out`, byte by byte volatile (a
    /// device may have written it).
    pub fn read_bytes(&mut self, pa: u64, out: &mut [u8]) -> Result<(), PoolFault> {
        let p = self.checked(pa, out.len() as u64, 1)?;
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: as in `write_bytes`.
            *b = unsafe { p.add(i).read_volatile() };
        }
        Ok(())
    }

    /// Sets `len` bytes at physical `pa` to `value`.
    pub fn fill(&mut self, pa: u64, len: u64, value: u8) -> Result<(), PoolFault> {
        let p = self.checked(pa, len, 1)?;
        for i in 0..len as usize {
            // SAFETY: as in `write_bytes`.
            unsafe { p.add(i).write_volatile(value) };
        }
        Ok(())
    }

    fn checked(&mut self, pa: u64, len: u64, align: u64) -> Result<*mut u8, PoolFault> {
        self.window.ptr(pa, len, align).inspect_err(|&fault| {
            self.faults += 1;
            self.last_fault = Some(fault);
        })
    }

    fn refuse(&mut self, fault: PoolFault) {
        self.faults += 1;
        self.last_fault = Some(fault);
    }
}

impl TableMemory for PoolMemory {
    fn read_u64(&mut self, addr: u64) -> u64 {
        match self.checked(addr, 8, 8) {
            // SAFETY: in the window and 8-byte aligned (`checked`).
            Ok(p) => unsafe { (p as *const u64).read_volatile() },
            Err(_) => 0,
        }
    }

    fn zero_page(&mut self, addr: u64) {
        if let Ok(p) = self.checked(addr, PAGE_SIZE, PAGE_SIZE) {
            // SAFETY: the whole page is in the window and page aligned
            // (`checked`); it is a fresh table no unit walks yet, so plain
            // stores (one memset) are enough; the caller syncs it.
            unsafe { core::ptr::write_bytes(p, 0, PAGE_SIZE as usize) }
        }
    }

    fn read_page(&mut self, addr: u64, out: &mut [u64; PT_ENTRIES]) {
        match self.checked(addr, PAGE_SIZE, PAGE_SIZE) {
            // SAFETY: the whole page is in the window and page aligned
            // (`checked`), `out` is a distinct 4 KiB buffer; a copy of
            // words the unit only reads (second-level entries are written
            // by this task alone).
            Ok(p) => unsafe {
                core::ptr::copy_nonoverlapping(p as *const u64, out.as_mut_ptr(), PT_ENTRIES)
            },
            Err(_) => out.fill(0),
        }
    }

    fn write_u64(&mut self, addr: u64, value: u64) {
        if let Ok(p) = self.checked(addr, 8, 8) {
            // SAFETY: in the window and 8-byte aligned: one 64-bit store,
            // which the unit observes whole.
            unsafe { (p as *mut u64).write_volatile(value) }
        }
    }

    fn cmpxchg16b(&mut self, addr: u64, old: u128, new: u128) -> Result<(), Cmpxchg16bError> {
        if !self.cx16 {
            self.refuse(PoolFault::NoCx16 { pa: addr });
            return Err(Cmpxchg16bError::Refused);
        }
        let p = self
            .checked(addr, 16, 16)
            .map_err(|_| Cmpxchg16bError::Refused)?;
        // SAFETY: in the window, 16-byte aligned, and the CPU has CX16.
        let found = unsafe { cpu::cmpxchg16b(p as *mut u128, old, new) };
        if found == old {
            Ok(())
        } else {
            Err(Cmpxchg16bError::Changed(found))
        }
    }

    fn has_cx16(&self) -> bool {
        self.cx16
    }

    fn sync(&mut self, addr: u64, len: u64) {
        if let Ok(p) = self.checked(addr, len, 1) {
            // SAFETY: the range is in the mapped window.
            unsafe { cpu::flush_cache_lines(p, len) };
        }
    }
}
