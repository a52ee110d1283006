//! The acpi task's server: the `Acpi` IDL interface over a parsed DMAR
//! table, the RMRRs configuration adds (QEMU's firmware declares none), and
//! a config space to resolve device scopes through bridges.
//!
//! Construction parses and checks everything once ([`AcpiServer::new`]):
//! a malformed table or an unsound configured RMRR is an error naming the
//! offset or the rule, never a panic, and a server that exists answers
//! every request from a table known to be readable. Scopes are resolved on
//! each request, so they follow the bus numbers as they are now.
//!
//! For the task binary: [`window`] reads the kernel's ACPI-tables window as
//! physical memory for the table walk, and [`configured`] turns app.toml's
//! RMRR table into the acpi crate's `ExtraRmrr`s.
#![no_std]

mod config;
pub mod configured;
pub mod custody;
#[cfg(feature = "firmware")]
pub mod firmware;
mod server;
pub mod window;

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

pub use config::PciConfigSpace;
pub use configured::{configured_rmrrs, device_count, ConfiguredError, ConfiguredRmrr};
pub use custody::CustodyRange;
pub use server::{AcpiServer, BuildError};
pub use window::{AcpiWindow, OutsideWindow, WindowError};
