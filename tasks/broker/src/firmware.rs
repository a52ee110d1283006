//! The broker as firmware runs it (feature `firmware`): app.toml's system
//! tables in the library's terms, the journal in a `persist` region, and
//! what the task does around the transactions (telling pci the owners after
//! every change, pulling deaths from the supervisor and logging them). The broker task and the
//! fused build (`tasks/fused`) both run it from here; they differ only in
//! the transport their peers are reached through.
//!
//! What a reader must know: at start the library replays an unfinished
//! journal and rebuilds the books from the hardware, so a restarted broker
//! picks up where the last one died.

use config_schema::system::{Device, DeviceRegisters, Domain};
use config_schema::task::Region;
use defmt::{Debug2Format as Dbg, Display2Format as D};
use heapless::Vec;
use idl_runtime::Transport;
use idl_types::{Bdf, DomainId, TaskIndex};

use crate::broker_idl::Endpoint;
use crate::{
    Broker, BrokerServer, Config, DeathHandled, DeviceConfig, DomainConfig, DomainMap, Peers,
    JOURNAL_BYTES, MAX_DEVICES, MAX_DOMAINS, MAX_MAPS,
};

/// Operators app.toml may name.
const MAX_OPERATORS: usize = 8;

/// The journal's store: the persist region's bytes.
pub type Store = &'static mut [u8];

/// app.toml's `config::system` tables, as the generated config gives them.
pub struct SystemConfig<'c> {
    /// The devices.
    pub devices: &'c [Device],
    /// The domains.
    pub domains: &'c [Domain],
    /// Per domain: the vector its devices' interrupts are remapped to.
    pub domain_vectors: &'c [Option<u8>],
    /// Per device: its registers in custody, if any.
    pub device_registers: &'c [Option<DeviceRegisters>],
    /// Domain *i* is `first_domain_id + i`.
    pub first_domain_id: u16,
    /// Task indices that may move any device.
    pub operators: &'c [u16],
    /// DMA faults a device may make per fault interval before quarantine.
    pub fault_budget: u32,
}

/// app.toml's system tables in the library's terms.
pub struct SystemTables {
    devices: Vec<DeviceConfig, MAX_DEVICES>,
    domains: Vec<DomainConfig, MAX_DOMAINS>,
    maps: Vec<DomainMap, MAX_MAPS>,
    operators: Vec<TaskIndex, MAX_OPERATORS>,
    fault_budget: u32,
}

impl SystemTables {
    /// Converts the tables, warning about (and leaving out) what does not fit.
    pub fn new(system: &SystemConfig<'_>) -> SystemTables {
        let mut t = SystemTables {
            devices: Vec::new(),
            domains: Vec::new(),
            maps: Vec::new(),
            operators: Vec::new(),
            fault_budget: system.fault_budget,
        };
        let domain_id = |index: usize| {
            u16::try_from(index)
                .ok()
                .and_then(|i| system.first_domain_id.checked_add(i))
                .map(DomainId)
        };
        for (index, d) in system.devices.iter().enumerate() {
            let (name, initial) = (d.name, d.domain);
            if d.address.segment != 0 {
                defmt::warn!(
                    "broker: {=str} is on segment {=u16}; only 0 is served",
                    name,
                    d.address.segment
                );
                continue;
            }
            let device = DeviceConfig {
                device: Bdf::from_requester_id(d.address.rid),
                initial: initial.and_then(|i| domain_id(usize::from(i))),
                registers: system
                    .device_registers
                    .get(index)
                    .copied()
                    .flatten()
                    .and_then(|_| u16::try_from(index).ok()),
            };
            if t.devices.push(device).is_err() {
                defmt::warn!(
                    "broker: more than {=usize} devices; {=str} left out",
                    MAX_DEVICES,
                    name
                );
            }
        }
        for (i, d) in system.domains.iter().enumerate() {
            let Some(domain) = domain_id(i) else { continue };
            let (name, owner) = (d.name, TaskIndex(d.owner));
            let vector = system.domain_vectors.get(i).copied().flatten();
            let record = DomainConfig {
                domain,
                owner,
                vector,
            };
            if t.domains.push(record).is_err() {
                defmt::warn!(
                    "broker: more than {=usize} domains; {=str} left out",
                    MAX_DOMAINS,
                    name
                );
                continue;
            }
            for m in d.maps {
                let map = DomainMap {
                    domain,
                    iova: m.iova,
                    phys: m.paddr,
                    bytes: m.size,
                };
                if t.maps.push(map).is_err() {
                    defmt::warn!("broker: more than {=usize} domain maps", MAX_MAPS);
                }
            }
        }
        for &op in system.operators {
            if t.operators.push(TaskIndex(op)).is_err() {
                defmt::warn!("broker: more than {=usize} operators", MAX_OPERATORS);
            }
        }
        t
    }
}

/// The journal's persist region (from `config::regions`) as bytes. Call
/// once per task life.
pub fn journal_region(region: Region) -> Store {
    let (va, size) = (region.vaddr, region.size);
    // SAFETY: the caller's app.toml grants the persist region at `va`,
    // `size` bytes, read/write; it is taken once per life and the journal
    // is its only user.
    unsafe { core::slice::from_raw_parts_mut(va as *mut u8, size as usize) }
}

