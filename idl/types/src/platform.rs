//! Platform facts served by the acpi task: IOMMU units and reserved memory.

use serde::{Deserialize, Serialize};

use crate::ids::{Bdf, UnitId};
use crate::max_len::{MaxEncodedLen, ENUM_TAG_LEN};
use crate::wire::Fixed;

wire_struct! {
    /// One IOMMU (DRHD) unit.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 12)]
    pub struct UnitInfo {
        /// Its index.
        pub unit: UnitId,
        /// PCI segment it serves.
        pub segment: u16,
        /// Physical address of its register page.
        pub register_base: u64,
        /// It covers every device no other unit names (INCLUDE_PCI_ALL).
        pub include_all: bool,
    }
}

wire_struct! {
    /// A physical memory range, both ends inclusive (as RMRRs state them).
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 16)]
    pub struct MemRange {
        /// First byte.
        pub base: u64,
        /// Last byte.
        pub end: u64,
    }
}

/// How many RMRRs one reply can carry; a device with more is an error.
pub const MAX_RMRRS_PER_DEVICE: usize = 8;

wire_struct! {
    /// The RMRRs naming one device.
    pub struct RmrrList {
        /// The device asked about.
        pub device: Bdf,
        /// Its reserved ranges, which must stay identity-mapped in whatever
        /// domain owns it.
        pub ranges: heapless::Vec<MemRange, MAX_RMRRS_PER_DEVICE>,
    }
}

/// What kind of thing a device scope names.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 2)]
pub enum ScopeKind {
    /// A PCI endpoint.
    PciEndpoint,
    /// A PCI bridge and everything below it.
    PciSubHierarchy,
    /// An I/O APIC.
    IoApic,
    /// An MSI-capable HPET.
    Hpet,
    /// An ACPI namespace device.
    AcpiNamespace,
    /// A type code the parser does not know.
    Unknown(u8),
}

impl MaxEncodedLen for ScopeKind {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + 1;
}

/// The requester IDs a scope covers on this machine.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 6)]
pub enum ResolvedScope {
    /// One requester ID.
    Device(Bdf),
    /// A bridge and every function on buses `secondary..=subordinate`.
    Hierarchy {
        /// The bridge.
        bridge: Bdf,
        /// First bus below it.
        secondary: u8,
        /// Last bus below it.
        subordinate: u8,
    },
    /// The scope could not be resolved (no device there, buses not
    /// numbered): it covers nothing now.
    Unresolved,
}

impl MaxEncodedLen for ResolvedScope {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + Bdf::MAX_ENCODED_LEN + 2;
}

wire_struct! {
    /// One device scope of a unit, resolved.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 8)]
    pub struct ScopeInfo {
        /// What the scope names.
        pub kind: ScopeKind,
        /// What it covers.
        pub resolved: ResolvedScope,
    }
}
