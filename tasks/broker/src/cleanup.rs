//! After commit (docs/DESIGN.md §6.3, step 5), the source gives up what it
//! held: its DID reference on the unit (or the quarantine pseudo-DID) and
//! the RMRR pages none of its other devices needs. Each action is
//! idempotent (a release of what is not held, an unmap of what is not
//! mapped, change nothing), so it is safe to repeat after any crash.
//!
//! What a reader must know: a cleanup that does not succeed (its peer keeps
//! dying, or refuses) is kept and retried at the next opportunity (before
//! every request, after a peer restarted), and counted in the stats until it
//! succeeds; never dropped silently. A broker that dies with cleanups
//! pending gives up what they would have at its next start: domid's books
//! are rebuilt from the hardware, and stale RMRR maps are unmapped
//! ([`Broker::reconcile_rmrr_maps`]).

use idl_runtime::{ClientError, Transport};
use idl_types::{Custody, DomainId, DomidError, IommuError, MemRange};

use crate::books::MAX_DOMAINS;
use crate::engine::Broker;
use crate::facts::DeviceFacts;
use crate::journal::{JournalStore, TxRecord};
use crate::plan::{cleanup_for, Cleanup};
use crate::ranges::uncovered;
use crate::undo::UNDO_ATTEMPTS;

/// Cleanups kept for a later retry.
pub const MAX_PENDING: usize = 32;
/// Distinct RMRR ranges a restart reconciles.
const MAX_KNOWN_RMRRS: usize = 64;

/// How one try of a cleanup ended.
enum Tried {
    /// Done (or already done before).
    Done,
    /// The peer died meanwhile: try again now.
    Again,
    /// Refused or unreachable: keep it for later.
    Later,
}

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Runs each cleanup action, retrying a peer that died meanwhile; what
    /// still fails is kept for [`Broker::retry_cleanups`].
    pub(crate) fn cleanup(&mut self, actions: &[Cleanup]) {
        for action in actions {
            if !self.cleanup_now(action) {
                self.stats.cleanup_failures += 1;
                self.keep_pending(*action);
            }
        }
    }

    /// Tries `action` up to [`UNDO_ATTEMPTS`] times; whether it is done.
    fn cleanup_now(&mut self, action: &Cleanup) -> bool {
        for _ in 0..UNDO_ATTEMPTS {
            match self.cleanup_once(action) {
                Tried::Done => return true,
                Tried::Again => continue,
                Tried::Later => return false,
            }
        }
        false
    }

    fn keep_pending(&mut self, action: Cleanup) {
        if self.pending.contains(&action) {
            return;
        }
        if self.pending.push(action).is_err() {
            // The next start's reconciliation finds it.
            self.stats.cleanups_lost += 1;
        }
    }

    /// Retries every pending cleanup once more; returns how many are left.
    pub fn retry_cleanups(&mut self) -> usize {
        let pending = core::mem::take(&mut self.pending);
        for action in pending.iter() {
            if !self.cleanup_now(action) {
                self.keep_pending(*action);
            }
        }
        self.pending.len()
    }

    /// The cleanups waiting for a retry.
    pub fn pending_cleanups(&self) -> &[Cleanup] {
        &self.pending
    }

    fn cleanup_once(&mut self, action: &Cleanup) -> Tried {
        match *action {
            Cleanup::ReleaseDid {
                unit,
                domain,
                device,
            } => match self.peers.domid.release(unit, domain, device) {
                // Not counted: done before. Not rebuilt: domid restarted and
                // is rebuilt from the hardware, where the device has left.
                Ok(_)
                | Err(ClientError::Op(DomidError::NotHeld { .. }))
                | Err(ClientError::Op(DomidError::NotRebuilt)) => Tried::Done,
                Err(e) => tried(e),
            },
            Cleanup::ReleaseQuarantineDid { unit, device } => {
                match self.peers.domid.release_quarantine(unit, device) {
                    Ok(_) | Err(ClientError::Op(DomidError::NotRebuilt)) => Tried::Done,
                    Err(e) => tried(e),
                }
            }
            Cleanup::UnmapRange { domain, range } => {
                match self.peers.iommu.unmap_range(domain, range) {
                    // The iommu settles a flush an earlier try owes before
                    // it says a range is no longer mapped.
                    Ok(())
                    | Err(ClientError::Op(IommuError::NotMapped { .. }))
                    | Err(ClientError::Op(IommuError::NoSuchDomain(_))) => Tried::Done,
                    Err(e) => tried(e),
                }
            }
        }
    }

    /// At a restart, what cleanups this broker's previous life may have
    /// left pending: every RMRR page mapped in a domain none of whose
    /// devices needs it is unmapped (an unmap of what is not mapped changes
    /// nothing). A domain's own memory is never touched, nor a domain with
    /// a device whose facts could not be read (its RMRRs are unknown).
    pub(crate) fn reconcile_rmrr_maps(&mut self) {
        let mut ranges: heapless::Vec<MemRange, MAX_KNOWN_RMRRS> = heapless::Vec::new();
        for range in self
            .books
            .devices()
            .iter()
            .filter_map(|d| d.facts.as_ref())
            .flat_map(|f| f.rmrrs.iter())
        {
            if !ranges.contains(range) {
                let _ = ranges.push(*range);
            }
        }
        let domains: heapless::Vec<DomainId, MAX_DOMAINS> =
            self.books.domains().iter().map(|d| d.domain).collect();
        for domain in domains {
            let unknown = self
                .books
                .devices()
                .iter()
                .any(|d| d.custody == Custody::Domain(domain) && d.facts.is_none());
            if unknown {
                continue;
            }
            for range in ranges.iter() {
                let Ok(pieces) = uncovered(range, self.books.domain_rmrrs(domain, None)) else {
                    continue;
                };
                for piece in pieces {
                    let memory = self
                        .memory
                        .iter()
                        .any(|m| m.overlap(domain, piece.iova, piece.pages).is_some());
                    let action = Cleanup::UnmapRange {
                        domain,
                        range: piece,
                    };
                    if !memory && !self.cleanup_now(&action) {
                        self.keep_pending(action);
                    }
                }
            }
        }
    }

    /// The cleanup of a committed transaction found in the journal.
    pub(crate) fn cleanup_after(&mut self, record: TxRecord, facts: &DeviceFacts) {
        let actions = cleanup_for(&record, facts, &self.books);
        self.cleanup(&actions);
    }
}

/// A failed try: again at once if the peer died, else later.
fn tried<E>(e: ClientError<E>) -> Tried {
    match e {
        ClientError::ServerDied { .. } | ClientError::ServerRestarted { .. } => Tried::Again,
        _ => Tried::Later,
    }
}
