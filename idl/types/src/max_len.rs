//! The largest postcard encoding of a type, known at compile time.
//!
//! Every message must fit the kernel's 256-byte limit, so each type that
//! crosses IPC states its worst case as a constant; the generated code sums
//! them per operation and refuses to build an operation that could exceed it.
//! The numbers follow postcard's wire format: integers wider than a byte are
//! LEB128 varints (zigzag for signed ones), `Option` and enum tags add one
//! byte (fewer than 128 variants), arrays and structs add nothing of their own,
//! and a sequence adds its length as a varint.
//!
//! Two more constants say what a request's length alone proves: the fewest
//! bytes a value takes, and how many leading bytes no decoder can find
//! invalid. A message shorter than both can only fail by ending early, so a
//! server may refuse it as too short without decoding (the same refusal the
//! decoder would give). Their defaults (0) promise nothing and are always
//! true.

/// A type whose postcard encoding never exceeds [`Self::MAX_ENCODED_LEN`] bytes.
pub trait MaxEncodedLen {
    /// The most bytes any value of this type encodes to.
    const MAX_ENCODED_LEN: usize;
    /// The fewest bytes any value of this type encodes to.
    const MIN_ENCODED_LEN: usize = 0;
    /// How many leading bytes of any input a decoder of this type can never
    /// find invalid (a bad bool, tag or overlong varint needs more):
    /// `usize::MAX` when only running out of input can fail, as for bytes.
    const UNCHECKED_LEN: usize = 0;
}

/// [`MaxEncodedLen::UNCHECKED_LEN`] of `A` followed by `B`, given `A`'s
/// minimum length and unchecked prefix and `B`'s unchecked prefix: `B` is
/// reached after at least `A`'s minimum, so its checks come no earlier.
pub const fn unchecked_then(a_min: usize, a_unchecked: usize, b_unchecked: usize) -> usize {
    let b = a_min.saturating_add(b_unchecked);
    if a_unchecked < b {
        a_unchecked
    } else {
        b
    }
}

/// The shortest request a server must decode for arguments of minimum length
/// `min` and unchecked prefix `unchecked`: every shorter one ends inside the
/// unchecked prefix before a whole value, so it can only fail by ending early.
pub const fn request_min(min: usize, unchecked: usize) -> usize {
    let past = unchecked.saturating_add(1);
    if min < past {
        min
    } else {
        past
    }
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

/// The unchecked prefix of a varint of `bits` bits: only its last possible
/// byte can be invalid (overlong, or bits past the type's width).
const fn varint_unchecked(bits: u32) -> usize {
    varint_max(bits) - 1
}

macro_rules! fixed {
    ($($t:ty => $max:expr, $min:expr, $unchecked:expr;)*) => {
        $(impl MaxEncodedLen for $t {
            const MAX_ENCODED_LEN: usize = $max;
            const MIN_ENCODED_LEN: usize = $min;
            const UNCHECKED_LEN: usize = $unchecked;
        })*
    };
}

fixed! {
    () => 0, 0, usize::MAX;
    bool => 1, 1, 0;
    u8 => 1, 1, usize::MAX;
    i8 => 1, 1, usize::MAX;
    u16 => varint_max(16), 1, varint_unchecked(16);
    i16 => varint_max(16), 1, varint_unchecked(16);
    u32 => varint_max(32), 1, varint_unchecked(32);
    i32 => varint_max(32), 1, varint_unchecked(32);
    u64 => varint_max(64), 1, varint_unchecked(64);
    i64 => varint_max(64), 1, varint_unchecked(64);
    u128 => varint_max(128), 1, varint_unchecked(128);
    i128 => varint_max(128), 1, varint_unchecked(128);
}

impl<T: MaxEncodedLen> MaxEncodedLen for Option<T> {
    const MAX_ENCODED_LEN: usize = 1 + T::MAX_ENCODED_LEN;
    // The tag byte: anything but 0 or 1 is invalid.
    const MIN_ENCODED_LEN: usize = 1;
    const UNCHECKED_LEN: usize = 0;
}

impl<T: MaxEncodedLen, const N: usize> MaxEncodedLen for [T; N] {
    const MAX_ENCODED_LEN: usize = N * T::MAX_ENCODED_LEN;
    const MIN_ENCODED_LEN: usize = N.saturating_mul(T::MIN_ENCODED_LEN);
    const UNCHECKED_LEN: usize = if N == 0 { usize::MAX } else { T::UNCHECKED_LEN };
}

impl<T: MaxEncodedLen, const N: usize> MaxEncodedLen for heapless::Vec<T, N> {
    const MAX_ENCODED_LEN: usize =
        max_len(1, varint_max(usize::BITS - N.leading_zeros())) + N * T::MAX_ENCODED_LEN;
    // The length varint (at least one byte) may exceed N.
    const MIN_ENCODED_LEN: usize = 1;
    const UNCHECKED_LEN: usize = 0;
}

/// Defines a struct that crosses IPC together with its [`MaxEncodedLen`],
/// so the sizes can never drift from the fields.
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
            const MIN_ENCODED_LEN: usize =
                0 $(+ <$fty as $crate::max_len::MaxEncodedLen>::MIN_ENCODED_LEN)*;
            const UNCHECKED_LEN: usize = {
                // Fields in order: (minimum so far, unchecked prefix so far).
                let (_min, unchecked) = (0usize, usize::MAX);
                $(
                    let unchecked = $crate::max_len::unchecked_then(
                        _min,
                        unchecked,
                        <$fty as $crate::max_len::MaxEncodedLen>::UNCHECKED_LEN,
                    );
                    let _min = _min
                        + <$fty as $crate::max_len::MaxEncodedLen>::MIN_ENCODED_LEN;
                )*
                unchecked
            };
        }
    };
}
