//! DRHD, DMA Remapping Hardware unit Definition: one VT-d unit, its register
//! page and the devices it translates.
//!
//! A unit with INCLUDE_PCI_ALL translates every device of its segment that no
//! other unit lists; its own scopes then name only IOAPICs and HPETs.

use zerocopy::little_endian::{U16, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::structure::RawStructureHeader;
use super::Scopes;
use crate::bytes::read;
use crate::error::AcpiError;

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawDrhd {
    header: RawStructureHeader,
    flags: u8,
    size: u8,
    segment: U16,
    register_base: U64,
}

/// A remapping hardware unit.
#[derive(Clone, Copy, Debug)]
pub struct Drhd<'a> {
    offset: usize,
    raw: &'a RawDrhd,
    scope_bytes: &'a [u8],
}

impl<'a> Drhd<'a> {
    pub const MIN_LEN: usize = core::mem::size_of::<RawDrhd>();
    /// Flag: the unit covers all PCI devices of its segment not listed
    /// elsewhere.
    pub const INCLUDE_PCI_ALL: u8 = 1 << 0;
    /// Bits of the size field that hold N (register set = 2^N pages).
    const SIZE_MASK: u8 = 0x0f;
    const PAGE_SIZE: u64 = 4096;

    pub(super) fn parse(bytes: &'a [u8], offset: usize) -> Result<Self, AcpiError> {
        let raw: &RawDrhd = read(bytes, 0, offset, "DRHD")?;
        let scope_bytes = bytes.get(Self::MIN_LEN..).unwrap_or(&[]);
        Ok(Drhd {
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
    pub fn include_pci_all(&self) -> bool {
        self.raw.flags & Self::INCLUDE_PCI_ALL != 0
    }
    /// The raw size byte (reserved, zero, before VT-d 2.x).
    pub fn size_field(&self) -> u8 {
        self.raw.size
    }
    /// Bytes of the register set: 2^N 4 KiB pages, N from the size field.
    pub fn register_set_size(&self) -> u64 {
        Self::PAGE_SIZE << (self.raw.size & Self::SIZE_MASK)
    }
    pub fn segment(&self) -> u16 {
        self.raw.segment.get()
    }
    pub fn register_base(&self) -> u64 {
        self.raw.register_base.get()
    }
    pub fn scopes(&self) -> Scopes<'a> {
        Scopes::new(self.scope_bytes, self.offset + Self::MIN_LEN)
    }
}
