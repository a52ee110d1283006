//! The broker itself: the books, the journal, the peers, and the moves.
//!
//! [`Broker::move_device`] is DESIGN.md section 6 line by line; every
//! public request (assign, reassign, quarantine, release, owner death) is a
//! policy check followed by it. A failed step has already been rolled back
//! when `?` returns; what is left here is the seed's refusals before any
//! step, and quarantining a device whose rollback failed.

use heapless::Vec;
use idl_runtime::Transport;
use idl_types::{
    Bdf, BrokerError, BrokerEvent, ContextState, Custody, DomainId, ReassignMode, ReassignReport,
    TaskIndex, TxStatus,
};

use crate::aliases::AliasPlan;
use crate::books::{Books, RidRecord, MAX_DEVICES};
use crate::config::Config;
use crate::events::EventRing;
use crate::facts::{DeviceFacts, Direction, MAX_DEVICE_RIDS};
use crate::journal::{Journal, JournalStore, Opened, TxRecord, TxState};
use crate::memory::DomainMap;
use crate::peers::{Peer, PeerFailure, Peers};
use crate::policy::{permitted, Request};
use crate::steps::{AcquireDid, AcquireQuarantineDid, MapRmrr, QuarantineRid, SwitchContext};
use crate::transaction::{finish, Knobs, Rollback, StepFailed, Transaction};

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
    /// Times domid was re-seeded after its restart.
    pub domid_reseeds: u32,
    /// Domain memory ranges the iommu refused to map at start.
    pub memory_map_failures: u32,
}

