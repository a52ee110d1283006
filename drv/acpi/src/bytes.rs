//! Bounds-checked access to table bytes: the only place that turns an offset
//! into a reference, so "read past the end" is one error path, not many.
//!
//! Layouts are zerocopy types made of `u8` and little-endian integers, so they
//! have alignment 1 and the only way a read can fail is too few bytes.

use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::error::AcpiError;

/// `T` at `offset` within `bytes`. `base` is the absolute offset of `bytes[0]`
/// in the table, so the error names the table offset a reader can look up.
pub(crate) fn read<'a, T>(
    bytes: &'a [u8],
    offset: usize,
    base: usize,
    what: &'static str,
) -> Result<&'a T, AcpiError>
where
    T: FromBytes + KnownLayout + Immutable + Unaligned,
{
    let truncated = || AcpiError::Truncated {
        what,
        offset: base.saturating_add(offset),
        needed: core::mem::size_of::<T>(),
        available: bytes.len().saturating_sub(offset),
    };
    let tail = bytes.get(offset..).ok_or_else(truncated)?;
    T::ref_from_prefix(tail)
        .map(|(value, _)| value)
        .map_err(|_| truncated())
}

/// Sum of all bytes modulo 256: ACPI checksums make this zero.
pub(crate) fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b))
}
