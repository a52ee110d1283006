//! Small working servers for the six system interfaces: enough state that
//! the compensation and restart tests can see an operation and its undo,
//! and total (never panicking) for the fuzz test.

use std::collections::{BTreeMap, BTreeSet};

use idl_runtime::abi::TaskId;
use idl_runtime::{ReadLease, WriteLease};
use idl_tests::{acpi, broker, domid, iommu, pci, supervisor};
use idl_types::*;

/// domid: DIDs per (unit, domain), counted by the set of devices.
#[derive(Default)]
pub struct Domid {
    pub held: BTreeMap<(u8, u16), (Did, BTreeSet<Bdf>)>,
    pub quarantine: BTreeMap<(u8, Bdf), Did>,
    pub next: u16,
}

impl Domid {
    fn fresh(&mut self) -> Did {
        self.next = self.next.wrapping_add(1).max(1);
        Did(self.next)
    }
}

impl domid::Server for Domid {
    fn acquire(&mut self, _c: TaskId, a: domid::AcquireArgs) -> Result<DidGrant, DomidError> {
        if a.unit.0 > 3 {
            return Err(DomidError::NoSuchUnit(a.unit));
        }
        if let Some((did, devices)) = self.held.get_mut(&(a.unit.0, a.domain.0)) {
            let counted = devices.insert(a.device);
            return Ok(DidGrant {
                did: *did,
                fresh: false,
                counted,
            });
        }
        let did = self.fresh();
        self.held
            .insert((a.unit.0, a.domain.0), (did, BTreeSet::from([a.device])));
        Ok(DidGrant {
            did,
            fresh: true,
            counted: true,
        })
    }

    fn release(&mut self, _c: TaskId, a: domid::ReleaseArgs) -> Result<DidRelease, DomidError> {
        let key = (a.unit.0, a.domain.0);
        let Some((did, devices)) = self.held.get_mut(&key) else {
            return Ok(DidRelease::NotCounted);
        };
        let did = *did;
        if !devices.remove(&a.device) {
            return Ok(DidRelease::NotCounted);
        }
        if devices.is_empty() {
            self.held.remove(&key);
            return Ok(DidRelease::Freed(did));
        }
        Ok(DidRelease::Kept {
            did,
            remaining: devices.len() as u16,
        })
    }

    fn lookup(&mut self, _c: TaskId, a: domid::LookupArgs) -> Result<Option<Did>, DomidError> {
        Ok(self.held.get(&(a.unit.0, a.domain.0)).map(|(d, _)| *d))
    }

    fn owner_of(
        &mut self,
        _c: TaskId,
        a: domid::OwnerOfArgs,
    ) -> Result<Option<DidHolder>, DomidError> {
        Ok(self
            .held
            .iter()
            .find(|((u, _), (d, _))| *u == a.unit.0 && *d == a.did)
            .map(|((_, dom), _)| DidHolder::Domain(DomainId(*dom))))
    }

    fn acquire_quarantine(
        &mut self,
        _c: TaskId,
        a: domid::AcquireQuarantineArgs,
    ) -> Result<DidGrant, DomidError> {
        if let Some(did) = self.quarantine.get(&(a.unit.0, a.device)) {
            return Ok(DidGrant {
                did: *did,
                fresh: false,
                counted: false,
            });
        }
        let did = self.fresh();
        self.quarantine.insert((a.unit.0, a.device), did);
        Ok(DidGrant {
            did,
            fresh: true,
            counted: true,
        })
    }

    fn release_quarantine(
        &mut self,
        _c: TaskId,
        a: domid::ReleaseQuarantineArgs,
    ) -> Result<DidRelease, DomidError> {
        Ok(self
            .quarantine
            .remove(&(a.unit.0, a.device))
            .map_or(DidRelease::NotCounted, DidRelease::Freed))
    }

