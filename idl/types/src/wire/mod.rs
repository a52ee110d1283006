//! Fixed wire layouts: how a value of a fixed-size type crosses IPC without
//! a serializer.
//!
//! A type implementing [`Fixed`] has a layout type (`Wire`) made only of
//! bytes: little-endian integers (zerocopy's `U16`, `U64`, ...), one byte
//! per `bool`, `Option` tag or enum tag, arrays and structs of layouts, with
//! alignment 1 and no padding (zerocopy's derives refuse anything else at
//! build time). The generated client writes a request's layout straight
//! into the message buffer; the server takes the message in place as that
//! layout, [`Fixed::check`]s the bytes that can be invalid (a `bool`, a tag,
//! bytes a variant leaves unused, which must be zero) and [`Fixed::read`]s
//! the value. An invalid byte is a [`WireError`] naming the field, never
//! undefined behaviour.
//!
//! Types of this crate declare their layout once with `#[derive(Fixed)]`
//! and `#[fixed(size = N)]` (`idl-derive`); the built-in types are here.
//! Every layout has a [`fingerprint`] that the IDL compiler folds into the
//! interface's tag, so a client and a server built from different layouts
//! refuse each other's messages. `idl/README.md` states the rules.

mod error;
pub mod fingerprint;
mod message;

pub use error::{WireError, INDEX_NAMES, MAX_PATH};
pub use idl_derive::Fixed;
pub use message::{
    decode_message, encode_message, message_layout, message_len, FixedError, Padded, WORD,
};
pub use zerocopy;

use zerocopy::little_endian::{I16, I32, I64, U16, U32, U64};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout, Unaligned};

/// A type with a fixed wire layout.
pub trait Fixed: Sized {
    /// The layout: bytes only, alignment 1, no padding, exactly
    /// [`Self::SIZE`] bytes.
    type Wire: FromBytes
        + IntoBytes
        + Immutable
        + KnownLayout
        + Unaligned
        + Copy
        + core::fmt::Debug
        + Eq;
    /// Bytes of the layout (declared, and checked against `Wire`).
    const SIZE: usize;
    /// A fingerprint of the layout (field names, kinds and sizes): equal
    /// fingerprints, same layout.
    const LAYOUT: u32;
    /// The value as it travels.
    fn to_wire(&self) -> Self::Wire;
    /// Whether the bytes are a value of the type: every `bool` 0 or 1,
    /// every tag known, every unused byte 0. The error names the field.
    fn check(wire: &Self::Wire) -> Result<(), WireError>;
    /// The value the bytes hold. Exact once [`Self::check`] passed; on
    /// bytes that fail it, some value of the type (never undefined
    /// behaviour).
    fn read(wire: &Self::Wire) -> Self;
    /// The value, if the bytes are one: what every received message goes
    /// through, in one pass and without building an error (derived types
    /// check each field as they read it). `None` exactly when
    /// [`Self::check`] fails.
    #[inline]
    fn read_valid(wire: &Self::Wire) -> Option<Self> {
        Self::check(wire).ok()?;
        Some(Self::read(wire))
    }
    /// [`Self::read_valid`], and on invalid bytes [`Self::check`]'s error
    /// naming the field (built out of line: the usual path never pays for
    /// it).
    #[inline]
    fn from_wire(wire: &Self::Wire) -> Result<Self, WireError> {
        match Self::read_valid(wire) {
            Some(value) => Ok(value),
            None => Err(why_invalid::<Self>(wire)),
        }
    }
}

/// Why [`Fixed::read_valid`] refused `wire`: [`Fixed::check`]'s error.
#[cold]
#[inline(never)]
fn why_invalid<T: Fixed>(wire: &T::Wire) -> WireError {
    match T::check(wire) {
        Err(e) => e,
        // `read_valid` and `check` disagree: a bug of the type's layout
        // (the tests of every layout rule it out), still no panic.
        Ok(()) => WireError::new(0, "a value check accepts (read_valid refused it)"),
    }
}

/// Decodes exactly one layout: `T::SIZE` bytes, checked in place. `None`
/// for a wrong length, else what [`Fixed::from_wire`] says. (A message adds
/// zeros to whole words: [`decode_message`].)
#[inline]
pub fn decode<T: Fixed>(bytes: &[u8]) -> Option<Result<T, WireError>> {
    let wire = T::Wire::ref_from_bytes(bytes).ok()?;
    Some(T::from_wire(wire))
}

/// Writes `value`'s layout at the start of `out`; `None` if `out` is
/// shorter than `T::SIZE`. Returns the bytes written.
#[inline]
pub fn encode<T: Fixed>(value: &T, out: &mut [u8]) -> Option<usize> {
    value.to_wire().write_to_prefix(out).ok()?;
    Some(T::SIZE)
}

/// Writes `value` at the start of `payload` (used by derived enums, whose
/// payload is at least as long as any variant: it never falls short).
#[inline]
pub fn put<T: IntoBytes + Immutable>(payload: &mut [u8], value: &T) {
    // A payload too short is impossible (the derive asserts the sizes);
    // it would leave the payload zero rather than panic.
    let _ = value.write_to_prefix(payload);
}

/// Reads a `T` from the start of `payload` (zeros if it were too short,
/// which the derive's size assertion rules out).
#[inline]
pub fn take<T: FromBytes>(payload: &[u8]) -> T {
    match T::read_from_prefix(payload) {
        Ok((value, _)) => value,
        Err(_) => T::new_zeroed(),
    }
}

