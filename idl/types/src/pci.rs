//! PCI facts and config-space access served by the pci task.

use core::fmt;

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

/// Why the pci task's enumeration does not trust a function, so never
/// derives its requester IDs (the library's `pci::Flaw`).
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 8)]
pub enum DeviceFlaw {
    /// Its capability list loops.
    CapabilityLoop,
    /// A capability pointer is below the header or not dword aligned.
    BadCapabilityPointer(u8),
    /// Its config space could not be read.
    ConfigUnreadable,
    /// A bridge whose primary bus is not the bus it sits on.
    ForeignPrimaryBus {
        /// The bus it sits on.
        bus: u8,
        /// The primary bus it claims.
        primary: u8,
    },
    /// A bridge whose bus range is not inside the range of its own bus.
    BusRangeOutsideParent {
        /// Its secondary bus.
        secondary: u8,
        /// Its subordinate bus.
        subordinate: u8,
        /// The first bus of its own bus's range.
        first: u8,
        /// The last.
        last: u8,
    },
    /// A bridge claiming a bus that another bridge claims too.
    BusClaimedTwice {
        /// The bus.
        bus: u8,
        /// The other claimant.
        other: Bdf,
    },
    /// A function on or below a bus two bridges claim.
    BehindDisputedBus {
        /// The bus.
        bus: u8,
        /// One claimant.
        first: Bdf,
        /// The other.
        second: Bdf,
    },
    /// A function below a bridge whose config space cannot be read.
    BehindUnreadableBridge(Bdf),
}

impl MaxEncodedLen for DeviceFlaw {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + 1 + 2 * Bdf::MAX_ENCODED_LEN;
}

impl fmt::Display for DeviceFlaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceFlaw::CapabilityLoop => f.write_str("its capability list loops"),
            DeviceFlaw::BadCapabilityPointer(p) => {
                write!(f, "its capability pointer {p:#04x} is invalid")
            }
            DeviceFlaw::ConfigUnreadable => f.write_str("its config space cannot be read"),
            DeviceFlaw::ForeignPrimaryBus { bus, primary } => write!(
                f,
                "it is a bridge on bus {bus:02x} claiming primary bus {primary:02x}"
            ),
            DeviceFlaw::BusRangeOutsideParent {
                secondary,
                subordinate,
                first,
                last,
            } => write!(
                f,
                "it is a bridge claiming buses {secondary:02x}..={subordinate:02x}, outside \
                 {first:02x}..={last:02x}"
            ),
            DeviceFlaw::BusClaimedTwice { bus, other } => {
                write!(f, "it claims bus {bus:02x}, which {other} claims too")
            }
            DeviceFlaw::BehindDisputedBus { bus, first, second } => write!(
                f,
                "it sits behind bus {bus:02x}, which both {first} and {second} claim"
            ),
            DeviceFlaw::BehindUnreadableBridge(b) => {
                write!(
                    f,
                    "it sits behind bridge {b}, whose config space cannot be read"
                )
            }
        }
    }
}

/// A config register the pci task does not let a device's owner write:
/// each decides where the device decodes, where its interrupts go, or whose
/// requester IDs its DMA carries.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 2)]
pub enum ConfigRegister {
    /// A base address register (its index).
    Bar(u8),
    /// The command register's I/O or memory space decode bits.
    CommandDecode,
    /// The command register's bus-master bit (`enable_bus_master` sets it).
    CommandBusMaster,
    /// The capabilities pointer.
    CapabilityPointer,
    /// The expansion ROM base address.
    ExpansionRom,
    /// The MSI capability.
    Msi,
    /// The MSI-X capability.
    MsiX,
    /// A bridge's bus numbers.
    BridgeBuses,
    /// A bridge's I/O, memory or prefetchable window, or its bridge control.
    BridgeWindow,
    /// A capability list that cannot be walked, so no write past the
    /// header can be checked.
    UncheckableCapabilities,
}

impl MaxEncodedLen for ConfigRegister {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + 1;
}

impl fmt::Display for ConfigRegister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigRegister::Bar(i) => write!(f, "BAR{i}"),
            ConfigRegister::CommandDecode => {
                f.write_str("the command register's I/O and memory decode bits")
            }
            ConfigRegister::CommandBusMaster => {
                f.write_str("the command register's bus-master bit (enable_bus_master sets it)")
            }
            ConfigRegister::CapabilityPointer => f.write_str("the capabilities pointer"),
            ConfigRegister::ExpansionRom => f.write_str("the expansion ROM base address"),
            ConfigRegister::Msi => f.write_str("the MSI capability"),
            ConfigRegister::MsiX => f.write_str("the MSI-X capability"),
            ConfigRegister::BridgeBuses => f.write_str("the bridge's bus numbers"),
            ConfigRegister::BridgeWindow => f.write_str("the bridge's windows"),
            ConfigRegister::UncheckableCapabilities => {
                f.write_str("a capability list that cannot be walked")
            }
        }
    }
}