    fn rebuild(
        &mut self,
        _c: TaskId,
        _a: domid::RebuildArgs,
        records: ReadLease<'_>,
    ) -> Result<u16, DomidError> {
        let mut bytes = [0u8; 4090];
        let len = records.len().min(bytes.len());
        records
            .read(0, &mut bytes[..len])
            .map_err(|_| DomidError::LeaseFailed)?;
        self.held.clear();
        self.quarantine.clear();
        let mut count = 0u16;
        for (index, record) in RebuildRecord::decode_all(&bytes[..len]).enumerate() {
            let record = record.map_err(|cause| DomidError::BadRebuildRecord {
                index: index as u16,
                cause,
            })?;
            match record.owner {
                RebuildOwner::Domain(domain) => {
                    let entry = self
                        .held
                        .entry((record.unit.0, domain.0))
                        .or_insert((record.did, BTreeSet::new()));
                    entry.1.insert(record.device);
                }
                RebuildOwner::Quarantine => {
                    self.quarantine
                        .insert((record.unit.0, record.device), record.did);
                }
            }
            count += 1;
        }
        Ok(count)
    }

    fn configure_unit(
        &mut self,
        _c: TaskId,
        a: domid::ConfigureUnitArgs,
    ) -> Result<u32, DomidError> {
        if a.nd >= 7 {
            return Err(DomidError::ReservedDomainCount(a.unit));
        }
        Ok(1u32 << (4 + 2 * u32::from(a.nd)))
    }

    fn is_rebuilt(&mut self, _c: TaskId, _a: domid::IsRebuiltArgs) -> bool {
        true
    }

    fn devices_of(&mut self, _c: TaskId, a: domid::DevicesOfArgs) -> Result<u16, DomidError> {
        Ok(self
            .held
            .get(&(a.unit.0, a.domain.0))
            .map_or(0, |(_, d)| d.len() as u16))
    }

    fn dids_in_use(&mut self, _c: TaskId, a: domid::DidsInUseArgs) -> Result<u32, DomidError> {
        let domains = self.held.keys().filter(|(u, _)| *u == a.unit.0).count();
        let pseudo = self
            .quarantine
            .keys()
            .filter(|(u, _)| *u == a.unit.0)
            .count();
        Ok((domains + pseudo) as u32)
    }
}

/// iommu: context entries per requester ID, domains and their mappings.
#[derive(Default)]
pub struct Iommu {
    pub contexts: BTreeMap<Bdf, ContextState>,
    pub domains: BTreeMap<u16, BTreeMap<u64, u64>>,
    pub faults: u32,
    pub irtes: BTreeMap<u16, InterruptRoute>,
}

/// Entries in the fake's interrupt-remapping table.
const FAKE_IRT_ENTRIES: u16 = 16;

impl Iommu {
    fn change(
        &mut self,
        rid: Bdf,
        entry: ContextState,
        mode: ReassignMode,
    ) -> Result<ContextChange, IommuError> {
        if !mode.is_valid() {
            return Err(IommuError::BadMode(mode.0));
        }
        if let ContextState::Domain { domain, .. } = entry {
            if !self.domains.contains_key(&domain.0) {
                return Err(IommuError::NoSuchDomain(domain));
            }
        }
        let previous = match entry {
            ContextState::NotPresent => self.contexts.remove(&rid),
            _ => self.contexts.insert(rid, entry),
        };
        Ok(ContextChange {
            previous: previous.unwrap_or(ContextState::NotPresent),
            atomic: true,
        })
    }
}

impl iommu::Server for Iommu {
    fn create_domain(&mut self, _c: TaskId, a: iommu::CreateDomainArgs) -> Result<(), IommuError> {
        if self.domains.contains_key(&a.domain.0) {
            return Err(IommuError::DomainExists(a.domain));
        }
        self.domains.insert(a.domain.0, BTreeMap::new());
        Ok(())
    }

    fn destroy_domain(
        &mut self,
        _c: TaskId,
        a: iommu::DestroyDomainArgs,
    ) -> Result<(), IommuError> {
        let in_use = self
            .contexts
            .values()
            .any(|c| matches!(c, ContextState::Domain { domain, .. } if *domain == a.domain));
        if in_use {
            return Err(IommuError::DomainInUse(a.domain));
        }
        self.domains
            .remove(&a.domain.0)
            .map(|_| ())
            .ok_or(IommuError::NoSuchDomain(a.domain))
    }