/// Checks that the payload's bytes from `from` on are zero (a variant's
/// unused bytes, an empty `Option`'s value).
#[inline]
pub fn check_unused(payload: &[u8], from: usize, expected: &'static str) -> Result<(), WireError> {
    match payload
        .get(from..)
        .and_then(|rest| rest.iter().find(|b| **b != 0))
    {
        Some(found) => Err(WireError::new(*found, expected)),
        None => Ok(()),
    }
}

/// Whether every byte is zero (a variant's unused bytes, an empty
/// `Option`'s value).
#[inline]
pub fn is_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| *b == 0)
}

/// The largest of several sizes, usable in constants.
pub const fn largest(sizes: &[usize]) -> usize {
    crate::max_len::max_len_of(sizes)
}

impl Fixed for () {
    type Wire = ();
    const SIZE: usize = 0;
    const LAYOUT: u32 = fingerprint::scalar("()");
    #[inline]
    fn to_wire(&self) {}
    #[inline]
    fn check(_: &()) -> Result<(), WireError> {
        Ok(())
    }
    #[inline]
    fn read(_: &()) {}
}

impl Fixed for bool {
    type Wire = u8;
    const SIZE: usize = 1;
    const LAYOUT: u32 = fingerprint::scalar("bool");
    #[inline]
    fn to_wire(&self) -> u8 {
        u8::from(*self)
    }
    #[inline]
    fn check(wire: &u8) -> Result<(), WireError> {
        match *wire {
            0 | 1 => Ok(()),
            found => Err(WireError::new(found, "a bool (0 or 1)")),
        }
    }
    #[inline]
    fn read(wire: &u8) -> bool {
        *wire != 0
    }
    #[inline]
    fn read_valid(wire: &u8) -> Option<bool> {
        match *wire {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

/// Integers whose layout is themselves (one byte).
macro_rules! byte_int {
    ($($t:ty => $name:literal),*) => {$(
        impl Fixed for $t {
            type Wire = $t;
            const SIZE: usize = 1;
            const LAYOUT: u32 = fingerprint::scalar($name);
            #[inline]
            fn to_wire(&self) -> $t {
                *self
            }
            #[inline]
            fn check(_: &$t) -> Result<(), WireError> {
                Ok(())
            }
            #[inline]
            fn read(wire: &$t) -> $t {
                *wire
            }
        }
    )*};
}

byte_int!(u8 => "u8", i8 => "i8");

/// Wider integers: little-endian, every bit pattern a value.
macro_rules! le_int {
    ($($t:ty => $wire:ty, $name:literal),*) => {$(
        impl Fixed for $t {
            type Wire = $wire;
            const SIZE: usize = core::mem::size_of::<$t>();
            const LAYOUT: u32 = fingerprint::scalar($name);
            #[inline]
            fn to_wire(&self) -> $wire {
                <$wire>::new(*self)
            }
            #[inline]
            fn check(_: &$wire) -> Result<(), WireError> {
                Ok(())
            }
            #[inline]
            fn read(wire: &$wire) -> $t {
                wire.get()
            }
        }
    )*};
}

le_int!(
    u16 => U16, "u16le",
    u32 => U32, "u32le",
    u64 => U64, "u64le",
    i16 => I16, "i16le",
    i32 => I32, "i32le",
    i64 => I64, "i64le"
);

/// The layout of an `Option<T>`: a tag (0 none, 1 some) and `T`'s layout,
/// all zero when empty.
#[derive(
    FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned, Copy, Clone, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct OptionWire<W> {
    /// 0 for `None`, 1 for `Some`.
    pub tag: u8,
    /// The value (zeros for `None`).
    pub value: W,
}

impl<T: Fixed> Fixed for Option<T> {
    type Wire = OptionWire<T::Wire>;
    const SIZE: usize = 1 + T::SIZE;
    const LAYOUT: u32 = fingerprint::option(T::LAYOUT);
    #[inline]
    fn to_wire(&self) -> Self::Wire {
        match self {
            Some(value) => OptionWire {
                tag: 1,
                value: value.to_wire(),
            },
            None => OptionWire {
                tag: 0,
                value: T::Wire::new_zeroed(),
            },
        }
    }
    #[inline]
    fn check(wire: &Self::Wire) -> Result<(), WireError> {
        match wire.tag {
            0 => check_unused(wire.value.as_bytes(), 0, "0 (the value of a None)"),
            1 => T::check(&wire.value).map_err(|e| e.within("Some")),
            found => Err(WireError::new(found, "an Option tag (0 or 1)")),
        }
    }
    #[inline]
    fn read(wire: &Self::Wire) -> Self {
        match wire.tag {
            0 => None,
            _ => Some(T::read(&wire.value)),
        }
    }
    #[inline]
    fn read_valid(wire: &Self::Wire) -> Option<Self> {
        match wire.tag {
            0 if is_zero(wire.value.as_bytes()) => Some(None),
            1 => T::read_valid(&wire.value).map(Some),
            _ => None,
        }
    }
}

impl<T: Fixed, const N: usize> Fixed for [T; N] {
    type Wire = [T::Wire; N];
    const SIZE: usize = N * T::SIZE;
    const LAYOUT: u32 = fingerprint::array(T::LAYOUT, N);
    #[inline]
    fn to_wire(&self) -> Self::Wire {
        self.each_ref().map(T::to_wire)
    }
    #[inline]
    fn check(wire: &Self::Wire) -> Result<(), WireError> {
        for (i, element) in wire.iter().enumerate() {
            T::check(element).map_err(|e| e.at_index(i))?;
        }
        Ok(())
    }
    #[inline]
    fn read(wire: &Self::Wire) -> Self {
        wire.each_ref().map(T::read)
    }
}

#[cfg(test)]
mod tests;
