//! The books of one IOMMU unit: which domain holds which DID, which devices
//! count towards it, and the pseudo-DIDs of quarantined devices.
//!
//! Invariant: a domain has a slot (a DID) exactly when at least one
//! (domain, device) membership exists on the unit; the last membership to
//! leave frees the slot, map entry first and then the DID, as Xen's
//! `check_cleanup_domid_map` does. Tables are compact fixed-capacity
//! vectors scanned linearly (an entry leaving is replaced by the last): a
//! scan visits only the entries in use, a handful on any real unit, which is
//! cheaper than any index structure would be to keep consistent. (Scanning
//! all 128 membership slots of a sparse array cost a fresh `acquire` some
//! 800 guest instructions.)

use heapless::Vec;

use crate::api::{Acquired, Released};
use crate::error::DidError;
use crate::ids::{Did, DidOwner, DomainId, Rid, UnitId};
use crate::pool::DidPool;
use crate::space::{DidClass, DidSpace};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Slot {
    domain: DomainId,
    did: Did,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Member {
    domain: DomainId,
    device: Rid,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Pseudo {
    device: Rid,
    did: Did,
}

/// One unit's DID space, pool and tables.
#[derive(Clone, Debug)]
pub(crate) struct Unit<P, const DOMAINS: usize, const DEVICES: usize> {
    space: Option<DidSpace>,
    pool: P,
    slots: Vec<Slot, DOMAINS>,
    members: Vec<Member, DEVICES>,
    pseudo: Vec<Pseudo, DEVICES>,
}

impl<P: DidPool, const DOMAINS: usize, const DEVICES: usize> Unit<P, DOMAINS, DEVICES> {
    pub(crate) const EMPTY: Self = Unit {
        space: None,
        pool: P::EMPTY,
        slots: Vec::new(),
        members: Vec::new(),
        pseudo: Vec::new(),
    };

    pub(crate) fn space(&self) -> Option<DidSpace> {
        self.space
    }

    fn holds_anything(&self) -> bool {
        !self.slots.is_empty() || !self.pseudo.is_empty()
    }

    /// Set the unit's space; same space again is a no-op.
    pub(crate) fn configure(&mut self, id: UnitId, space: DidSpace) -> Result<(), DidError> {
        match self.space {
            Some(old) if old == space => Ok(()),
            Some(old) if self.holds_anything() => Err(DidError::UnitReconfigured {
                unit: id,
                old,
                new: space,
            }),
            _ => {
                self.clear();
                self.space = Some(space);
                self.pool.reset(space);
                Ok(())
            }
        }
    }

    /// Drop every slot, membership and pseudo-DID; keep the space.
    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.members.clear();
        self.pseudo.clear();
        if let Some(space) = self.space {
            self.pool.reset(space);
        }
    }

    fn slot_of(&self, domain: DomainId) -> Option<(usize, Slot)> {
        self.slots
            .iter()
            .enumerate()
            .find(|(_, s)| s.domain == domain)
            .map(|(i, s)| (i, *s))
    }

    fn member_index(&self, domain: DomainId, device: Rid) -> Option<usize> {
        let wanted = Member { domain, device };
        self.members.iter().position(|m| *m == wanted)
    }

    fn pseudo_of(&self, device: Rid) -> Option<(usize, Pseudo)> {
        self.pseudo
            .iter()
            .enumerate()
            .find(|(_, p)| p.device == device)
            .map(|(i, p)| (i, *p))
    }

    pub(crate) fn did_of(&self, domain: DomainId) -> Option<Did> {
        self.slot_of(domain).map(|(_, s)| s.did)
    }

    pub(crate) fn pseudo_did_of(&self, device: Rid) -> Option<Did> {
        self.pseudo_of(device).map(|(_, p)| p.did)
    }

    pub(crate) fn owner_of(&self, did: Did) -> Option<DidOwner> {
        let domain = self
            .slots
            .iter()
            .find(|s| s.did == did)
            .map(|s| DidOwner::Domain(s.domain));
        domain.or_else(|| {
            self.pseudo
                .iter()
                .find(|p| p.did == did)
                .map(|p| DidOwner::Quarantine(p.device))
        })
    }

    pub(crate) fn devices_of(&self, domain: DomainId) -> usize {
        self.members.iter().filter(|m| m.domain == domain).count()
    }

    fn exhausted(&self, id: UnitId, space: DidSpace, class: DidClass) -> DidError {
        DidError::Exhausted {
            unit: id,
            class,
            space,
            usable: space.usable(class),
        }
    }

    fn configured(&self, id: UnitId) -> Result<DidSpace, DidError> {
        self.space.ok_or(DidError::UnitNotConfigured { unit: id })
    }

    pub(crate) fn acquire(
        &mut self,
        id: UnitId,
        domain: DomainId,
        device: Rid,
    ) -> Result<Acquired, DidError> {
        let space = self.configured(id)?;
        let existing = self.slot_of(domain).map(|(_, s)| s.did);
        // A device can be counted only where its domain has a DID.
        if let Some(did) = existing.filter(|_| self.member_index(domain, device).is_some()) {
            return Ok(Acquired {
                did,
                fresh: false,
                counted: false,
            });
        }
        // Find room in every table before taking a DID, so a refusal never
        // leaves a DID taken with nobody holding it.
        if self.members.is_full() {
            return Err(DidError::DeviceTableFull {
                unit: id,
                capacity: DEVICES,
            });
        }
        let (did, fresh) = match existing {
            Some(did) => (did, false),
            None => {
                if self.slots.is_full() {
                    return Err(DidError::DomainTableFull {
                        unit: id,
                        capacity: DOMAINS,
                    });
                }
                let did = self
                    .pool
                    .take(DidClass::Domain)
                    .ok_or_else(|| self.exhausted(id, space, DidClass::Domain))?;
                // Room was checked above: these pushes cannot fail.
                let _ = self.slots.push(Slot { domain, did });
                (did, true)
            }
        };
        let _ = self.members.push(Member { domain, device });
        Ok(Acquired {
            did,
            fresh,
            counted: true,
        })
    }

    pub(crate) fn release(
        &mut self,
        id: UnitId,
        domain: DomainId,
        device: Rid,
    ) -> Result<Released, DidError> {
        self.configured(id)?;
        let Some(at) = self.member_index(domain, device) else {
            return Ok(Released::NotCounted);
        };
        self.members.swap_remove(at);
        let Some((slot_at, slot)) = self.slot_of(domain) else {
            // Unreachable by the module invariant; the membership is gone
            // either way, and there is no DID to free.
            return Ok(Released::NotCounted);
        };
        match self.devices_of(domain) {
            0 => {
                self.slots.swap_remove(slot_at);
                self.pool.free(slot.did);
                Ok(Released::Freed(slot.did))
            }
            remaining => Ok(Released::Kept {
                did: slot.did,
                remaining,
            }),
        }
    }

    pub(crate) fn quarantine(&mut self, id: UnitId, device: Rid) -> Result<Acquired, DidError> {
        let space = self.configured(id)?;
        if let Some((_, p)) = self.pseudo_of(device) {
            return Ok(Acquired {
                did: p.did,
                fresh: false,
                counted: false,
            });
        }
        if self.pseudo.is_full() {
            return Err(DidError::QuarantineTableFull {
                unit: id,
                capacity: DEVICES,
            });
        }
        let did = self
            .pool
            .take(DidClass::Pseudo)
            .ok_or_else(|| self.exhausted(id, space, DidClass::Pseudo))?;
        let _ = self.pseudo.push(Pseudo { device, did });
        Ok(Acquired {
            did,
            fresh: true,
            counted: true,
        })
    }

    pub(crate) fn unquarantine(&mut self, id: UnitId, device: Rid) -> Result<Released, DidError> {
        self.configured(id)?;
        let Some((at, p)) = self.pseudo_of(device) else {
            return Ok(Released::NotCounted);
        };
        self.pseudo.swap_remove(at);
        self.pool.free(p.did);
        Ok(Released::Freed(p.did))
    }

    /// Record that a present entry gives `did` to `domain` for `device`.
    pub(crate) fn rebuild_domain(
        &mut self,
        id: UnitId,
        domain: DomainId,
        did: Did,
        device: Rid,
    ) -> Result<(), DidError> {
        match self.slot_of(domain) {
            Some((_, slot)) if slot.did != did => {
                return Err(DidError::RebuildDomainHasTwoDids {
                    unit: id,
                    domain,
                    first: slot.did,
                    second: did,
                })
            }
            Some(_) => {}
            None => {
                self.claim(id, did, DidOwner::Domain(domain))?;
                if self.slots.is_full() {
                    return Err(DidError::DomainTableFull {
                        unit: id,
                        capacity: DOMAINS,
                    });
                }
                if !self.pool.reserve(did) {
                    return Err(DidError::PoolInconsistent { unit: id, did });
                }
                let _ = self.slots.push(Slot { domain, did });
            }
        }
        if self.member_index(domain, device).is_none() {
            self.members.push(Member { domain, device }).map_err(|_| {
                DidError::DeviceTableFull {
                    unit: id,
                    capacity: DEVICES,
                }
            })?;
        }
        Ok(())
    }

    /// Record that a present entry gives pseudo-DID `did` to `device`.
    pub(crate) fn rebuild_quarantine(
        &mut self,
        id: UnitId,
        device: Rid,
        did: Did,
    ) -> Result<(), DidError> {
        match self.pseudo_of(device) {
            Some((_, p)) if p.did != did => Err(DidError::RebuildDeviceHasTwoPseudoDids {
                unit: id,
                device,
                first: p.did,
                second: did,
            }),
            Some(_) => Ok(()),
            None => {
                self.claim(id, did, DidOwner::Quarantine(device))?;
                if self.pseudo.is_full() {
                    return Err(DidError::QuarantineTableFull {
                        unit: id,
                        capacity: DEVICES,
                    });
                }
                if !self.pool.reserve(did) {
                    return Err(DidError::PoolInconsistent { unit: id, did });
                }
                let _ = self.pseudo.push(Pseudo { device, did });
                Ok(())
            }
        }
    }

    /// Refuse `did` for `owner` if someone else holds it already.
    fn claim(&self, id: UnitId, did: Did, owner: DidOwner) -> Result<(), DidError> {
        match self.owner_of(did) {
            Some(first) if first != owner => Err(DidError::RebuildDidShared {
                unit: id,
                did,
                first,
                second: owner,
            }),
            _ => Ok(()),
        }
    }

    /// DIDs (domain and pseudo) held on the unit.
    pub(crate) fn dids_in_use(&self) -> usize {
        self.slots.len() + self.pseudo.len()
    }

    /// Whether the module invariant holds (every slot has a member and every
    /// member a slot) and the pool agrees with the tables on every DID.
    pub(crate) fn is_consistent(&self) -> bool {
        let slots_have_members = self.slots.iter().all(|s| self.devices_of(s.domain) > 0);
        let members_have_slots = self
            .members
            .iter()
            .all(|m| self.slot_of(m.domain).is_some());
        slots_have_members && members_have_slots && self.pool_agrees()
    }

    fn pool_agrees(&self) -> bool {
        let held = self
            .slots
            .iter()
            .map(|s| s.did)
            .chain(self.pseudo.iter().map(|p| p.did));
        let mut count = 0usize;
        for did in held {
            if !self.pool.is_taken(did) {
                return false;
            }
            count += 1;
        }
        let Some(space) = self.space else {
            return count == 0;
        };
        let taken = (0..space.size())
            .filter_map(|d| u16::try_from(d).ok())
            .filter(|&d| self.pool.is_taken(Did(d)))
            .count();
        taken == count
    }
}
