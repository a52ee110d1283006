//! SATC, SoC integrated Address Translation Cache: SoC devices with an ATC
//! (ATC_REQUIRED: the OS must enable ATS on them for them to work).

use zerocopy::little_endian::U16;
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::structure::RawStructureHeader;
use super::Scopes;
use crate::bytes::read;
use crate::error::AcpiError;

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawSatc {
    header: RawStructureHeader,
    flags: u8,
    reserved: u8,
    segment: U16,
}

/// SoC devices with an address translation cache.
#[derive(Clone, Copy, Debug)]
pub struct Satc<'a> {
    offset: usize,
    raw: &'a RawSatc,
    scope_bytes: &'a [u8],
}

impl<'a> Satc<'a> {
    pub const MIN_LEN: usize = core::mem::size_of::<RawSatc>();
    /// Flag: the listed devices need ATS enabled to be functional.
    pub const ATC_REQUIRED: u8 = 1 << 0;

    pub(super) fn parse(bytes: &'a [u8], offset: usize) -> Result<Self, AcpiError> {
        let raw: &RawSatc = read(bytes, 0, offset, "SATC")?;
        let scope_bytes = bytes.get(Self::MIN_LEN..).unwrap_or(&[]);
        Ok(Satc {
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
    pub fn flags(&self) -> u8 {
        self.raw.flags
    }
    pub fn atc_required(&self) -> bool {
        self.raw.flags & Self::ATC_REQUIRED != 0
    }
    pub fn segment(&self) -> u16 {
        self.raw.segment.get()
    }
    pub fn scopes(&self) -> Scopes<'a> {
        Scopes::new(self.scope_bytes, self.offset + Self::MIN_LEN)
    }
}
