//! A transaction: forward steps whose undos are journaled before each
//! message is sent, and run backwards when a step fails.
//!
//! Callers never write rollback code: [`Transaction::step`] returns
//! `Err(StepFailed)` only after every owed undo has run (or failed after its
//! retries), so `?` leaves the hardware as it was. A transaction dropped
//! while open rolls back too. Undos are never journaled as steps of their
//! own: a compensation is never compensated.

use idl_runtime::Transport;

use crate::books::Books;
use crate::journal::{Journal, JournalEntry, JournalError, JournalStore, Phase, TxRecord, TxState};
use crate::peers::{PeerFailure, Peers};
use crate::steps::Step;

/// Deliberate bugs the simulator must catch, and the pre-seed way of
/// moving a device the benchmark compares with (tests only).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Knobs {
    /// Move a device the way Xen did before the seed (test-only variant,
    /// for `cargo xtask bench`): each present context entry is cleared
    /// (and flushed) first, then set, as unmap-then-map did. An RMRR's
    /// range is untranslated in between: the bug the seed fixed.
    pub two_step: bool,
    /// Send a step without journaling its undo first.
    pub skip_intent: bool,
    /// Journal every context undo as "clear the entry" instead of "set it
    /// back to what it was".
    pub wrong_previous: bool,
}

/// How a rollback ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Rollback {
    /// Every owed undo ran: the hardware is as before the transaction.
    Complete,
    /// At least one undo failed after its retries.
    Failed(PeerFailure),
    /// The journal could not be written; the undos were not attempted.
    JournalFailed,
}

/// Why a step (and so the transaction) failed, after the rollback.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StepFailed {
    /// The step that failed, 1-based.
    pub step: u8,
    /// The peer's failure, or `None` if the journal failed.
    pub failure: Option<PeerFailure>,
    /// How the rollback ended.
    pub rollback: Rollback,
}

/// An open transaction.
pub struct Transaction<'a, T: Transport + Clone, S: JournalStore> {
    journal: &'a mut Journal<S>,
    peers: &'a mut Peers<T>,
    record: TxRecord,
    steps: u8,
    open: bool,
    knobs: Knobs,
}

impl<'a, T: Transport + Clone, S: JournalStore> Transaction<'a, T, S> {
    /// Opens a transaction for `record`; the journal must be idle.
    pub fn begin(
        journal: &'a mut Journal<S>,
        peers: &'a mut Peers<T>,
        record: TxRecord,
        knobs: Knobs,
    ) -> Result<Self, JournalError> {
        journal.begin(record)?;
        Ok(Transaction {
            journal,
            peers,
            record,
            steps: 0,
            open: true,
            knobs,
        })
    }

    /// The move this transaction makes.
    pub fn record(&self) -> TxRecord {
        self.record
    }

    /// Forward steps taken so far.
    pub fn steps(&self) -> u8 {
        self.steps
    }

    /// The peers, for reads that are not steps (they change nothing).
    pub fn peers(&mut self) -> &mut Peers<T> {
        self.peers
    }

    /// Takes one forward step: journals its undo, sends it, journals the
    /// exact undo from the reply. On failure rolls everything back first.
    pub fn step<P: Step<T>>(&mut self, step: P) -> Result<P::Reply, StepFailed> {
        let index = self.steps;
        if !self.knobs.skip_intent {
            let intent = JournalEntry {
                step: index,
                phase: Phase::Intent,
                undo: step.intent(),
            };
            if self.journal.append(&intent).is_err() {
                return Err(self.fail(index, None));
            }
        }
        self.steps = self.steps.saturating_add(1);
        let reply = match step.send(self.peers) {
            Ok(reply) => reply,
            Err(failure) => return Err(self.fail(index, Some(failure))),
        };
        let mut undo = step.undo(&reply);
        if self.knobs.wrong_previous {
            corrupt_previous(&mut undo);
        }
        let done = JournalEntry {
            step: index,
            phase: Phase::Done,
            undo,
        };
        if self.journal.append(&done).is_err() {
            return Err(self.fail(index, None));
        }
        Ok(reply)
    }

    fn fail(&mut self, index: u8, failure: Option<PeerFailure>) -> StepFailed {
        self.open = false;
        let rollback = roll_back(self.journal, self.peers);
        StepFailed {
            step: index.saturating_add(1),
            failure,
            rollback,
        }
    }

    /// Commits: the journal says committed (its undos are no longer owed),
    /// then `apply` changes the books. The caller then cleans up the source
    /// and clears the journal with [`finish`].
    pub fn commit(
        mut self,
        books: &mut Books,
        apply: impl FnOnce(&mut Books),
    ) -> Result<(), JournalError> {
        self.journal.set_state(TxState::Committed)?;
        self.open = false;
        apply(books);
        Ok(())
    }
}

impl<T: Transport + Clone, S: JournalStore> Drop for Transaction<'_, T, S> {
    fn drop(&mut self) {
        if self.open {
            // An early return between steps: undo what was done.
            let _ = roll_back(self.journal, self.peers);
        }
    }
}

fn corrupt_previous(undo: &mut crate::undo::Undo) {
    use crate::iommu::Compensation;
    if let crate::undo::Undo::Iommu(Compensation::SetContext(args)) = undo {
        args.entry = idl_types::ContextState::NotPresent;
    }
}

/// Runs every undo the journal still owes, newest step first, journaling
/// each one done; clears the journal if all ran. Used by a failing step and
/// by recovery after the broker's restart.
pub fn roll_back<T: Transport + Clone, S: JournalStore>(
    journal: &mut Journal<S>,
    peers: &mut Peers<T>,
) -> Rollback {
    if journal.state() != TxState::RollingBack && journal.set_state(TxState::RollingBack).is_err() {
        return Rollback::JournalFailed;
    }
    let mut failed = None;
    for (step, undo) in journal.owed() {
        match undo.execute(peers) {
            Ok(()) => {
                let done = JournalEntry {
                    step,
                    phase: Phase::Undone,
                    undo,
                };
                if journal.append(&done).is_err() {
                    return Rollback::JournalFailed;
                }
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    match failed {
        Some(e) => Rollback::Failed(e),
        None => {
            if journal.clear().is_err() {
                return Rollback::JournalFailed;
            }
            Rollback::Complete
        }
    }
}

/// Ends a committed transaction once its cleanup is done.
pub fn finish<S: JournalStore>(journal: &mut Journal<S>) -> Result<(), JournalError> {
    journal.clear()
}
