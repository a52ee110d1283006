//! The root tables: RSDT (32-bit entries) and XSDT (64-bit entries), each a
//! header followed by physical addresses of the other tables.
//!
//! Entries are read with explicit little-endian loads: an XSDT's 8-byte
//! entries sit at offset 36, which is not 8-aligned.

use zerocopy::little_endian::{U32, U64};

use crate::bytes::read;
use crate::error::AcpiError;
use crate::sdt::{Sdt, SDT_HEADER_LEN};

pub const RSDT_SIGNATURE: [u8; 4] = *b"RSDT";
pub const XSDT_SIGNATURE: [u8; 4] = *b"XSDT";

/// A checked RSDT or XSDT.
#[derive(Clone, Copy, Debug)]
pub struct RootSdt<'a> {
    sdt: Sdt<'a>,
    entry_size: usize,
}

impl<'a> RootSdt<'a> {
    pub fn parse_rsdt(bytes: &'a [u8]) -> Result<Self, AcpiError> {
        Self::parse(bytes, &RSDT_SIGNATURE, 4)
    }

    pub fn parse_xsdt(bytes: &'a [u8]) -> Result<Self, AcpiError> {
        Self::parse(bytes, &XSDT_SIGNATURE, 8)
    }

    fn parse(bytes: &'a [u8], signature: &[u8; 4], entry_size: usize) -> Result<Self, AcpiError> {
        let sdt = Sdt::parse(bytes, signature, SDT_HEADER_LEN)?;
        check_whole_entries(sdt.body().len(), SDT_HEADER_LEN, signature, entry_size)?;
        Ok(RootSdt { sdt, entry_size })
    }

    pub fn sdt(&self) -> Sdt<'a> {
        self.sdt
    }

    /// Physical addresses of the tables, in table order.
    pub fn entries(&self) -> impl Iterator<Item = u64> + 'a {
        let body = self.sdt.body();
        let wide = self.entry_size == 8;
        (0..body.len() / self.entry_size).filter_map(move |i| entry_at(body, i, wide))
    }
}

/// Checks that the `len` bytes of entries starting at table offset `start`
/// are a whole number of entries.
pub(crate) fn check_whole_entries(
    len: usize,
    start: usize,
    signature: &[u8; 4],
    entry_size: usize,
) -> Result<(), AcpiError> {
    let remaining = len % entry_size;
    if remaining != 0 {
        return Err(AcpiError::PartialEntry {
            signature: *signature,
            offset: start + len - remaining,
            entry_size,
            remaining,
        });
    }
    Ok(())
}

/// Entry `index` of a root table body (`wide`: 8-byte XSDT entries).
pub(crate) fn entry_at(body: &[u8], index: usize, wide: bool) -> Option<u64> {
    if wide {
        read::<U64>(body, index * 8, SDT_HEADER_LEN, "XSDT entry")
            .ok()
            .map(|e| e.get())
    } else {
        read::<U32>(body, index * 4, SDT_HEADER_LEN, "RSDT entry")
            .ok()
            .map(|e| u64::from(e.get()))
    }
}