    fn map_range(&mut self, _c: TaskId, a: iommu::MapRangeArgs) -> Result<PageRange, IommuError> {
        let bad = IommuError::BadRange {
            iova: a.iova,
            pages: a.pages,
        };
        if a.iova & 0xfff != 0 || a.pages == 0 || a.pages > 512 {
            return Err(bad);
        }
        let table = self
            .domains
            .get_mut(&a.domain.0)
            .ok_or(IommuError::NoSuchDomain(a.domain))?;
        for page in 0..u64::from(a.pages) {
            let iova = a.iova.checked_add(page << 12).ok_or(bad)?;
            table.insert(iova, a.phys.wrapping_add(page << 12));
        }
        Ok(PageRange {
            iova: a.iova,
            pages: a.pages,
        })
    }

    fn unmap_range(&mut self, _c: TaskId, a: iommu::UnmapRangeArgs) -> Result<(), IommuError> {
        let table = self
            .domains
            .get_mut(&a.domain.0)
            .ok_or(IommuError::NoSuchDomain(a.domain))?;
        for page in 0..u64::from(a.range.pages.min(512)) {
            table.remove(&a.range.iova.wrapping_add(page << 12));
        }
        Ok(())
    }

    fn set_context(
        &mut self,
        _c: TaskId,
        a: iommu::SetContextArgs,
    ) -> Result<ContextChange, IommuError> {
        self.change(a.rid, a.entry, a.mode)
    }

    fn clear_context(
        &mut self,
        _c: TaskId,
        a: iommu::ClearContextArgs,
    ) -> Result<ContextChange, IommuError> {
        self.change(a.rid, ContextState::NotPresent, a.mode)
    }

    fn get_context(
        &mut self,
        _c: TaskId,
        a: iommu::GetContextArgs,
    ) -> Result<HardwareContext, IommuError> {
        let state = self
            .contexts
            .get(&a.rid)
            .copied()
            .unwrap_or(ContextState::NotPresent);
        let owner = match state {
            ContextState::NotPresent => EntryOwner::NotPresent,
            ContextState::Domain { domain, .. } => EntryOwner::Domain(domain),
            ContextState::Quarantine { .. } => EntryOwner::Quarantine,
        };
        Ok(HardwareContext {
            unit: a.unit,
            rid: a.rid,
            did: state.did().unwrap_or(Did(0)),
            root: 0,
            owner,
        })
    }

    fn quarantine_device(
        &mut self,
        _c: TaskId,
        a: iommu::QuarantineDeviceArgs,
    ) -> Result<ContextChange, IommuError> {
        self.change(a.rid, ContextState::Quarantine { did: a.did }, a.mode)
    }

    fn pull_faults(
        &mut self,
        _c: TaskId,
        _a: iommu::PullFaultsArgs,
    ) -> Result<FaultBatch, IommuError> {
        self.faults = self.faults.wrapping_add(1);
        Ok(FaultBatch {
            records: heapless::Vec::new(),
            pending: 0,
            lost: self.faults,
        })
    }

    fn list_contexts(
        &mut self,
        c: TaskId,
        a: iommu::ListContextsArgs,
    ) -> Result<ContextPage, IommuError> {
        let mut entries = heapless::Vec::new();
        let mut next = None;
        let rids: Vec<Bdf> = self
            .contexts
            .keys()
            .filter(|rid| a.after.is_none_or(|after| **rid > after))
            .copied()
            .collect();
        for rid in rids {
            let args = iommu::GetContextArgs { unit: a.unit, rid };
            let entry = iommu::Server::get_context(self, c, args)?;
            if entries.push(entry).is_err() {
                break;
            }
            next = Some(rid);
        }
        Ok(ContextPage { entries, next })
    }

    fn unit_caps(&mut self, _c: TaskId, a: iommu::UnitCapsArgs) -> Result<UnitCaps, IommuError> {
        Ok(UnitCaps {
            unit: a.unit,
            nd: 2,
            caching_mode: true,
            levels: 3,
            queued_invalidation: true,
            atomic_context: true,
        })
    }

