//! Every IDL server's generated dispatch over the in-process transport,
//! against the real server library, fed a [`Script`] of arbitrary calls.
//!
//! Each server is built as its tests and the simulator build it: acpi over
//! QEMU 7.2's DMAR and q35 config space, iommu over the VT-d model, domid
//! with the firmware's allocator, pci over q35, the supervisor over a
//! small fake kernel (its only environment), the broker inside a booted
//! simulated machine whose peers are the real servers. The tasks are the
//! simulator's, with the console as operator and fault injector, so
//! `callers` checks and caller groups are the image's.
//!
//! The DMA worker is missing: its server is firmware-only (it lives in
//! the task binary, over MMIO edu registers and the kernel's timer).

use std::cell::RefCell;

use abi::TaskId;
use idl_runtime::{Dispatch, InProcess, InProcessClient};
use idl_types::{DeathCause, TaskIndex};
use pci::fake::FakeConfig;
use pci::q35;
use sim::machine::with_machine;
use sim::servers::{DidBooks, NAMES};
use sim::{fixtures, Platform};
use task_broker::{BrokerServer, Knobs};
use task_iommu::{IommuServer, Ledger, SharedLedger};
use task_supervisor::{KernelPowers, Supervisor, TaskStatus};
use vtd::model::{Model, NoDelay};

use crate::script::{Recorder, Script};

/// Caller groups as app.toml gives them to the image: the console is the
/// operator and may inject faults.
pub const GROUPS: &[(&str, &[&str])] = &[
    ("operators", &["console"]),
    ("fault-injectors", &["console"]),
];

/// QEMU 7.2's DMAR (q35, edu, a pcie-pci-bridge).
pub const QEMU_DMAR: &[u8] = include_bytes!("../../fixtures/dmar/qemu-7.2-q35-edu-bridge.bin");

/// The task index of `name` among [`NAMES`].
pub fn index(name: &str) -> u16 {
    NAMES.iter().position(|n| *n == name).unwrap_or(0) as u16
}

/// A registry of the simulator's tasks with `server` serving as `name`.
fn registry<'s>(name: &str, server: &'s mut dyn Dispatch) -> (InProcess<'s, 9>, TaskId) {
    let system = InProcess::new(NAMES).with_groups(GROUPS);
    let id = system.register(name, server).expect("a task of NAMES");
    (system, id)
}

/// Runs `script` against `server` serving as `name`.
pub fn drive(name: &str, server: &mut dyn Dispatch, script: &Script) {
    let (system, id) = registry(name, server);
    let caller = NAMES[usize::from(script.caller) % NAMES.len()];
    let mut t = system.client(caller).expect("a task of NAMES");
    script.run(&mut t, id);
}

/// What a real client of `name` sends from `caller` in `calls`, as a
/// script (a seed).
pub fn record(
    name: &str,
    server: &mut dyn Dispatch,
    caller: &str,
    calls: impl FnOnce(Recorder<InProcessClient<'_, '_, 9>>, TaskId),
) -> Script {
    let (system, id) = registry(name, server);
    let recorder = Recorder::new(system.client(caller).expect("a task of NAMES"));
    calls(recorder.clone(), id);
    recorder.script(index(caller) as u8)
}

/// The acpi server over QEMU's DMAR and the q35 config space.
pub fn acpi_server() -> task_acpi::acpi::Endpoint<
    task_acpi::AcpiServer<'static, task_acpi::PciConfigSpace<FakeConfig<{ q35::FUNCTIONS }>>>,
> {
    let server = task_acpi::AcpiServer::new(
        QEMU_DMAR,
        &[],
        &[],
        task_acpi::PciConfigSpace(q35::machine()),
    )
    .expect("QEMU's DMAR builds a server");
    task_acpi::acpi::Endpoint(server)
}

/// Fuzz target `acpi_server`.
pub fn acpi(data: &[u8]) {
    drive("acpi", &mut acpi_server(), &Script::decode(data));
}

/// The iommu server type over the model.
pub type Iommu<'l> = IommuServer<
    vtd::model::ModelRegisters,
    vtd::model::ModelMemory,
    vtd::model::ModelAllocator,
    NoDelay,
    SharedLedger<'l>,
>;

/// The iommu server over a fresh QEMU unit of the model.
pub fn iommu_server<'l>(model: &Model, ledger: &'l RefCell<Ledger>) -> Iommu<'l> {
    let mut s = IommuServer::new(SharedLedger(ledger));
    s.add_unit(
        model.registers(),
        model.memory(),
        model.allocator(),
        NoDelay,
        vtd::Config::default(),
    )
    .expect("QEMU's unit starts");
    s
}

/// Fuzz target `iommu_server`.
pub fn iommu(data: &[u8]) {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = task_iommu::iommu::Endpoint(iommu_server(&model, &ledger));
    drive("iommu", &mut s, &Script::decode(data));
}

/// The domid server with the firmware's allocator.
pub fn domid_server() -> domid::domid::Endpoint<domid::DomidServer<DidBooks>> {
    domid::domid::Endpoint(domid::DomidServer::new(DidBooks::new()))
}

