//! A transaction: forward steps whose undos are journaled before each
//! message is sent, and run backwards when a step fails (docs/DESIGN.md
//! §7).
//!
//! Callers never write rollback code: [`Transaction::step`] returns
//! `Err(StepFailed)` only after every owed undo has run (or failed after its
//! retries), so `?` leaves the hardware as it was. A transaction dropped
//! while open rolls back too. Undos are never journaled as steps of their
//! own: a compensation is never compensated.
//!
//! Two things a reader must know:
//! - The owed undos are kept in memory as well as in the journal, and a
//!   rollback runs the memory's list: a journal that stops taking writes
//!   never stops a rollback (Xen always attempts its rollback). The
//!   transaction then says the journal failed ([`StepFailed::journal_ok`]);
//!   the broker takes no new transaction until its next start replays the
//!   journal against the hardware (every undo is idempotent, so replaying
//!   one already run changes nothing).
//! - A step the peer refused with its own error did nothing, if the step
//!   says so ([`Step::refusal_changes_nothing`]): its undo is not owed. The
//!   undo journaled before sending assumed it might have happened; running
//!   it anyway could undo something else (an RMRR map's undo would unmap a
//!   range the domain had before).

use heapless::Vec;
use idl_runtime::Transport;

use crate::books::Books;
use crate::journal::{Journal, JournalEntry, JournalError, JournalStore, Phase, TxRecord, TxState};
use crate::peers::{PeerFailure, Peers};
use crate::plan::MAX_PLAN_STEPS;
use crate::steps::Step;
use crate::undo::Undo;

/// Deliberate bugs the simulator must catch, and the pre-XSA-400 way of
/// moving a device the benchmark compares with (tests only).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Knobs {
    /// Move a device the way Xen did before Xen's fix (test-only variant,
    /// for `cargo xtask bench`): each present context entry is cleared
    /// (and flushed) first, then set, as unmap-then-map did. An RMRR's
    /// range is untranslated in between: the bug Xen's fix fixed.
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
    /// Whether every journal write of the transaction and its rollback
    /// succeeded (else the journal is out of step with the hardware until
    /// the next start replays it).
    pub journal_ok: bool,
}

/// The undos a transaction owes, newest last: (step, undo).
pub type Owed = Vec<(u8, Undo), MAX_PLAN_STEPS>;

