//! How the driver reaches edu's registers: the [`EduBus`] trait, bound to a
//! mapped BAR0 by [`MmioBus`] in the image and to a fake in host tests.

/// Register accesses at byte offsets into BAR0. The driver uses 32-bit
/// accesses below `regs::WIDE_REGS_START` and 64-bit ones above.
pub trait EduBus {
    fn read32(&mut self, offset: usize) -> u32;
    fn write32(&mut self, offset: usize, value: u32);
    fn read64(&mut self, offset: usize) -> u64;
    fn write64(&mut self, offset: usize, value: u64);
}

/// BAR0 mapped (uncached) at a virtual address.
#[derive(Debug)]
pub struct MmioBus {
    base: *mut u8,
}

impl MmioBus {
    /// Binds the driver to BAR0 mapped at `base`.
    ///
    /// # Safety
    /// `base` must point at edu's BAR0 mapped uncached for
    /// [`crate::regs::BAR0_SIZE`] bytes for as long as the bus lives, and
    /// nothing else may drive the device meanwhile.
    pub unsafe fn new(base: *mut u8) -> MmioBus {
        MmioBus { base }
    }

    /// The register at `offset`, if it lies inside BAR0 and is aligned for
    /// `width`.
    fn at(&self, offset: usize, width: usize) -> Option<*mut u8> {
        let fits = offset
            .checked_add(width)
            .is_some_and(|end| end as u64 <= crate::regs::BAR0_SIZE);
        (fits && offset.is_multiple_of(width)).then(|| self.base.wrapping_add(offset))
    }
}

impl EduBus for MmioBus {
    fn read32(&mut self, offset: usize) -> u32 {
        match self.at(offset, 4) {
            // SAFETY: inside the mapped BAR0 (checked by `at`), aligned;
            // `new`'s contract makes the mapping valid.
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
        match self.at(offset, 8) {
            // SAFETY: as in `read32`.
            Some(p) => unsafe { (p as *const u64).read_volatile() },
            None => u64::MAX,
        }
    }

    fn write64(&mut self, offset: usize, value: u64) {
        if let Some(p) = self.at(offset, 8) {
            // SAFETY: as in `read32`.
            unsafe { (p as *mut u64).write_volatile(value) }
        }
    }
}
