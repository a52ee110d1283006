//! The broker itself: the books, the journal, the peers, and the moves.
//!
//! Every public request (assign, reassign, quarantine, release, owner
//! death) is a policy check followed by [`Broker::move_device`], which
//! reads what the move needs (`gather`), plans it without a message
//! (`plan`: Xen's refusals, the mode, the steps) and runs the plan
//! (`execute`). A failed step has already been rolled back when `?`
//! returns; what is left here is quarantining a device whose rollback
//! failed.

use heapless::Vec;
use idl_runtime::Transport;
use idl_types::{
    Bdf, BrokerError, BrokerEvent, Custody, DomainId, ReassignReport, TaskIndex, TxStatus,
};

use crate::books::{Books, MAX_DEVICES};
use crate::config::Config;
use crate::events::EventRing;
use crate::execute::ExecError;
use crate::fault_policy::FaultPolicy;
use crate::journal::{Journal, JournalStore, Opened, TxState};
use crate::memory::DomainMap;
use crate::peers::{Peer, Peers};
use crate::plan::{plan_move, MoveRequest, Planned, Situation};
use crate::policy::{permitted, Request};
use crate::transaction::{Knobs, Rollback, StepFailed};

/// Why a move did not commit, before the policy layer turns it into a
/// `BrokerError`.
enum MoveError {
    /// Refused before any step: nothing changed.
    Refused(BrokerError),
    /// A step failed; the transaction rolled back (or tried to).
    Step(StepFailed),
}

impl From<StepFailed> for MoveError {
    fn from(e: StepFailed) -> Self {
        MoveError::Step(e)
    }
}

impl From<BrokerError> for MoveError {
    fn from(e: BrokerError) -> Self {
        MoveError::Refused(e)
    }
}

/// Counters for the simulator and the console.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokerStats {
    /// Transactions committed.
    pub committed: u32,
    /// Transactions rolled back completely.
    pub rolled_back: u32,
    /// Rollbacks that failed (device quarantined).
    pub rollback_failures: u32,
    /// Unfinished journals replayed at start.
    pub replays: u32,
    /// Times domid was rebuilt after its restart.
    pub domid_rebuilds: u32,
    /// Domain memory ranges the iommu refused to map at start.
    pub memory_map_failures: u32,
    /// Cleanup actions that failed after their retries (each is kept and
    /// retried until it succeeds; see `pending_cleanups`).
    pub cleanup_failures: u32,
    /// Cleanup actions that did not fit the pending list (the next start's
    /// reconciliation gives up what they would have).
    pub cleanups_lost: u32,
}

