//! Configuration mechanism #1 over I/O ports 0xCF8/0xCFC, for a task that
//! app.toml grants those ports (the kernel opens them in the task's TSS
//! I/O bitmap). 256 bytes of config space per function; segment 0 only.
//!
//! The address/data pair is two accesses, so one task must own the ports:
//! in custody that is the pci task, and everyone else asks it.

use core::arch::asm;

use crate::access::{check_access, AccessError, ConfigAccess};
use crate::addr::Bdf;

/// The address port.
pub const CONFIG_ADDRESS: u16 = 0xCF8;
/// The data port (0xCFC..=0xCFF, one per byte lane).
pub const CONFIG_DATA: u16 = 0xCFC;
/// Config space this mechanism reaches.
pub const CONFIG_SPACE: u16 = 256;
const ENABLE: u32 = 1 << 31;

/// The dword written to [`CONFIG_ADDRESS`] to reach `offset` of `bdf`.
pub fn address(bdf: Bdf, offset: u16) -> u32 {
    ENABLE
        | (bdf.bus() as u32) << 16
        | (bdf.dev() as u32) << 11
        | (bdf.func() as u32) << 8
        | (offset as u32 & 0xFC)
}

/// Config space through the ports.
#[derive(Debug)]
pub struct PortConfig {
    _private: (),
}

impl PortConfig {
    /// # Safety
    /// The caller's task must own ports 0xCF8..=0xCFF (granted in app.toml),
    /// and nothing else in the task may use them concurrently.
    pub const unsafe fn new() -> Self {
        PortConfig { _private: () }
    }

    fn select(&self, bdf: Bdf, offset: u16, width: u8) -> Result<u16, AccessError> {
        if bdf.seg() != 0 {
            return Err(AccessError::OffsetOutOfRange {
                offset,
                width,
                limit: 0,
            });
        }
        check_access(offset, width, CONFIG_SPACE)?;
        let a = address(bdf, offset);
        // SAFETY: the port is this task's (constructor contract).
        unsafe {
            asm!("out dx, eax", in("dx") CONFIG_ADDRESS, in("eax") a, options(nomem, nostack))
        };
        Ok(CONFIG_DATA + (offset & 3))
    }
}

impl ConfigAccess for PortConfig {
    fn read8(&self, bdf: Bdf, offset: u16) -> Result<u8, AccessError> {
        let port = self.select(bdf, offset, 1)?;
        let v: u8;
        // SAFETY: as in `select`.
        unsafe { asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack)) };
        Ok(v)
    }

    fn read16(&self, bdf: Bdf, offset: u16) -> Result<u16, AccessError> {
        let port = self.select(bdf, offset, 2)?;
        let v: u16;
        // SAFETY: as in `select`.
        unsafe { asm!("in ax, dx", in("dx") port, out("ax") v, options(nomem, nostack)) };
        Ok(v)
    }

    fn read32(&self, bdf: Bdf, offset: u16) -> Result<u32, AccessError> {
        let port = self.select(bdf, offset, 4)?;
        let v: u32;
        // SAFETY: as in `select`.
        unsafe { asm!("in eax, dx", in("dx") port, out("eax") v, options(nomem, nostack)) };
        Ok(v)
    }

    fn write8(&mut self, bdf: Bdf, offset: u16, value: u8) -> Result<(), AccessError> {
        let port = self.select(bdf, offset, 1)?;
        // SAFETY: as in `select`.
        unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack)) };
        Ok(())
    }

    fn write16(&mut self, bdf: Bdf, offset: u16, value: u16) -> Result<(), AccessError> {
        let port = self.select(bdf, offset, 2)?;
        // SAFETY: as in `select`.
        unsafe { asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack)) };
        Ok(())
    }

    fn write32(&mut self, bdf: Bdf, offset: u16, value: u32) -> Result<(), AccessError> {
        let port = self.select(bdf, offset, 4)?;
        // SAFETY: as in `select`.
        unsafe { asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack)) };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_packs_bus_device_function_and_dword_offset() {
        let bdf = Bdf::new(0, 1, 1, 0).unwrap();
        assert_eq!(address(bdf, 0x10), 0x8001_0810);
        let bdf = Bdf::new(0, 0, 2, 7).unwrap();
        assert_eq!(address(bdf, 0x3e), 0x8000_173c);
    }
}
