//! Everything the allocator can refuse, one variant per cause.
//!
//! Each variant names the unit and the values involved so a log line alone
//! says what went wrong; none of them is ever a panic.

use core::fmt;
use serde::{Deserialize, Serialize};

use crate::ids::{Did, DidOwner, DomainId, Owner, Rid, UnitId};
use crate::space::{DidClass, DidSpace, SpaceError};

/// Why an allocator operation was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DidError {
    /// The allocator has not been rebuilt from the hardware's context entries
    /// since it started; handing out a DID now could duplicate a live one.
    NotRebuilt,
    /// The unit index is beyond the allocator's capacity.
    NoSuchUnit { unit: UnitId, units: usize },
    /// The unit exists but its CAP was never given.
    UnitNotConfigured { unit: UnitId },
    /// The unit's CAP.ND cannot describe a DID space.
    BadCap { unit: UnitId, cause: SpaceError },
    /// The unit was configured before with another space and still has DIDs
    /// handed out.
    UnitReconfigured {
        unit: UnitId,
        old: DidSpace,
        new: DidSpace,
    },
    /// Every DID of `class` on the unit is in use.
    Exhausted {
        unit: UnitId,
        class: DidClass,
        space: DidSpace,
        usable: u32,
    },
    /// More domains hold a DID on the unit than the allocator has slots for.
    DomainTableFull { unit: UnitId, capacity: usize },
    /// More (domain, device) memberships on the unit than there is room for.
    DeviceTableFull { unit: UnitId, capacity: usize },
    /// More quarantined devices on the unit than there is room for.
    QuarantineTableFull { unit: UnitId, capacity: usize },
    /// A context entry holds a DID outside the half its owner's kind uses
    /// (or beyond the space, or DID 0 under caching mode).
    RebuildDidOutOfRange {
        unit: UnitId,
        rid: Rid,
        did: Did,
        owner: Owner,
        space: DidSpace,
    },
    /// Two context entries give one DID to two different owners.
    RebuildDidShared {
        unit: UnitId,
        did: Did,
        first: DidOwner,
        second: DidOwner,
    },
    /// Two context entries give one domain two DIDs on the same unit.
    RebuildDomainHasTwoDids {
        unit: UnitId,
        domain: DomainId,
        first: Did,
        second: Did,
    },
    /// Two context entries give one quarantined device two pseudo-DIDs.
    RebuildDeviceHasTwoPseudoDids {
        unit: UnitId,
        device: Rid,
        first: Did,
        second: Did,
    },
    /// The DID pool refused a DID the tables thought free: an internal
    /// inconsistency, reported instead of trusted.
    PoolInconsistent { unit: UnitId, did: Did },
}

impl fmt::Display for DidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DidError::NotRebuilt => f.write_str(
                "domain-ID allocator not rebuilt from the context entries yet; refusing to hand out DIDs",
            ),
            DidError::NoSuchUnit { unit, units } => {
                write!(f, "{unit} does not exist (the allocator has {units} units)")
            }
            DidError::UnitNotConfigured { unit } => {
                write!(f, "{unit} has no DID space configured (CAP not given)")
            }
            DidError::BadCap { unit, cause } => write!(f, "{unit}: {cause}"),
            DidError::UnitReconfigured { unit, old, new } => write!(
                f,
                "{unit} already has {old} with DIDs in use; refusing to change it to {new}"
            ),
            DidError::Exhausted {
                unit,
                class,
                space,
                usable,
            } => write!(
                f,
                "{unit} ({space}) has no {class} DID left: all {usable} are in use"
            ),
            DidError::DomainTableFull { unit, capacity } => write!(
                f,
                "{unit}: domain table full ({capacity} domains already hold a DID)"
            ),
            DidError::DeviceTableFull { unit, capacity } => write!(
                f,
                "{unit}: device table full ({capacity} device memberships)"
            ),
            DidError::QuarantineTableFull { unit, capacity } => write!(
                f,
                "{unit}: quarantine table full ({capacity} quarantined devices)"
            ),
            DidError::RebuildDidOutOfRange {
                unit,
                rid,
                did,
                owner,
                space,
            } => write!(
                f,
                "{unit}: context entry of {rid} holds {did} for {owner}, outside the range {space} allows for it"
            ),
            DidError::RebuildDidShared {
                unit,
                did,
                first,
                second,
            } => write!(
                f,
                "{unit}: {did} is used by both {first} and {second}"
            ),
            DidError::RebuildDomainHasTwoDids {
                unit,
                domain,
                first,
                second,
            } => write!(f, "{unit}: {domain} appears with both {first} and {second}"),
            DidError::RebuildDeviceHasTwoPseudoDids {
                unit,
                device,
                first,
                second,
            } => write!(
                f,
                "{unit}: quarantined device {device} appears with both {first} and {second}"
            ),
            DidError::PoolInconsistent { unit, did } => write!(
                f,
                "{unit}: the DID pool and the tables disagree about {did}"
            ),
        }
    }
}
