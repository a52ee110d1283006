//! The shapes of everything `cargo xtask` generates from app.toml, in one
//! place that both sides compile against.
//!
//! xtask writes the kernel's descriptors ([`kernel`]) and each task's
//! `config` module ([`system`], [`task`]) as Rust source that names these
//! structs field by field. Before this crate the task side was tuples
//! (`(name, segment, requester ID, domain)`), so swapping two fields of one
//! type miscompiled silently, and xtask and the kernel each had their own
//! `RegionKind` joined by a string match. Now a renamed or reordered field
//! fails to compile in the generated file, and xtask reads app.toml's region
//! kinds into the kernel's own enum (feature `serde`).
//!
//! Only data and its reading live here: no allocation, no hardware.
#![no_std]

pub mod kernel;
pub mod rights;
pub mod system;
pub mod task;

#[cfg(test)]
extern crate std;
