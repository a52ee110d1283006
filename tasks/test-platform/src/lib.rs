//! The platform test image's runner: drives the acpi, pci and domid tasks
//! only through their generated clients ([`acpi`], [`pci`], [`domid`]) and
//! reports each QEMU scenario to xtask.
//!
//! The library holds what is host-testable: [`Holdings`], the runner's
//! record of the DIDs it acquired, which after domid's restart stands in for
//! the context entries the iommu would report, and encodes them as the rebuild
//! domid is rebuilt from.
#![no_std]

#[cfg(test)]
extern crate std;

mod holdings;

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

pub use holdings::{Holding, Holdings, HoldingsError, MAX_HOLDINGS};
