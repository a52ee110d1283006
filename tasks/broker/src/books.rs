//! The books: which domain holds each device, which task owns each domain,
//! and what each requester ID's context entry should hold.
//!
//! The books are a cache of the hardware, never the other way round: after
//! any restart they are rebuilt from the iommu's context entries
//! ([`crate::Broker::rebuild_books`]). A bridge alias shared by several
//! legacy devices follows the device moved last, as in Xen, and is
//! recorded under the device that backs it (see `aliases`).

use heapless::Vec;
use idl_types::{Bdf, ContextState, Custody, DomainId, TaskIndex, UnitId};

use crate::facts::DeviceFacts;

/// Devices the books hold (app.toml `[capacity] devices`).
pub const MAX_DEVICES: usize = capacity::DEVICES.value;
/// Domains the books hold (app.toml `[capacity] domains`).
pub const MAX_DOMAINS: usize = capacity::DOMAINS.value;
/// Requester IDs the books track: a device's own, plus the bridge aliases
/// and phantom functions of some of them.
pub const MAX_RIDS: usize = 3 * MAX_DEVICES;

/// One device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    /// The device.
    pub device: Bdf,
    /// Who holds it.
    pub custody: Custody,
    /// Its platform facts, once read.
    pub facts: Option<DeviceFacts>,
    /// The domain it was taken from when that domain's owner died; the
    /// owner may ask for it back.
    pub reclaim_for: Option<DomainId>,
}

/// One domain.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DomainRecord {
    /// The domain.
    pub domain: DomainId,
    /// The task that owns it.
    pub owner: TaskIndex,
}

/// What one requester ID's context entry should hold, and which device put
/// it there.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RidRecord {
    /// The requester ID.
    pub rid: Bdf,
    /// Its unit.
    pub unit: UnitId,
    /// The entry's state.
    pub state: ContextState,
    /// The device whose move wrote it last.
    pub device: Bdf,
}

/// The broker's books.
#[derive(Clone, Debug, Default)]
pub struct Books {
    devices: Vec<DeviceRecord, MAX_DEVICES>,
    domains: Vec<DomainRecord, MAX_DOMAINS>,
    rids: Vec<RidRecord, MAX_RIDS>,
}

impl Books {
    /// Empty books.
    pub fn new() -> Books {
        Books::default()
    }

    /// Adds a device (unassigned); a duplicate or a full table is ignored
    /// and reported as `false`.
    pub fn add_device(&mut self, device: Bdf) -> bool {
        if self.device(device).is_some() {
            return false;
        }
        self.devices
            .push(DeviceRecord {
                device,
                custody: Custody::Unassigned,
                facts: None,
                reclaim_for: None,
            })
            .is_ok()
    }

    /// Adds a domain; a duplicate or a full table is reported as `false`.
    pub fn add_domain(&mut self, domain: DomainId, owner: TaskIndex) -> bool {
        if self.domain(domain).is_some() {
            return false;
        }
        self.domains.push(DomainRecord { domain, owner }).is_ok()
    }

    /// Every device.
    pub fn devices(&self) -> &[DeviceRecord] {
        &self.devices
    }

    /// Every domain.
    pub fn domains(&self) -> &[DomainRecord] {
        &self.domains
    }

    /// Every tracked requester ID.
    pub fn rids(&self) -> &[RidRecord] {
        &self.rids
    }

    /// One device.
    pub fn device(&self, device: Bdf) -> Option<&DeviceRecord> {
        self.devices.iter().find(|d| d.device == device)
    }

    /// One device, mutably.
    pub fn device_mut(&mut self, device: Bdf) -> Option<&mut DeviceRecord> {
        self.devices.iter_mut().find(|d| d.device == device)
    }

    /// One domain.
    pub fn domain(&self, domain: DomainId) -> Option<&DomainRecord> {
        self.domains.iter().find(|d| d.domain == domain)
    }

    /// What the books say a requester ID holds (not tracked: not present).
    pub fn rid_state(&self, rid: Bdf) -> ContextState {
        self.rids
            .iter()
            .find(|r| r.rid == rid)
            .map_or(ContextState::NotPresent, |r| r.state)
    }

    /// The record of a requester ID.
    pub fn rid(&self, rid: Bdf) -> Option<&RidRecord> {
        self.rids.iter().find(|r| r.rid == rid)
    }

    /// Records what a requester ID holds now.
    pub fn set_rid(&mut self, record: RidRecord) {
        match self.rids.iter_mut().find(|r| r.rid == record.rid) {
            Some(slot) => *slot = record,
            None => {
                // MAX_RIDS covers MAX_DEVICES' worst case in practice; a
                // rid that does not fit is re-read from hardware on demand.
                let _ = self.rids.push(record);
            }
        }
    }

    /// Sets a device's custody.
    pub fn set_custody(&mut self, device: Bdf, custody: Custody) {
        if let Some(d) = self.device_mut(device) {
            d.custody = custody;
        }
    }

    /// Devices of `domain` behind `unit` other than `except`. A device
    /// whose facts were never read counts (it may be behind the unit): the
    /// Xen's SINGLE_DEVICE only silences a warning, so it must not be
    /// claimed on a guess.
    pub fn others_behind_unit(&self, domain: DomainId, unit: UnitId, except: Bdf) -> usize {
        self.devices
            .iter()
            .filter(|d| d.device != except && d.custody == Custody::Domain(domain))
            .filter(|d| d.facts.as_ref().is_none_or(|f| f.unit == unit))
            .count()
    }

    /// The RMRRs of the devices of `domain` other than `except`: what the
    /// domain must keep identity-mapped for them.
    pub fn domain_rmrrs(
        &self,
        domain: DomainId,
        except: Option<Bdf>,
    ) -> impl Iterator<Item = &idl_types::MemRange> + '_ {
        self.devices
            .iter()
            .filter(move |d| Some(d.device) != except && d.custody == Custody::Domain(domain))
            .filter_map(|d| d.facts.as_ref())
            .flat_map(|f| f.rmrrs.iter())
    }

    /// Domains owned by `task`.
    pub fn domains_of(&self, task: TaskIndex) -> impl Iterator<Item = DomainId> + '_ {
        self.domains
            .iter()
            .filter(move |d| d.owner == task)
            .map(|d| d.domain)
    }

    /// Devices held by `domain`.
    pub fn devices_of(&self, domain: DomainId) -> impl Iterator<Item = Bdf> + '_ {
        self.devices
            .iter()
            .filter(move |d| d.custody == Custody::Domain(domain))
            .map(|d| d.device)
    }

    /// Forgets every requester ID record (before a rebuild).
    pub fn clear_rids(&mut self) {
        self.rids.clear();
    }
}
