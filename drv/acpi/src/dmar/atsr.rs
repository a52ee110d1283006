//! ATSR, root port ATS capability Reporting: which PCIe root ports of a
//! segment may pass Address Translation Services requests (all of them with
//! ALL_PORTS, else the listed bridges).

use zerocopy::little_endian::U16;
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::structure::RawStructureHeader;
use super::Scopes;
use crate::bytes::read;
use crate::error::AcpiError;

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawAtsr {
    header: RawStructureHeader,
    flags: u8,
    reserved: u8,
    segment: U16,
}

/// ATS-capable root ports of one segment.
#[derive(Clone, Copy, Debug)]
pub struct Atsr<'a> {
    offset: usize,
    raw: &'a RawAtsr,
    scope_bytes: &'a [u8],
}

impl<'a> Atsr<'a> {
    pub const MIN_LEN: usize = core::mem::size_of::<RawAtsr>();
    /// Flag: every root port of the segment supports ATS.
    pub const ALL_PORTS: u8 = 1 << 0;

    pub(super) fn parse(bytes: &'a [u8], offset: usize) -> Result<Self, AcpiError> {
        let raw: &RawAtsr = read(bytes, 0, offset, "ATSR")?;
        let scope_bytes = bytes.get(Self::MIN_LEN..).unwrap_or(&[]);
        Ok(Atsr {
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
    pub fn all_ports(&self) -> bool {
        self.raw.flags & Self::ALL_PORTS != 0
    }
    pub fn segment(&self) -> u16 {
        self.raw.segment.get()
    }
    pub fn scopes(&self) -> Scopes<'a> {
        Scopes::new(self.scope_bytes, self.offset + Self::MIN_LEN)
    }
}
