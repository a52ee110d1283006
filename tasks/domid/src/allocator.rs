//! The allocator: up to `UNITS` units' books behind the [`DidAllocator`]
//! operations, generic over the [`DidPool`] that picks numbers.
//!
//! It starts not rebuilt: until `rebuild_from` has run (with the present context
//! entries, an empty list on first boot) it hands out nothing, because after
//! a restart its memory is gone while the hardware still holds DIDs.

use crate::api::{Acquired, ContextRecord, DidAllocator, Released};
use crate::bitmap::BitmapPool;
use crate::error::DidError;
use crate::freelist::FreeListPool;
use crate::ids::{Did, DidOwner, DomainId, Owner, Rid, UnitId};
use crate::pool::DidPool;
use crate::space::{DidClass, DidSpace};
use crate::unit::Unit;

/// The domain-ID allocator over pool `P`, for `UNITS` units, `DOMAINS`
/// domains holding a DID per unit, and `DEVICES` (domain, device)
/// memberships and quarantined devices per unit.
#[derive(Clone, Debug)]
pub struct Allocator<P, const UNITS: usize, const DOMAINS: usize, const DEVICES: usize> {
    rebuilt: bool,
    units: [Unit<P, DOMAINS, DEVICES>; UNITS],
}

/// The allocator with a bitmap of DIDs per unit (8 KiB each).
pub type BitmapAllocator<const UNITS: usize, const DOMAINS: usize, const DEVICES: usize> =
    Allocator<BitmapPool, UNITS, DOMAINS, DEVICES>;

/// The allocator with free lists per unit (memory follows the capacities).
pub type FreeListAllocator<const UNITS: usize, const DOMAINS: usize, const DEVICES: usize> =
    Allocator<FreeListPool<DOMAINS, DEVICES>, UNITS, DOMAINS, DEVICES>;

impl<P: DidPool, const UNITS: usize, const DOMAINS: usize, const DEVICES: usize>
    Allocator<P, UNITS, DOMAINS, DEVICES>
{
    /// An not rebuilt allocator with no unit configured; `const` so a task can
    /// keep it in a `static` rather than on its stack.
    pub const fn new() -> Self {
        Allocator {
            rebuilt: false,
            units: [const { Unit::EMPTY }; UNITS],
        }
    }

    /// Bytes one unit's books take (pool, tables, space).
    pub const fn memory_per_unit() -> usize {
        core::mem::size_of::<Unit<P, DOMAINS, DEVICES>>()
    }

    fn unit(&self, unit: UnitId) -> Result<&Unit<P, DOMAINS, DEVICES>, DidError> {
        self.units
            .get(unit.0 as usize)
            .ok_or(DidError::NoSuchUnit { unit, units: UNITS })
    }

    fn unit_mut(&mut self, unit: UnitId) -> Result<&mut Unit<P, DOMAINS, DEVICES>, DidError> {
        self.units
            .get_mut(unit.0 as usize)
            .ok_or(DidError::NoSuchUnit { unit, units: UNITS })
    }

    /// A unit that may be used now: rebuilt and configured.
    fn ready(&self, unit: UnitId) -> Result<&Unit<P, DOMAINS, DEVICES>, DidError> {
        if !self.rebuilt {
            return Err(DidError::NotRebuilt);
        }
        let u = self.unit(unit)?;
        u.space().ok_or(DidError::UnitNotConfigured { unit })?;
        Ok(u)
    }

    fn ready_mut(&mut self, unit: UnitId) -> Result<&mut Unit<P, DOMAINS, DEVICES>, DidError> {
        self.ready(unit)?;
        self.unit_mut(unit)
    }

    fn rebuild_one(&mut self, record: ContextRecord) -> Result<(), DidError> {
        let ContextRecord {
            unit,
            rid,
            did,
            owner,
            device,
        } = record;
        let u = self.unit_mut(unit)?;
        let space = u.space().ok_or(DidError::UnitNotConfigured { unit })?;
        let expected = match owner {
            Owner::Domain(_) => DidClass::Domain,
            Owner::Quarantine => DidClass::Pseudo,
        };
        if space.class_of(did) != Some(expected) {
            return Err(DidError::RebuildDidOutOfRange {
                unit,
                rid,
                did,
                owner,
                space,
            });
        }
        match owner {
            Owner::Domain(domain) => u.rebuild_domain(unit, domain, did, device),
            Owner::Quarantine => u.rebuild_quarantine(unit, device, did),
        }
    }

    fn clear_all(&mut self) {
        for u in self.units.iter_mut() {
            u.clear();
        }
    }
}

