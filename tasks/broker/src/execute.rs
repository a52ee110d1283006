//! Running a [`Plan`]: each planned step becomes one journaled forward step
//! of a [`Transaction`], then the commit changes the books, then the
//! cleanup gives up what the source held.
//!
//! What a reader must know: this file decides nothing. Which steps, in
//! which order, with which mode flags, is the plan's; a failed step has
//! already been rolled back when `?` returns (the transaction does it).

use heapless::Vec;
use idl_runtime::Transport;
use idl_types::{ContextChange, ContextState, Custody, Did, ReassignReport, RmrrList};

use crate::books::RidRecord;
use crate::engine::Broker;
use crate::facts::{DeviceFacts, MAX_DEVICE_RIDS};
use crate::journal::JournalStore;
use crate::plan::{NewEntry, Plan, PlannedStep, MAX_PLAN_STEPS};
use crate::steps::{
    AcquireDid, AcquireQuarantineDid, GrantRegisters, MapRmrr, QuarantineRid, RevokeRegisters,
    SetIrte, SwitchContext,
};
use crate::transaction::{finish, StepFailed, Transaction};

/// Why executing a plan did not commit.
pub(crate) enum ExecError {
    /// The journal could not begin: nothing was sent.
    Journal,
    /// A step failed; the transaction rolled back (or tried to).
    Step(StepFailed),
}

impl From<StepFailed> for ExecError {
    fn from(e: StepFailed) -> Self {
        ExecError::Step(e)
    }
}

/// What the steps so far produced that later steps and the commit use.
#[derive(Default)]
struct Progress {
    /// The DID the plan acquired (a domain's or a pseudo-DID).
    did: Option<Did>,
    /// Every context write was atomic.
    atomic: bool,
    /// (requester ID, what it holds now, the device backing it).
    written: Vec<RidRecord, MAX_PLAN_STEPS>,
}

impl Progress {
    /// The entry the target gets, once its DID is known.
    fn entry(&self, target: Custody) -> ContextState {
        match (target, self.did) {
            (Custody::Domain(domain), Some(did)) => ContextState::Domain { domain, did },
            (Custody::Quarantined, Some(did)) => ContextState::Quarantine { did },
            _ => ContextState::NotPresent,
        }
    }
}

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Runs `plan` as one transaction, commits it and cleans up the source.
    pub(crate) fn execute(
        &mut self,
        plan: &Plan,
        facts: &DeviceFacts,
    ) -> Result<ReassignReport, ExecError> {
        let Broker {
            journal,
            peers,
            books,
            knobs,
            ..
        } = self;
        let mut tx = Transaction::begin(journal, peers, plan.record, *knobs)
            .map_err(|_| ExecError::Journal)?;
        let mut progress = Progress {
            atomic: true,
            ..Progress::default()
        };
        for step in plan.steps.iter() {
            run_step(&mut tx, plan, facts, step, &mut progress)?;
        }
        let device = plan.record.device;
        let target = plan.record.target;
        let unit = plan.unit;
        let committed = tx.commit(books, |books| {
            books.set_custody(device, target);
            for record in progress.written.iter() {
                books.set_rid(RidRecord { unit, ..*record });
            }
            for &(alias, backer) in plan.credits.iter() {
                if let Some(kept) = books.rid(alias).copied() {
                    books.set_rid(RidRecord {
                        device: backer,
                        ..kept
                    });
                }
            }
        });
        committed?;
        self.cleanup(&plan.cleanup);
        if finish(&mut self.journal).is_err() {
            // Committed and cleaned up; the next start finds the journal
            // committed and cleans up again (idempotent) before clearing it.
            self.journal_broken = true;
        }
        Ok(ReassignReport {
            previous: plan.previous,
            current: progress.entry(target),
            atomic: progress.atomic,
        })
    }
}

/// One planned step as a journaled forward step.
fn run_step<T: Transport + Clone, S: JournalStore>(
    tx: &mut Transaction<'_, T, S>,
    plan: &Plan,
    facts: &DeviceFacts,
    step: &PlannedStep,
    progress: &mut Progress,
) -> Result<(), StepFailed> {
    let unit = plan.unit;
    let device = plan.record.device;
    let change: ContextChange = match *step {
        PlannedStep::AcquireDid { unit, domain } => {
            let grant = tx.step(AcquireDid {
                unit,
                domain,
                device,
            })?;
            progress.did = Some(grant.did);
            return Ok(());
        }
        PlannedStep::AcquireQuarantineDid { unit } => {
            let grant = tx.step(AcquireQuarantineDid { unit, device })?;
            progress.did = Some(grant.did);
            return Ok(());
        }
        PlannedStep::MapRmrr { domain, pages } => {
            tx.step(MapRmrr { domain, pages })?;
            return Ok(());
        }
        PlannedStep::RevokeRegisters { index, from } => {
            tx.step(RevokeRegisters { index, from })?;
            return Ok(());
        }
        PlannedStep::GrantRegisters { index, to } => {
            tx.step(GrantRegisters { index, to })?;
            return Ok(());
        }
        PlannedStep::SetIrte { handle, from, to } => {
            tx.step(SetIrte {
                unit,
                handle,
                from,
                to,
            })?;
            return Ok(());
        }
        PlannedStep::SwitchContext {
            rid,
            from,
            to,
            mode,
            backer,
        } => {
            let to = match to {
                NewEntry::Acquired => progress.entry(plan.record.target),
                NewEntry::State(state) => state,
            };
            let change = tx.step(SwitchContext {
                unit,
                rid,
                from,
                to,
                mode,
            })?;
            written(progress, rid, to, backer);
            change
        }
        PlannedStep::QuarantineRid { rid, from, mode } => {
            let to = progress.entry(Custody::Quarantined);
            let did = to.did().unwrap_or(Did(0));
            let change = tx.step(QuarantineRid {
                unit,
                rid,
                did,
                from,
                mode,
                rmrrs: RmrrList {
                    device,
                    ranges: facts.rmrrs.clone(),
                },
            })?;
            written(progress, rid, to, device);
            change
        }
    };
    progress.atomic &= change.atomic;
    Ok(())
}

/// Records what a requester ID holds now (a later write of the same one
/// replaces it).
fn written(
    progress: &mut Progress,
    rid: idl_types::Bdf,
    state: ContextState,
    backer: idl_types::Bdf,
) {
    let record = RidRecord {
        rid,
        unit: idl_types::UnitId(0),
        state,
        device: backer,
    };
    match progress.written.iter_mut().find(|r| r.rid == rid) {
        Some(slot) => *slot = record,
        None => {
            // One record per step at most: the capacity is the plan's.
            let _ = progress.written.push(record);
        }
    }
}

/// Requester IDs of one device (the capacity of what a plan writes).
const _: () = assert!(MAX_DEVICE_RIDS <= MAX_PLAN_STEPS);