/// The ownership broker.
pub struct Broker<T: Transport + Clone, S: JournalStore> {
    pub(crate) peers: Peers<T>,
    pub(crate) journal: Journal<S>,
    pub(crate) books: Books,
    pub(crate) events: EventRing,
    operators: Vec<TaskIndex, 8>,
    knobs: Knobs,
    pub(crate) stats: BrokerStats,
    /// What pci was last told of each device's owner (see `handover`):
    /// only differences are sent; emptied when pci restarts.
    pub(crate) pci_told: Vec<(Bdf, Option<TaskIndex>), MAX_DEVICES>,
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
            operators: config.operators.iter().copied().take(8).collect(),
            knobs: Knobs::default(),
            stats: BrokerStats::default(),
            pci_told: Vec::new(),
        };
        broker.configure_domid();
        broker.create_domains();
        broker.map_domain_memory(maps);
        // The books first: a committed transaction's cleanup asks them
        // whether another device of the source still needs an RMRR map.
        broker.rebuild_books();
        broker.recover_journal();
        broker.rebuild_books();
        if !matches!(broker.peers.domid.is_seeded(), Ok(true)) {
            broker.reseed_domid();
        }
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

    /// A device's platform facts, read once from pci and acpi.
    pub(crate) fn facts(&mut self, device: Bdf) -> Result<DeviceFacts, BrokerError> {
        if let Some(f) = self.books.device(device).and_then(|d| d.facts.clone()) {
            return Ok(f);
        }
        let fact = |_| BrokerError::PlatformFact(device);
        let info = self.peers.pci.device_info(device).map_err(fact)?;
        let bridge = match info.upstream_bridge {
            Some(b) if info.kind == idl_types::DeviceKind::LegacyEndpoint => {
                Some(self.peers.pci.device_info(b).map_err(fact)?)
            }
            _ => None,
        };
        let ids = self
            .peers
            .pci
            .requester_ids(device, idl_types::AliasOrder::Assign)
            .map_err(fact)?;
        let unit = self
            .peers
            .acpi
            .unit_of(device)
            .map_err(|_| BrokerError::PlatformFact(device))?;
        let rmrrs = self
            .peers
            .acpi
            .rmrrs_of(device)
            .map_err(|_| BrokerError::PlatformFact(device))?;
        let facts = DeviceFacts {
            device,
            unit,
            kind: info.kind,
            rids: crate::facts::classify_rids(&info, bridge.as_ref(), &ids.ids),
            rmrrs: rmrrs.ranges,
            phantom_stride: info.phantom_stride,
        };
        if let Some(record) = self.books.device_mut(device) {
            record.facts = Some(facts.clone());
        }
        Ok(facts)
    }

    /// The seed's mode flags for moving a device away from `source`.
    fn mode_for(
        &self,
        facts: &DeviceFacts,
        source: Custody,
        target: Custody,
        dying: bool,
    ) -> ReassignMode {
        let mut mode = ReassignMode::default();
        if facts.has_rmrr() {
            mode = mode.union(ReassignMode::WITH_RMRR);
        }
        if let Custody::Domain(s) = source {
            if target != source {
                if dying {
                    mode = mode.union(ReassignMode::OWNER_DYING);
                } else if self.books.others_behind_unit(s, facts.unit, facts.device) == 0
                    && !facts.has_phantoms()
                {
                    mode = mode.union(ReassignMode::SINGLE_DEVICE);
                }
            }
        }
        mode
    }

    /// Moves `device` to `target` as one transaction; on a failed rollback
    /// quarantines it and raises an event.
    pub(crate) fn move_device(
        &mut self,
        device: Bdf,
        target: Custody,
        dying: bool,
    ) -> Result<ReassignReport, BrokerError> {
        if self.journal.state() != TxState::Idle {
            return Err(BrokerError::Busy);
        }
        if matches!(self.peers.domid.is_seeded(), Ok(false)) {
            self.reseed_domid();
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
        let current = self.read_rids(&facts)?;
        let own = current
            .iter()
            .find(|(rid, _)| *rid == device)
            .map_or(ContextState::NotPresent, |(_, s)| *s);
        if source == target {
            // The seed's no-op: already with the target.
            return Ok(ReassignReport {
                previous: own,
                current: own,
                atomic: true,
            });
        }
        if target == Custody::Unassigned && facts.has_rmrr() {
            return Err(BrokerError::WouldDisconnectRmrr(device).into());
        }
        if facts.has_rmrr() && own != ContextState::NotPresent {
            // The seed's EOPNOTSUPP: a direct reassignment (the device's
            // own entry present, the owner changing) of an RMRR device
            // cannot drag a bridge alias away from another owner. A first
            // assignment (own entry not present) is not refused: the seed
            // maps the alias to the new owner then.
            for rid in facts.rids.iter().filter(|r| r.role.is_shared_alias()) {
                let state = current
                    .iter()
                    .find(|(r, _)| *r == rid.bdf)
                    .map_or(ContextState::NotPresent, |(_, s)| *s);
                if state != ContextState::NotPresent && state != own {
                    return Err(BrokerError::SharedAliasWithRmrr {
                        device,
                        alias: rid.bdf,
                    }
                    .into());
                }
            }
        }
        let mode = self.mode_for(&facts, source, target, dying);
        let unit = facts.unit;
        let direction = match target {
            Custody::Unassigned => Direction::Deassign,
            _ => Direction::Assign,
        };
        let state_of = |rid: Bdf| {
            current
                .iter()
                .find(|(r, _)| *r == rid)
                .map_or(ContextState::NotPresent, |(_, s)| *s)
        };
        // Leaving for no translation, each shared alias is cleared, kept
        // (another device backs it) or handed to a neighbour still using
        // it, so it never keeps a DID domid frees below.
        let mut plans: Vec<(Bdf, AliasPlan), MAX_DEVICE_RIDS> = Vec::new();
        if direction == Direction::Deassign {
            for rid in facts.rids.iter().filter(|r| r.role.is_shared_alias()) {
                let plan = self.alias_on_release(device, unit, rid.bdf, state_of(rid.bdf))?;
                let _ = plans.push((rid.bdf, plan));
            }
        }

        let Broker {
            journal,
            peers,
            books,
            knobs,
            ..
        } = self;
        let record = TxRecord {
            device,
            source,
            target,
        };
        let mut tx = Transaction::begin(journal, peers, record, *knobs)
            .map_err(|_| BrokerError::JournalFailed)?;
        // 1. A DID for the target on the device's unit.
        let entry = match target {
            Custody::Domain(t) => {
                let did = tx
                    .step(AcquireDid {
                        unit,
                        domain: t,
                        device,
                    })?
                    .did;
                // 2. The target's RMRR identity maps, before the switch.
                for range in facts.rmrrs.iter() {
                    if !books.domain_needs_range(t, range, device) {
                        tx.step(MapRmrr {
                            domain: t,
                            range: *range,
                        })?;
                    }
                }
                ContextState::Domain { domain: t, did }
            }
            Custody::Quarantined => {
                let did = tx.step(AcquireQuarantineDid { unit, device })?.did;
                ContextState::Quarantine { did }
            }
            Custody::Unassigned => ContextState::NotPresent,
        };
        // 3. Every requester ID, in the seed's order.
        let mut atomic = true;
        // (requester ID, what it holds now, the device backing it).
        let mut written: Vec<(Bdf, ContextState, Bdf), MAX_DEVICE_RIDS> = Vec::new();
        for rid in facts.requester_ids(direction) {
            let plan = plans.iter().find(|(r, _)| *r == rid.bdf).map(|(_, p)| *p);
            let (to, backer, rid_mode) = match plan {
                Some(AliasPlan::Keep) => continue,
                Some(AliasPlan::HandOver {
                    heir,
                    state,
                    heir_rmrr,
                }) => (
                    state,
                    heir,
                    if heir_rmrr {
                        mode.union(ReassignMode::WITH_RMRR)
                    } else {
                        mode
                    },
                ),
                Some(AliasPlan::Clear) | None => (entry, device, mode),
            };
            let from = state_of(rid.bdf);
            let change = match to {
                ContextState::Quarantine { did } if backer == device => tx.step(QuarantineRid {
                    unit,
                    rid: rid.bdf,
                    did,
                    from,
                    mode,
                    rmrrs: idl_types::RmrrList {
                        device,
                        ranges: facts.rmrrs.clone(),
                    },
                })?,
                to => {
                    let from =
                        if knobs.two_step && from.did().is_some() && to != ContextState::NotPresent
                        {
                            // The pre-seed way: unmap (clear and flush), then map.
                            tx.step(SwitchContext {
                                unit,
                                rid: rid.bdf,
                                from,
                                to: ContextState::NotPresent,
                                mode: rid_mode,
                            })?;
                            ContextState::NotPresent
                        } else {
                            from
                        };
                    tx.step(SwitchContext {
                        unit,
                        rid: rid.bdf,
                        from,
                        to,
                        mode: rid_mode,
                    })?
                }
            };
            atomic &= change.atomic;
            let _ = written.push((rid.bdf, to, backer));
        }
        // 4. Commit: the books change; the undos are no longer owed.
        tx.commit(books, |books| {
            books.set_custody(device, target);
            for &(rid, state, backer) in written.iter() {
                books.set_rid(RidRecord {
                    rid,
                    unit,
                    state,
                    device: backer,
                });
            }
        })
        .map_err(|_| BrokerError::JournalFailed)?;
        // 5. Idempotent cleanup of the source, then the journal clears.
        self.cleanup_after(record, &facts);
        finish(&mut self.journal).map_err(|_| BrokerError::JournalFailed)?;
        Ok(ReassignReport {
            previous: own,
            current: entry,
            atomic,
        })
    }

    /// What the hardware holds for each of the device's requester IDs.
    fn read_rids(
        &mut self,
        facts: &DeviceFacts,
    ) -> Result<Vec<(Bdf, ContextState), MAX_DEVICE_RIDS>, BrokerError> {
        let mut out = Vec::new();
        for rid in facts.rids.iter() {
            let hardware = self
                .peers
                .iommu
                .get_context(facts.unit, rid.bdf)
                .map_err(|_| BrokerError::PeerDown)?;
            // An entry whose tables the iommu does not know cannot be set
            // back by an undo: refuse to touch the device.
            let state = hardware.state().ok_or(BrokerError::Recovering)?;
            let _ = out.push((rid.bdf, state));
        }
        Ok(out)
    }

    /// Releases what the source held for this device: its DID reference on
    /// the unit (or the quarantine pseudo-DID) and its RMRR maps no other
    /// device of the source needs. Safe to repeat.
    pub(crate) fn cleanup_after(&mut self, record: TxRecord, facts: &DeviceFacts) {
        match record.source {
            Custody::Domain(s) => {
                for _ in 0..crate::undo::UNDO_ATTEMPTS {
                    match self.peers.domid.release(facts.unit, s, record.device) {
                        Err(idl_runtime::ClientError::ServerDied { .. }) => continue,
                        _ => break,
                    }
                }
                for range in facts.rmrrs.iter() {
                    if !self.books.domain_needs_range(s, range, record.device) {
                        let (iova, pages) = crate::steps::pages_of(range);
                        // A dead iommu may or may not have unmapped it:
                        // unmapping again is harmless (NotMapped).
                        for _ in 0..crate::undo::UNDO_ATTEMPTS {
                            match self
                                .peers
                                .iommu
                                .unmap_range(s, idl_types::PageRange { iova, pages })
                            {
                                Err(idl_runtime::ClientError::ServerDied { .. }) => continue,
                                _ => break,
                            }
                        }
                    }
                }
            }
            Custody::Quarantined => {
                let _ = self
                    .peers
                    .domid
                    .release_quarantine(facts.unit, record.device);
            }
            Custody::Unassigned => {}
        }
    }

    /// After a failed step: a dead domid is re-seeded; the device's entries
    /// are re-read so the books match the hardware; a failed rollback sends
    /// the device to quarantine with an event.
    fn after_failure(&mut self, device: Bdf, target: Custody, failed: StepFailed) -> BrokerError {
        if failed
            .failure
            .is_some_and(|f| f.died() && f.peer == Peer::Domid)
            || matches!(self.peers.domid.is_seeded(), Ok(false))
        {
            self.rebuild_books();
            self.reseed_domid();
        }
        match failed.rollback {
            Rollback::Complete => {
                self.stats.rolled_back += 1;
                self.resync_device(device);
                if let Some(PeerFailure {
                    kind:
                        crate::peers::FailureKind::Iommu(idl_types::IommuError::SharedAliasWithRmrr {
                            device,
                            alias,
                        }),
                    ..
                }) = failed.failure
                {
                    return BrokerError::SharedAliasWithRmrr { device, alias };
                }
                BrokerError::RolledBack {
                    device,
                    step: failed.step,
                }
            }
            Rollback::Failed(_) => {
                self.stats.rollback_failures += 1;
                self.quarantine_after_failed_rollback(device, target);
                BrokerError::Quarantined(device)
            }
            Rollback::JournalFailed => BrokerError::JournalFailed,
        }
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
