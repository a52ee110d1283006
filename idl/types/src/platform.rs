//! Platform facts served by the acpi task: IOMMU units and reserved memory.

use crate::ids::{Bdf, UnitId};

wire_struct! {
    /// One IOMMU (DRHD) unit.
    #[derive(Copy)]
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