impl<P: DidPool, const UNITS: usize, const DOMAINS: usize, const DEVICES: usize> Default
    for Allocator<P, UNITS, DOMAINS, DEVICES>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<P: DidPool, const UNITS: usize, const DOMAINS: usize, const DEVICES: usize> DidAllocator
    for Allocator<P, UNITS, DOMAINS, DEVICES>
{
    const UNITS: usize = UNITS;
    const DOMAINS: usize = DOMAINS;
    const DEVICES: usize = DEVICES;

    fn configure_unit(&mut self, unit: UnitId, nd: u8, cm: bool) -> Result<DidSpace, DidError> {
        let space = DidSpace::new(nd, cm).map_err(|cause| DidError::BadCap { unit, cause })?;
        self.unit_mut(unit)?.configure(unit, space)?;
        Ok(space)
    }

    fn space(&self, unit: UnitId) -> Result<DidSpace, DidError> {
        self.unit(unit)?
            .space()
            .ok_or(DidError::UnitNotConfigured { unit })
    }

    fn is_rebuilt(&self) -> bool {
        self.rebuilt
    }

    fn rebuild_from<I>(&mut self, entries: I) -> Result<(), DidError>
    where
        I: IntoIterator<Item = ContextRecord>,
    {
        self.rebuilt = false;
        self.clear_all();
        for record in entries {
            if let Err(e) = self.rebuild_one(record) {
                self.clear_all();
                return Err(e);
            }
        }
        self.rebuilt = true;
        Ok(())
    }

    fn acquire(
        &mut self,
        unit: UnitId,
        domain: DomainId,
        device: Rid,
    ) -> Result<Acquired, DidError> {
        self.ready_mut(unit)?.acquire(unit, domain, device)
    }

    fn release(
        &mut self,
        unit: UnitId,
        domain: DomainId,
        device: Rid,
    ) -> Result<Released, DidError> {
        self.ready_mut(unit)?.release(unit, domain, device)
    }

    fn quarantine(&mut self, unit: UnitId, device: Rid) -> Result<Acquired, DidError> {
        self.ready_mut(unit)?.quarantine(unit, device)
    }

    fn unquarantine(&mut self, unit: UnitId, device: Rid) -> Result<Released, DidError> {
        self.ready_mut(unit)?.unquarantine(unit, device)
    }

    fn did_of(&self, unit: UnitId, domain: DomainId) -> Result<Option<Did>, DidError> {
        Ok(self.ready(unit)?.did_of(domain))
    }

    fn owner_of(&self, unit: UnitId, did: Did) -> Result<Option<DidOwner>, DidError> {
        Ok(self.ready(unit)?.owner_of(did))
    }

    fn pseudo_did_of(&self, unit: UnitId, device: Rid) -> Result<Option<Did>, DidError> {
        Ok(self.ready(unit)?.pseudo_did_of(device))
    }

    fn devices_of(&self, unit: UnitId, domain: DomainId) -> Result<usize, DidError> {
        Ok(self.ready(unit)?.devices_of(domain))
    }

    fn dids_in_use(&self, unit: UnitId) -> Result<usize, DidError> {
        Ok(self.ready(unit)?.dids_in_use())
    }

    fn is_consistent(&self) -> bool {
        self.units.iter().all(|u| u.is_consistent())
    }
}
