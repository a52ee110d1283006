//! RMRR, Reserved Memory Region Reporting: memory that the listed devices
//! may DMA to at any time (USB legacy emulation, graphics stolen memory), so
//! any domain owning one of them must identity-map it.
//!
//! `end` is inclusive (the "limit" of the region), as in the table.

use zerocopy::little_endian::{U16, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::structure::RawStructureHeader;
use super::Scopes;
use crate::bytes::read;
use crate::error::AcpiError;

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawRmrr {
    header: RawStructureHeader,
    reserved: U16,
    segment: U16,
    base: U64,
    end: U64,
}

/// A reserved memory region and the devices that use it.
#[derive(Clone, Copy, Debug)]
pub struct Rmrr<'a> {
    offset: usize,
    raw: &'a RawRmrr,
    scope_bytes: &'a [u8],
}

impl<'a> Rmrr<'a> {
    pub const MIN_LEN: usize = core::mem::size_of::<RawRmrr>();

    pub(super) fn parse(bytes: &'a [u8], offset: usize) -> Result<Self, AcpiError> {
        let raw: &RawRmrr = read(bytes, 0, offset, "RMRR")?;
        let scope_bytes = bytes.get(Self::MIN_LEN..).unwrap_or(&[]);
        Ok(Rmrr {
            offset,
            raw,
            scope_bytes,
        })
    }

    pub fn offset(&self) -> usize {
        self.offset
    }
    pub fn length(&self) -> u16 {
        self.raw.header.length.get()
    }
    pub fn reserved(&self) -> u16 {
        self.raw.reserved.get()
    }
    pub fn segment(&self) -> u16 {
        self.raw.segment.get()
    }
    pub fn base(&self) -> u64 {
        self.raw.base.get()
    }
    /// Last byte of the region (inclusive).
    pub fn end(&self) -> u64 {
        self.raw.end.get()
    }
    /// Bytes in the region, or `None` when end is below base (a firmware
    /// bug reported by [`crate::quirks`]) or the region is all of 2^64.
    pub fn size(&self) -> Option<u64> {
        region_size(self.base(), self.end())
    }
    pub fn scopes(&self) -> Scopes<'a> {
        Scopes::new(self.scope_bytes, self.offset + Self::MIN_LEN)
    }
}

/// Bytes from `base` to the inclusive `end`.
pub(crate) fn region_size(base: u64, end: u64) -> Option<u64> {
    end.checked_sub(base)?.checked_add(1)
}
