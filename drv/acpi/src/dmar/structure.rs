//! Walking the remapping structures: each starts with a 2-byte type and a
//! 2-byte length, and the walk advances by that length.
//!
//! The generic rules (header present, length non-zero, not past the table,
//! at least the type's fixed part) are checked here, before the type's own
//! parser sees exactly `length` bytes.

use zerocopy::little_endian::U16;
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::{kind, Andd, Atsr, Drhd, Rhsa, Rmrr, Satc, Scopes};
use crate::bytes::read;
use crate::error::AcpiError;

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub(crate) struct RawStructureHeader {
    pub(crate) kind: U16,
    pub(crate) length: U16,
}

pub(crate) const STRUCTURE_HEADER_LEN: usize = core::mem::size_of::<RawStructureHeader>();

/// A remapping structure whose type this parser does not know.
#[derive(Clone, Copy, Debug)]
pub struct UnknownStructure<'a> {
    pub offset: usize,
    pub kind: u16,
    /// The whole structure, header included.
    pub bytes: &'a [u8],
}

/// One remapping structure, typed.
#[derive(Clone, Copy, Debug)]
pub enum Structure<'a> {
    Drhd(Drhd<'a>),
    Rmrr(Rmrr<'a>),
    Atsr(Atsr<'a>),
    Rhsa(Rhsa<'a>),
    Andd(Andd<'a>),
    Satc(Satc<'a>),
    Unknown(UnknownStructure<'a>),
}

impl<'a> Structure<'a> {
    /// Byte offset of the structure in the table.
    pub fn offset(&self) -> usize {
        match self {
            Structure::Drhd(s) => s.offset(),
            Structure::Rmrr(s) => s.offset(),
            Structure::Atsr(s) => s.offset(),
            Structure::Rhsa(s) => s.offset(),
            Structure::Andd(s) => s.offset(),
            Structure::Satc(s) => s.offset(),
            Structure::Unknown(s) => s.offset,
        }
    }

    /// The type code.
    pub fn kind(&self) -> u16 {
        match self {
            Structure::Drhd(_) => kind::DRHD,
            Structure::Rmrr(_) => kind::RMRR,
            Structure::Atsr(_) => kind::ATSR,
            Structure::Rhsa(_) => kind::RHSA,
            Structure::Andd(_) => kind::ANDD,
            Structure::Satc(_) => kind::SATC,
            Structure::Unknown(s) => s.kind,
        }
    }

    /// The device scopes (none for RHSA, ANDD and unknown types).
    pub fn scopes(&self) -> Scopes<'a> {
        match self {
            Structure::Drhd(s) => s.scopes(),
            Structure::Rmrr(s) => s.scopes(),
            Structure::Atsr(s) => s.scopes(),
            Structure::Satc(s) => s.scopes(),
            Structure::Rhsa(_) | Structure::Andd(_) | Structure::Unknown(_) => Scopes::empty(),
        }
    }

    fn parse(kind: u16, bytes: &'a [u8], offset: usize) -> Result<Self, AcpiError> {
        let length = bytes.len() as u16;
        let minimum = match kind {
            kind::DRHD => Drhd::MIN_LEN,
            kind::RMRR => Rmrr::MIN_LEN,
            kind::ATSR => Atsr::MIN_LEN,
            kind::RHSA => Rhsa::MIN_LEN,
            kind::ANDD => Andd::MIN_LEN,
            kind::SATC => Satc::MIN_LEN,
            _ => STRUCTURE_HEADER_LEN,
        };
        if bytes.len() < minimum {
            return Err(AcpiError::StructureTooShort {
                offset,
                kind,
                length,
                minimum,
            });
        }
        Ok(match kind {
            kind::DRHD => Structure::Drhd(Drhd::parse(bytes, offset)?),
            kind::RMRR => Structure::Rmrr(Rmrr::parse(bytes, offset)?),
            kind::ATSR => Structure::Atsr(Atsr::parse(bytes, offset)?),
            kind::RHSA => Structure::Rhsa(Rhsa::parse(bytes, offset)?),
            kind::ANDD => Structure::Andd(Andd::parse(bytes, offset)?),
            kind::SATC => Structure::Satc(Satc::parse(bytes, offset)?),
            _ => Structure::Unknown(UnknownStructure {
                offset,
                kind,
                bytes,
            }),
        })
    }
}

/// Iterator over the remapping structures. Yields an error for the first
/// malformed structure and stops there (after a bad length nothing that
/// follows can be located).
#[derive(Clone, Debug)]
pub struct Structures<'a> {
    bytes: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Structures<'a> {
    pub(crate) fn new(bytes: &'a [u8], offset: usize) -> Self {
        Structures {
            bytes,
            offset,
            failed: false,
        }
    }

    fn parse_one(&self) -> Result<(Structure<'a>, usize), AcpiError> {
        let header: &RawStructureHeader =
            read(self.bytes, 0, self.offset, "remapping structure header")?;
        let kind = header.kind.get();
        let length = header.length.get();
        if length == 0 {
            return Err(AcpiError::StructureLengthZero {
                offset: self.offset,
                kind,
            });
        }
        let bytes = self
            .bytes
            .get(..usize::from(length))
            .ok_or(AcpiError::StructurePastEnd {
                offset: self.offset,
                kind,
                length,
                remaining: self.bytes.len(),
            })?;
        Ok((
            Structure::parse(kind, bytes, self.offset)?,
            usize::from(length),
        ))
    }
}

impl<'a> Iterator for Structures<'a> {
    type Item = Result<Structure<'a>, AcpiError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.bytes.is_empty() {
            return None;
        }
        match self.parse_one() {
            Ok((structure, length)) => {
                self.bytes = self.bytes.get(length..).unwrap_or(&[]);
                self.offset += length;
                Some(Ok(structure))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}
