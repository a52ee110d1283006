//! The broker task: serves `Broker` over the kernel's IPC, with its journal
//! in a `persist` region (`broker-journal`) and its peers (acpi, domid,
//! iommu, pci, supervisor) reached through `config::slots`. The library's
//! `firmware` module does the work (the fused build shares it).
//!
//! Two things a reader must know:
//! - Everything it manages comes from app.toml's system tables: devices,
//!   domains with their owners and memory, operators. At start the library
//!   replays an unfinished journal and rebuilds the books from the
//!   hardware, so a restarted broker picks up where the last one died.
//! - Two notifications wake it: `death` (the supervisor, app.toml `notify`,
//!   after a task faulted: the broker pulls the records with
//!   `Supervisor::death_after`, since calls go uphill) and `dma-fault` (the
//!   iommu recorded DMA faults: the broker pulls them into its event
//!   stream).
#![no_std]
#![no_main]

use idl_runtime::{Call, Dispatch, DispatchOutcome, KernelTransport, ServerContext};
use task_broker::firmware::{self, Running, SystemConfig, SystemTables};
use task_broker::{PeerIds, Peers};
use userlib::*;

task_config!();

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// The broker plus what the task does around it.
struct Task(Running<KernelTransport>);

impl Task {
    fn take_deaths(&mut self) {
        self.0.take_deaths(&NAMES);
    }
}

impl Dispatch for Task {
    fn dispatch(
        &mut self,
        call: &Call<'_>,
        ctx: &dyn ServerContext,
        reply: &mut [u8],
    ) -> DispatchOutcome {
        self.0.restart_if_journal_broken();
        let outcome = self.0.endpoint.dispatch(call, ctx, reply);
        // Before the reply goes out, so the caller may drive its device.
        self.0.sync_pci();
        outcome
    }

    fn notification_mask(&self) -> u32 {
        config::notifications::DEATH | config::notifications::DMA_FAULT
    }

    fn notified(&mut self, bits: u32) {
        self.0.restart_if_journal_broken();
        if bits & config::notifications::DEATH != 0 {
            self.take_deaths();
        }
        if bits & config::notifications::DMA_FAULT != 0 {
            self.0.pull_dma_faults();
        }
        self.0.sync_pci();
    }
}

#[export_name = "main"]
fn main() -> ! {
    let tables = SystemTables::new(&SystemConfig {
        devices: &config::system::DEVICES,
        domains: &config::system::DOMAINS,
        domain_vectors: &config::system::DOMAIN_VECTORS,
        device_registers: &config::system::DEVICE_REGISTERS,
        first_domain_id: config::system::FIRST_DOMAIN_ID,
        operators: &config::system::OPERATORS,
        fault_budget: config::system::FAULT_BUDGET,
    });
    let transport = KernelTransport::new(&NAMES);
    let ids = PeerIds {
        acpi: config::slots::ACPI,
        domid: config::slots::DOMID,
        iommu: config::slots::IOMMU,
        pci: config::slots::PCI,
        supervisor: config::slots::SUPERVISOR,
    };
    let store = firmware::journal_region(config::regions::BROKER_JOURNAL);
    let mut task = Task(firmware::start(Peers::new(transport, ids), store, &tables));
    // Deaths that happened while no broker listened.
    task.take_deaths();
    task.0.sync_pci();
    let mut server_transport = transport;
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut server_transport, &mut task, &mut buf)
}
