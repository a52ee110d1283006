//! The error of every interface, one enum each, with a variant per cause.
//!
//! They travel as the body of an error reply, so they are plain data; their
//! `Display` names the values involved so a log line says what went wrong.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::context::ContextState;
use crate::ids::{Bdf, Did, DomainId, UnitId};
use crate::max_len::{max_len, MaxEncodedLen, ENUM_TAG_LEN};

/// The error of an operation that cannot fail; it has no values.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum NoError {}

impl MaxEncodedLen for NoError {
    const MAX_ENCODED_LEN: usize = 0;
}

impl fmt::Display for NoError {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

/// Why the acpi task could not answer.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// No unit with this index.
    NoSuchUnit(UnitId),
    /// No unit's scope covers the device.
    NotCovered(Bdf),
    /// The device has more RMRRs than one reply carries.
    TooManyRmrrs {
        /// The device.
        device: Bdf,
        /// How many it has.
        count: u16,
    },
}

impl MaxEncodedLen for AcpiError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len(
            Bdf::MAX_ENCODED_LEN + u16::MAX_ENCODED_LEN,
            Bdf::MAX_ENCODED_LEN,
        );
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcpiError::NoSuchUnit(u) => write!(f, "no IOMMU {u} in the DMAR table"),
            AcpiError::NotCovered(d) => write!(f, "no IOMMU unit covers device {d}"),
            AcpiError::TooManyRmrrs { device, count } => {
                write!(
                    f,
                    "device {device} has {count} RMRRs, more than one reply carries"
                )
            }
        }
    }
}

/// Why the iommu task refused or failed an operation.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum IommuError {
    /// The domain has no page tables.
    NoSuchDomain(DomainId),
    /// The domain already has page tables.
    DomainExists(DomainId),
    /// The domain still has devices attached.
    DomainInUse(DomainId),
    /// No unit covers the device.
    NoUnitFor(Bdf),
    /// A range is unaligned, empty, or beyond the address width.
    BadRange {
        /// First address.
        iova: u64,
        /// Pages.
        pages: u32,
    },
    /// The range overlaps a different existing mapping.
    Overlap {
        /// The first address already mapped differently.
        iova: u64,
    },
    /// Out of memory for page tables.
    OutOfTables,
    /// The context entry changed under us (the 128-bit exchange saw another
    /// value): it now holds `found`.
    ContextMismatch {
        /// The device.
        device: Bdf,
        /// What the entry holds.
        found: ContextState,
    },
    /// A device with an RMRR whose bridge alias is already present for
    /// another owner (the seed's EOPNOTSUPP); nothing was changed.
    SharedAliasWithRmrr {
        /// The device.
        device: Bdf,
        /// The alias already owned elsewhere.
        alias: Bdf,
    },
    /// Mode flags outside the defined set.
    BadMode(u8),
    /// The DID is out of the unit's range (or 0 under caching mode).
    BadDid(Did),
    /// The hardware did not finish an invalidation in time.
    InvalidationTimeout(UnitId),
}

impl MaxEncodedLen for IommuError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len(
            u64::MAX_ENCODED_LEN + u32::MAX_ENCODED_LEN,
            Bdf::MAX_ENCODED_LEN + ContextState::MAX_ENCODED_LEN,
        );
}

impl fmt::Display for IommuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IommuError::NoSuchDomain(d) => write!(f, "{d} has no page tables"),
            IommuError::DomainExists(d) => write!(f, "{d} already has page tables"),
            IommuError::DomainInUse(d) => write!(f, "{d} still has devices attached"),
            IommuError::NoUnitFor(b) => write!(f, "no IOMMU unit covers device {b}"),
            IommuError::BadRange { iova, pages } => {
                write!(f, "bad range: {pages} pages at {iova:#x}")
            }
            IommuError::Overlap { iova } => {
                write!(f, "{iova:#x} is already mapped to something else")
            }
            IommuError::OutOfTables => write!(f, "out of memory for page tables"),
            IommuError::ContextMismatch { device, found } => {
                write!(
                    f,
                    "context entry of {device} changed underneath: now {found:?}"
                )
            }
            IommuError::SharedAliasWithRmrr { device, alias } => write!(
                f,
                "device {device} has an RMRR and its alias {alias} belongs to another owner"
            ),
            IommuError::BadMode(m) => write!(f, "undefined reassignment mode bits {m:#x}"),
            IommuError::BadDid(d) => write!(f, "{d} is outside the unit's range"),
            IommuError::InvalidationTimeout(u) => {
                write!(f, "{u} did not finish an invalidation in time")
            }
        }
    }
}