    fn unit_count(&mut self, _c: TaskId, _a: iommu::UnitCountArgs) -> u8 {
        1
    }

    fn counters(
        &mut self,
        _c: TaskId,
        a: iommu::CountersArgs,
    ) -> Result<IommuCounters, IommuError> {
        Err(IommuError::NoSuchUnit(a.unit))
    }

    fn set_irte(
        &mut self,
        _c: TaskId,
        a: iommu::SetIrteArgs,
    ) -> Result<InterruptChange, IommuError> {
        if a.handle >= FAKE_IRT_ENTRIES {
            return Err(IommuError::NoSuchIrte {
                unit: a.unit,
                handle: a.handle,
            });
        }
        let previous = match a.route {
            InterruptRoute::Blocked => self.irtes.remove(&a.handle),
            route => self.irtes.insert(a.handle, route),
        };
        Ok(InterruptChange {
            previous: previous.unwrap_or(InterruptRoute::Blocked),
            atomic: true,
        })
    }

    fn get_irte(
        &mut self,
        _c: TaskId,
        a: iommu::GetIrteArgs,
    ) -> Result<InterruptRoute, IommuError> {
        Ok(self
            .irtes
            .get(&a.handle)
            .copied()
            .unwrap_or(InterruptRoute::Blocked))
    }

    fn interrupt_entries(
        &mut self,
        _c: TaskId,
        _a: iommu::InterruptEntriesArgs,
    ) -> Result<u16, IommuError> {
        Ok(FAKE_IRT_ENTRIES)
    }
}

/// acpi: two units, unit 1 covering bus 0 device 3, one RMRR on 00:02.0.
#[derive(Default)]
pub struct Acpi;

impl acpi::Server for Acpi {
    fn unit_count(&mut self, _c: TaskId, _a: acpi::UnitCountArgs) -> u8 {
        2
    }

    fn unit_info(&mut self, _c: TaskId, a: acpi::UnitInfoArgs) -> Result<UnitInfo, AcpiError> {
        if a.unit.0 >= 2 {
            return Err(AcpiError::NoSuchUnit(a.unit));
        }
        Ok(UnitInfo {
            unit: a.unit,
            segment: 0,
            register_base: 0xfed9_0000 + (u64::from(a.unit.0) << 12),
            include_all: a.unit.0 == 0,
        })
    }

    fn unit_of(&mut self, _c: TaskId, a: acpi::UnitOfArgs) -> Result<UnitId, AcpiError> {
        Ok(UnitId(u8::from(a.device.bus == 0 && a.device.device == 3)))
    }

    fn rmrrs_of(&mut self, _c: TaskId, a: acpi::RmrrsOfArgs) -> Result<RmrrList, AcpiError> {
        let mut ranges = heapless::Vec::new();
        if a.device.bus == 0 && a.device.device == 2 {
            let _ = ranges.push(MemRange {
                base: 0x7c00_0000,
                end: 0x7c0f_ffff,
            });
        }
        Ok(RmrrList {
            device: a.device,
            ranges,
        })
    }

    fn read_dmar(
        &mut self,
        _c: TaskId,
        a: acpi::ReadDmarArgs,
        out: WriteLease<'_>,
    ) -> Result<u32, AcpiError> {
        let table = *b"DMAR\x50\0\0\0\x01";
        let start = (a.offset as usize).min(table.len());
        let n = (table.len() - start).min(out.len());
        out.write(0, &table[start..start + n])
            .map_err(|_| AcpiError::NoSuchUnit(UnitId(0)))?;
        Ok(table.len() as u32)
    }

    fn unit_scope(
        &mut self,
        _c: TaskId,
        a: acpi::UnitScopeArgs,
    ) -> Result<Option<ScopeInfo>, AcpiError> {
        Ok((a.unit.0 == 1 && a.index == 0).then_some(ScopeInfo {
            kind: ScopeKind::PciEndpoint,
            resolved: ResolvedScope::Device(Bdf {
                bus: 0,
                device: 3,
                function: 0,
            }),
        }))
    }
}