/// The ownership broker.
pub struct Broker<T: Transport + Clone, S: JournalStore> {
    pub(crate) peers: Peers<T>,
    pub(crate) journal: Journal<S>,
    pub(crate) books: Books,
    pub(crate) events: EventRing,
    /// The fault budget each device is held to (see `fault_policy`).
    pub(crate) fault_policy: FaultPolicy,
    operators: Vec<TaskIndex, 8>,
    pub(crate) knobs: Knobs,
    pub(crate) stats: BrokerStats,
    /// What pci was last told of each device's owner (see `handover`):
    /// only differences are sent; emptied when pci restarts.
    pub(crate) pci_told: Vec<(Bdf, Option<TaskIndex>), MAX_DEVICES>,
    /// A journal write failed in this life (see [`Broker::journal_broken`]).
    pub(crate) journal_broken: bool,
    /// Cleanups that failed, retried at the next opportunity.
    pub(crate) pending: Vec<crate::plan::Cleanup, { crate::cleanup::MAX_PENDING }>,
    /// Each domain's memory (app.toml's maps): no RMRR may be mapped over it.
    pub(crate) memory: Vec<DomainMap, { crate::memory::MAX_MAPS }>,
    /// pci's functions off the root bus and their upstream bridges, read
    /// once (see `gather`).
    pub(crate) topology: Option<crate::gather::Topology>,
    /// The domains' vectors and the devices whose MSI is remapped.
    pub(crate) interrupts: crate::interrupts::InterruptBooks,
    /// Devices whose registers are in custody, with the kernel's index.
    pub(crate) registers: crate::registers::RegisterBooks,
}

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Starts (or restarts) the broker: opens the journal in `store`,
    /// finishes or undoes whatever transaction it holds, rebuilds the books
    /// from the hardware, and on the very first boot makes the initial
    /// assignments.
    pub fn start(peers: Peers<T>, store: S, config: &Config<'_>) -> Result<Self, BrokerError> {
        Self::start_with_memory(peers, store, config, &[])
    }

    /// [`Broker::start`], also mapping each domain's memory (`maps`) into
    /// its tables before any device is assigned (app.toml's domain maps).
    pub fn start_with_memory(
        peers: Peers<T>,
        store: S,
        config: &Config<'_>,
        maps: &[DomainMap],
    ) -> Result<Self, BrokerError> {
        let (journal, opened) = Journal::open(store).map_err(|_| BrokerError::JournalFailed)?;
        let mut books = Books::new();
        for d in config.domains {
            books.add_domain(d.domain, d.owner);
        }
        for d in config.devices {
            books.add_device(d.device);
        }
        let mut broker = Broker {
            peers,
            journal,
            books,
            events: EventRing::new(),
            fault_policy: FaultPolicy::new(config.fault_budget),
            operators: config.operators.iter().copied().take(8).collect(),
            knobs: Knobs::default(),
            stats: BrokerStats::default(),
            pci_told: Vec::new(),
            journal_broken: false,
            pending: Vec::new(),
            memory: Vec::new(),
            topology: None,
            interrupts: crate::interrupts::InterruptBooks::default(),
            registers: config
                .devices
                .iter()
                .filter_map(|d| d.registers.map(|i| (d.device, i)))
                .collect(),
        };
        for d in config.domains {
            if let Some(vector) = d.vector {
                let _ = broker.interrupts.vectors.push((d.domain, vector));
            }
        }
        broker.configure_domid();
        broker.create_domains();
        broker.map_domain_memory(maps);
        // The books first: a committed transaction's cleanup asks them
        // whether another device of the source still needs an RMRR map.
        broker.rebuild_books();
        broker.recover_journal();
        broker.rebuild_books();
        // A restarted broker may have died with a DID release pending (a
        // cleanup it was still retrying): domid's books are rebuilt from
        // the hardware, which has the device where it committed.
        if opened == Opened::Existing || !matches!(broker.peers.domid.is_rebuilt(), Ok(true)) {
            broker.rebuild_domid();
        }
        if opened == Opened::Existing {
            broker.reconcile_rmrr_maps();
        }
        broker.program_interrupts();
        if opened == Opened::Fresh || !broker.journal.booted() {
            for d in config.devices {
                if let Some(domain) = d.initial {
                    if broker.books.device(d.device).map(|r| r.custody) == Some(Custody::Unassigned)
                    {
                        let _ = broker.move_device(d.device, Custody::Domain(domain), false);
                    }
                }
            }
            broker
                .journal
                .mark_booted()
                .map_err(|_| BrokerError::JournalFailed)?;
        }
        broker.reconcile_registers();
        Ok(broker)
    }

    /// Arms deliberate bugs (tests of the simulator only).
    #[cfg(any(test, feature = "bug-knobs"))]
    pub fn set_knobs(&mut self, knobs: Knobs) {
        self.knobs = knobs;
    }

    /// Stops the broker, giving back its journal store (what survives).
    pub fn into_store(self) -> S {
        self.journal.into_store()
    }

    /// The books.
    pub fn books(&self) -> &Books {
        &self.books
    }

    /// The counters.
    pub fn stats(&self) -> BrokerStats {
        self.stats
    }

    /// The events kept.
    pub fn events(&self) -> &EventRing {
        &self.events
    }

    /// The journal (the simulator checks it is idle between requests).
    pub fn journal(&self) -> &Journal<S> {
        &self.journal
    }

    /// The peers (the simulator re-targets nothing; tests read through
    /// them).
    pub fn peers(&mut self) -> &mut Peers<T> {
        &mut self.peers
    }

    /// Where the current transaction stands.
    pub fn tx_status(&self) -> TxStatus {
        match (self.journal.state(), self.journal.tx()) {
            (TxState::Running, Some(tx)) => TxStatus::Running {
                device: tx.device,
                target: match tx.target {
                    Custody::Domain(d) => d,
                    _ => DomainId(0),
                },
                steps: u8::try_from(self.journal.len()).unwrap_or(u8::MAX),
            },
            (TxState::RollingBack, Some(tx)) => TxStatus::RollingBack {
                device: tx.device,
                remaining: u8::try_from(self.journal.owed().len()).unwrap_or(u8::MAX),
            },
            _ => TxStatus::Idle,
        }
    }

    /// Gives an unassigned or quarantined device to `domain`.
    pub fn assign(
        &mut self,
        caller: TaskIndex,
        device: Bdf,
        domain: DomainId,
    ) -> Result<ReassignReport, BrokerError> {
        self.request(
            caller,
            Request::Move {
                device,
                target: domain,
            },
        )
    }

    /// Moves a device directly to `target`.
    pub fn reassign(
        &mut self,
        caller: TaskIndex,
        device: Bdf,
        target: DomainId,
    ) -> Result<ReassignReport, BrokerError> {
        self.request(caller, Request::Move { device, target })
    }

    /// Puts a device in quarantine.
    pub fn quarantine(
        &mut self,
        caller: TaskIndex,
        device: Bdf,
    ) -> Result<ReassignReport, BrokerError> {
        self.request(caller, Request::Quarantine(device))
    }

    /// Leaves a device unassigned.
    pub fn release(
        &mut self,
        caller: TaskIndex,
        device: Bdf,
    ) -> Result<ReassignReport, BrokerError> {
        self.request(caller, Request::Release(device))
    }

    fn request(
        &mut self,
        caller: TaskIndex,
        request: Request,
    ) -> Result<ReassignReport, BrokerError> {
        let (device, target) = match request {
            Request::Move { device, target } => {
                if self.books.domain(target).is_none() {
                    return Err(BrokerError::UnknownDomain(target));
                }
                (device, Custody::Domain(target))
            }
            Request::Quarantine(device) => (device, Custody::Quarantined),
            Request::Release(device) => (device, Custody::Unassigned),
        };
        if self.books.device(device).is_none() {
            return Err(BrokerError::UnknownDevice(device));
        }
        if !permitted(&self.books, &self.operators, caller, request) {
            return Err(BrokerError::NotPermitted(device));
        }
        let report = self.move_device(device, target, false)?;
        if let (Some(record), Custody::Domain(_)) = (self.books.device_mut(device), target) {
            record.reclaim_for = None;
        }
        Ok(report)
    }

    /// Moves `device` to `target` as one transaction; on a failed rollback
    /// quarantines it and raises an event.
    pub(crate) fn move_device(
        &mut self,
        device: Bdf,
        target: Custody,
        dying: bool,
    ) -> Result<ReassignReport, BrokerError> {
        if self.journal_broken {
            return Err(BrokerError::JournalFailed);
        }
        if self.journal.state() != TxState::Idle {
            return Err(BrokerError::Busy);
        }
        if matches!(self.peers.domid.is_rebuilt(), Ok(false)) {
            self.rebuild_domid();
        }
        if !self.pending.is_empty() {
            self.retry_cleanups();
        }
        match self.try_move(device, target, dying) {
            Ok(report) => {
                self.stats.committed += 1;
                self.events.push(BrokerEvent::Moved {
                    device,
                    custody: target,
                });
                Ok(report)
            }
            Err(MoveError::Refused(e)) => Err(e),
            Err(MoveError::Step(failed)) => Err(self.after_failure(device, target, failed)),
        }
    }

    /// Reads what the plan needs, plans the move, and executes the plan.
    fn try_move(
        &mut self,
        device: Bdf,
        target: Custody,
        dying: bool,
    ) -> Result<ReassignReport, MoveError> {
        let facts = self.facts(device)?;
        let source = self
            .books
            .device(device)
            .map(|d| d.custody)
            .ok_or(BrokerError::UnknownDevice(device))?;
        let hardware = self.read_rids(&facts)?;
        let neighbours = self.neighbours(&facts)?;
        let interrupt = self.read_interrupt(&facts)?;
        let registers = self.read_registers(device)?;
        if let Custody::Domain(domain) = source {
            self.read_facts_of(domain);
        }
        let request = MoveRequest {
            device,
            target,
            dying,
        };
        let situation = Situation {
            facts: &facts,
            source,
            hardware: &hardware,
            neighbours: &neighbours,
            books: &self.books,
            memory: &self.memory,
            two_step: self.knobs.two_step,
            interrupt,
            vectors: &self.interrupts.vectors,
            registers,
        };
        let plan = match plan_move(&request, &situation)? {
            Planned::AlreadyThere(report) => return Ok(report),
            Planned::Move(plan) => plan,
        };
        self.execute(&plan, &facts).map_err(|e| match e {
            ExecError::Journal => {
                self.journal_broken = true;
                MoveError::Refused(BrokerError::JournalFailed)
            }
            ExecError::Step(failed) => MoveError::Step(failed),
        })
    }

    /// After a failed step: a dead domid is rebuilt; the device's entries
    /// are re-read so the books match the hardware; a failed rollback sends
    /// the device to quarantine with an event. If the journal stopped
    /// taking writes, the rollback still ran (from memory), and the next
    /// start replays the journal: no transaction runs until then, so a
    /// failed rollback's quarantine is the replay's too.
    fn after_failure(&mut self, device: Bdf, target: Custody, failed: StepFailed) -> BrokerError {
        if !failed.journal_ok {
            self.journal_broken = true;
        }
        if failed
            .failure
            .is_some_and(|f| f.died() && f.peer == Peer::Domid)
            || matches!(self.peers.domid.is_rebuilt(), Ok(false))
        {
            self.rebuild_books();
            self.rebuild_domid();
        }
        match failed.rollback {
            Rollback::Complete => {
                self.stats.rolled_back += 1;
                self.resync_device(device);
                BrokerError::RolledBack {
                    device,
                    step: failed.step,
                }
            }
            Rollback::Failed(_) if self.journal_broken => {
                self.stats.rollback_failures += 1;
                self.resync_device(device);
                BrokerError::JournalFailed
            }
            Rollback::Failed(_) => {
                self.stats.rollback_failures += 1;
                self.quarantine_after_failed_rollback(device, target);
                BrokerError::Quarantined(device)
            }
        }
    }

    /// Whether the journal stopped taking writes in this life: the broker
    /// takes no transaction until it restarts and replays the journal
    /// against the hardware (the firmware restarts itself; the simulator
    /// restarts it as the supervisor would).
    pub fn journal_broken(&self) -> bool {
        self.journal_broken
    }

    fn quarantine_after_failed_rollback(&mut self, device: Bdf, target: Custody) {
        // The journal still owes undos; they are superseded by moving the
        // device to quarantine from wherever the hardware has it now.
        let _ = self.journal.clear();
        self.resync_device(device);
        if target != Custody::Quarantined {
            let _ = self.move_device(device, Custody::Quarantined, true);
        }
        self.resync_device(device);
        self.events.push(BrokerEvent::RollbackFailed { device });
    }

    /// The owner of some domains died: each of their devices goes to
    /// quarantine (OWNER_DYING) and may be asked for again by the owner.
    /// Returns how many devices moved.
    pub fn owner_died(&mut self, task: TaskIndex) -> usize {
        let domains: Vec<DomainId, { crate::books::MAX_DOMAINS }> =
            self.books.domains_of(task).collect();
        let mut moved = 0;
        for domain in domains {
            let devices: Vec<Bdf, { crate::books::MAX_DEVICES }> =
                self.books.devices_of(domain).collect();
            for device in devices {
                if self.move_device(device, Custody::Quarantined, true).is_ok() {
                    moved += 1;
                    if let Some(record) = self.books.device_mut(device) {
                        record.reclaim_for = Some(domain);
                    }
                }
            }
            self.events.push(BrokerEvent::OwnerDied { domain });
        }
        moved
    }
}
