//! The 36-byte header every ACPI system description table starts with, and
//! the checks that make the rest of a table safe to read: signature, length
//! within the given bytes, checksum over exactly `length` bytes.
//!
//! An [`Sdt`] is cut to its length field, so bytes after a table (a page's
//! worth of memory read past it) are never mistaken for its contents.

use zerocopy::little_endian::U32;
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::bytes::{checksum, read};
use crate::error::AcpiError;

/// Size of [`SdtHeader`] in bytes.
pub const SDT_HEADER_LEN: usize = 36;

/// The common ACPI table header, as laid out in memory.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct SdtHeader {
    signature: [u8; 4],
    length: U32,
    revision: u8,
    checksum: u8,
    oem_id: [u8; 6],
    oem_table_id: [u8; 8],
    oem_revision: U32,
    creator_id: [u8; 4],
    creator_revision: U32,
}

impl SdtHeader {
    /// Reads a header without judging the table: what a walk needs to decide
    /// whether this is the table it looks for.
    pub fn read(bytes: &[u8]) -> Result<&SdtHeader, AcpiError> {
        read(bytes, 0, 0, "table header")
    }
    pub fn signature(&self) -> [u8; 4] {
        self.signature
    }
    pub fn length(&self) -> u32 {
        self.length.get()
    }
    pub fn revision(&self) -> u8 {
        self.revision
    }
    pub fn checksum(&self) -> u8 {
        self.checksum
    }
    pub fn oem_id(&self) -> &[u8; 6] {
        &self.oem_id
    }
    pub fn oem_table_id(&self) -> &[u8; 8] {
        &self.oem_table_id
    }
    pub fn oem_revision(&self) -> u32 {
        self.oem_revision.get()
    }
    /// Called "ASL compiler ID" by iasl.
    pub fn creator_id(&self) -> &[u8; 4] {
        &self.creator_id
    }
    pub fn creator_revision(&self) -> u32 {
        self.creator_revision.get()
    }
}

/// A checked table: its header and exactly `length` bytes.
#[derive(Clone, Copy, Debug)]
pub struct Sdt<'a> {
    header: &'a SdtHeader,
    bytes: &'a [u8],
}

impl<'a> Sdt<'a> {
    /// Checks the header of the table at the start of `bytes`: signature
    /// (`expected`), a length of at least `minimum` (header plus the table's
    /// fixed part) that fits in `bytes`, and a zero checksum.
    pub fn parse(bytes: &'a [u8], expected: &[u8; 4], minimum: usize) -> Result<Self, AcpiError> {
        let header = SdtHeader::read(bytes)?;
        if header.signature != *expected {
            return Err(AcpiError::BadSignature {
                expected: *expected,
                found: header.signature,
            });
        }
        let length = header.length();
        let too_small = AcpiError::TableLengthTooSmall {
            signature: header.signature,
            length,
            minimum,
        };
        let len = usize::try_from(length).map_err(|_| too_small)?;
        if len < minimum.max(SDT_HEADER_LEN) {
            return Err(too_small);
        }
        let bytes = bytes.get(..len).ok_or(AcpiError::TableLengthPastEnd {
            signature: header.signature,
            length,
            available: bytes.len(),
        })?;
        let sum = checksum(bytes);
        if sum != 0 {
            return Err(AcpiError::BadChecksum {
                what: "table",
                length: len,
                sum,
            });
        }
        Ok(Sdt { header, bytes })
    }

    pub fn header(&self) -> &'a SdtHeader {
        self.header
    }

    /// The whole table, header included, cut to its length field.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The bytes after the 36-byte header.
    pub fn body(&self) -> &'a [u8] {
        self.bytes.get(SDT_HEADER_LEN..).unwrap_or(&[])
    }
}
