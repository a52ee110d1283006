//! The real servers of one simulated machine, each in a restartable slot:
//! iommu (`task_iommu::IommuServer` over the units' models and the
//! persisted ledger), domid (`domid::DomidServer`, bitmap allocator), acpi
//! (`task_acpi::AcpiServer` over the DMAR bytes and the config space), pci
//! (`task_pci::PciServer` over the same config space), and the supervisor's
//! death log (`task_supervisor::DeathLog`, the firmware supervisor's, serving
//! `Supervisor` through the same generated dispatch; the simulator records
//! each death in it where the firmware's kernel would report a fault).
//!
//! A restart puts a *new* instance in the slot, built over the same
//! hardware state, exactly as a restarted task starts from its binary with
//! only its regions kept; the in-process registry then bumps the task's
//! generation so callers see a dead code.

use std::cell::RefCell;
use std::rc::Rc;

use crate::hardware::Hardware;
use crate::platform::{Acpi, Config, Platform};
use domid::{BitmapAllocator, DomidServer};
use idl_runtime::abi::TaskId;
use idl_runtime::{Call, Dispatch, DispatchOutcome, ServerContext};
use idl_types::{DeathCause, DeathRecord, TaskIndex, UnitId};
use task_iommu::{IommuServer, SharedLedger};
use task_pci::PciServer;
use task_supervisor::{supervisor, DeathLog};
use vtd::model::{ModelAllocator, ModelMemory, ModelRegisters, NoDelay};

/// Units, domains per unit and memberships per unit of the domid task (as
/// its firmware binary sizes them from the capacities).
pub type DidBooks = BitmapAllocator<
    { capacity::UNITS.value },
    { capacity::DOMAINS.value + capacity::QUARANTINED.value },
    { 2 * capacity::DEVICES.value },
>;
/// The iommu server over the models.
pub type Iommu<'h> =
    IommuServer<ModelRegisters, ModelMemory, ModelAllocator, NoDelay, SharedLedger<'h>>;
/// The domid server.
pub type Domid = DomidServer<DidBooks>;
/// The pci server.
pub type Pci = PciServer<Config>;

/// The task names of the simulated system (index = task index).
pub const NAMES: [&str; 9] = [
    "supervisor",
    "acpi",
    "pci",
    "iommu",
    "domid",
    "broker",
    "console",
    "dma-a",
    "dma-b",
];
/// Tasks that can be killed and restarted.
pub const KILLABLE: [&str; 5] = ["broker", "iommu", "domid", "acpi", "pci"];

/// The index of a task name.
pub fn index(name: &str) -> TaskIndex {
    TaskIndex(NAMES.iter().position(|n| *n == name).unwrap_or(0) as u16)
}

/// A server slot the registry dispatches into; the simulator keeps a clone
/// to replace the server on a restart.
pub struct Slot<S>(pub Rc<RefCell<S>>);

impl<S> Clone for Slot<S> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

impl<S> Slot<S> {
    /// A slot holding `server`.
    pub fn new(server: S) -> Slot<S> {
        Slot(Rc::new(RefCell::new(server)))
    }

    /// Replaces the server (a restart).
    pub fn replace(&self, server: S) {
        *self.0.borrow_mut() = server;
    }
}

impl<S: Dispatch> Dispatch for Slot<S> {
    fn dispatch(
        &mut self,
        call: &Call<'_>,
        ctx: &dyn ServerContext,
        reply: &mut [u8],
    ) -> DispatchOutcome {
        self.0.borrow_mut().dispatch(call, ctx, reply)
    }
}

/// The supervisor's death log, one per task of [`NAMES`].
pub type DeathBook = DeathLog<{ NAMES.len() }>;

/// The death log shared between the `Supervisor` endpoint (which the
/// broker calls) and the simulator (which records the deaths it causes).
#[derive(Default)]
pub struct Deaths(pub Rc<RefCell<DeathBook>>);

/// Only the deaths are simulated: the operator's powers (reports, counts,
/// shutdown, fault injection) belong to the simulator itself, so the
/// stand-in refuses them as the kernel would a task it cannot reach.
impl supervisor::Server for Deaths {
    fn death_after(
        &mut self,
        _caller: TaskId,
        a: supervisor::DeathAfterArgs,
    ) -> Option<DeathRecord> {
        self.0.borrow().after(a.after)
    }
    fn generation_of(&mut self, _caller: TaskId, a: supervisor::GenerationOfArgs) -> Option<u8> {
        self.0.borrow().generation_of(a.task)
    }
    fn task_report(
        &mut self,
        _caller: TaskId,
        _: supervisor::TaskReportArgs,
    ) -> Result<idl_types::TaskReport, idl_types::SupervisorError> {
        Err(idl_types::SupervisorError::KernelRefused)
    }
    fn message_count(
        &mut self,
        _caller: TaskId,
        _: supervisor::MessageCountArgs,
    ) -> Result<u32, idl_types::SupervisorError> {
        Err(idl_types::SupervisorError::KernelRefused)
    }
    fn shutdown(&mut self, _caller: TaskId, _: supervisor::ShutdownArgs) {}
    fn fault_task(
        &mut self,
        _caller: TaskId,
        _: supervisor::FaultTaskArgs,
    ) -> Result<(), idl_types::SupervisorError> {
        Err(idl_types::SupervisorError::KernelRefused)
    }
    fn arm_fault(
        &mut self,
        _caller: TaskId,
        _: supervisor::ArmFaultArgs,
    ) -> Result<(), idl_types::SupervisorError> {
        Err(idl_types::SupervisorError::KernelRefused)
    }
}

