//! Stand-in peers (iommu, domid, acpi, pci, supervisor) implementing the
//! generated server traits over one shared "hardware" state, until the
//! servers' own crates land.
//!
//! What survives a restart is what would in the image: the context entries
//! and page tables (hardware memory). Domid's books are volatile: a
//! restarted domid is unseeded and refuses to hand out DIDs. The iommu
//! counts a *disconnect window* whenever an RMRR device's entry goes from
//! present to not present.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use idl_runtime::abi::TaskId;
use idl_runtime::ReadLease;
use idl_types::*;

use crate::generated::{acpi, domid, iommu, pci, supervisor};
use crate::platform::Platform;

/// The hardware: context entries and page tables, surviving any restart.
#[derive(Default, Debug)]
pub struct Hardware {
    /// (unit, rid) → entry.
    pub contexts: BTreeMap<(u8, Bdf), ContextState>,
    /// Domains with page tables.
    pub domains: BTreeSet<DomainId>,
    /// Mapped ranges per domain: first page → pages.
    pub mappings: BTreeMap<DomainId, BTreeMap<u64, u32>>,
    /// RMRR requester IDs (watched by the observer).
    pub rmrr_rids: BTreeSet<Bdf>,
    /// Present → not present transitions of an RMRR requester ID.
    pub disconnect_windows: u64,
}

/// Domid's volatile books.
#[derive(Default, Debug)]
pub struct DomidBooks {
    pub seeded: bool,
    pub configured: BTreeSet<u8>,
    /// (unit, domain) → (DID, devices).
    pub domains: BTreeMap<(u8, DomainId), (Did, BTreeSet<Bdf>)>,
    /// (unit, device) → pseudo-DID.
    pub quarantine: BTreeMap<(u8, Bdf), Did>,
}

const DOMAIN_DIDS: u16 = 128;

impl DomidBooks {
    fn used(&self, unit: u8) -> BTreeSet<u16> {
        let mut used: BTreeSet<u16> = self
            .domains
            .iter()
            .filter(|((u, _), _)| *u == unit)
            .map(|(_, (d, _))| d.0)
            .collect();
        used.extend(
            self.quarantine
                .iter()
                .filter(|((u, _), _)| *u == unit)
                .map(|(_, d)| d.0),
        );
        used
    }
}

/// The iommu stand-in.
pub struct FakeIommu(pub Rc<RefCell<Hardware>>, pub u8);
/// The domid stand-in.
pub struct FakeDomid(pub Rc<RefCell<DomidBooks>>);
/// The acpi stand-in.
pub struct FakeAcpi(pub Rc<Platform>);
/// The pci stand-in.
pub struct FakePci(pub Rc<Platform>);
/// The supervisor stand-in: the deaths the simulation declared.
pub struct FakeSupervisor(pub Rc<RefCell<Vec<DeathRecord>>>);

fn owner_of(state: ContextState) -> EntryOwner {
    match state {
        ContextState::NotPresent => EntryOwner::NotPresent,
        ContextState::Domain { domain, .. } => EntryOwner::Domain(domain),
        ContextState::Quarantine { .. } => EntryOwner::Quarantine,
    }
}

impl FakeIommu {
    fn set(
        &mut self,
        unit: UnitId,
        rid: Bdf,
        entry: ContextState,
    ) -> Result<ContextChange, IommuError> {
        let mut hw = self.0.borrow_mut();
        if let ContextState::Domain { domain, .. } = entry {
            if !hw.domains.contains(&domain) {
                return Err(IommuError::NoSuchDomain(domain));
            }
        }
        let previous = hw
            .contexts
            .get(&(unit.0, rid))
            .copied()
            .unwrap_or(ContextState::NotPresent);
        if previous != ContextState::NotPresent
            && entry == ContextState::NotPresent
            && hw.rmrr_rids.contains(&rid)
        {
            hw.disconnect_windows += 1;
        }
        if entry == ContextState::NotPresent {
            hw.contexts.remove(&(unit.0, rid));
        } else {
            hw.contexts.insert((unit.0, rid), entry);
        }
        Ok(ContextChange {
            previous,
            atomic: true,
        })
    }
}

