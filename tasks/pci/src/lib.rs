//! The pci task's server: the `Pci` IDL interface over a
//! [`pci::ConfigAccess`] and the [`pci::Topology`] enumerated from it.
//!
//! A device's config space is read by its owner, which the broker names
//! with `set_owner`, and by the readers given at construction (operators,
//! the broker, the acpi task); written (config registers, bus mastering) by its owner
//! and the privileged tasks given at construction (the broker), except the
//! registers no task may change (`pci::check_owner_write`: BARs, decode
//! bits, MSI/MSI-X, bridge buses and windows), which stay pci's. The
//! topology is walked once, at construction, defensively (`pci::Flaw`): the
//! buses firmware numbered do not change under a running system.
#![no_std]

mod convert;
mod server;

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

pub use server::{PciServer, MAX_FUNCTIONS, MAX_PRIVILEGED};
