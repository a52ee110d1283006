//! Walking the capability list.
//!
//! The list is input from a device: a pointer may be misaligned, point into
//! the header, or loop. The walk refuses the first two and stops after the
//! most links 192 bytes can hold, so a loop is an error, not a hang.

use heapless::Vec;

use crate::access::ConfigAccess;
use crate::addr::Bdf;
use crate::error::{at, PciError};
use crate::regs;

/// The offset of the first capability with ID `id`, if any.
pub fn find_capability<A: ConfigAccess + ?Sized>(
    a: &A,
    bdf: Bdf,
    id: u8,
) -> Result<Option<u8>, PciError> {
    let status = at(bdf, a.read16(bdf, regs::STATUS))?;
    if status & regs::STATUS_CAPABILITIES == 0 {
        return Ok(None);
    }
    let mut pointer = at(bdf, a.read8(bdf, regs::CAPABILITIES_POINTER))?;
    for _ in 0..regs::CAP_MAX_LINKS {
        if pointer == 0 {
            return Ok(None);
        }
        if pointer < regs::CAP_MIN_OFFSET || pointer % 4 != 0 {
            return Err(PciError::BadCapabilityPointer { bdf, pointer });
        }
        let header = at(bdf, a.read16(bdf, pointer as u16))?;
        if header as u8 == id {
            return Ok(Some(pointer));
        }
        pointer = (header >> 8) as u8;
    }
    Err(PciError::CapabilityLoop { bdf })
}

/// Every capability of `bdf` as (ID, offset), in list order; an error if
/// the list is malformed or loops.
pub fn capabilities<A: ConfigAccess + ?Sized>(
    a: &A,
    bdf: Bdf,
) -> Result<Vec<(u8, u8), { regs::CAP_MAX_LINKS }>, PciError> {
    let mut out = Vec::new();
    let status = at(bdf, a.read16(bdf, regs::STATUS))?;
    if status & regs::STATUS_CAPABILITIES == 0 {
        return Ok(out);
    }
    let mut pointer = at(bdf, a.read8(bdf, regs::CAPABILITIES_POINTER))?;
    for _ in 0..regs::CAP_MAX_LINKS {
        if pointer == 0 {
            return Ok(out);
        }
        if pointer < regs::CAP_MIN_OFFSET || pointer % 4 != 0 {
            return Err(PciError::BadCapabilityPointer { bdf, pointer });
        }
        let header = at(bdf, a.read16(bdf, pointer as u16))?;
        // Cannot fail: at most CAP_MAX_LINKS entries are pushed.
        let _ = out.push((header as u8, pointer));
        pointer = (header >> 8) as u8;
    }
    Err(PciError::CapabilityLoop { bdf })
}
