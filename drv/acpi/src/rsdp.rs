//! The Root System Description Pointer: where every table walk starts.
//!
//! Version 1 (revision 0) is 20 bytes with a checksum over them and points at
//! the RSDT (32-bit addresses). Version 2 (revision >= 2) adds a length, the
//! XSDT's 64-bit address and an extended checksum over `length` bytes; both
//! checksums must hold. The XSDT is preferred when its address is non-zero.

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::bytes::{checksum, read};
use crate::error::AcpiError;

pub const RSDP_SIGNATURE: [u8; 8] = *b"RSD PTR ";
/// Bytes covered by the version 1 checksum.
pub const RSDP_V1_LEN: usize = 20;
/// Size of a version 2 RSDP.
pub const RSDP_V2_LEN: usize = 36;
/// First revision with the extended (v2) fields.
const FIRST_V2_REVISION: u8 = 2;

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawRsdpV1 {
    signature: [u8; 8],
    checksum: u8,
    oem_id: [u8; 6],
    revision: u8,
    rsdt_address: U32,
}

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawRsdpV2 {
    v1: RawRsdpV1,
    length: U32,
    xsdt_address: U64,
    extended_checksum: u8,
    reserved: [u8; 3],
}

/// The root table an RSDP points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootTable {
    Xsdt(u64),
    Rsdt(u32),
}

/// A checked RSDP (copied out: it is 36 bytes at most).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rsdp {
    pub revision: u8,
    pub oem_id: [u8; 6],
    pub rsdt_address: u32,
    /// Present for version 2 and later.
    pub xsdt_address: Option<u64>,
    /// Bytes the RSDP occupies (20 for version 1).
    pub length: u32,
}

impl Rsdp {
    /// How many bytes to read at an RSDP's address before [`Rsdp::parse`]:
    /// the v1 part says whether the v2 part exists.
    pub fn length_to_read(v1: &[u8]) -> usize {
        match v1.get(15) {
            Some(&revision) if revision >= FIRST_V2_REVISION => RSDP_V2_LEN,
            _ => RSDP_V1_LEN,
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<Rsdp, AcpiError> {
        let v1: &RawRsdpV1 = read(bytes, 0, 0, "RSDP")?;
        if v1.signature != RSDP_SIGNATURE {
            return Err(AcpiError::BadRsdpSignature {
                found: v1.signature,
            });
        }
        let v1_bytes = bytes.get(..RSDP_V1_LEN).unwrap_or(bytes);
        let sum = checksum(v1_bytes);
        if sum != 0 {
            return Err(AcpiError::BadChecksum {
                what: "RSDP",
                length: RSDP_V1_LEN,
                sum,
            });
        }
        let mut rsdp = Rsdp {
            revision: v1.revision,
            oem_id: v1.oem_id,
            rsdt_address: v1.rsdt_address.get(),
            xsdt_address: None,
            length: RSDP_V1_LEN as u32,
        };
        if v1.revision < FIRST_V2_REVISION {
            return Ok(rsdp);
        }
        let v2: &RawRsdpV2 = read(bytes, 0, 0, "RSDP v2")?;
        let length = v2.length.get();
        let len = usize::try_from(length).unwrap_or(usize::MAX);
        if len < RSDP_V2_LEN {
            return Err(AcpiError::RsdpLengthTooSmall { length });
        }
        let covered = bytes.get(..len).ok_or(AcpiError::Truncated {
            what: "RSDP v2 (per its length field)",
            offset: 0,
            needed: len,
            available: bytes.len(),
        })?;
        let sum = checksum(covered);
        if sum != 0 {
            return Err(AcpiError::BadChecksum {
                what: "RSDP extended",
                length: len,
                sum,
            });
        }
        rsdp.xsdt_address = Some(v2.xsdt_address.get());
        rsdp.length = length;
        Ok(rsdp)
    }

    /// The XSDT if this RSDP names one, else the RSDT.
    pub fn root_table(&self) -> RootTable {
        match self.xsdt_address {
            Some(address) if address != 0 => RootTable::Xsdt(address),
            _ => RootTable::Rsdt(self.rsdt_address),
        }
    }
}
