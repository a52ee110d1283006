//! [`Registers`] over a unit's register page mapped (uncached) into the
//! task.
//!
//! QEMU honours only 32-bit accesses to some registers (`regs::is_32bit_only`);
//! a 64-bit call on one of those is split into two 32-bit accesses, low
//! dword first. Offsets outside the 4 KiB page read as all ones and are not
//! written.

use crate::hw::Registers;
use crate::regs::{is_32bit_only, PAGE_SIZE};

/// One unit's register page at a virtual address.
#[derive(Debug)]
pub struct MmioRegisters {
    base: *mut u8,
}

impl MmioRegisters {
    /// Binds to the register page mapped at `base`.
    ///
    /// # Safety
    /// `base` must map a VT-d unit's 4 KiB register page, uncached, for as
    /// long as this value lives, and no one else may program that unit.
    pub unsafe fn new(base: *mut u8) -> MmioRegisters {
        MmioRegisters { base }
    }

    /// The register at `offset` if it lies in the page and is aligned.
    fn at(&self, offset: usize, width: usize) -> Option<*mut u8> {
        let fits = offset
            .checked_add(width)
            .is_some_and(|end| end as u64 <= PAGE_SIZE);
        (fits && offset.is_multiple_of(width)).then(|| self.base.wrapping_add(offset))
    }
}

impl Registers for MmioRegisters {
    fn read32(&mut self, offset: usize) -> u32 {
        match self.at(offset, 4) {
            // SAFETY: inside the mapped page (checked by `at`) and aligned;
            // `new`'s contract keeps the mapping valid.
            Some(p) => unsafe { (p as *const u32).read_volatile() },
            None => u32::MAX,
        }
    }

    fn write32(&mut self, offset: usize, value: u32) {
        if let Some(p) = self.at(offset, 4) {
            // SAFETY: as in `read32`.
            unsafe { (p as *mut u32).write_volatile(value) }
        }
    }

    fn read64(&mut self, offset: usize) -> u64 {
        if is_32bit_only(offset) || is_32bit_only(offset + 4) {
            let lo = self.read32(offset) as u64;
            let hi = self.read32(offset + 4) as u64;
            return (hi << 32) | lo;
        }
        match self.at(offset, 8) {
            // SAFETY: as in `read32`.
            Some(p) => unsafe { (p as *const u64).read_volatile() },
            None => u64::MAX,
        }
    }

    fn write64(&mut self, offset: usize, value: u64) {
        if is_32bit_only(offset) || is_32bit_only(offset + 4) {
            self.write32(offset, value as u32);
            self.write32(offset + 4, (value >> 32) as u32);
            return;
        }
        if let Some(p) = self.at(offset, 8) {
            // SAFETY: as in `read32`.
            unsafe { (p as *mut u64).write_volatile(value) }
        }
    }
}
