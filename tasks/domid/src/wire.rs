//! Conversions between the allocator's own types and the IDL's wire types.
//!
//! The allocator keeps its own identifiers (it predates the IPC layer and
//! is used without it); this module is the one place they meet, so a
//! mapping (say, an allocator error to the error a client sees) is decided
//! once.

use idl_types::{
    Bdf, DidGrant, DidHolder, DidRelease, DomidError, RebuildFault, RebuildOwner, RebuildRecord,
};

use crate::api::{Acquired, ContextRecord, Released};
use crate::error::DidError;
use crate::ids::{Did, DidOwner, DomainId, Owner, Rid, UnitId};
use crate::space::SpaceError;

/// The allocator's unit.
pub fn unit(u: idl_types::UnitId) -> UnitId {
    UnitId(u.0)
}

/// The allocator's domain.
pub fn domain(d: idl_types::DomainId) -> DomainId {
    DomainId(d.0)
}

/// The allocator's DID.
pub fn did(d: idl_types::Did) -> Did {
    Did(d.0)
}

/// The allocator's device key, refusing an address that is no function.
pub fn rid(device: Bdf) -> Result<Rid, DomidError> {
    device
        .requester_id()
        .map(Rid)
        .ok_or(DomidError::BadDevice(device))
}

/// The wire form of a device key.
pub fn bdf(rid: Rid) -> Bdf {
    Bdf::from_requester_id(rid.0)
}

/// The wire form of an acquire's outcome.
pub fn grant(a: Acquired) -> DidGrant {
    DidGrant {
        did: idl_types::Did(a.did.0),
        fresh: a.fresh,
        counted: a.counted,
    }
}

/// The wire form of a release's outcome.
pub fn release(r: Released) -> DidRelease {
    match r {
        Released::Freed(d) => DidRelease::Freed(idl_types::Did(d.0)),
        Released::Kept { did, remaining } => DidRelease::Kept {
            did: idl_types::Did(did.0),
            remaining: u16::try_from(remaining).unwrap_or(u16::MAX),
        },
        Released::NotCounted => DidRelease::NotCounted,
    }
}

/// The wire form of a DID's holder.
pub fn holder(o: DidOwner) -> DidHolder {
    match o {
        DidOwner::Domain(d) => DidHolder::Domain(idl_types::DomainId(d.0)),
        DidOwner::Quarantine(r) => DidHolder::Quarantine(bdf(r)),
    }
}

/// The allocator's record of a rebuilt context entry.
pub fn record(r: &RebuildRecord) -> Result<ContextRecord, DomidError> {
    Ok(ContextRecord {
        unit: unit(r.unit),
        rid: rid(r.rid)?,
        did: did(r.did),
        owner: match r.owner {
            RebuildOwner::Domain(d) => Owner::Domain(domain(d)),
            RebuildOwner::Quarantine => Owner::Quarantine,
        },
        device: rid(r.device)?,
    })
}

fn capacity(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

/// What a client is told when the allocator refuses.
pub fn error(e: DidError) -> DomidError {
    let u = |u: UnitId| idl_types::UnitId(u.0);
    let d = |d: Did| idl_types::Did(d.0);
    match e {
        DidError::NotRebuilt => DomidError::NotRebuilt,
        DidError::NoSuchUnit { unit, .. } => DomidError::NoSuchUnit(u(unit)),
        DidError::UnitNotConfigured { unit } => DomidError::UnitNotConfigured(u(unit)),
        DidError::BadCap {
            unit,
            cause: SpaceError::ReservedNd,
        } => DomidError::ReservedDomainCount(u(unit)),
        DidError::BadCap {
            unit,
            cause: SpaceError::NdOutOfRange(nd),
        } => DomidError::BadDomainCount { unit: u(unit), nd },
        DidError::UnitReconfigured { unit, .. } => DomidError::UnitReconfigured(u(unit)),
        DidError::Exhausted { unit, .. } => DomidError::Exhausted(u(unit)),
        DidError::DomainTableFull { unit, capacity: c }
        | DidError::DeviceTableFull { unit, capacity: c }
        | DidError::QuarantineTableFull { unit, capacity: c } => DomidError::TableFull {
            unit: u(unit),
            capacity: capacity(c),
        },
        DidError::RebuildDidOutOfRange { unit, did, .. } => DomidError::RebuildRejected {
            unit: u(unit),
            did: d(did),
            cause: RebuildFault::OutOfRange,
        },
        DidError::RebuildDidShared { unit, did, .. } => DomidError::RebuildRejected {
            unit: u(unit),
            did: d(did),
            cause: RebuildFault::Shared,
        },
        DidError::RebuildDomainHasTwoDids { unit, second, .. } => DomidError::RebuildRejected {
            unit: u(unit),
            did: d(second),
            cause: RebuildFault::DomainHasTwoDids,
        },
        DidError::RebuildDeviceHasTwoPseudoDids { unit, second, .. } => {
            DomidError::RebuildRejected {
                unit: u(unit),
                did: d(second),
                cause: RebuildFault::DeviceHasTwoPseudoDids,
            }
        }
        DidError::PoolInconsistent { unit, did } => DomidError::Inconsistent {
            unit: u(unit),
            did: d(did),
        },
    }
}
