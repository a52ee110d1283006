//! ACPI table walk and DMAR parser for custody.
//!
//! Everything here works on borrowed table bytes: parsers are zero-copy views
//! (zerocopy layouts over the firmware's bytes) and iterators, with no heap, so
//! the same code runs in the `acpi` task, the host tests and the simulator.
//! Two things a reader must know:
//!
//! - Nothing trusts a firmware byte. Every length is checked against the bytes
//!   that are really there before anything is read, and every malformed input is
//!   an [`AcpiError`] naming the byte offset and the rule it broke; nothing here
//!   panics on input (the mutation test in `tests/` runs 200 000 broken tables).
//! - Parsing and judging are separate. [`dmar::Dmar::parse`] rejects only what
//!   makes the table unreadable; firmware bugs that still leave a readable table
//!   (odd RMRRs, units without registers, ...) are [`quirks::Warning`]s, the way
//!   Linux and Xen report them.
//!
//! Map: [`sdt`] (generic table header), [`rsdp`], [`root`] (RSDT/XSDT),
//! [`walk`] (RSDP → root table → table by signature over a [`walk::PhysMem`]),
//! [`mcfg`] (ECAM), [`dmar`] (DMA remapping table), [`resolve`] (device scopes
//! to requester IDs through a [`resolve::ConfigSpace`]), [`quirks`] (warnings),
//! [`extra_rmrr`] (RMRRs declared by configuration), and, with the `std`
//! feature, `report` (text/JSON rendering and the `xtask dmar` command).
//!
//! Fuzzing: `cargo xtask fuzz dmar` (and `acpi_walk`, the whole boot path
//! over arbitrary memory) runs the repository's `fuzz/` targets with
//! cargo-fuzz on the stable toolchain. The target parses the input as a
//! DMAR, walks every structure and scope, collects warnings and renders
//! both reports. The normal test suite also runs a deterministic mutation
//! test of the same code paths.
#![no_std]

#[cfg(feature = "std")]
extern crate std;

mod bytes;
pub mod dmar;
pub mod error;
pub mod extra_rmrr;
pub mod mcfg;
pub mod quirks;
pub mod resolve;
pub mod root;
pub mod rsdp;
pub mod sdt;
pub mod walk;

#[cfg(feature = "std")]
pub mod report;

pub use dmar::Dmar;
pub use error::AcpiError;
