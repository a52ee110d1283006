//! Fingerprints of layouts: a 32-bit FNV-1a hash over what decides the
//! bytes (kind, size, field and variant names and order), computed at
//! compile time.
//!
//! `#[derive(Fixed)]` fingerprints a struct from its fields' fingerprints
//! and an enum from its variants'; the IDL compiler folds the fingerprints
//! of every operation's arguments, reply and error into the interface's
//! tag. Two builds whose layouts differ anywhere get different tags, and
//! their messages are refused as unknown operations rather than misread.

/// FNV-1a offset basis (32-bit).
pub const SEED: u32 = 0x811c_9dc5;
/// FNV-1a prime (32-bit).
const PRIME: u32 = 0x0100_0193;

/// `hash` extended with `bytes`.
pub const fn bytes(mut hash: u32, bytes: &[u8]) -> u32 {
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u32).wrapping_mul(PRIME);
        i += 1;
    }
    hash
}

/// `hash` extended with a word (little-endian).
pub const fn word(hash: u32, value: u32) -> u32 {
    bytes(hash, &value.to_le_bytes())
}

/// `hash` extended with a name, its length first (so `ab`+`c` differs from
/// `a`+`bc`).
pub const fn name(hash: u32, name: &str) -> u32 {
    bytes(word(hash, name.len() as u32), name.as_bytes())
}

/// A built-in type, by the name of its layout (`u16le`, `bool`).
pub const fn scalar(kind: &str) -> u32 {
    name(SEED, kind)
}

/// An `Option` of a layout.
pub const fn option(inner: u32) -> u32 {
    word(name(SEED, "option"), inner)
}

/// An array of `n` layouts.
pub const fn array(inner: u32, n: usize) -> u32 {
    word(word(name(SEED, "array"), n as u32), inner)
}

/// A struct (or an enum variant): its name, then each field's name and
/// fingerprint in order.
pub const fn of_struct(type_name: &str, fields: &[(&str, u32)]) -> u32 {
    let mut hash = name(name(SEED, "struct"), type_name);
    let mut i = 0;
    while i < fields.len() {
        hash = word(name(hash, fields[i].0), fields[i].1);
        i += 1;
    }
    hash
}

/// An enum: its name, then each variant's name and fingerprint in tag
/// order.
pub const fn of_enum(type_name: &str, variants: &[(&str, u32)]) -> u32 {
    let mut hash = word(name(name(SEED, "enum"), type_name), variants.len() as u32);
    let mut i = 0;
    while i < variants.len() {
        hash = word(name(hash, variants[i].0), variants[i].1);
        i += 1;
    }
    hash
}
