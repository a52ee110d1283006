//! The small identifiers the allocator speaks in.
//!
//! Each is a newtype so a hardware domain ID ([`Did`]) can never be passed
//! where custody's own domain number ([`DomainId`]) is meant: mixing the two
//! is exactly the bug class (Xen's `domid_map`) this task exists to avoid.

use core::fmt;
use serde::{Deserialize, Serialize};

/// An IOMMU unit (a DRHD), by its index in the platform's list of units.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnitId(pub u8);

/// A custody DMA protection domain (a software number chosen by app.toml).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DomainId(pub u16);

/// A hardware domain ID: the value of a context entry's DID field, which
/// tags IOTLB and context-cache entries of one unit.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Did(pub u16);

/// A PCI requester ID (`bus << 8 | device << 3 | function`) behind one unit;
/// the allocator uses it as the key of a device.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rid(pub u16);

impl Rid {
    /// The requester ID of `bus:dev.func` (dev and func are masked to their
    /// 5 and 3 bits).
    pub const fn new(bus: u8, dev: u8, func: u8) -> Self {
        Rid(((bus as u16) << 8) | (((dev & 0x1f) as u16) << 3) | ((func & 0x7) as u16))
    }
}

/// Who a hardware DID belongs to on a unit.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DidOwner {
    /// A domain's DID, shared by all its devices behind the unit.
    Domain(DomainId),
    /// The pseudo-DID of one quarantined device.
    Quarantine(Rid),
}

/// The owner named by a context entry, as the iommu reports it for a rebuild.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Owner {
    /// The entry belongs to a domain.
    Domain(DomainId),
    /// The entry points at the quarantine page tables of its device.
    Quarantine,
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unit {}", self.0)
    }
}

impl fmt::Display for DomainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "domain {}", self.0)
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DID {}", self.0)
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}:{:02x}.{}",
            self.0 >> 8,
            (self.0 >> 3) & 0x1f,
            self.0 & 0x7
        )
    }
}

impl fmt::Display for DidOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DidOwner::Domain(d) => write!(f, "{d}"),
            DidOwner::Quarantine(rid) => write!(f, "quarantined device {rid}"),
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Domain(d) => write!(f, "{d}"),
            Owner::Quarantine => f.write_str("quarantine"),
        }
    }
}
