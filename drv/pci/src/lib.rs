//! PCI knowledge for custody: config space, device kinds, enumeration, and
//! the requester IDs a device's DMA arrives with.
//!
//! Everything reaches the hardware through the [`ConfigAccess`] trait, so
//! the same code runs on ECAM or ports 0xCF8 in the image and on
//! [`fake::FakeConfig`] (with QEMU's q35 in [`q35`]) in tests and the
//! simulator. What the IOMMU needs most is [`Topology::requester_ids`]: every
//! source ID a device's DMA may carry (bridge aliases, phantom functions, the
//! ME WiFi quirk), in the order Xen switches their context entries.
#![no_std]

mod access;
mod addr;
mod alias;
mod bar;
mod caps;
mod command;
mod devtype;
mod error;
pub mod fake;
mod flaw;
mod header;
mod mediate;
mod msi;
pub mod port;
pub mod q35;
pub mod quirks;
pub mod regs;
mod topology;

pub use access::{check_access, AccessError, ConfigAccess};
pub use addr::{Bdf, DEVICES_PER_BUS, FUNCTIONS_PER_DEVICE};
pub use alias::{Direction, RequesterIds, UpstreamBridge, MAX_REQUESTER_IDS};
pub use bar::{probe_bar_size, read_bar, read_bar0, Bar};
pub use caps::{capabilities, find_capability};
pub use command::{is_bus_master, set_bus_master, set_memory_space};
pub use devtype::{DeviceType, PcieInfo, PciePortType};
pub use error::PciError;
pub use flaw::{Flaw, Unreadable};
pub use header::{ClassCode, Header, HeaderKind};
pub use mediate::{check_owner_write, Register};
pub use msi::{require_msi, MsiCapability, MsiMessage};
pub use topology::{BridgeBuses, PciFunction, Topology};