/// Fuzz target `domid_server`.
pub fn domid(data: &[u8]) {
    drive("domid", &mut domid_server(), &Script::decode(data));
}

/// The pci server over q35 as the default system starts it: the broker
/// privileged, the broker, acpi and the console (an operator) readers, and
/// the devices given to their owners as the broker's start does (edu to
/// dma-a, the bridged edu to dma-b), so a script from an owner reaches
/// the owner's side of config-space mediation (a script has one caller).
pub fn pci_server() -> task_pci::pci::Endpoint<task_pci::PciServer<FakeConfig<{ q35::FUNCTIONS }>>>
{
    let broker = TaskIndex(index("broker"));
    let readers = [
        broker,
        TaskIndex(index("acpi")),
        TaskIndex(index("console")),
    ];
    let s = task_pci::PciServer::new(q35::machine(), 0, &[broker], &readers);
    let mut endpoint = task_pci::pci::Endpoint(s);
    {
        let (system, id) = registry("pci", &mut endpoint);
        let t = system.client("broker").expect("a task of NAMES");
        let mut c = task_pci::pci::Client::new(t, id);
        for (device, owner) in [(PCI_EDU, "dma-a"), (PCI_BRIDGED_EDU, "dma-b")] {
            let _ = c.set_owner(device, Some(TaskIndex(index(owner))));
        }
    }
    endpoint
}

/// q35's edu, as the default system places it.
pub const PCI_EDU: idl_types::Bdf = idl_types::Bdf {
    bus: 0,
    device: 2,
    function: 0,
};

/// q35's edu behind the PCIe-to-PCI bridge.
pub const PCI_BRIDGED_EDU: idl_types::Bdf = idl_types::Bdf {
    bus: 1,
    device: 1,
    function: 0,
};

/// Fuzz target `pci_server`.
pub fn pci(data: &[u8]) {
    drive("pci", &mut pci_server(), &Script::decode(data));
}

/// The kernel as the supervisor sees it: every task of [`NAMES`] exists,
/// runs at generation 0 and has had no message; a fault or an armed fault
/// of an existing task is accepted. Nothing else is modelled: the
/// supervisor's own logic (which task may be named, who may not be
/// faulted, the death log) is what runs.
#[derive(Default)]
pub struct FakeKernel {
    /// Shutdown codes asked for.
    pub shutdowns: Vec<u8>,
}

impl KernelPowers for FakeKernel {
    fn status(&mut self, task: u16) -> Option<TaskStatus> {
        (usize::from(task) < NAMES.len()).then(TaskStatus::default)
    }
    fn message_count(&mut self, task: u16) -> Option<u32> {
        (usize::from(task) < NAMES.len()).then_some(0)
    }
    fn fault(&mut self, task: u16) -> bool {
        usize::from(task) < NAMES.len()
    }
    fn arm_fault(&mut self, task: u16, _at_message: u16) -> bool {
        usize::from(task) < NAMES.len()
    }
    fn shutdown(&mut self, code: u8) {
        self.shutdowns.push(code);
    }
}

/// The supervisor (task 0) with two deaths in its log.
pub fn supervisor_server(
) -> task_supervisor::supervisor::Endpoint<Supervisor<FakeKernel, { NAMES.len() }>> {
    let mut s = Supervisor::new(FakeKernel::default(), 0);
    s.deaths
        .record(TaskIndex(index("iommu")), 1, DeathCause::Injected, true);
    s.deaths
        .record(TaskIndex(index("pci")), 1, DeathCause::Injected, true);
    task_supervisor::supervisor::Endpoint(s)
}

/// Fuzz target `supervisor_server`.
pub fn supervisor(data: &[u8]) {
    drive(
        "supervisor",
        &mut supervisor_server(),
        &Script::decode(data),
    );
}

/// The matrix platform on QEMU's DMAR (built once per process: it is only
/// read).
pub fn platform() -> &'static Platform {
    thread_local! {
        static PLATFORM: &'static Platform = Box::leak(Box::new(
            fixtures::load(fixtures::QEMU)
                .and_then(Platform::matrix)
                .expect("the matrix platform builds"),
        ));
    }
    PLATFORM.with(|p| *p)
}

/// Boots a simulated machine (real iommu, domid, acpi, pci servers; the
/// broker started over them, initial assignments made), takes its broker
/// and runs `f` with the broker's endpoint; then checks the simulator's
/// invariants (isolation, books against hardware).
pub fn with_broker<R>(f: impl FnOnce(&mut dyn Dispatch) -> R) -> R {
    let p = platform();
    with_machine(p, Knobs::default(), |m| {
        let broker = m.take_broker().expect("the broker runs after boot");
        let mut endpoint = task_broker::broker_idl::Endpoint(BrokerServer(broker));
        let r = f(&mut endpoint);
        m.put_broker(endpoint.0 .0);
        m.check("after the fuzzed calls", None);
        assert!(
            m.out.violations.is_empty(),
            "invariants broken: {:#?}",
            m.out.violations
        );
        r
    })
    .expect("the machine boots")
}

/// Fuzz target `broker_server`.
pub fn broker(data: &[u8]) {
    let script = Script::decode(data);
    with_broker(|endpoint| drive("broker", endpoint, &script));
}
