//! The broker task: serves `Broker` over the kernel's IPC, with its journal
//! in a `persist` region (`broker-journal`) and its peers (acpi, domid,
//! iommu, pci, supervisor) reached through `config::slots`.
//!
//! Two things a reader must know:
//! - Everything it manages comes from app.toml's system tables: devices
//!   (`config::system::DEVICES`), domains with their owners and memory
//!   (`DOMAINS`, domain *i* is `FIRST_DOMAIN_ID + i`), operators. At start
//!   the library replays an unfinished journal and rebuilds the books from
//!   the hardware, so a restarted broker picks up where the last one died.
//! - Two notifications wake it: `death` (the supervisor, app.toml `notify`,
//!   after a task faulted: the broker asks which with the supervisor's raw
//!   `OP_TAKE_DEATH`, since calls go uphill) and `dma-fault` (the iommu
//!   recorded DMA faults: the broker pulls them into its event stream).
#![no_std]
#![no_main]

use defmt::{Debug2Format as Dbg, Display2Format as D};
use heapless::Vec;
use idl_runtime::abi::TaskId;
use idl_runtime::{Call, Dispatch, DispatchOutcome, KernelTransport, ServerContext};
use idl_types::{Bdf, DomainId, TaskIndex};
use task_broker::broker_idl::Endpoint;
use task_broker::{
    Broker, BrokerServer, Config, DeviceConfig, DomainConfig, DomainMap, Peer, PeerIds, Peers,
    JOURNAL_BYTES, MAX_DEVICES, MAX_DOMAINS,
};
use task_supervisor::protocol::{NO_TASK, OP_TAKE_DEATH};
use userlib::*;

task_config!();

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// Domain memory ranges app.toml may declare in all.
const MAX_MAPS: usize = 32;
/// Deaths taken per notification (the supervisor keeps the rest flagged).
const MAX_DEATHS: usize = 16;

type Store = &'static mut [u8];
type Server = BrokerServer<KernelTransport, Store>;

/// The broker plus what the task does around it: notifications, and
/// telling pci who owns what after every change of custody.
struct Task {
    endpoint: Endpoint<Server>,
    /// Transactions seen committed or rolled back (a change to sync).
    changes: u32,
}

impl Task {
    fn broker(&mut self) -> &mut Broker<KernelTransport, Store> {
        &mut self.endpoint.0 .0
    }

    /// After anything that may have moved a device: pci learns the owners.
    fn sync_if_changed(&mut self) {
        let s = self.broker().stats();
        let changes = s.committed + s.rolled_back + s.rollback_failures;
        if changes != self.changes {
            self.changes = changes;
            let refused = self.broker().sync_pci_owners();
            if refused > 0 {
                defmt::warn!("broker: pci refused {=u32} owner update(s)", refused);
            }
        }
    }

    /// Asks the supervisor which tasks died, one at a time.
    fn take_deaths(&mut self) {
        for _ in 0..MAX_DEATHS {
            let mut reply = [0u8; 2];
            let supervisor = sys_refresh_task_id(config::slots::SUPERVISOR);
            let (rc, len) = sys_send(supervisor, OP_TAKE_DEATH, &[], &mut reply, &[]);
            if rc != 0 || len != reply.len() {
                defmt::warn!(
                    "broker: the supervisor did not say who died (code {=u32})",
                    rc
                );
                return;
            }
            let task = u16::from_le_bytes(reply);
            if task == NO_TASK {
                return;
            }
            self.death(TaskIndex(task));
        }
    }

    fn death(&mut self, task: TaskIndex) {
        let name = NAMES.get(usize::from(task.0)).copied().unwrap_or("?");
        defmt::warn!("broker: {=str} died", name);
        let moved = self.broker().owner_died(task);
        if moved > 0 {
            defmt::warn!(
                "broker: {=usize} device(s) of {=str}'s domains quarantined",
                moved,
                name
            );
        }
        if let Some(peer) = peer_of(task) {
            // Its memory is fresh: re-read the hardware (and re-seed domid).
            self.broker().peer_restarted(peer);
            defmt::info!("broker: books rebuilt after {=str} restarted", name);
        }
    }
}

/// Which peer a task is, if it is one whose restart the books care about.
fn peer_of(task: TaskIndex) -> Option<Peer> {
    let is = |slot: TaskId| slot.index() == usize::from(task.0);
    if is(config::slots::IOMMU) {
        Some(Peer::Iommu)
    } else if is(config::slots::DOMID) {
        Some(Peer::Domid)
    } else if is(config::slots::PCI) {
        Some(Peer::Pci)
    } else if is(config::slots::ACPI) {
        Some(Peer::Acpi)
    } else {
        None
    }
}

