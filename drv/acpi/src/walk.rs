//! The table walk: RSDP → XSDT (or RSDT) → the table with a given signature,
//! reading physical memory through a [`PhysMem`] the caller provides (a
//! mapped window in the acpi task, a byte image in tests).
//!
//! The walk needs no buffer for the tables it passes over: it reads headers
//! and entries piecewise and checks checksums in small chunks. Only the table
//! the caller wants is copied, into the caller's buffer, by [`read_table`].

use core::fmt;

use crate::error::{AcpiError, Ascii};
use crate::root::{check_whole_entries, entry_at, RSDT_SIGNATURE, XSDT_SIGNATURE};
use crate::rsdp::{RootTable, Rsdp, RSDP_V1_LEN, RSDP_V2_LEN};
use crate::sdt::{Sdt, SdtHeader, SDT_HEADER_LEN};

/// Reads physical memory. An error means the range is not readable (not
/// mapped, outside RAM); the walk reports it with the address.
pub trait PhysMem {
    type Error;
    fn read(&self, address: u64, buf: &mut [u8]) -> Result<(), Self::Error>;
}

/// Longest table the walk accepts. A corrupt length field must not make it
/// checksum gigabytes of memory; real tables are kilobytes (a large DSDT is
/// well under 1 MiB).
pub const MAX_TABLE_LENGTH: u32 = 16 << 20;

/// Where the BIOS may keep the RSDP on legacy (non-UEFI) machines.
pub const BIOS_RSDP_AREA: core::ops::Range<u64> = 0xE_0000..0x10_0000;
/// The RSDP is 16-byte aligned wherever it is searched for.
const RSDP_ALIGN: u64 = 16;
/// Bytes read per step while checksumming a table in memory.
const CHUNK_LEN: usize = 64;

/// A table found in memory, already checked (length and checksum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableLocation {
    pub address: u64,
    pub signature: [u8; 4],
    pub length: u32,
}

/// Why a walk failed. `E` is the [`PhysMem`]'s error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError<E> {
    /// Memory could not be read.
    Read {
        address: u64,
        length: usize,
        error: E,
    },
    /// An address plus an offset within the table overflows 64 bits.
    AddressOverflow { address: u64, offset: u64 },
    /// No valid RSDP at 16-byte boundaries in the searched range.
    RsdpNotFound { start: u64, end: u64 },
    /// The RSDP at `address` is malformed.
    Rsdp { address: u64, error: AcpiError },
    /// The table at `address` is malformed (offsets in `error` are from it).
    Table { address: u64, error: AcpiError },
    /// A table's length field exceeds [`MAX_TABLE_LENGTH`].
    TableTooLong {
        address: u64,
        signature: [u8; 4],
        length: u32,
    },
    /// The caller's buffer cannot hold the table.
    BufferTooSmall {
        address: u64,
        needed: usize,
        available: usize,
    },
    /// The root table lists no table with this signature.
    NotFound { signature: [u8; 4] },
}

impl<E: fmt::Display> fmt::Display for WalkError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::Read {
                address,
                length,
                error,
            } => write!(f, "cannot read {length} bytes at {address:#x}: {error}"),
            WalkError::AddressOverflow { address, offset } => {
                write!(f, "table at {address:#x} plus offset {offset:#x} overflows")
            }
            WalkError::RsdpNotFound { start, end } => {
                write!(f, "no valid RSDP between {start:#x} and {end:#x}")
            }
            WalkError::Rsdp { address, error } => write!(f, "RSDP at {address:#x}: {error}"),
            WalkError::Table { address, error } => write!(f, "table at {address:#x}: {error}"),
            WalkError::TableTooLong {
                address,
                signature,
                length,
            } => write!(
                f,
                "table {} at {address:#x}: length {length} exceeds the {MAX_TABLE_LENGTH}-byte limit",
                Ascii(signature)
            ),
            WalkError::BufferTooSmall {
                address,
                needed,
                available,
            } => write!(
                f,
                "table at {address:#x} is {needed} bytes, the buffer only {available}"
            ),
            WalkError::NotFound { signature } => {
                write!(f, "no {} table in the RSDT/XSDT", Ascii(signature))
            }
        }
    }
}

fn read_mem<M: PhysMem>(mem: &M, address: u64, buf: &mut [u8]) -> Result<(), WalkError<M::Error>> {
    mem.read(address, buf).map_err(|error| WalkError::Read {
        address,
        length: buf.len(),
        error,
    })
}

fn offset_address<E>(address: u64, offset: u64) -> Result<u64, WalkError<E>> {
    address
        .checked_add(offset)
        .ok_or(WalkError::AddressOverflow { address, offset })
}

/// Reads and checks the RSDP at `address`.
pub fn read_rsdp<M: PhysMem>(mem: &M, address: u64) -> Result<Rsdp, WalkError<M::Error>> {
    let mut buf = [0u8; RSDP_V2_LEN];
    let (v1, _) = buf.split_at_mut(RSDP_V1_LEN);
    read_mem(mem, address, v1)?;
    let len = Rsdp::length_to_read(v1);
    if len > RSDP_V1_LEN {
        read_mem(mem, address, &mut buf[..len])?;
    }
    Rsdp::parse(&buf[..len]).map_err(|error| WalkError::Rsdp { address, error })
}

