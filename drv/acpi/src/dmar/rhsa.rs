//! RHSA, Remapping Hardware Static Affinity: the NUMA proximity domain of a
//! unit, named by its register base (matching a DRHD's).

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::structure::RawStructureHeader;
use crate::bytes::read;
use crate::error::AcpiError;

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawRhsa {
    header: RawStructureHeader,
    reserved: U32,
    register_base: U64,
    proximity_domain: U32,
}

/// A unit's NUMA affinity.
#[derive(Clone, Copy, Debug)]
pub struct Rhsa<'a> {
    offset: usize,
    raw: &'a RawRhsa,
}

impl<'a> Rhsa<'a> {
    pub const MIN_LEN: usize = core::mem::size_of::<RawRhsa>();

    pub(super) fn parse(bytes: &'a [u8], offset: usize) -> Result<Self, AcpiError> {
        let raw: &RawRhsa = read(bytes, 0, offset, "RHSA")?;
        Ok(Rhsa { offset, raw })
    }

    pub fn offset(&self) -> usize {
        self.offset
    }
    pub fn length(&self) -> u16 {
        self.raw.header.length.get()
    }
    /// Register base of the DRHD this affinity is for.
    pub fn register_base(&self) -> u64 {
        self.raw.register_base.get()
    }
    pub fn proximity_domain(&self) -> u32 {
        self.raw.proximity_domain.get()
    }
}