impl Dispatch for Task {
    fn dispatch(
        &mut self,
        call: &Call<'_>,
        ctx: &dyn ServerContext,
        reply: &mut [u8],
    ) -> DispatchOutcome {
        let outcome = self.endpoint.dispatch(call, ctx, reply);
        // Before the reply goes out, so the caller may drive its device.
        self.sync_if_changed();
        outcome
    }

    fn notification_mask(&self) -> u32 {
        config::notifications::DEATH | config::notifications::DMA_FAULT
    }

    fn notified(&mut self, bits: u32) {
        if bits & config::notifications::DEATH != 0 {
            self.take_deaths();
        }
        if bits & config::notifications::DMA_FAULT != 0 {
            let n = self.broker().pull_dma_faults();
            defmt::info!("broker: {=usize} DMA fault(s) added to the event stream", n);
        }
        self.sync_if_changed();
    }
}

/// The journal's persist region as bytes.
fn journal_region() -> Store {
    let (va, _, size) = config::regions::BROKER_JOURNAL;
    // SAFETY: app.toml grants this task the persist region at `va`, `size`
    // bytes, read/write; `main` calls this once per life and the journal is
    // its only user.
    unsafe { core::slice::from_raw_parts_mut(va as *mut u8, size as usize) }
}

/// app.toml's system tables in the library's terms.
struct SystemTables {
    devices: Vec<DeviceConfig, MAX_DEVICES>,
    domains: Vec<DomainConfig, MAX_DOMAINS>,
    maps: Vec<DomainMap, MAX_MAPS>,
    operators: Vec<TaskIndex, 8>,
}

fn domain_id(index: usize) -> Option<DomainId> {
    u16::try_from(index)
        .ok()
        .and_then(|i| config::system::FIRST_DOMAIN_ID.checked_add(i))
        .map(DomainId)
}

fn system_tables() -> SystemTables {
    let mut t = SystemTables {
        devices: Vec::new(),
        domains: Vec::new(),
        maps: Vec::new(),
        operators: Vec::new(),
    };
    for (name, segment, rid, initial) in config::system::DEVICES {
        if segment != 0 {
            defmt::warn!(
                "broker: {=str} is on segment {=u16}; only 0 is served",
                name,
                segment
            );
            continue;
        }
        let device = DeviceConfig {
            device: Bdf::from_requester_id(rid),
            initial: initial.and_then(|i| domain_id(usize::from(i))),
        };
        if t.devices.push(device).is_err() {
            defmt::warn!(
                "broker: more than {=usize} devices; {=str} left out",
                MAX_DEVICES,
                name
            );
        }
    }
    for (i, (name, owner, maps)) in config::system::DOMAINS.iter().enumerate() {
        let Some(domain) = domain_id(i) else { continue };
        let owner = TaskIndex(*owner);
        if t.domains.push(DomainConfig { domain, owner }).is_err() {
            defmt::warn!(
                "broker: more than {=usize} domains; {=str} left out",
                MAX_DOMAINS,
                name
            );
            continue;
        }
        for &(iova, phys, bytes) in maps.iter() {
            let map = DomainMap {
                domain,
                iova,
                phys,
                bytes,
            };
            if t.maps.push(map).is_err() {
                defmt::warn!("broker: more than {=usize} domain maps", MAX_MAPS);
            }
        }
    }
    for op in config::system::OPERATORS {
        let _ = t.operators.push(TaskIndex(op));
    }
    t
}

fn log_books(broker: &Broker<KernelTransport, Store>) {
    for d in broker.books().devices() {
        defmt::info!("broker: {} held by {}", D(&d.device), Dbg(&d.custody));
    }
}

#[export_name = "main"]
fn main() -> ! {
    let store = journal_region();
    if store.len() < JOURNAL_BYTES {
        panic!(
            "broker: journal region of {} bytes, need {}",
            store.len(),
            JOURNAL_BYTES
        );
    }
    let tables = system_tables();
    let config = Config {
        devices: &tables.devices,
        domains: &tables.domains,
        operators: &tables.operators,
    };
    let transport = KernelTransport::new(&NAMES);
    let ids = PeerIds {
        acpi: config::slots::ACPI,
        domid: config::slots::DOMID,
        iommu: config::slots::IOMMU,
        pci: config::slots::PCI,
        supervisor: config::slots::SUPERVISOR,
    };
    let mut broker =
        match Broker::start_with_memory(Peers::new(transport, ids), store, &config, &tables.maps) {
            Ok(broker) => broker,
            // Without its journal the broker cannot promise anything; the
            // supervisor's restart (with back-off) is the retry.
            Err(e) => panic!("broker: cannot start: {}", D(&e)),
        };
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
    log_books(&broker);
    // Deaths that happened while no broker listened.
    let mut task = Task {
        endpoint: Endpoint(BrokerServer(broker)),
        changes: stats.committed + stats.rolled_back + stats.rollback_failures,
    };
    task.take_deaths();
    task.sync_if_changed();
    let mut server_transport = transport;
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut server_transport, &mut task, &mut buf)
}
