//! Domains: their page tables (one tree per unit), and mapping and
//! unmapping ranges in all of them at once.
//!
//! A map either adds the whole range, finds it already mapped exactly so
//! (then it adds nothing and says so, so its undo removes nothing), or
//! changes nothing. Unmaps flush the IOTLB of the DID the domain's entries
//! use on each unit (freeing emptied tables only after the flush); a domain
//! with no entry on a unit has nothing cached there.

use idl_types::{Access, DomainId, IommuError, PageRange, UnitId};
use vtd::{Delay, Error, PageAllocator, Perm, Registers, TableMemory};

use crate::convert;
use crate::ledger::{DomainRecord, LedgerStore, MAX_UNITS};
use crate::server::{IommuServer, ServerUnit};

/// What mapping a range did on one unit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mapped {
    Added,
    AlreadyThere,
}

impl<R, M, A, D, L> IommuServer<R, M, A, D, L>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
    L: LedgerStore,
{
    pub(crate) fn create_domain(&mut self, domain: DomainId) -> Result<(), IommuError> {
        if self.ledger.domain(domain).is_some() {
            return Err(IommuError::DomainExists(domain));
        }
        let Some(free) = self.ledger.domains.iter().position(Option::is_none) else {
            return Err(IommuError::BooksFull {
                capacity: self.ledger.domains.len() as u16,
            });
        };
        let mut roots = [0u64; MAX_UNITS];
        for (i, slot) in self.units.iter_mut().enumerate() {
            match slot.hw.new_page_table() {
                Ok(table) => {
                    if let Some(r) = roots.get_mut(i) {
                        *r = table.root();
                    }
                }
                Err(e) => {
                    let unit = UnitId(i as u8);
                    free_roots(&mut self.units, &roots);
                    return Err(convert::error(unit, e, (0, 0)));
                }
            }
        }
        if let Some(entry) = self.ledger.domains.get_mut(free) {
            *entry = Some(DomainRecord { domain, roots });
        }
        self.save();
        Ok(())
    }

    pub(crate) fn destroy_domain(&mut self, domain: DomainId) -> Result<(), IommuError> {
        let record = *self
            .ledger
            .domain(domain)
            .ok_or(IommuError::NoSuchDomain(domain))?;
        let in_use = self.units.iter().enumerate().any(|(i, slot)| {
            record
                .roots
                .get(i)
                .is_some_and(|&r| r != 0 && slot.dids.entries_on(r) > 0)
        });
        if in_use {
            return Err(IommuError::DomainInUse(domain));
        }
        // Forget before freeing: a restart must never find a freed root.
        for entry in self.ledger.domains.iter_mut() {
            if entry.is_some_and(|r| r.domain == domain) {
                *entry = None;
            }
        }
        self.save();
        free_roots(&mut self.units, &record.roots);
        Ok(())
    }

    pub(crate) fn map_range(
        &mut self,
        domain: DomainId,
        iova: u64,
        phys: u64,
        pages: u32,
        access: Access,
    ) -> Result<PageRange, IommuError> {
        let bad = IommuError::BadRange { iova, pages };
        if pages == 0 {
            return Err(bad);
        }
        let len = convert::bytes(pages);
        let perm = convert::perm(access);
        let record = *self
            .ledger
            .domain(domain)
            .ok_or(IommuError::NoSuchDomain(domain))?;
        let mut outcome = None;
        for i in 0..self.units.len() {
            let unit = UnitId(i as u8);
            let Some(root) = record.roots.get(i).copied().filter(|&r| r != 0) else {
                continue;
            };
            let result = match self.units.get_mut(i) {
                Some(slot) => map_on(slot, root, iova, phys, len, perm),
                None => continue,
            };
            let result = result.map_err(|e| convert::error(unit, e, (iova, pages)));
            match (result, outcome) {
                (Ok(now), None) => outcome = Some(now),
                (Ok(now), Some(before)) if now == before => {}
                (result, before) => {
                    // An error, or units that disagree: undo what this call
                    // added (on the units before, if they added, and here).
                    if before == Some(Mapped::Added) {
                        self.unmap_on_units(&record, 0..i, iova, len);
                    }
                    if matches!(result, Ok(Mapped::Added)) {
                        self.unmap_on_units(&record, i..i + 1, iova, len);
                    }
                    return Err(match result {
                        Err(e) => e,
                        Ok(_) => IommuError::Overlap { iova },
                    });
                }
            }
        }
        match outcome {
            Some(Mapped::AlreadyThere) => Ok(PageRange { iova, pages: 0 }),
            _ => Ok(PageRange { iova, pages }),
        }
    }

    /// Best-effort removal of a range this call added on `units`.
    fn unmap_on_units(
        &mut self,
        record: &DomainRecord,
        units: core::ops::Range<usize>,
        iova: u64,
        len: u64,
    ) {
        for i in units {
            let root = record.roots.get(i).copied().filter(|&r| r != 0);
            if let (Some(root), Some(slot)) = (root, self.units.get_mut(i)) {
                let _ = unmap_on(slot, root, iova, len);
            }
        }
    }

    pub(crate) fn unmap_range(
        &mut self,
        domain: DomainId,
        range: PageRange,
    ) -> Result<(), IommuError> {
        if range.pages == 0 {
            return Ok(());
        }
        let record = *self
            .ledger
            .domain(domain)
            .ok_or(IommuError::NoSuchDomain(domain))?;
        let len = convert::bytes(range.pages);
        // A flush an earlier unmap owes first: a range unmapped by a call
        // whose flush failed is not done (the unit may still translate it)
        // until that flush succeeds, and a retry must say so.
        for (i, slot) in self.units.iter_mut().enumerate() {
            slot.hw
                .settle_flushes()
                .map_err(|e| convert::error(UnitId(i as u8), e, (range.iova, range.pages)))?;
        }
        // Check every unit first so a refusal changes nothing anywhere.
        for (i, slot) in self.units.iter_mut().enumerate() {
            if let Some(root) = record.roots.get(i).copied().filter(|&r| r != 0) {
                let view = slot.table_view(root)?;
                let mem = slot.hw.memory();
                if let Some(iova) = first_unmapped(&view, mem, range.iova, len) {
                    return Err(IommuError::NotMapped { iova });
                }
            }
        }
        for (i, slot) in self.units.iter_mut().enumerate() {
            if let Some(root) = record.roots.get(i).copied().filter(|&r| r != 0) {
                unmap_on(slot, root, range.iova, len)
                    .map_err(|e| convert::error(UnitId(i as u8), e, (range.iova, range.pages)))?;
            }
        }
        Ok(())
    }
}

