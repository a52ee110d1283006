//! PCI facts and config-space access served by the pci task.

use serde::{Deserialize, Serialize};

use crate::ids::Bdf;
use crate::max_len::{MaxEncodedLen, ENUM_TAG_LEN};
use crate::wire::Fixed;

/// Width of one config-space access.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 1)]
pub enum AccessWidth {
    /// One byte.
    Byte,
    /// Two bytes, 2-aligned.
    Word,
    /// Four bytes, 4-aligned.
    Dword,
}

impl AccessWidth {
    /// Bytes per access.
    pub const fn bytes(self) -> u16 {
        match self {
            AccessWidth::Byte => 1,
            AccessWidth::Word => 2,
            AccessWidth::Dword => 4,
        }
    }
}

impl MaxEncodedLen for AccessWidth {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN;
}

/// What kind of function a device is; it decides which requester IDs its DMA
/// can carry.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 1)]
pub enum DeviceKind {
    /// A PCIe endpoint: DMA carries its own requester ID.
    Endpoint,
    /// A conventional PCI device: DMA may carry its upstream bridge's ID.
    LegacyEndpoint,
    /// A PCIe-to-PCI bridge: devices below alias to (secondary bus, 0.0).
    PcieToPciBridge,
    /// A PCI-to-PCI (or PCIe root/switch port) bridge.
    Bridge,
    /// A host bridge.
    HostBridge,
}

impl MaxEncodedLen for DeviceKind {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN;
}

wire_struct! {
    /// Everything the others need to know about one function.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 15)]
    pub struct DeviceInfo {
        /// The function.
        pub device: Bdf,
        /// Vendor ID.
        pub vendor: u16,
        /// Device ID.
        pub device_id: u16,
        /// Its kind.
        pub kind: DeviceKind,
        /// The bridge its DMA may be tagged with, if any.
        pub upstream_bridge: Option<Bdf>,
        /// For bridges: the secondary bus.
        pub secondary_bus: Option<u8>,
        /// Phantom-function stride (0 when it has none).
        pub phantom_stride: u8,
    }
}

/// The order to switch a device's requester IDs in (Xen's).
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 1)]
pub enum AliasOrder {
    /// Into a domain: the real function and its bridge aliases first,
    /// phantom functions after.
    Assign,
    /// Out of a domain: phantom functions first, the real function last.
    Deassign,
}

impl MaxEncodedLen for AliasOrder {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN;
}

/// The most requester IDs one device's DMA can carry: itself, 7 phantom
/// functions, an upstream bridge, (secondary bus, 0.0) and the ME WiFi
/// phantom function.
pub const MAX_REQUESTER_IDS: usize = 11;

wire_struct! {
    /// Every requester ID a device's DMA may carry, in switching order.
    pub struct RequesterIdList {
        /// The device asked about.
        pub device: Bdf,
        /// Its requester IDs, the device's own first on assign.
        pub ids: heapless::Vec<Bdf, MAX_REQUESTER_IDS>,
    }
}
