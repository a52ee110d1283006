//! Context entries: replace (Xen's direct reassignment), clear, read
//! back, list, and quarantine.
//!
//! Every change first reads the entry and names its previous state; an
//! entry whose owner the books cannot name is refused before anything is
//! written. If the library fails after storing (a flush timed out), the
//! entry is read again so the DID books follow the hardware, and the error
//! is returned: `get_context` then tells the truth.

use idl_types::{
    Bdf, ContextChange, ContextPage, ContextState, Did, EntryOwner, HardwareContext, IommuError,
    ReassignMode, RmrrList, UnitId, CONTEXTS_PER_PAGE,
};
use vtd::{
    Assignment, ContextEntry, Delay, DomainTables, Error, MapMode, PageAllocator, Quarantine,
    Registers, Rid, StorePath, TableMemory,
};

use crate::convert;
use crate::ledger::{LedgerStore, QuarantineRecord, RootOwner};
use crate::server::{IommuServer, ServerUnit, MAX_DIDS_PER_UNIT};

/// What an entry should point at.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Clear,
    Tables { did: u16, root: u64 },
}

impl<R, M, A, D, L> IommuServer<R, M, A, D, L>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
    L: LedgerStore,
{
    /// The tables a `ContextState` names on `unit`.
    pub(crate) fn target_of(
        &self,
        unit: UnitId,
        device: Bdf,
        entry: ContextState,
    ) -> Result<Target, IommuError> {
        match entry {
            ContextState::NotPresent => Ok(Target::Clear),
            ContextState::Domain { domain, did } => {
                let root = self
                    .ledger
                    .domain(domain)
                    .and_then(|d| d.root(unit))
                    .ok_or(IommuError::NoSuchDomain(domain))?;
                Ok(Target::Tables { did: did.0, root })
            }
            ContextState::Quarantine { did } => {
                let q = self
                    .ledger
                    .quarantine_with_did(unit, did)
                    .ok_or(IommuError::NoQuarantineTables(device))?;
                Ok(Target::Tables {
                    did: did.0,
                    root: q.root,
                })
            }
        }
    }

    /// Who the books say uses `root` (for error reports).
    fn holder_of_root(&self, unit: UnitId, root: u64) -> EntryOwner {
        match self.ledger.owner_of_root(unit, root) {
            RootOwner::Domain(d) => EntryOwner::Domain(d),
            RootOwner::Quarantine(_) => EntryOwner::Quarantine,
            RootOwner::Nobody => EntryOwner::Unknown,
        }
    }

    /// Refuses a DID already on other tables, or tables already under
    /// another DID: either would let two table trees share IOTLB tags.
    fn check_did(&self, unit: UnitId, did: u16, root: u64) -> Result<(), IommuError> {
        let slot = self
            .units
            .get(unit.0 as usize)
            .ok_or(IommuError::NoSuchUnit(unit))?;
        if let Some(used) = slot.dids.get(did) {
            if used.root != root || used.conflicted {
                return Err(IommuError::DidInUse {
                    did: Did(did),
                    holder: self.holder_of_root(unit, used.root),
                });
            }
        }
        if let Some(held) = slot.dids.did_of_root(root).filter(|&d| d != did) {
            return Err(match self.ledger.owner_of_root(unit, root) {
                RootOwner::Domain(domain) => IommuError::DidMismatch {
                    domain,
                    held: Did(held),
                    requested: Did(did),
                },
                _ => IommuError::DidInUse {
                    did: Did(held),
                    holder: EntryOwner::Quarantine,
                },
            });
        }
        Ok(())
    }

    /// Points (or clears) `device`'s context entry on `unit`.
    pub(crate) fn change_context(
        &mut self,
        unit: UnitId,
        device: Bdf,
        target: Target,
        mode: ReassignMode,
    ) -> Result<ContextChange, IommuError> {
        if !mode.is_valid() {
            return Err(IommuError::BadMode(mode.0));
        }
        let rid = convert::rid(device)?;
        let current = self
            .slot(unit)?
            .hw
            .get_context(rid)
            .map_err(|e| convert::error(unit, e, (0, 0)))?;
        let previous = self.state_of(unit, device, &current)?;
        match target {
            Target::Clear => self.clear(unit, rid, current, previous),
            Target::Tables { did, root } => {
                self.check_did(unit, did, root)?;
                self.replace(unit, rid, current, previous, did, root, mode)
            }
        }
    }

    fn clear(
        &mut self,
        unit: UnitId,
        rid: Rid,
        current: ContextEntry,
        previous: ContextState,
    ) -> Result<ContextChange, IommuError> {
        if !current.present {
            return Ok(ContextChange {
                previous,
                atomic: true,
            });
        }
        let slot = self.slot(unit)?;
        match slot.hw.clear_context(rid) {
            Ok(_) => {
                slot.dids.remove(current.did);
                slot.stats.changes += 1;
                Ok(ContextChange {
                    previous,
                    atomic: false,
                })
            }
            Err(e) => Err(self.after_failure(unit, rid, current, e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn replace(
        &mut self,
        unit: UnitId,
        rid: Rid,
        current: ContextEntry,
        previous: ContextState,
        did: u16,
        root: u64,
        mode: ReassignMode,
    ) -> Result<ContextChange, IommuError> {
        let slot = self.slot(unit)?;
        if slot.dids.get(did).is_none() && slot.dids.is_full() {
            return Err(IommuError::BooksFull {
                capacity: MAX_DIDS_PER_UNIT as u16,
            });
        }
        let target = Assignment {
            did,
            tables: DomainTables::Paged {
                root,
                levels: slot.hw.levels(),
            },
            ats: false,
        };
        // Xen's did_is_known: only the DID this entry was read with,
        // which `state_of` found attributed, is accepted.
        let expected = current.present.then_some(current.did);
        let result = slot
            .hw
            .set_context(rid, &target, MapMode::from_bits_truncate(mode.0), |d| {
                expected == Some(d)
            });
        let out = match result {
            Ok(out) => out,
            Err(e) => return Err(self.after_failure(unit, rid, current, e)),
        };
        let slot = self.slot(unit)?;
        if out.path != StorePath::Unchanged {
            if current.present {
                slot.dids.remove(current.did);
            }
            // Room was checked above.
            let _ = slot.dids.add(did, root);
            slot.stats.changes += 1;
        }
        match out.path {
            StorePath::Atomic => slot.stats.atomic += 1,
            StorePath::ClearedFirst => slot.stats.cleared_first += 1,
            StorePath::BestEffort => slot.stats.best_effort += 1,
            StorePath::Unchanged => {}
        }
        if out.warning.is_some() {
            slot.stats.warnings += 1;
        }
        if let (StorePath::BestEffort, Some(log)) = (out.path, self.best_effort_log) {
            let to = match self.ledger.owner_of_root(unit, root) {
                RootOwner::Domain(domain) => ContextState::Domain {
                    domain,
                    did: Did(did),
                },
                _ => ContextState::Quarantine { did: Did(did) },
            };
            log(&crate::BestEffortUpdate {
                unit,
                rid: convert::bdf(rid),
                from: previous,
                to,
                may_corrupt: out.warning.is_some(),
            });
        }
        Ok(ContextChange {
            previous,
            atomic: matches!(out.path, StorePath::Atomic | StorePath::Unchanged),
        })
    }

    /// After a library error: make the DID books follow whatever the entry
    /// now holds, and name the error.
    fn after_failure(
        &mut self,
        unit: UnitId,
        rid: Rid,
        before: ContextEntry,
        e: Error,
    ) -> IommuError {
        let device = convert::bdf(rid);
        if let Ok(slot) = self.slot(unit) {
            if let Ok(now) = slot.hw.get_context(rid) {
                if now != before {
                    if before.present {
                        slot.dids.remove(before.did);
                    }
                    if now.present {
                        let _ = slot.dids.add(now.did, now.slptptr);
                    }
                }
            }
        }
        match e {
            Error::EntryChanged { actual, .. } => {
                let found = ContextEntry::from_u128(actual);
                match self.state_of(unit, device, &found) {
                    Ok(found) => IommuError::ContextMismatch { device, found },
                    Err(unknown) => unknown,
                }
            }
            other => convert::error(unit, other, (0, 0)),
        }
    }

    /// What the hardware holds for `device` on `unit`.
    pub(crate) fn read_context(
        &mut self,
        unit: UnitId,
        device: Bdf,
    ) -> Result<HardwareContext, IommuError> {
        let rid = convert::rid(device)?;
        let entry = self
            .slot(unit)?
            .hw
            .get_context(rid)
            .map_err(|e| convert::error(unit, e, (0, 0)))?;
        Ok(self.hardware_context(unit, rid, &entry))
    }

    fn hardware_context(&self, unit: UnitId, rid: Rid, entry: &ContextEntry) -> HardwareContext {
        let present = entry.present;
        HardwareContext {
            unit,
            rid: convert::bdf(rid),
            did: Did(if present { entry.did } else { 0 }),
            root: if present { entry.slptptr } else { 0 },
            owner: self.owner(unit, entry),
        }
    }

    /// Present entries of `unit` after `after`, a page at a time.
    pub(crate) fn list(
        &mut self,
        unit: UnitId,
        after: Option<Bdf>,
    ) -> Result<ContextPage, IommuError> {
        let start = match after {
            Some(b) => u32::from(convert::rid(b)?.sid()) + 1,
            None => 0,
        };
        let mut found: heapless::Vec<(Rid, ContextEntry), CONTEXTS_PER_PAGE> = heapless::Vec::new();
        let mut more = false;
        self.slot(unit)?
            .hw
            .for_each_present_context(|rid, entry| {
                if u32::from(rid.sid()) < start {
                    return;
                }
                if found.push((rid, entry)).is_err() {
                    more = true;
                }
            })
            .map_err(|e| convert::error(unit, e, (0, 0)))?;
        let next = if more {
            found.last().map(|(rid, _)| convert::bdf(*rid))
        } else {
            None
        };
        let mut entries = heapless::Vec::new();
        for (rid, entry) in &found {
            // `found` and `entries` have the same capacity.
            let _ = entries.push(self.hardware_context(unit, *rid, entry));
        }
        Ok(ContextPage { entries, next })
    }

    /// Moves `rid` to the quarantine tables of `rmrrs.device` under `did`,
    /// building them (scratch page, RMRRs identity-mapped) on first use and
    /// zeroing the scratch page whenever the device enters quarantine anew.
    pub(crate) fn quarantine(
        &mut self,
        unit: UnitId,
        rid: Bdf,
        did: Did,
        mode: ReassignMode,
        rmrrs: &RmrrList,
    ) -> Result<ContextChange, IommuError> {
        if !mode.is_valid() {
            return Err(IommuError::BadMode(mode.0));
        }
        let device = rmrrs.device;
        self.forget_pseudo_did(unit, did, device);
        let record = match self.ledger.quarantine_of(unit, device).copied() {
            Some(record) => {
                self.extend_quarantine(unit, &record, rmrrs)?;
                record
            }
            None => self.build_quarantine(unit, did, rmrrs)?,
        };
        let slot = self.slot(unit)?;
        let in_use = slot.dids.entries_on(record.root) > 0;
        if record.did != did {
            if in_use {
                return Err(IommuError::DidInUse {
                    did: record.did,
                    holder: EntryOwner::Quarantine,
                });
            }
            self.set_quarantine_did(unit, device, did);
        }
        if !in_use {
            let slot = self.slot(unit)?;
            zero_page(slot.hw.memory(), record.scratch);
        }
        self.change_context(
            unit,
            rid,
            Target::Tables {
                did: did.0,
                root: record.root,
            },
            mode,
        )
    }

    /// domid gives a pseudo-DID to one device at a time: once `keeper` is
    /// given `did`, another device's idle quarantine tables that last used
    /// it no longer name it, so `target_of` finds the keeper's tables.
    fn forget_pseudo_did(&mut self, unit: UnitId, did: Did, keeper: Bdf) {
        // domid hands pseudo-DIDs out from the upper half of a unit's DID
        // space only, so DID 0 names no quarantine tables.
        const NO_PSEUDO_DID: Did = Did(0);
        let mut changed = false;
        for q in self.ledger.quarantines.iter_mut().flatten() {
            if q.unit == unit && q.did == did && q.device != keeper {
                q.did = NO_PSEUDO_DID;
                changed = true;
            }
        }
        if changed {
            self.save();
        }
    }

    fn set_quarantine_did(&mut self, unit: UnitId, device: Bdf, did: Did) {
        for q in self.ledger.quarantines.iter_mut().flatten() {
            if q.unit == unit && q.device == device {
                q.did = did;
            }
        }
        self.save();
    }

    fn build_quarantine(
        &mut self,
        unit: UnitId,
        did: Did,
        rmrrs: &RmrrList,
    ) -> Result<QuarantineRecord, IommuError> {
        let Some(free) = self.ledger.quarantines.iter().position(Option::is_none) else {
            return Err(IommuError::BooksFull {
                capacity: self.ledger.quarantines.len() as u16,
            });
        };
        let slot = self.slot(unit)?;
        let levels = slot.hw.levels();
        let (mem, alloc) = slot.hw.tables();
        let mut q =
            Quarantine::build(mem, alloc, levels).map_err(|e| convert::error(unit, e, (0, 0)))?;
        for range in &rmrrs.ranges {
            let mapped = rmrr_len(range.base, range.end).and_then(|len| {
                q.map_identity(mem, alloc, range.base, len)
                    .map_err(|e| convert::error(unit, e, (range.base, 0)))
            });
            if let Err(e) = mapped {
                q.destroy(mem, alloc);
                return Err(e);
            }
        }
        let record = QuarantineRecord {
            unit,
            device: rmrrs.device,
            did,
            root: q.root(),
            scratch: q.scratch(),
        };
        // Kept for later RMRRs; if the list is full the tables stay usable
        // through the ledger, only not extendable.
        let _ = slot.quarantines.push((rmrrs.device, q));
        if let Some(entry) = self.ledger.quarantines.get_mut(free) {
            *entry = Some(record);
        }
        self.save();
        Ok(record)
    }

    /// Makes sure every RMRR is identity-mapped in existing quarantine
    /// tables.
    fn extend_quarantine(
        &mut self,
        unit: UnitId,
        record: &QuarantineRecord,
        rmrrs: &RmrrList,
    ) -> Result<(), IommuError> {
        let slot = self.slot(unit)?;
        let view = slot.table_view(record.root)?;
        let ServerUnit {
            hw, quarantines, ..
        } = slot;
        let built = quarantines.iter_mut().find(|(d, _)| *d == rmrrs.device);
        let (mem, alloc) = hw.tables();
        match built {
            Some((_, q)) => {
                for range in &rmrrs.ranges {
                    let len = rmrr_len(range.base, range.end)?;
                    q.map_identity(mem, alloc, range.base, len)
                        .map_err(|e| convert::error(unit, e, (range.base, 0)))?;
                }
                Ok(())
            }
            None => {
                // Tables from a previous life: usable as they are if they
                // already map every RMRR.
                for range in &rmrrs.ranges {
                    let len = rmrr_len(range.base, range.end)?;
                    let mut page = range.base;
                    while page < range.base + len {
                        let identity = view
                            .translate(mem, page)
                            .is_some_and(|t| t.phys == page && t.perm.read && t.perm.write);
                        if !identity {
                            return Err(IommuError::NoQuarantineTables(rmrrs.device));
                        }
                        page += vtd::regs::PAGE_SIZE;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The length of an RMRR given with an inclusive end.
fn rmrr_len(base: u64, end: u64) -> Result<u64, IommuError> {
    end.checked_sub(base)
        .and_then(|d| d.checked_add(1))
        .ok_or(IommuError::BadRange {
            iova: base,
            pages: 0,
        })
}

/// Zeroes a page through the table memory (the scratch page).
fn zero_page<M: TableMemory>(mem: &mut M, page: u64) {
    let words = vtd::regs::PAGE_SIZE / 8;
    for i in 0..words {
        mem.write_u64(page + i * 8, 0);
    }
    mem.sync(page, vtd::regs::PAGE_SIZE);
}