/// pci: devices 00:00.0 to 00:04.0, with a bus-master bit each.
#[derive(Default)]
pub struct Pci {
    pub bus_master: BTreeMap<Bdf, bool>,
    pub owners: BTreeMap<Bdf, TaskIndex>,
    pub msi: BTreeMap<Bdf, u16>,
}

fn present(d: Bdf) -> Result<(), PciError> {
    if d.bus == 0 && d.device <= 4 && d.function == 0 {
        Ok(())
    } else {
        Err(PciError::NoDevice(d))
    }
}

impl pci::Server for Pci {
    fn config_read(&mut self, _c: TaskId, a: pci::ConfigReadArgs) -> Result<u32, PciError> {
        present(a.device)?;
        if !a.offset.is_multiple_of(a.width.bytes()) || a.offset >= 4096 {
            return Err(PciError::BadOffset {
                offset: a.offset,
                width: a.width.bytes() as u8,
            });
        }
        Ok(u32::from(a.device.device) << 16 | 0x8086)
    }

    fn config_write(&mut self, _c: TaskId, a: pci::ConfigWriteArgs) -> Result<(), PciError> {
        present(a.device)
    }

    fn config_dump(
        &mut self,
        _c: TaskId,
        a: pci::ConfigDumpArgs,
        out: WriteLease<'_>,
    ) -> Result<u16, PciError> {
        present(a.device)?;
        let bytes = [a.device.device; 64];
        let n = out.len().min(bytes.len());
        out.write(0, &bytes[..n])
            .map_err(|_| PciError::NotOwner(a.device))?;
        Ok(n as u16)
    }

    fn enable_bus_master(
        &mut self,
        _c: TaskId,
        a: pci::EnableBusMasterArgs,
    ) -> Result<bool, PciError> {
        present(a.device)?;
        Ok(self.bus_master.insert(a.device, a.enable).unwrap_or(false))
    }

    fn device_info(&mut self, _c: TaskId, a: pci::DeviceInfoArgs) -> Result<DeviceInfo, PciError> {
        present(a.device)?;
        Ok(DeviceInfo {
            device: a.device,
            vendor: 0x1234,
            device_id: 0x11e8,
            kind: DeviceKind::Endpoint,
            upstream_bridge: None,
            secondary_bus: None,
            phantom_stride: 0,
        })
    }

    fn next_device(&mut self, _c: TaskId, a: pci::NextDeviceArgs) -> Option<Bdf> {
        let next = a.after.map_or(0, |d| d.device.saturating_add(1));
        let candidate = Bdf {
            bus: 0,
            device: next,
            function: 0,
        };
        present(candidate).ok().map(|()| candidate)
    }

    fn requester_ids(
        &mut self,
        _c: TaskId,
        a: pci::RequesterIdsArgs,
    ) -> Result<RequesterIdList, PciError> {
        present(a.device)?;
        let mut ids = heapless::Vec::new();
        let _ = ids.push(a.device);
        Ok(RequesterIdList {
            device: a.device,
            ids,
        })
    }

    fn program_msi(&mut self, _c: TaskId, a: pci::ProgramMsiArgs) -> Result<(), PciError> {
        present(a.device)?;
        self.msi.insert(a.device, a.handle);
        Ok(())
    }

    fn set_owner(
        &mut self,
        _c: TaskId,
        a: pci::SetOwnerArgs,
    ) -> Result<Option<TaskIndex>, PciError> {
        present(a.device)?;
        Ok(match a.owner {
            Some(owner) => self.owners.insert(a.device, owner),
            None => self.owners.remove(&a.device),
        })
    }
}

/// broker: a book of devices, answering queries; moves are refused as busy.
#[derive(Default)]
pub struct Broker {
    pub events: u32,
}

fn report() -> ReassignReport {
    ReassignReport {
        previous: ContextState::NotPresent,
        current: ContextState::NotPresent,
        atomic: true,
    }
}

