//! The fused task: acpi, iommu, domid and broker logic in one task, each
//! built by the same library code as its own task (the crates' `firmware`
//! modules), talking through the in-process transport instead of the
//! kernel. Only pci, the supervisor, the workers and the console stay
//! separate tasks. `apps/fused.toml` runs it as task `broker`, so clients
//! need no change; `cargo xtask bench` compares it with the default system.
//!
//! Two things a reader must know:
//! - It serves two interfaces over the kernel: `Broker` (everyone) and
//!   `Iommu` (the console's `stats` and `faults`); operation codes carry
//!   their interface's tag, so the dispatcher routes by it.
//! - What isolation bought is gone: a fault anywhere in here restarts all
//!   four. The restart still loses nothing (the iommu takes the running
//!   unit over from its persist region, the broker replays its journal and
//!   rebuilds domid from the hardware), but a crash of one part is a crash
//!   of all.
#![no_std]
#![no_main]

use core::cell::RefCell;

use acpi::extra_rmrr::{ExtraRmrr, PciAddress};
use idl_runtime::{Call, Dispatch, DispatchOutcome, InProcess, KernelTransport, ServerContext};
use task_acpi::firmware::{pci, PciTaskConfig, RmrrStorage};
use task_broker::firmware::{Running, SystemConfig, SystemTables};
use task_broker::{broker_idl, PeerIds, Peers};
use task_fused::{Routed, Shared};
use task_iommu::firmware::{FirmwareServer, Regions};
use userlib::*;

task_config!();

/// The servers fused in, after the image's own tasks in the registry.
const FUSED: [&str; 3] = ["acpi", "iommu", "domid"];
/// Tasks the in-process registry knows: the image's, then the fused ones.
const REGISTRY: usize = config::TASK_COUNT + FUSED.len();
/// RMRRs and devices app.toml declares (sizes the acpi storage).
const RMRR_COUNT: usize = config::system::RMRRS.len();
const RMRR_DEVICE_COUNT: usize = task_acpi::device_count(&config::system::RMRRS);

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

type Iommu = task_iommu::iommu::Endpoint<FirmwareServer>;
type Domid = domid::domid::Endpoint<domid::DomidServer<domid::FirmwareAllocator>>;
type Local<'a, 's> = idl_runtime::InProcessClient<'a, 's, REGISTRY>;
type Transport<'a, 's> = Routed<KernelTransport, Local<'a, 's>>;

/// The registry's names: the image's tasks at their own indices (so the
/// fused servers' `callers` checks see this task's app.toml name), then
/// the fused servers.
fn registry_names() -> [&'static str; REGISTRY] {
    core::array::from_fn(|i| match i.checked_sub(config::TASK_COUNT) {
        None => NAMES.get(i).copied().unwrap_or(""),
        Some(j) => FUSED.get(j).copied().unwrap_or(""),
    })
}

/// The task's kernel face: `Broker` for everyone, `Iommu` for the console.
struct Fused<'a, 's> {
    broker: Running<Transport<'a, 's>>,
    iommu: &'a RefCell<Iommu>,
    /// Whether the timer that closes the iommu's fault interval is armed.
    interval_armed: bool,
}

impl Fused<'_, '_> {
    fn take_deaths(&mut self) {
        // Of the broker's peers only pci is a task of its own here (the
        // fused ones have registry indices no kernel death names), and a
        // death of this task itself restarted all four together.
        self.broker.take_deaths(&NAMES);
    }

    fn drain_dma_faults(&mut self) {
        let drained = match self.iommu.try_borrow_mut() {
            Ok(mut iommu) => iommu.0.drain_faults(),
            Err(_) => 0,
        };
        // The kernel masks the vector until the task has handled it.
        sys_irq_control(config::notifications::FAULT, true);
        if drained > 0 {
            self.broker.pull_dma_faults();
        }
    }

    /// Closes the iommu's fault interval (summaries, unmasking a storm's
    /// mask) when the timer fires.
    fn end_fault_interval(&mut self) {
        self.interval_armed = false;
        if let Ok(mut iommu) = self.iommu.try_borrow_mut() {
            iommu.0.end_fault_interval();
        }
    }

    /// Keeps the interval timer armed while the iommu's fault interval
    /// holds anything.
    fn arm_interval_timer(&mut self) {
        let open = self
            .iommu
            .try_borrow()
            .is_ok_and(|iommu| iommu.0.fault_interval_open());
        if !self.interval_armed && open {
            let deadline = sys_get_timer().saturating_add(task_iommu::FAULT_INTERVAL_MS);
            sys_set_timer(Some(deadline), config::notifications::TIMER);
            self.interval_armed = true;
        }
    }
}

impl Dispatch for Fused<'_, '_> {
    fn dispatch(
        &mut self,
        call: &Call<'_>,
        ctx: &dyn ServerContext,
        reply: &mut [u8],
    ) -> DispatchOutcome {
        if broker_idl::Op::from_raw(call.op).is_some() {
            self.broker.restart_if_journal_broken();
            let outcome = self.broker.endpoint.dispatch(call, ctx, reply);
            // Before the reply goes out, so the caller may drive its device.
            self.broker.sync_pci();
            self.arm_interval_timer();
            return outcome;
        }
        // Anything else is the iommu's to take or refuse (an unknown code
        // is refused there as an undefined operation).
        let outcome = Shared(self.iommu).dispatch(call, ctx, reply);
        self.arm_interval_timer();
        outcome
    }

