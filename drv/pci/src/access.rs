//! How the library reaches config space: the `ConfigAccess` trait.
//!
//! The image binds it to ECAM (MCFG) or ports 0xCF8/0xCFC; the tests bind it
//! to [`crate::fake::FakeConfig`]. All six widths are required, never
//! emulated by a 32-bit read-modify-write, because writing a neighbouring
//! register back (the status register's write-1-to-clear bits next to the
//! command register) has side effects.

use core::fmt;

use crate::addr::Bdf;

/// Why a config access could not be made.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccessError {
    /// The offset is not a multiple of the access width.
    Misaligned { offset: u16, width: u8 },
    /// The access reaches beyond the config space this mechanism covers.
    OffsetOutOfRange { offset: u16, width: u8, limit: u16 },
    /// This mechanism cannot reach the segment.
    NoSuchSegment { seg: u16 },
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessError::Misaligned { offset, width } => {
                write!(f, "config offset {offset:#x} is not {width}-byte aligned")
            }
            AccessError::OffsetOutOfRange {
                offset,
                width,
                limit,
            } => write!(
                f,
                "config access of {width} bytes at {offset:#x} goes beyond {limit:#x}"
            ),
            AccessError::NoSuchSegment { seg } => {
                write!(f, "PCI segment {seg:04x} is not reachable")
            }
        }
    }
}

/// Config-space reads and writes of one width at `(seg, bus, dev, fn, offset)`.
/// A function that does not exist reads as all ones, as on hardware.
pub trait ConfigAccess {
    fn read8(&self, bdf: Bdf, offset: u16) -> Result<u8, AccessError>;
    fn read16(&self, bdf: Bdf, offset: u16) -> Result<u16, AccessError>;
    fn read32(&self, bdf: Bdf, offset: u16) -> Result<u32, AccessError>;
    fn write8(&mut self, bdf: Bdf, offset: u16, value: u8) -> Result<(), AccessError>;
    fn write16(&mut self, bdf: Bdf, offset: u16, value: u16) -> Result<(), AccessError>;
    fn write32(&mut self, bdf: Bdf, offset: u16, value: u32) -> Result<(), AccessError>;
}

/// Check an access against alignment and a config-space size (256 for the
/// 0xCF8 mechanism, 4096 for ECAM); implementations share it.
pub const fn check_access(offset: u16, width: u8, limit: u16) -> Result<(), AccessError> {
    if width == 0 || !offset.is_multiple_of(width as u16) {
        Err(AccessError::Misaligned { offset, width })
    } else if offset as u32 + width as u32 > limit as u32 {
        Err(AccessError::OffsetOutOfRange {
            offset,
            width,
            limit,
        })
    } else {
        Ok(())
    }
}