/// Searches `range` at 16-byte boundaries for a valid RSDP (legacy BIOS
/// machines; PVH and UEFI hand the address over instead). Unreadable
/// addresses are skipped.
pub fn find_rsdp<M: PhysMem>(
    mem: &M,
    range: core::ops::Range<u64>,
) -> Result<u64, WalkError<M::Error>> {
    let mut address = range.start.next_multiple_of(RSDP_ALIGN);
    while address < range.end {
        if read_rsdp(mem, address).is_ok() {
            return Ok(address);
        }
        address = match address.checked_add(RSDP_ALIGN) {
            Some(next) => next,
            None => break,
        };
    }
    Err(WalkError::RsdpNotFound {
        start: range.start,
        end: range.end,
    })
}

/// Checks the table at `address` in place: signature (if given), length
/// bounds and checksum, reading it in chunks.
pub fn check_table<M: PhysMem>(
    mem: &M,
    address: u64,
    expected: Option<&[u8; 4]>,
) -> Result<TableLocation, WalkError<M::Error>> {
    let mut header_bytes = [0u8; SDT_HEADER_LEN];
    read_mem(mem, address, &mut header_bytes)?;
    let table_error = |error| WalkError::Table { address, error };
    let header = SdtHeader::read(&header_bytes).map_err(table_error)?;
    let signature = header.signature();
    if let Some(expected) = expected {
        if signature != *expected {
            return Err(table_error(AcpiError::BadSignature {
                expected: *expected,
                found: signature,
            }));
        }
    }
    let length = header.length();
    if (length as usize) < SDT_HEADER_LEN {
        return Err(table_error(AcpiError::TableLengthTooSmall {
            signature,
            length,
            minimum: SDT_HEADER_LEN,
        }));
    }
    if length > MAX_TABLE_LENGTH {
        return Err(WalkError::TableTooLong {
            address,
            signature,
            length,
        });
    }
    let mut sum = 0u8;
    let mut chunk = [0u8; CHUNK_LEN];
    let mut done = 0usize;
    while done < length as usize {
        let n = CHUNK_LEN.min(length as usize - done);
        let part = &mut chunk[..n];
        read_mem(mem, offset_address(address, done as u64)?, part)?;
        sum = part.iter().fold(sum, |s, b| s.wrapping_add(*b));
        done += n;
    }
    if sum != 0 {
        return Err(table_error(AcpiError::BadChecksum {
            what: "table",
            length: length as usize,
            sum,
        }));
    }
    Ok(TableLocation {
        address,
        signature,
        length,
    })
}

/// Walks RSDP → XSDT/RSDT and returns the first table with `signature`.
/// Null entries are skipped; an entry pointing at unreadable memory or at a
/// table that fails its checks is an error only if it is the one sought.
pub fn find_table<M: PhysMem>(
    mem: &M,
    rsdp_address: u64,
    signature: &[u8; 4],
) -> Result<TableLocation, WalkError<M::Error>> {
    let rsdp = read_rsdp(mem, rsdp_address)?;
    let (root, root_signature, entry_size) = match rsdp.root_table() {
        RootTable::Xsdt(address) => (address, XSDT_SIGNATURE, 8usize),
        RootTable::Rsdt(address) => (u64::from(address), RSDT_SIGNATURE, 4usize),
    };
    let location = check_table(mem, root, Some(&root_signature))?;
    let entries_len = location.length as usize - SDT_HEADER_LEN;
    check_whole_entries(entries_len, SDT_HEADER_LEN, &root_signature, entry_size).map_err(
        |error| WalkError::Table {
            address: root,
            error,
        },
    )?;
    for index in 0..entries_len / entry_size {
        let mut raw = [0u8; 8];
        let raw = &mut raw[..entry_size];
        let at = offset_address(root, (SDT_HEADER_LEN + index * entry_size) as u64)?;
        read_mem(mem, at, raw)?;
        let Some(entry) = entry_at(raw, 0, entry_size == 8) else {
            continue;
        };
        if entry == 0 {
            continue;
        }
        let mut header_bytes = [0u8; SDT_HEADER_LEN];
        if mem.read(entry, &mut header_bytes).is_err() {
            continue;
        }
        let matches = SdtHeader::read(&header_bytes)
            .map(|h| h.signature() == *signature)
            .unwrap_or(false);
        if matches {
            return check_table(mem, entry, Some(signature));
        }
    }
    Err(WalkError::NotFound {
        signature: *signature,
    })
}

/// Copies a found table into `buf` and checks it again there (memory is not
/// ours; what was checked is what is returned).
pub fn read_table<'b, M: PhysMem>(
    mem: &M,
    location: &TableLocation,
    buf: &'b mut [u8],
) -> Result<&'b [u8], WalkError<M::Error>> {
    let needed = location.length as usize;
    let available = buf.len();
    let table = buf.get_mut(..needed).ok_or(WalkError::BufferTooSmall {
        address: location.address,
        needed,
        available,
    })?;
    read_mem(mem, location.address, table)?;
    let table: &'b [u8] = table;
    Sdt::parse(table, &location.signature, SDT_HEADER_LEN).map_err(|error| WalkError::Table {
        address: location.address,
        error,
    })?;
    Ok(table)
}