/// Every server of a machine.
pub struct Servers<'h> {
    /// The iommu.
    pub iommu: Slot<task_iommu::iommu::Endpoint<Iommu<'h>>>,
    /// Domid.
    pub domid: Slot<domid::domid::Endpoint<Domid>>,
    /// Acpi.
    pub acpi: Slot<task_acpi::acpi::Endpoint<Acpi<'h>>>,
    /// Pci.
    pub pci: Slot<task_pci::pci::Endpoint<Pci>>,
    /// The supervisor stand-in.
    pub supervisor: Slot<supervisor::Endpoint<Deaths>>,
    /// The death log it serves.
    pub deaths: Rc<RefCell<DeathBook>>,
    hw: &'h Hardware<'h>,
    extras: &'h [acpi::extra_rmrr::ExtraRmrr<'h>],
}

/// Builds an iommu server over every model (taking running units over).
fn iommu<'h>(hw: &'h Hardware<'h>) -> Result<Iommu<'h>, String> {
    let mut s = IommuServer::new(SharedLedger(&hw.ledger));
    for m in &hw.models {
        s.add_unit(
            m.registers(),
            m.memory(),
            m.allocator(),
            NoDelay,
            vtd::Config::default(),
        )
        .map_err(|e| format!("iommu could not start a unit: {e}"))?;
    }
    // As the firmware does: remapping on (a unit taken over keeps its table).
    for unit in 0..hw.models.len() {
        let unit = UnitId(u8::try_from(unit).unwrap_or(u8::MAX));
        s.enable_interrupt_remapping(unit)
            .map_err(|e| format!("iommu could not remap interrupts: {e}"))?;
    }
    Ok(s)
}

fn acpi<'h>(
    platform: &'h Platform,
    extras: &'h [acpi::extra_rmrr::ExtraRmrr<'h>],
) -> Result<Acpi<'h>, String> {
    task_acpi::AcpiServer::new(
        &platform.dmar,
        extras,
        &[],
        task_acpi::PciConfigSpace(platform.config.clone()),
    )
    .map_err(|e| format!("acpi: {e}"))
}

fn pci(platform: &Platform) -> Result<Pci, String> {
    Ok(PciServer::new(
        platform.config.clone(),
        0,
        &[index("broker")],
        &[],
    ))
}

fn domid_server() -> Domid {
    DomidServer::new(DidBooks::new())
}

impl<'h> Servers<'h> {
    /// First boot of every server.
    pub fn new(
        hw: &'h Hardware<'h>,
        extras: &'h [acpi::extra_rmrr::ExtraRmrr<'h>],
    ) -> Result<Servers<'h>, String> {
        let deaths = Rc::new(RefCell::new(DeathLog::new()));
        Ok(Servers {
            iommu: Slot::new(task_iommu::iommu::Endpoint(iommu(hw)?)),
            domid: Slot::new(domid::domid::Endpoint(domid_server())),
            acpi: Slot::new(task_acpi::acpi::Endpoint(acpi(hw.platform, extras)?)),
            pci: Slot::new(task_pci::pci::Endpoint(pci(hw.platform)?)),
            supervisor: Slot::new(supervisor::Endpoint(Deaths(deaths.clone()))),
            deaths,
            hw,
            extras,
        })
    }

    /// Puts a new instance of `task` in its slot (the registry's generation
    /// is bumped by the caller).
    pub fn restart(&self, task: &str) -> Result<(), String> {
        match task {
            "iommu" => self
                .iommu
                .replace(task_iommu::iommu::Endpoint(iommu(self.hw)?)),
            "domid" => {
                // What the dying domid granted (a DID acquired just before
                // its death) is the truth its rebuild will restore: the
                // observer keeps it until the new instance is rebuilt.
                self.register_observer();
                self.domid.replace(domid::domid::Endpoint(domid_server()))
            }
            "acpi" => self.acpi.replace(task_acpi::acpi::Endpoint(acpi(
                self.hw.platform,
                self.extras,
            )?)),
            "pci" => self
                .pci
                .replace(task_pci::pci::Endpoint(pci(self.hw.platform)?)),
            other => return Err(format!("{other} is not a restartable server")),
        }
        Ok(())
    }

    /// Records that `task` died (the simulator injected it) and runs at
    /// `generation` now, as the firmware supervisor does when the kernel
    /// reports a fault; the broker pulls it with `death_after`.
    pub fn record_death(&self, task: &str, generation: u8) {
        self.deaths
            .borrow_mut()
            .record(index(task), generation, DeathCause::Injected, true);
    }

    /// Tells the hardware's observer which DID every domain uses on each
    /// unit, as domid's books say (nothing while domid is not rebuilt: the
    /// observer keeps what it knew).
    pub fn register_observer(&self) {
        self.hw.register_domains(|unit, domain| {
            use domid::DidAllocator;
            self.with_dids(|a| {
                a.did_of(domid::wire::unit(unit), domid::wire::domain(domain))
                    .ok()
                    .flatten()
                    .map(|d| d.0)
            })
            .flatten()
        });
    }

    /// Domid's allocator, if it can be looked at now.
    pub fn with_dids<R>(&self, f: impl FnOnce(&DidBooks) -> R) -> Option<R> {
        let slot = self.domid.0.try_borrow().ok()?;
        Some(f(slot.0.allocator()))
    }
}