impl broker::Server for Broker {
    fn list_devices(&mut self, _c: TaskId, a: broker::ListDevicesArgs) -> DevicePage {
        let mut entries = heapless::Vec::new();
        for i in a.start..a.start.saturating_add(3).min(5) {
            let _ = entries.push(DeviceEntry {
                device: Bdf::from_requester_id(i << 3),
                custody: Custody::Domain(DomainId(i)),
                has_rmrr: i == 2,
            });
        }
        DevicePage {
            entries,
            next: (a.start < 2).then_some(a.start + 3),
        }
    }

    fn list_domains(&mut self, _c: TaskId, _a: broker::ListDomainsArgs) -> DomainPage {
        DomainPage {
            entries: heapless::Vec::new(),
            next: None,
        }
    }

    fn assign(
        &mut self,
        _c: TaskId,
        _a: broker::AssignArgs,
    ) -> Result<ReassignReport, BrokerError> {
        Ok(report())
    }

    fn reassign(
        &mut self,
        _c: TaskId,
        a: broker::ReassignArgs,
    ) -> Result<ReassignReport, BrokerError> {
        if a.target.0 == 0 {
            return Err(BrokerError::UnknownDomain(a.target));
        }
        Err(BrokerError::RolledBack {
            device: a.device,
            step: 3,
        })
    }

    fn quarantine(
        &mut self,
        _c: TaskId,
        _a: broker::QuarantineArgs,
    ) -> Result<ReassignReport, BrokerError> {
        Err(BrokerError::Busy)
    }

    fn release(
        &mut self,
        _c: TaskId,
        a: broker::ReleaseArgs,
    ) -> Result<ReassignReport, BrokerError> {
        Err(BrokerError::UnknownDevice(a.device))
    }

    fn tx_status(&mut self, _c: TaskId, _a: broker::TxStatusArgs) -> TxStatus {
        TxStatus::Idle
    }

    fn event_after(&mut self, _c: TaskId, a: broker::EventAfterArgs) -> Option<SequencedEvent> {
        (a.after < self.events).then_some(SequencedEvent {
            seq: a.after + 1,
            event: BrokerEvent::OwnerDied {
                domain: DomainId(1),
            },
        })
    }

    fn stats(&mut self, _c: TaskId, _a: broker::StatsArgs) -> BrokerCounters {
        BrokerCounters::default()
    }
}

/// supervisor: a list of recorded deaths.
#[derive(Default)]
pub struct Supervisor {
    pub deaths: Vec<DeathRecord>,
}

impl supervisor::Server for Supervisor {
    fn death_after(&mut self, _c: TaskId, a: supervisor::DeathAfterArgs) -> Option<DeathRecord> {
        self.deaths.iter().find(|d| d.seq > a.after).copied()
    }

    fn generation_of(&mut self, _c: TaskId, a: supervisor::GenerationOfArgs) -> Option<u8> {
        self.deaths
            .iter()
            .rev()
            .find(|d| d.task == a.task)
            .map(|d| d.generation)
    }

    fn task_report(
        &mut self,
        _c: TaskId,
        a: supervisor::TaskReportArgs,
    ) -> Result<idl_types::TaskReport, idl_types::SupervisorError> {
        Err(idl_types::SupervisorError::NoSuchTask(a.task))
    }

    fn message_count(
        &mut self,
        _c: TaskId,
        a: supervisor::MessageCountArgs,
    ) -> Result<u32, idl_types::SupervisorError> {
        Ok(u32::from(a.task.0))
    }

    fn shutdown(&mut self, _c: TaskId, _a: supervisor::ShutdownArgs) {}

    fn fault_task(
        &mut self,
        _c: TaskId,
        a: supervisor::FaultTaskArgs,
    ) -> Result<(), idl_types::SupervisorError> {
        Err(idl_types::SupervisorError::NotInjectable(a.task))
    }

    fn arm_fault(
        &mut self,
        _c: TaskId,
        a: supervisor::ArmFaultArgs,
    ) -> Result<(), idl_types::SupervisorError> {
        Err(idl_types::SupervisorError::NoSuchTask(a.task))
    }
}
