//! The largest postcard encoding of a type, known at compile time.
//!
//! Every message must fit the kernel's 256-byte limit, so each type that
//! crosses IPC states its worst case as a constant; the generated code sums
//! them per operation and refuses to build an operation that could exceed it.
//! The numbers follow postcard's wire format: integers wider than a byte are
//! LEB128 varints (zigzag for signed ones), `Option` and enum tags add one
//! byte (fewer than 128 variants), arrays and structs add nothing of their own,
//! and a sequence adds its length as a varint.

/// A type whose postcard encoding never exceeds [`Self::MAX_ENCODED_LEN`] bytes.
pub trait MaxEncodedLen {
    /// The most bytes any value of this type encodes to.
    const MAX_ENCODED_LEN: usize;
}

/// The most bytes a LEB128 varint of an integer of `bits` bits takes.
pub const fn varint_max(bits: u32) -> usize {
    bits.div_ceil(7) as usize
}

/// The larger of two lengths, usable in constants.
pub const fn max_len(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// The largest of several lengths, usable in constants.
pub const fn max_len_of(lens: &[usize]) -> usize {
    let mut max = 0;
    let mut i = 0;
    while i < lens.len() {
        if lens[i] > max {
            max = lens[i];
        }
        i += 1;
    }
    max
}

/// The bytes postcard spends on an enum's variant tag, for fewer than 128
/// variants (every enum in this crate).
pub const ENUM_TAG_LEN: usize = 1;

macro_rules! fixed {
    ($($t:ty => $n:expr),* $(,)?) => {
        $(impl MaxEncodedLen for $t { const MAX_ENCODED_LEN: usize = $n; })*
    };
}

fixed! {
    () => 0,
    bool => 1,
    u8 => 1,
    i8 => 1,
    u16 => varint_max(16),
    i16 => varint_max(16),
    u32 => varint_max(32),
    i32 => varint_max(32),
    u64 => varint_max(64),
    i64 => varint_max(64),
    u128 => varint_max(128),
    i128 => varint_max(128),
}

impl<T: MaxEncodedLen> MaxEncodedLen for Option<T> {
    const MAX_ENCODED_LEN: usize = 1 + T::MAX_ENCODED_LEN;
}

impl<T: MaxEncodedLen, const N: usize> MaxEncodedLen for [T; N] {
    const MAX_ENCODED_LEN: usize = N * T::MAX_ENCODED_LEN;
}

impl<T: MaxEncodedLen, const N: usize> MaxEncodedLen for heapless::Vec<T, N> {
    const MAX_ENCODED_LEN: usize =
        max_len(1, varint_max(usize::BITS - N.leading_zeros())) + N * T::MAX_ENCODED_LEN;
}

/// Defines a struct that crosses IPC together with its [`MaxEncodedLen`],
/// so the size can never drift from the fields.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* pub $field:ident : $fty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $fty),*
        }
        impl $crate::max_len::MaxEncodedLen for $name {
            const MAX_ENCODED_LEN: usize =
                0 $(+ <$fty as $crate::max_len::MaxEncodedLen>::MAX_ENCODED_LEN)*;
        }
    };
}
