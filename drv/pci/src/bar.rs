//! Base address registers: decoding what a BAR holds and probing its size.
//!
//! Sizing writes all ones to the BAR, which moves the decode window: it is
//! done with memory and I/O decode switched off in the command register, and
//! the BAR and the command register are put back afterwards.

use crate::access::ConfigAccess;
use crate::addr::Bdf;
use crate::error::{at, PciError};
use crate::header::Header;
use crate::regs;

/// What a BAR decodes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Bar {
    /// Unimplemented (reads as zero).
    Absent,
    /// A memory window.
    Memory {
        base: u64,
        prefetchable: bool,
        /// Uses two BAR slots.
        is_64bit: bool,
    },
    /// An I/O port window.
    Io { port: u32 },
}

impl Bar {
    /// Decode a BAR's raw value; `upper` is the next slot for a 64-bit BAR.
    pub const fn decode(lower: u32, upper: Option<u32>) -> Bar {
        if lower & regs::BAR_IO_SPACE != 0 {
            return Bar::Io {
                port: lower & regs::BAR_IO_ADDRESS_MASK,
            };
        }
        let is_64bit = lower & regs::BAR_MEM_TYPE_MASK == regs::BAR_MEM_TYPE_64;
        let base_lo = (lower & regs::BAR_MEM_ADDRESS_MASK) as u64;
        let base_hi = match (is_64bit, upper) {
            (true, Some(hi)) => (hi as u64) << 32,
            _ => 0,
        };
        if lower == 0 && base_hi == 0 {
            return Bar::Absent;
        }
        Bar::Memory {
            base: base_hi | base_lo,
            prefetchable: lower & regs::BAR_MEM_PREFETCHABLE != 0,
            is_64bit,
        }
    }

    /// Whether a raw BAR value is the lower half of a 64-bit memory BAR.
    pub const fn is_64bit_raw(lower: u32) -> bool {
        lower & regs::BAR_IO_SPACE == 0 && lower & regs::BAR_MEM_TYPE_MASK == regs::BAR_MEM_TYPE_64
    }
}

fn bar_offset(index: u8) -> u16 {
    regs::BAR0 + 4 * index as u16
}

fn check_index<A: ConfigAccess + ?Sized>(a: &A, bdf: Bdf, index: u8) -> Result<(), PciError> {
    let header = Header::read(a, bdf)?.ok_or(PciError::NoDevice(bdf))?;
    let bars = header.kind.bars();
    if index >= bars {
        return Err(PciError::BarIndexOutOfRange { bdf, index, bars });
    }
    Ok(())
}

/// Read and decode BAR `index` of `bdf`.
pub fn read_bar<A: ConfigAccess + ?Sized>(a: &A, bdf: Bdf, index: u8) -> Result<Bar, PciError> {
    check_index(a, bdf, index)?;
    let lower = at(bdf, a.read32(bdf, bar_offset(index)))?;
    let upper = if Bar::is_64bit_raw(lower) {
        check_index(a, bdf, index + 1).map_err(|_| PciError::Bar64InLastSlot { bdf, index })?;
        Some(at(bdf, a.read32(bdf, bar_offset(index + 1)))?)
    } else {
        None
    };
    Ok(Bar::decode(lower, upper))
}

/// BAR0, the one custody's drivers use (edu's register window).
pub fn read_bar0<A: ConfigAccess + ?Sized>(a: &A, bdf: Bdf) -> Result<Bar, PciError> {
    read_bar(a, bdf, 0)
}

/// The size in bytes of BAR `index` (0 if unimplemented), probed by
/// writing all ones; decode is off during the probe and everything is
/// restored afterwards, also when an access fails midway.
pub fn probe_bar_size<A: ConfigAccess + ?Sized>(
    a: &mut A,
    bdf: Bdf,
    index: u8,
) -> Result<u64, PciError> {
    check_index(a, bdf, index)?;
    let off = bar_offset(index);
    let lower = at(bdf, a.read32(bdf, off))?;
    let wide = Bar::is_64bit_raw(lower);
    if wide {
        check_index(a, bdf, index + 1).map_err(|_| PciError::Bar64InLastSlot { bdf, index })?;
    }
    let upper = if wide {
        Some(at(bdf, a.read32(bdf, off + 4))?)
    } else {
        None
    };
    let command = at(bdf, a.read16(bdf, regs::COMMAND))?;
    let decode_off = command & !(regs::COMMAND_MEMORY_SPACE | regs::COMMAND_IO_SPACE);
    at(bdf, a.write16(bdf, regs::COMMAND, decode_off))?;

    let probed = probe(a, bdf, off, wide);

    // Put everything back whatever the probe did.
    let restore_lo = a.write32(bdf, off, lower);
    let restore_hi = match upper {
        Some(hi) => a.write32(bdf, off + 4, hi),
        None => Ok(()),
    };
    let restore_cmd = a.write16(bdf, regs::COMMAND, command);
    let (mask_lo, mask_hi) = probed?;
    at(bdf, restore_lo)?;
    at(bdf, restore_hi)?;
    at(bdf, restore_cmd)?;

    if lower & regs::BAR_IO_SPACE != 0 {
        let mut m = mask_lo & regs::BAR_IO_ADDRESS_MASK;
        if m == 0 {
            return Ok(0);
        }
        // A 16-bit I/O decoder hardwires the upper half to zero.
        if m & IO_UPPER_HALF == 0 {
            m |= IO_UPPER_HALF;
        }
        return Ok((!m).wrapping_add(1) as u64);
    }
    let m = ((mask_hi as u64) << 32) | (mask_lo & regs::BAR_MEM_ADDRESS_MASK) as u64;
    if m == 0 {
        return Ok(0);
    }
    let m = if wide { m } else { m | MEM32_UPPER_HALF };
    Ok((!m).wrapping_add(1))
}

const IO_UPPER_HALF: u32 = 0xffff_0000;
const MEM32_UPPER_HALF: u64 = 0xffff_ffff_0000_0000;

/// Write all ones and read back the writable bits (lower, upper).
fn probe<A: ConfigAccess + ?Sized>(
    a: &mut A,
    bdf: Bdf,
    off: u16,
    wide: bool,
) -> Result<(u32, u32), PciError> {
    at(bdf, a.write32(bdf, off, u32::MAX))?;
    let lo = at(bdf, a.read32(bdf, off))?;
    let hi = if wide {
        at(bdf, a.write32(bdf, off + 4, u32::MAX))?;
        at(bdf, a.read32(bdf, off + 4))?
    } else {
        0
    };
    Ok((lo, hi))
}