    fn notification_mask(&self) -> u32 {
        config::notifications::DEATH | config::notifications::FAULT | config::notifications::TIMER
    }

    fn notified(&mut self, bits: u32) {
        self.broker.restart_if_journal_broken();
        if bits & config::notifications::DEATH != 0 {
            self.take_deaths();
        }
        if bits & config::notifications::TIMER != 0 {
            self.end_fault_interval();
        }
        if bits & config::notifications::FAULT != 0 {
            self.drain_dma_faults();
        }
        self.broker.sync_pci();
        self.arm_interval_timer();
    }
}

/// The iommu logic over the unit app.toml grants, its fault event routed here.
fn start_iommu() -> FirmwareServer {
    let regions = Regions {
        registers: config::regions::VTD,
        tables: config::regions::IOMMU_TABLES,
        state: config::regions::IOMMU_STATE,
    };
    let server = match task_iommu::firmware::build(&regions, config::vectors::FAULT) {
        Ok(server) => server,
        Err(why) => panic!("fused: iommu: {}", why),
    };
    sys_irq_control(config::notifications::FAULT, true);
    server
}

/// The domid logic: about 45 KiB, kept out of the stack.
fn domid() -> &'static mut Domid {
    static mut SERVER: Domid =
        domid::domid::Endpoint(domid::DomidServer::new(domid::FirmwareAllocator::new()));
    // SAFETY: called once per task life (from `main`, which never returns),
    // and nothing else names `SERVER`, so this is the only reference.
    unsafe { &mut *core::ptr::addr_of_mut!(SERVER) }
}

fn fail(what: &str) -> ! {
    panic!("fused: {} is not in the registry", what)
}

#[export_name = "main"]
fn main() -> ! {
    defmt::info!(
        "fused: acpi, iommu, domid ({=str} allocator) and broker in one task",
        domid::FIRMWARE_ALLOCATOR
    );
    let kernel = KernelTransport::new(&NAMES);
    let iommu = RefCell::new(task_iommu::iommu::Endpoint(start_iommu()));

    let (virt, size) = (
        config::regions::ACPI_TABLES.vaddr,
        config::regions::ACPI_TABLES.size,
    );
    // SAFETY: the kernel maps the `acpi-tables` region read-only at `virt`
    // for `size` bytes for the task's whole life, and nothing writes it.
    let tables: &'static [u8] =
        unsafe { core::slice::from_raw_parts(virt as *const u8, size as usize) };
    let mut addresses = [PciAddress {
        segment: 0,
        bus: 0,
        device: 0,
        function: 0,
    }; RMRR_DEVICE_COUNT];
    let mut extras = [ExtraRmrr {
        base: 0,
        end: 0,
        devices: &[],
    }; RMRR_COUNT];
    let storage = RmrrStorage {
        addresses: &mut addresses,
        extras: &mut extras,
    };
    let config_space = PciTaskConfig::new(pci::Client::new(kernel, config::slots::PCI));
    let mut acpi = task_acpi::acpi::Endpoint(task_acpi::firmware::start(
        tables,
        &config::system::RMRRS,
        &config::system::CUSTODY_MEMORY,
        storage,
        config_space,
    ));

    let registry = InProcess::<REGISTRY>::new(registry_names());
    let mut iommu_face = Shared(&iommu);
    let acpi_id = registry
        .register("acpi", &mut acpi)
        .unwrap_or_else(|_| fail("acpi"));
    let iommu_id = registry
        .register("iommu", &mut iommu_face)
        .unwrap_or_else(|_| fail("iommu"));
    let domid_id = registry
        .register("domid", domid())
        .unwrap_or_else(|_| fail("domid"));
    let local = registry
        .client(config::TASK_NAME)
        .unwrap_or_else(|_| fail(config::TASK_NAME));
    let transport = Routed {
        kernel,
        local,
        first_local: config::TASK_COUNT,
    };
    let ids = PeerIds {
        acpi: acpi_id,
        domid: domid_id,
        iommu: iommu_id,
        pci: config::slots::PCI,
        supervisor: config::slots::SUPERVISOR,
    };
    let system = SystemTables::new(&SystemConfig {
        devices: &config::system::DEVICES,
        domains: &config::system::DOMAINS,
        domain_vectors: &config::system::DOMAIN_VECTORS,
        device_registers: &config::system::DEVICE_REGISTERS,
        first_domain_id: config::system::FIRST_DOMAIN_ID,
        operators: &config::system::OPERATORS,
        fault_budget: config::system::FAULT_BUDGET,
    });
    let journal = task_broker::firmware::journal_region(config::regions::BROKER_JOURNAL);
    let broker = task_broker::firmware::start(Peers::new(transport, ids), journal, &system);
    let mut fused = Fused {
        broker,
        iommu: &iommu,
        interval_armed: false,
    };
    // Deaths that happened while nobody listened, and faults recorded
    // while no task drained them (across a restart).
    fused.take_deaths();
    fused.drain_dma_faults();
    fused.broker.sync_pci();
    fused.arm_interval_timer();
    let mut server = kernel;
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut server, &mut fused, &mut buf)
}
