//! A fixed-layout message: the layout, then zeros up to a whole number of
//! 8-byte words.
//!
//! The kernel copies a message a word at a time and then its byte tail one
//! byte at a time (about five guest instructions a byte, per copy); a
//! 22-byte layout sent as is costs about 70 instructions more per round
//! trip than one of 24. So a message is its layout padded with zeros to
//! [`message_len`], which never costs a word more than the layout needs,
//! and the receiver refuses a nonzero pad byte (the encoding stays
//! canonical: one message per value).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{fingerprint, Fixed, WireError};

/// Bytes of a word: messages are whole words.
pub const WORD: usize = 8;

/// The bytes a message carrying a `size`-byte layout takes.
pub const fn message_len(size: usize) -> usize {
    size.div_ceil(WORD) * WORD
}

/// A layout followed by enough zeros to round any size up to whole words:
/// the first [`message_len`] bytes of it are the message.
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned, Copy, Clone, Debug)]
#[repr(C)]
pub struct Padded<W> {
    /// The layout.
    pub wire: W,
    /// Zeros.
    pub pad: [u8; WORD - 1],
}

impl<W> Padded<W> {
    /// `wire` with its pad.
    #[inline]
    pub const fn new(wire: W) -> Self {
        Padded {
            wire,
            pad: [0; WORD - 1],
        }
    }
}

/// What a pad byte must be.
const PAD: &str = "0 (a pad byte after the layout)";

/// Reads a message carrying a `T`: exactly `message_len(T::SIZE)` bytes,
/// the layout checked in place, the pad zero. `None` for a wrong length.
#[inline]
pub fn decode_message<T: Fixed>(bytes: &[u8]) -> Option<Result<T, WireError>> {
    let len = message_len(T::SIZE);
    if bytes.len() != len {
        return None;
    }
    let (wire, pad) = T::Wire::ref_from_prefix(bytes).ok()?;
    if !pad_is_zero(bytes, T::SIZE) {
        return Some(Err(bad_pad(pad)));
    }
    Some(T::from_wire(wire))
}

/// The error for a nonzero pad byte (out of line: rare).
#[cold]
#[inline(never)]
fn bad_pad(pad: &[u8]) -> WireError {
    let found = pad.iter().copied().find(|b| *b != 0).unwrap_or(0);
    WireError::new(found, PAD)
}

/// The layout a message carries, in place, if the message is exactly
/// `message_len(T::SIZE)` bytes with a zero pad (`Err(false)`: wrong
/// length; `Err(true)`: a nonzero pad byte). The values are not checked
/// yet: that is [`Fixed::read_valid`]'s job.
#[inline]
pub fn message_layout<T: Fixed>(bytes: &[u8]) -> Result<&T::Wire, bool> {
    if bytes.len() != message_len(T::SIZE) {
        return Err(false);
    }
    let (wire, _) = T::Wire::ref_from_prefix(bytes).map_err(|_| false)?;
    if !pad_is_zero(bytes, T::SIZE) {
        return Err(true);
    }
    Ok(wire)
}

/// Whether the bytes of the `len`-byte message `bytes` after a `size`-byte
/// layout are zero: one load of the last word and a shift, the pad's
/// length being a constant.
#[inline(always)]
fn pad_is_zero(bytes: &[u8], size: usize) -> bool {
    let pad = message_len(size) - size;
    if pad == 0 {
        return true;
    }
    let end = message_len(size);
    match bytes.get(end - WORD..end) {
        Some(last) => {
            let mut word = [0u8; WORD];
            word.copy_from_slice(last);
            u64::from_le_bytes(word) >> (8 * (WORD - pad)) == 0
        }
        None => false,
    }
}

/// Writes the message carrying `value` at the start of `out` (layout, then
/// zeros); its length, or `None` if `out` is too short.
#[inline]
pub fn encode_message<T: Fixed>(value: &T, out: &mut [u8]) -> Option<usize> {
    let len = message_len(T::SIZE);
    let message = Padded::new(value.to_wire());
    let bytes = message.as_bytes().get(..len)?;
    out.get_mut(..len)?.copy_from_slice(bytes);
    Some(len)
}

/// How an operation's error travels in a fixed-layout reply: as a message
/// of its own layout, or never (`NoError`, the error of an operation that
/// cannot fail: no bytes are one).
pub trait FixedError: Sized {
    /// Bytes of the layout (0 for `NoError`).
    const SIZE: usize;
    /// Its fingerprint.
    const LAYOUT: u32;
    /// [`decode_message`] for errors: `None` for a wrong length (always,
    /// for `NoError`).
    fn decode_error(bytes: &[u8]) -> Option<Result<Self, WireError>>;
    /// [`encode_message`] for errors.
    fn encode_error(&self, out: &mut [u8]) -> Option<usize>;
}

impl<E: Fixed> FixedError for E {
    const SIZE: usize = <E as Fixed>::SIZE;
    const LAYOUT: u32 = <E as Fixed>::LAYOUT;
    #[inline]
    fn decode_error(bytes: &[u8]) -> Option<Result<Self, WireError>> {
        decode_message(bytes)
    }
    #[inline]
    fn encode_error(&self, out: &mut [u8]) -> Option<usize> {
        encode_message(self, out)
    }
}

impl FixedError for crate::NoError {
    const SIZE: usize = 0;
    const LAYOUT: u32 = fingerprint::scalar("NoError");
    #[inline]
    fn decode_error(_: &[u8]) -> Option<Result<Self, WireError>> {
        None
    }
    #[inline]
    fn encode_error(&self, _: &mut [u8]) -> Option<usize> {
        match *self {}
    }
}
