//! Runtime glue for images built on the host target without libc.
//!
//! The host target's precompiled `core` calls `memcpy`, `memmove`, `memset`,
//! `memcmp` and `bcmp` (libc provides them in a normal program) and names a
//! `rust_eh_personality` even with `panic = "abort"`. Kernel and tasks link
//! this crate to provide them. On the host these symbols would shadow libc's,
//! so they exist only with the `firmware` feature, which only images enable.
//!
//! The copies use string instructions in inline assembly (`strings`) so the
//! compiler cannot turn a copy loop back into a call to `memcpy` (infinite
//! recursion).
#![no_std]

pub mod strings;

#[cfg(feature = "firmware")]
mod glue;