impl iommu::Server for FakeIommu {
    fn create_domain(&mut self, _: TaskId, a: iommu::CreateDomainArgs) -> Result<(), IommuError> {
        if !self.0.borrow_mut().domains.insert(a.domain) {
            return Err(IommuError::DomainExists(a.domain));
        }
        Ok(())
    }
    fn destroy_domain(&mut self, _: TaskId, a: iommu::DestroyDomainArgs) -> Result<(), IommuError> {
        self.0.borrow_mut().domains.remove(&a.domain);
        Ok(())
    }
    fn map_range(&mut self, _: TaskId, a: iommu::MapRangeArgs) -> Result<PageRange, IommuError> {
        let mut hw = self.0.borrow_mut();
        let maps = hw.mappings.entry(a.domain).or_default();
        match maps.get(&a.iova) {
            Some(&p) if p == a.pages => Ok(PageRange {
                iova: a.iova,
                pages: 0,
            }),
            Some(_) => Err(IommuError::Overlap { iova: a.iova }),
            None => {
                maps.insert(a.iova, a.pages);
                Ok(PageRange {
                    iova: a.iova,
                    pages: a.pages,
                })
            }
        }
    }
    fn unmap_range(&mut self, _: TaskId, a: iommu::UnmapRangeArgs) -> Result<(), IommuError> {
        if a.range.pages == 0 {
            return Ok(());
        }
        let mut hw = self.0.borrow_mut();
        let maps = hw.mappings.entry(a.domain).or_default();
        match maps.remove(&a.range.iova) {
            Some(_) => Ok(()),
            None => Err(IommuError::NotMapped { iova: a.range.iova }),
        }
    }
    fn set_context(
        &mut self,
        _: TaskId,
        a: iommu::SetContextArgs,
    ) -> Result<ContextChange, IommuError> {
        self.set(a.unit, a.rid, a.entry)
    }
    fn clear_context(
        &mut self,
        _: TaskId,
        a: iommu::ClearContextArgs,
    ) -> Result<ContextChange, IommuError> {
        self.set(a.unit, a.rid, ContextState::NotPresent)
    }
    fn get_context(
        &mut self,
        _: TaskId,
        a: iommu::GetContextArgs,
    ) -> Result<HardwareContext, IommuError> {
        let state = self
            .0
            .borrow()
            .contexts
            .get(&(a.unit.0, a.rid))
            .copied()
            .unwrap_or(ContextState::NotPresent);
        Ok(HardwareContext {
            unit: a.unit,
            rid: a.rid,
            did: state.did().unwrap_or(Did(0)),
            root: 0,
            owner: owner_of(state),
        })
    }
    fn quarantine_device(
        &mut self,
        _: TaskId,
        a: iommu::QuarantineDeviceArgs,
    ) -> Result<ContextChange, IommuError> {
        self.set(a.unit, a.rid, ContextState::Quarantine { did: a.did })
    }
    fn pull_faults(
        &mut self,
        _: TaskId,
        _: iommu::PullFaultsArgs,
    ) -> Result<FaultBatch, IommuError> {
        Ok(FaultBatch {
            records: heapless::Vec::new(),
            pending: 0,
            lost: 0,
        })
    }
    fn list_contexts(
        &mut self,
        _: TaskId,
        a: iommu::ListContextsArgs,
    ) -> Result<ContextPage, IommuError> {
        let hw = self.0.borrow();
        let mut page = ContextPage {
            entries: heapless::Vec::new(),
            next: None,
        };
        for (&(unit, rid), &state) in hw.contexts.iter() {
            if unit != a.unit.0 || a.after.is_some_and(|after| rid <= after) {
                continue;
            }
            if page.entries.is_full() {
                break;
            }
            let _ = page.entries.push(HardwareContext {
                unit: a.unit,
                rid,
                did: state.did().unwrap_or(Did(0)),
                root: 0,
                owner: owner_of(state),
            });
            page.next = Some(rid);
        }
        if page.entries.len() < CONTEXTS_PER_PAGE {
            page.next = None;
        }
        Ok(page)
    }
    fn unit_caps(&mut self, _: TaskId, a: iommu::UnitCapsArgs) -> Result<UnitCaps, IommuError> {
        if a.unit.0 >= self.1 {
            return Err(IommuError::NoSuchUnit(a.unit));
        }
        Ok(UnitCaps {
            unit: a.unit,
            nd: 2,
            caching_mode: true,
            levels: 3,
            queued_invalidation: true,
            atomic_context: true,
        })
    }
    fn unit_count(&mut self, _: TaskId, _: iommu::UnitCountArgs) -> u8 {
        self.1
    }
    fn counters(&mut self, _: TaskId, a: iommu::CountersArgs) -> Result<IommuCounters, IommuError> {
        Err(IommuError::NoSuchUnit(a.unit))
    }
}