/// Why the domid task refused.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DomidError {
    /// No such unit.
    NoSuchUnit(UnitId),
    /// Every DID of the unit is in use.
    Exhausted(UnitId),
    /// The domain holds no DID on the unit.
    NotHeld {
        /// The unit.
        unit: UnitId,
        /// The domain.
        domain: DomainId,
    },
    /// The unit reports CAP.ND = 7, which is reserved.
    ReservedDomainCount(UnitId),
    /// A seed names a DID already held by another domain.
    SeedConflict {
        /// The unit.
        unit: UnitId,
        /// The DID.
        did: Did,
        /// The domain that holds it.
        holder: DomainId,
    },
    /// The DID is outside the unit's range (or 0 under caching mode).
    BadDid(Did),
}

impl MaxEncodedLen for DomidError {
    const MAX_ENCODED_LEN: usize =
        ENUM_TAG_LEN + UnitId::MAX_ENCODED_LEN + Did::MAX_ENCODED_LEN + DomainId::MAX_ENCODED_LEN;
}

impl fmt::Display for DomidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomidError::NoSuchUnit(u) => write!(f, "{u} is not known to domid"),
            DomidError::Exhausted(u) => write!(f, "every DID of {u} is in use"),
            DomidError::NotHeld { unit, domain } => write!(f, "{domain} holds no DID on {unit}"),
            DomidError::ReservedDomainCount(u) => {
                write!(f, "{u} reports CAP.ND = 7, which is reserved")
            }
            DomidError::SeedConflict { unit, did, holder } => {
                write!(f, "{did} on {unit} is already held by {holder}")
            }
            DomidError::BadDid(d) => write!(f, "{d} is outside the unit's range"),
        }
    }
}

/// Why the broker refused a request or could not finish it.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum BrokerError {
    /// The broker does not know the device.
    UnknownDevice(Bdf),
    /// The broker does not know the domain.
    UnknownDomain(DomainId),
    /// Policy does not let the caller move this device.
    NotPermitted(Bdf),
    /// The device is already where it was asked to go.
    AlreadyThere(Bdf),
    /// Another transaction is running.
    Busy,
    /// A step failed and the move was rolled back; the device is where it was.
    RolledBack {
        /// The device.
        device: Bdf,
        /// The step (1-based) that failed.
        step: u8,
    },
    /// The rollback failed too; the device is in quarantine.
    Quarantined(Bdf),
    /// A participant the move needs is dead and was not restarted.
    PeerDown,
}

impl MaxEncodedLen for BrokerError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len(
            Bdf::MAX_ENCODED_LEN + u8::MAX_ENCODED_LEN,
            DomainId::MAX_ENCODED_LEN,
        );
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::UnknownDevice(d) => write!(f, "no device {d} in the books"),
            BrokerError::UnknownDomain(d) => write!(f, "no {d} in the books"),
            BrokerError::NotPermitted(d) => write!(f, "policy forbids this caller to move {d}"),
            BrokerError::AlreadyThere(d) => write!(f, "device {d} is already there"),
            BrokerError::Busy => write!(f, "another transaction is running"),
            BrokerError::RolledBack { device, step } => {
                write!(f, "moving {device} failed at step {step}; rolled back")
            }
            BrokerError::Quarantined(d) => {
                write!(f, "rollback of {d} failed; the device is in quarantine")
            }
            BrokerError::PeerDown => write!(f, "a task the move needs is down"),
        }
    }
}

/// Why the pci task refused.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PciError {
    /// Nothing answers at that address.
    NoDevice(Bdf),
    /// The offset is unaligned for the width or beyond config space.
    BadOffset {
        /// The offset.
        offset: u16,
        /// Bytes per access.
        width: u8,
    },
    /// The caller does not own the device.
    NotOwner(Bdf),
}

impl MaxEncodedLen for PciError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len(
            Bdf::MAX_ENCODED_LEN,
            u16::MAX_ENCODED_LEN + u8::MAX_ENCODED_LEN,
        );
}

impl fmt::Display for PciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PciError::NoDevice(d) => write!(f, "no device answers at {d}"),
            PciError::BadOffset { offset, width } => {
                write!(
                    f,
                    "config offset {offset:#x} is bad for a {width}-byte access"
                )
            }
            PciError::NotOwner(d) => write!(f, "caller does not own device {d}"),
        }
    }
}
