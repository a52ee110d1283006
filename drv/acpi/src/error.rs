//! Why a table could not be read: one variant per rule, each naming the byte
//! offset (from the start of the table, or of the RSDP) where the rule broke.
//!
//! These are hard errors: the bytes cannot be interpreted. Readable but
//! suspicious firmware data is a [`crate::quirks::Warning`] instead.

use core::fmt;

/// A malformed table. `offset` fields are byte offsets from the start of the
/// table being parsed; Display shows them in hex, as `iasl` listings do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// A fixed-size part (`what`) needs more bytes than remain.
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// The table's signature is not the one the parser reads.
    BadSignature { expected: [u8; 4], found: [u8; 4] },
    /// The RSDP does not start with "RSD PTR ".
    BadRsdpSignature { found: [u8; 8] },
    /// The header's length field is smaller than the fixed part of the table.
    TableLengthTooSmall {
        signature: [u8; 4],
        length: u32,
        minimum: usize,
    },
    /// The header's length field claims more bytes than were provided.
    TableLengthPastEnd {
        signature: [u8; 4],
        length: u32,
        available: usize,
    },
    /// The bytes covered by a checksum (`what`) do not sum to zero.
    BadChecksum {
        what: &'static str,
        length: usize,
        sum: u8,
    },
    /// The RSDP v2 length field is below the 36 bytes of its own layout.
    RsdpLengthTooSmall { length: u32 },
    /// A table made of fixed-size entries (RSDT, XSDT, MCFG) has a partial one.
    PartialEntry {
        signature: [u8; 4],
        offset: usize,
        entry_size: usize,
        remaining: usize,
    },
    /// A DMAR remapping structure with length 0: walking by length would
    /// never advance.
    StructureLengthZero { offset: usize, kind: u16 },
    /// A remapping structure shorter than the fixed part of its type.
    StructureTooShort {
        offset: usize,
        kind: u16,
        length: u16,
        minimum: usize,
    },
    /// A remapping structure whose length runs past the end of the table.
    StructurePastEnd {
        offset: usize,
        kind: u16,
        length: u16,
        remaining: usize,
    },
    /// A device scope shorter than its 6-byte header plus one path entry.
    ScopeTooShort { offset: usize, length: u8 },
    /// A device scope whose length runs past the end of its structure.
    ScopePastStructure {
        offset: usize,
        length: u8,
        remaining: usize,
    },
    /// A device scope whose path is not a whole number of (device, function)
    /// pairs.
    ScopePathOdd { offset: usize, length: u8 },
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AcpiError::Truncated {
                what,
                offset,
                needed,
                available,
            } => write!(
                f,
                "offset {offset:#x}: {what} needs {needed} bytes but only {available} remain"
            ),
            AcpiError::BadSignature { expected, found } => write!(
                f,
                "offset 0x0: signature is \"{}\", expected \"{}\"",
                Ascii(&found),
                Ascii(&expected)
            ),
            AcpiError::BadRsdpSignature { found } => write!(
                f,
                "offset 0x0: RSDP signature is \"{}\", expected \"RSD PTR \"",
                Ascii(&found)
            ),
            AcpiError::TableLengthTooSmall {
                signature,
                length,
                minimum,
            } => write!(
                f,
                "offset 0x4: {} length field is {length}, below the {minimum} bytes of its fixed part",
                Ascii(&signature)
            ),
            AcpiError::TableLengthPastEnd {
                signature,
                length,
                available,
            } => write!(
                f,
                "offset 0x4: {} length field is {length} but only {available} bytes were given",
                Ascii(&signature)
            ),
            AcpiError::BadChecksum { what, length, sum } => write!(
                f,
                "offset 0x0: {what} checksum fails: its {length} bytes sum to {sum:#04x}, not 0"
            ),
            AcpiError::RsdpLengthTooSmall { length } => write!(
                f,
                "offset 0x14: RSDP v2 length field is {length}, below the 36 bytes of an RSDP v2"
            ),
            AcpiError::PartialEntry {
                signature,
                offset,
                entry_size,
                remaining,
            } => write!(
                f,
                "offset {offset:#x}: {} entries are {entry_size} bytes but {remaining} remain",
                Ascii(&signature)
            ),
            AcpiError::StructureLengthZero { offset, kind } => write!(
                f,
                "offset {offset:#x}: remapping structure type {kind} ({}) has length 0",
                crate::dmar::structure_name(kind)
            ),
            AcpiError::StructureTooShort {
                offset,
                kind,
                length,
                minimum,
            } => write!(
                f,
                "offset {offset:#x}: remapping structure type {kind} ({}) has length {length}, below its minimum of {minimum}",
                crate::dmar::structure_name(kind)
            ),
            AcpiError::StructurePastEnd {
                offset,
                kind,
                length,
                remaining,
            } => write!(
                f,
                "offset {offset:#x}: remapping structure type {kind} ({}) has length {length} but only {remaining} bytes remain in the table",
                crate::dmar::structure_name(kind)
            ),
            AcpiError::ScopeTooShort { offset, length } => write!(
                f,
                "offset {offset:#x}: device scope length {length} is below 8 (6-byte header and one path entry)"
            ),
            AcpiError::ScopePastStructure {
                offset,
                length,
                remaining,
            } => write!(
                f,
                "offset {offset:#x}: device scope length {length} runs past its structure ({remaining} bytes remain)"
            ),
            AcpiError::ScopePathOdd { offset, length } => write!(
                f,
                "offset {offset:#x}: device scope length {length} leaves an odd number of path bytes (a path is (device, function) pairs)"
            ),
        }
    }
}

/// Shows firmware identifiers (signatures, OEM IDs) as text, escaping bytes
/// that are not printable ASCII so a broken table cannot garble a terminal.
#[derive(Clone, Copy, Debug)]
pub struct Ascii<'a>(pub &'a [u8]);

impl<'a> Ascii<'a> {
    /// A fixed-size firmware string shown up to its first NUL (the padding).
    pub fn padded(bytes: &'a [u8]) -> Self {
        Ascii(bytes.split(|&b| b == 0).next().unwrap_or(bytes))
    }
}

impl fmt::Display for Ascii<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0 {
            if b == b' ' || b.is_ascii_graphic() {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}