/// An open transaction.
pub struct Transaction<'a, T: Transport + Clone, S: JournalStore> {
    journal: &'a mut Journal<S>,
    peers: &'a mut Peers<T>,
    record: TxRecord,
    steps: u8,
    open: bool,
    knobs: Knobs,
    /// What the journal owes, kept in memory too.
    owed: Owed,
    /// Whether every journal write so far succeeded.
    journal_ok: bool,
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
            owed: Vec::new(),
            journal_ok: true,
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

    /// Records the undo owed for `step` (replacing an earlier one).
    fn owe(&mut self, step: u8, undo: Undo) -> Result<(), ()> {
        match self.owed.iter_mut().find(|(s, _)| *s == step) {
            Some(slot) => slot.1 = undo,
            None => self.owed.push((step, undo)).map_err(|_| ())?,
        }
        Ok(())
    }

    /// Takes one forward step: journals its undo, sends it, journals the
    /// exact undo from the reply when it differs from the one journaled.
    /// On failure rolls everything back first.
    pub fn step<P: Step<T>>(&mut self, step: P) -> Result<P::Reply, StepFailed> {
        let index = self.steps;
        if self.owe(index, step.intent()).is_err() {
            // More steps than a plan may hold: nothing sent.
            return Err(self.fail(index, None));
        }
        if !self.knobs.skip_intent {
            let intent = JournalEntry {
                step: index,
                phase: Phase::Intent,
                undo: step.intent(),
            };
            if self.journal.append(&intent).is_err() {
                // Not sent: nothing to undo for it.
                self.owed.pop();
                self.journal_ok = false;
                return Err(self.fail(index, None));
            }
        }
        self.steps = self.steps.saturating_add(1);
        let reply = match step.send(self.peers) {
            Ok(reply) => reply,
            Err(failure) => {
                if failure.is_refusal() && step.refusal_changes_nothing() {
                    let _ = self.owe(index, Undo::Nothing);
                    let nothing = JournalEntry {
                        step: index,
                        phase: Phase::Undone,
                        undo: Undo::Nothing,
                    };
                    self.journal_ok &= self.journal.append(&nothing).is_ok();
                }
                return Err(self.fail(index, Some(failure)));
            }
        };
        let mut undo = step.undo(&reply);
        if self.knobs.wrong_previous {
            corrupt_previous(&mut undo);
        }
        let _ = self.owe(index, undo.clone());
        if !self.knobs.skip_intent && undo == step.intent() {
            // The reply taught nothing: the intent already journaled is
            // the exact undo (replay owes a step's latest undo whatever
            // its phase), so a second record would only cost a write.
            return Ok(reply);
        }
        let done = JournalEntry {
            step: index,
            phase: Phase::Done,
            undo,
        };
        if self.journal.append(&done).is_err() {
            // The journal holds the intent, which is enough to undo it
            // after a crash; but no further step can be journaled.
            self.journal_ok = false;
            return Err(self.fail(index, None));
        }
        Ok(reply)
    }

    fn fail(&mut self, index: u8, failure: Option<PeerFailure>) -> StepFailed {
        self.open = false;
        let (rollback, journal_ok) = roll_back_owed(self.journal, self.peers, &self.owed);
        StepFailed {
            step: index.saturating_add(1),
            failure,
            rollback,
            journal_ok: journal_ok && self.journal_ok,
        }
    }

    /// Commits: the journal says committed (its undos are no longer owed),
    /// then `apply` changes the books. The caller then cleans up the source
    /// and clears the journal with [`finish`]. If the journal cannot say
    /// committed, everything is undone (from memory) and the books are
    /// left alone.
    pub fn commit(
        mut self,
        books: &mut Books,
        apply: impl FnOnce(&mut Books),
    ) -> Result<(), StepFailed> {
        if self.journal.set_state(TxState::Committed).is_err() {
            self.journal_ok = false;
            let index = self.steps;
            return Err(self.fail(index, None));
        }
        self.open = false;
        apply(books);
        Ok(())
    }
}

impl<T: Transport + Clone, S: JournalStore> Drop for Transaction<'_, T, S> {
    fn drop(&mut self) {
        if self.open {
            // An early return between steps: undo what was done.
            let _ = roll_back_owed(self.journal, self.peers, &self.owed);
        }
    }
}

fn corrupt_previous(undo: &mut Undo) {
    use crate::iommu::Compensation;
    if let Undo::Iommu(Compensation::SetContext(args)) = undo {
        args.entry = idl_types::ContextState::NotPresent;
    }
}

/// Runs `owed`, newest step first, journaling each one done; clears the
/// journal if all ran. Journal writes that fail do not stop it: the undos
/// still run. Returns how it ended and whether the journal kept up.
fn roll_back_owed<T: Transport + Clone, S: JournalStore>(
    journal: &mut Journal<S>,
    peers: &mut Peers<T>,
    owed: &[(u8, Undo)],
) -> (Rollback, bool) {
    let mut journal_ok =
        journal.state() == TxState::RollingBack || journal.set_state(TxState::RollingBack).is_ok();
    let mut failed = None;
    for (step, undo) in owed.iter().rev() {
        match undo.execute(peers) {
            Ok(()) => {
                let done = JournalEntry {
                    step: *step,
                    phase: Phase::Undone,
                    undo: undo.clone(),
                };
                journal_ok &= journal.append(&done).is_ok();
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    match failed {
        Some(e) => (Rollback::Failed(e), journal_ok),
        None => {
            journal_ok &= journal.clear().is_ok();
            (Rollback::Complete, journal_ok)
        }
    }
}

/// Runs every undo the journal still owes (recovery after the broker's
/// restart), newest step first; clears the journal if all ran.
pub fn roll_back<T: Transport + Clone, S: JournalStore>(
    journal: &mut Journal<S>,
    peers: &mut Peers<T>,
) -> (Rollback, bool) {
    let mut owed = journal.owed();
    // `owed()` is newest first; `roll_back_owed` wants newest last.
    owed.reverse();
    roll_back_owed(journal, peers, &owed)
}

/// Ends a committed transaction once its cleanup is done.
pub fn finish<S: JournalStore>(journal: &mut Journal<S>) -> Result<(), JournalError> {
    journal.clear()
}