impl domid::Server for FakeDomid {
    fn acquire(&mut self, _: TaskId, a: domid::AcquireArgs) -> Result<DidGrant, DomidError> {
        let mut b = self.0.borrow_mut();
        if !b.seeded {
            return Err(DomidError::NotSeeded);
        }
        if let Some((did, devices)) = b.domains.get_mut(&(a.unit.0, a.domain)) {
            let counted = devices.insert(a.device);
            return Ok(DidGrant {
                did: *did,
                fresh: false,
                counted,
            });
        }
        let used = b.used(a.unit.0);
        let did = (1..DOMAIN_DIDS)
            .find(|d| !used.contains(d))
            .ok_or(DomidError::Exhausted(a.unit))?;
        b.domains
            .insert((a.unit.0, a.domain), (Did(did), BTreeSet::from([a.device])));
        Ok(DidGrant {
            did: Did(did),
            fresh: true,
            counted: true,
        })
    }
    fn release(&mut self, _: TaskId, a: domid::ReleaseArgs) -> Result<DidRelease, DomidError> {
        let mut b = self.0.borrow_mut();
        if !b.seeded {
            return Err(DomidError::NotSeeded);
        }
        let key = (a.unit.0, a.domain);
        let Some((did, devices)) = b.domains.get_mut(&key) else {
            return Ok(DidRelease::NotCounted);
        };
        let did = *did;
        if !devices.remove(&a.device) {
            return Ok(DidRelease::NotCounted);
        }
        if devices.is_empty() {
            b.domains.remove(&key);
            return Ok(DidRelease::Freed(did));
        }
        Ok(DidRelease::Kept {
            did,
            remaining: devices.len() as u16,
        })
    }
    fn lookup(&mut self, _: TaskId, a: domid::LookupArgs) -> Result<Option<Did>, DomidError> {
        Ok(self
            .0
            .borrow()
            .domains
            .get(&(a.unit.0, a.domain))
            .map(|(d, _)| *d))
    }
    fn owner_of(
        &mut self,
        _: TaskId,
        _: domid::OwnerOfArgs,
    ) -> Result<Option<DidHolder>, DomidError> {
        Ok(None)
    }
    fn acquire_quarantine(
        &mut self,
        _: TaskId,
        a: domid::AcquireQuarantineArgs,
    ) -> Result<DidGrant, DomidError> {
        let mut b = self.0.borrow_mut();
        if !b.seeded {
            return Err(DomidError::NotSeeded);
        }
        if let Some(did) = b.quarantine.get(&(a.unit.0, a.device)) {
            return Ok(DidGrant {
                did: *did,
                fresh: false,
                counted: false,
            });
        }
        let used = b.used(a.unit.0);
        let did = (DOMAIN_DIDS..2 * DOMAIN_DIDS)
            .find(|d| !used.contains(d))
            .ok_or(DomidError::Exhausted(a.unit))?;
        b.quarantine.insert((a.unit.0, a.device), Did(did));
        Ok(DidGrant {
            did: Did(did),
            fresh: true,
            counted: true,
        })
    }
    fn release_quarantine(
        &mut self,
        _: TaskId,
        a: domid::ReleaseQuarantineArgs,
    ) -> Result<DidRelease, DomidError> {
        let mut b = self.0.borrow_mut();
        if !b.seeded {
            return Err(DomidError::NotSeeded);
        }
        Ok(match b.quarantine.remove(&(a.unit.0, a.device)) {
            Some(did) => DidRelease::Freed(did),
            None => DidRelease::NotCounted,
        })
    }
    fn seed(
        &mut self,
        _: TaskId,
        _: domid::SeedArgs,
        records: ReadLease<'_>,
    ) -> Result<u16, DomidError> {
        let mut bytes = vec![0u8; records.len()];
        records
            .read(0, &mut bytes)
            .map_err(|_| DomidError::LeaseFailed)?;
        let mut fresh = DomidBooks {
            configured: self.0.borrow().configured.clone(),
            ..DomidBooks::default()
        };
        let mut n = 0;
        for record in SeedRecord::decode_all(&bytes) {
            let r = record.map_err(|_| DomidError::LeaseFailed)?;
            match r.owner {
                SeedOwner::Domain(d) => {
                    fresh
                        .domains
                        .entry((r.unit.0, d))
                        .or_insert((r.did, BTreeSet::new()))
                        .1
                        .insert(r.device);
                }
                SeedOwner::Quarantine => {
                    fresh.quarantine.insert((r.unit.0, r.device), r.did);
                }
            }
            n += 1;
        }
        fresh.seeded = true;
        *self.0.borrow_mut() = fresh;
        Ok(n)
    }
    fn configure_unit(
        &mut self,
        _: TaskId,
        a: domid::ConfigureUnitArgs,
    ) -> Result<u32, DomidError> {
        self.0.borrow_mut().configured.insert(a.unit.0);
        Ok(u32::from(2 * DOMAIN_DIDS))
    }
    fn is_seeded(&mut self, _: TaskId, _: domid::IsSeededArgs) -> bool {
        self.0.borrow().seeded
    }
    fn devices_of(&mut self, _: TaskId, a: domid::DevicesOfArgs) -> Result<u16, DomidError> {
        Ok(self
            .0
            .borrow()
            .domains
            .get(&(a.unit.0, a.domain))
            .map_or(0, |(_, d)| d.len() as u16))
    }
    fn dids_in_use(&mut self, _: TaskId, a: domid::DidsInUseArgs) -> Result<u32, DomidError> {
        Ok(self.0.borrow().used(a.unit.0).len() as u32)
    }
}

