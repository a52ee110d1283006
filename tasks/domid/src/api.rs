//! The allocator's operations as a trait, so the domid server, the broker's
//! tests and the simulator are written against it and an implementation can
//! be swapped without touching them.

use serde::{Deserialize, Serialize};

use crate::error::DidError;
use crate::ids::{Did, DidOwner, DomainId, Owner, Rid, UnitId};
use crate::space::DidSpace;

/// What an acquire (or a quarantine) did.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acquired {
    /// The DID to write into the device's context entries.
    pub did: Did,
    /// The DID was allocated by this call (the domain had none on the unit).
    pub fresh: bool,
    /// This call added the device to the count. `false` means the call was a
    /// replay and changed nothing: a transaction must then *not* record a
    /// release as its compensation, or the undo would drop a device the
    /// domain held before the transaction began.
    pub counted: bool,
}

/// What a release (or an unquarantine) did.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Released {
    /// The device was the last one: the DID is free again.
    Freed(Did),
    /// The device left; `remaining` devices still hold the DID.
    Kept { did: Did, remaining: usize },
    /// The device was not counted (a replay, or never acquired): nothing
    /// changed.
    NotCounted,
}

/// One present context entry, as the iommu reports it after a restart.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRecord {
    /// The unit whose context table holds the entry.
    pub unit: UnitId,
    /// The requester ID the entry translates.
    pub rid: Rid,
    /// The entry's DID field.
    pub did: Did,
    /// The domain (or quarantine) the entry's page tables belong to.
    pub owner: Owner,
    /// The device the entry serves: `rid` itself for a device's own entry;
    /// for an alias (upstream bridge, (secbus, 0.0), phantom function) the
    /// device it aliases, so the alias is not counted as a device of its own.
    pub device: Rid,
}

impl From<(UnitId, Rid, Did, Owner)> for ContextRecord {
    /// A device's own entry (`device == rid`).
    fn from((unit, rid, did, owner): (UnitId, Rid, Did, Owner)) -> Self {
        ContextRecord {
            unit,
            rid,
            did,
            owner,
            device: rid,
        }
    }
}

/// The domain-ID allocator's operations. All mutations are idempotent per
/// (unit, domain, device): a replayed step or compensation changes nothing.
pub trait DidAllocator {
    /// Units the implementation can serve.
    const UNITS: usize;
    /// Domains that can hold a DID on one unit at once.
    const DOMAINS: usize;
    /// (domain, device) memberships, and quarantined devices, per unit.
    const DEVICES: usize;

    /// Give a unit its DID space from its CAP (ND, CM). Repeating the same
    /// values is a no-op; different values are refused while DIDs are held.
    fn configure_unit(&mut self, unit: UnitId, nd: u8, cm: bool) -> Result<DidSpace, DidError>;

    /// The DID space of a configured unit.
    fn space(&self, unit: UnitId) -> Result<DidSpace, DidError>;

    /// Whether the state has been rebuilt since start; until then every
    /// operation but `configure_unit`, `space` and `rebuild_from` is refused.
    fn is_rebuilt(&self) -> bool;

    /// Replace the whole state with what the present context entries say.
    /// On error the allocator stays (or goes back to) not rebuilt and empty.
    fn rebuild_from<I>(&mut self, entries: I) -> Result<(), DidError>
    where
        I: IntoIterator<Item = ContextRecord>;

    /// The domain's DID on the unit (allocated if it has none), counting
    /// `device` as one more device of the domain behind the unit.
    fn acquire(
        &mut self,
        unit: UnitId,
        domain: DomainId,
        device: Rid,
    ) -> Result<Acquired, DidError>;

    /// Uncount `device`; the DID is freed when no device of the domain is
    /// left behind the unit.
    fn release(
        &mut self,
        unit: UnitId,
        domain: DomainId,
        device: Rid,
    ) -> Result<Released, DidError>;

    /// The pseudo-DID of a quarantined device (allocated if it has none).
    fn quarantine(&mut self, unit: UnitId, device: Rid) -> Result<Acquired, DidError>;

    /// Free the pseudo-DID of a device leaving quarantine.
    fn unquarantine(&mut self, unit: UnitId, device: Rid) -> Result<Released, DidError>;

    /// The domain's DID on the unit, if it holds one.
    fn did_of(&self, unit: UnitId, domain: DomainId) -> Result<Option<Did>, DidError>;

    /// Who holds `did` on the unit.
    fn owner_of(&self, unit: UnitId, did: Did) -> Result<Option<DidOwner>, DidError>;

    /// The pseudo-DID of a quarantined device.
    fn pseudo_did_of(&self, unit: UnitId, device: Rid) -> Result<Option<Did>, DidError>;

    /// How many devices of the domain are counted behind the unit.
    fn devices_of(&self, unit: UnitId, domain: DomainId) -> Result<usize, DidError>;

    /// How many DIDs (domain and pseudo) are held on the unit.
    fn dids_in_use(&self, unit: UnitId) -> Result<usize, DidError>;

    /// Whether the DID pool and the tables agree on every unit, and every
    /// domain with a DID has at least one device counted. O(DID space): for
    /// tests and the simulator's invariant checks, not for the hot path.
    fn is_consistent(&self) -> bool;
}