/// The broker plus what the task does around it.
pub struct Running<T: Transport + Clone> {
    /// The IDL endpoint (dispatch for `Broker`).
    pub endpoint: Endpoint<BrokerServer<T, Store>>,
}

/// Starts the broker over `peers` with its journal in `store`: replays an
/// unfinished transaction, rebuilds the books from the hardware, maps the
/// domains' memory and tells pci the owners. Panics if the journal is
/// unusable (the supervisor's restart, with back-off, is the retry).
pub fn start<T: Transport + Clone>(
    peers: Peers<T>,
    store: Store,
    tables: &SystemTables,
) -> Running<T> {
    if store.len() < JOURNAL_BYTES {
        panic!(
            "broker: journal region of {} bytes, need {}",
            store.len(),
            JOURNAL_BYTES
        );
    }
    let config = Config {
        devices: &tables.devices,
        domains: &tables.domains,
        operators: &tables.operators,
        fault_budget: tables.fault_budget,
    };
    let mut broker = match Broker::start_with_memory(peers, store, &config, &tables.maps) {
        Ok(broker) => broker,
        Err(e) => panic!("broker: cannot start: {}", D(&e)),
    };
    #[cfg(feature = "two-step")]
    {
        defmt::warn!("broker: TEST-ONLY two-step moves (clear, then set): RMRRs lose translation");
        broker.set_knobs(crate::Knobs {
            two_step: true,
            ..crate::Knobs::default()
        });
    }
    let stats = broker.stats();
    if stats.memory_map_failures > 0 {
        defmt::error!(
            "broker: the iommu refused {=u32} domain memory range(s)",
            stats.memory_map_failures
        );
    }
    if stats.replays > 0 {
        defmt::warn!(
            "broker: finished {=u32} journaled transaction(s) left by a previous life",
            stats.replays
        );
    }
    let refused = broker.sync_pci_owners();
    if refused > 0 {
        defmt::warn!("broker: pci refused {=u32} owner update(s)", refused);
    }
    for d in broker.books().devices() {
        defmt::info!("broker: {} held by {}", D(&d.device), Dbg(&d.custody));
    }
    Running {
        endpoint: Endpoint(BrokerServer(broker)),
    }
}

impl<T: Transport + Clone> Running<T> {
    /// The broker.
    pub fn broker(&mut self) -> &mut Broker<T, Store> {
        &mut self.endpoint.0 .0
    }

    /// Restarts the task (a deliberate panic; the supervisor restarts it)
    /// if a journal write failed during the last request: the rollback
    /// ran from memory, and only a new life, replaying the journal
    /// against the hardware, brings journal and hardware back in step.
    /// Called before each request, so the failed one got its answer.
    pub fn restart_if_journal_broken(&mut self) {
        if self.broker().journal_broken() {
            panic!("broker: a journal write failed; restarting to replay the journal");
        }
    }

    /// After anything that may have moved a device (or restarted pci):
    /// pci learns the owners that changed (no message if none did).
    pub fn sync_pci(&mut self) {
        let refused = self.broker().sync_pci_owners();
        if refused > 0 {
            defmt::warn!("broker: pci refused {=u32} owner update(s)", refused);
        }
    }

    /// Pulls the supervisor's death records after the journal's cursor
    /// (`Supervisor::death_after`: calls go uphill, so it posts and the
    /// broker asks) and handles each (`Broker::poll_deaths_with`), logging
    /// it; `names` are the image's task names, by index.
    pub fn take_deaths(&mut self, names: &[&str]) {
        let result = self
            .broker()
            .poll_deaths_with(&mut |death| log_death(death, names));
        if let Err(e) = result {
            defmt::warn!("broker: {}", D(&e));
        }
    }

    /// Pulls the iommu's recorded DMA faults into the event stream,
    /// quarantining a device past its fault budget. Only quarantines are
    /// logged: a line per fault would cost the machine more than the fault
    /// (the iommu logs a summary per source).
    pub fn pull_dma_faults(&mut self) {
        let now = userlib::sys_get_timer();
        let budget = self.broker().fault_budget();
        let pulled = self.broker().pull_dma_faults(now);
        for &(device, faults, committed) in pulled.quarantined.iter() {
            if committed {
                defmt::warn!(
                    "broker: {} made {=u32} DMA faults within {=u64} ms (budget {=u32}): quarantined",
                    D(&device),
                    faults,
                    crate::FAULT_INTERVAL_MS,
                    budget
                );
            } else {
                defmt::warn!(
                    "broker: {} made {=u32} DMA faults within {=u64} ms (budget {=u32}), but its quarantine did not commit",
                    D(&device),
                    faults,
                    crate::FAULT_INTERVAL_MS,
                    budget
                );
            }
        }
    }
}

fn log_death(death: &DeathHandled, names: &[&str]) {
    let name = names
        .get(usize::from(death.record.task.0))
        .copied()
        .unwrap_or("?");
    defmt::warn!(
        "broker: {=str} died (death {=u32}, {}, generation {=u8})",
        name,
        death.record.seq,
        Dbg(&death.record.cause),
        death.record.generation
    );
    if death.quarantined > 0 {
        defmt::warn!(
            "broker: {=usize} device(s) of {=str}'s domains quarantined",
            death.quarantined,
            name
        );
    }
    if death.peer.is_some() {
        defmt::info!("broker: books rebuilt after {=str} restarted", name);
    }
}