impl acpi::Server for FakeAcpi {
    fn unit_count(&mut self, _: TaskId, _: acpi::UnitCountArgs) -> u8 {
        self.0.units
    }
    fn unit_info(&mut self, _: TaskId, a: acpi::UnitInfoArgs) -> Result<UnitInfo, AcpiError> {
        Err(AcpiError::NoSuchUnit(a.unit))
    }
    fn unit_of(&mut self, _: TaskId, a: acpi::UnitOfArgs) -> Result<UnitId, AcpiError> {
        self.0
            .device(a.device)
            .map(|d| UnitId(d.unit))
            .ok_or(AcpiError::NotCovered(a.device))
    }
    fn rmrrs_of(&mut self, _: TaskId, a: acpi::RmrrsOfArgs) -> Result<RmrrList, AcpiError> {
        let d = self
            .0
            .device(a.device)
            .ok_or(AcpiError::NotCovered(a.device))?;
        Ok(RmrrList {
            device: a.device,
            ranges: d.rmrrs.iter().copied().collect(),
        })
    }
    fn read_dmar(
        &mut self,
        _: TaskId,
        a: acpi::ReadDmarArgs,
        _: idl_runtime::WriteLease<'_>,
    ) -> Result<u32, AcpiError> {
        Err(AcpiError::NoSuchUnit(UnitId(a.offset as u8)))
    }
    fn unit_scope(
        &mut self,
        _: TaskId,
        _: acpi::UnitScopeArgs,
    ) -> Result<Option<ScopeInfo>, AcpiError> {
        Ok(None)
    }
}

impl pci::Server for FakePci {
    fn config_read(&mut self, _: TaskId, a: pci::ConfigReadArgs) -> Result<u32, PciError> {
        Err(PciError::NoDevice(a.device))
    }
    fn config_write(&mut self, _: TaskId, a: pci::ConfigWriteArgs) -> Result<(), PciError> {
        Err(PciError::NoDevice(a.device))
    }
    fn config_dump(
        &mut self,
        _: TaskId,
        a: pci::ConfigDumpArgs,
        _: idl_runtime::WriteLease<'_>,
    ) -> Result<u16, PciError> {
        Err(PciError::NoDevice(a.device))
    }
    fn enable_bus_master(
        &mut self,
        _: TaskId,
        a: pci::EnableBusMasterArgs,
    ) -> Result<bool, PciError> {
        Err(PciError::NoDevice(a.device))
    }
    fn device_info(&mut self, _: TaskId, a: pci::DeviceInfoArgs) -> Result<DeviceInfo, PciError> {
        self.0.info(a.device).ok_or(PciError::NoDevice(a.device))
    }
    fn next_device(&mut self, _: TaskId, _: pci::NextDeviceArgs) -> Option<Bdf> {
        None
    }
    fn requester_ids(
        &mut self,
        _: TaskId,
        a: pci::RequesterIdsArgs,
    ) -> Result<RequesterIdList, PciError> {
        let ids = self
            .0
            .requester_ids(a.device, a.order)
            .ok_or(PciError::NoDevice(a.device))?;
        Ok(RequesterIdList {
            device: a.device,
            ids,
        })
    }
    fn set_owner(
        &mut self,
        _: TaskId,
        a: pci::SetOwnerArgs,
    ) -> Result<Option<TaskIndex>, PciError> {
        Err(PciError::NoDevice(a.device))
    }
}

impl supervisor::Server for FakeSupervisor {
    fn death_after(&mut self, _: TaskId, a: supervisor::DeathAfterArgs) -> Option<DeathRecord> {
        self.0.borrow().iter().find(|d| d.seq > a.after).copied()
    }
    fn generation_of(&mut self, _: TaskId, _: supervisor::GenerationOfArgs) -> Option<u8> {
        None
    }
}
