//! The pci task's server: the `Pci` IDL interface over a
//! [`pci::ConfigAccess`] and the [`pci::Topology`] enumerated from it.
//!
//! Reads are open to every task; writes (config registers, bus mastering)
//! only to the device's owner, which the broker names with `set_owner`, and
//! to the privileged tasks given at construction (the broker). The topology
//! is walked once, at construction: the buses firmware numbered do not
//! change under a running system.
#![no_std]

mod convert;
mod server;

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

pub use server::{PciServer, MAX_FUNCTIONS, MAX_PRIVILEGED};