/// Frees every tree of `roots` (no entry may use them).
fn free_roots<R, M, A, D>(units: &mut [ServerUnit<R, M, A, D>], roots: &[u64; MAX_UNITS])
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
{
    for (slot, &root) in units.iter_mut().zip(roots.iter()) {
        if root != 0 {
            if let Ok(view) = slot.table_view(root) {
                slot.hw.destroy_page_table(view);
            }
        }
    }
}

fn map_on<R, M, A, D>(
    slot: &mut ServerUnit<R, M, A, D>,
    root: u64,
    iova: u64,
    phys: u64,
    len: u64,
    perm: Perm,
) -> Result<Mapped, Error>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
{
    let mut view = slot.table_view(root).map_err(|_| Error::OutOfMemory)?;
    let result = match slot.dids.did_of_root(root) {
        Some(did) => slot
            .hw
            .map(&mut view, did, iova, phys, len, perm)
            .map(|_| ()),
        None => {
            let (mem, alloc) = slot.hw.tables();
            view.map(mem, alloc, iova, phys, len, perm).map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(Mapped::Added),
        Err(Error::Overlap { iova: at }) => {
            if maps_exactly(&view, slot.hw.memory(), iova, phys, len, perm) {
                Ok(Mapped::AlreadyThere)
            } else {
                Err(Error::Overlap { iova: at })
            }
        }
        Err(e) => Err(e),
    }
}

fn unmap_on<R, M, A, D>(
    slot: &mut ServerUnit<R, M, A, D>,
    root: u64,
    iova: u64,
    len: u64,
) -> Result<(), Error>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
{
    let mut view = slot.table_view(root).map_err(|_| Error::OutOfMemory)?;
    match slot.dids.did_of_root(root) {
        Some(did) => slot
            .hw
            .unmap_and_flush(&mut view, did, iova, len)
            .map(|_| ()),
        None => {
            let (mem, alloc) = slot.hw.tables();
            view.unmap(mem, alloc, iova, len).map(|_| ())
        }
    }
}

/// Whether every page of the range translates to the same offset of
/// `phys` with exactly `perm`. Walks leaf by leaf, so a large page is
/// checked once.
fn maps_exactly<M: TableMemory>(
    view: &vtd::PageTable,
    mem: &mut M,
    iova: u64,
    phys: u64,
    len: u64,
    perm: Perm,
) -> bool {
    let end = iova.saturating_add(len);
    let mut addr = iova;
    while addr < end {
        let Some(t) = view.translate(mem, addr) else {
            return false;
        };
        if t.phys != phys + (addr - iova) || t.perm != perm {
            return false;
        }
        addr = (addr & !(t.page_size - 1)).saturating_add(t.page_size);
    }
    true
}

/// The first address of the range with no translation.
fn first_unmapped<M: TableMemory>(
    view: &vtd::PageTable,
    mem: &mut M,
    iova: u64,
    len: u64,
) -> Option<u64> {
    let end = iova.saturating_add(len);
    let mut addr = iova;
    while addr < end {
        let t = view.translate(mem, addr)?;
        addr = (addr & !(t.page_size - 1)).saturating_add(t.page_size);
    }
    None
}
