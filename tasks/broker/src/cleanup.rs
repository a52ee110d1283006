//! After commit, the source gives up what it held: its DID reference on
//! the unit (or the quarantine pseudo-DID) and the RMRR ranges none of its
//! other devices needs. Each action is idempotent (a release of what is not
//! held, an unmap of what is not mapped, change nothing), so it is safe to
//! repeat after any crash.

use idl_runtime::{ClientError, Transport};

use crate::engine::Broker;
use crate::facts::DeviceFacts;
use crate::journal::{JournalStore, TxRecord};
use crate::plan::{cleanup_for, Cleanup};
use crate::undo::UNDO_ATTEMPTS;

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Runs each cleanup action, retrying a peer that died meanwhile.
    pub(crate) fn cleanup(&mut self, actions: &[Cleanup]) {
        for action in actions {
            for _ in 0..UNDO_ATTEMPTS {
                if !self.cleanup_once(action) {
                    break;
                }
            }
        }
    }

    /// One try; `true` when the peer died and it should be tried again.
    fn cleanup_once(&mut self, action: &Cleanup) -> bool {
        match *action {
            Cleanup::ReleaseDid {
                unit,
                domain,
                device,
            } => died(&self.peers.domid.release(unit, domain, device)),
            Cleanup::ReleaseQuarantineDid { unit, device } => {
                let _ = self.peers.domid.release_quarantine(unit, device);
                false
            }
            Cleanup::UnmapRange { domain, range } => {
                // A dead iommu may or may not have unmapped it: unmapping
                // again is harmless (NotMapped).
                died(&self.peers.iommu.unmap_range(domain, range))
            }
        }
    }

    /// The cleanup of a committed transaction found in the journal.
    pub(crate) fn cleanup_after(&mut self, record: TxRecord, facts: &DeviceFacts) {
        let actions = cleanup_for(&record, facts, &self.books);
        self.cleanup(&actions);
    }
}

/// Whether a call failed because its server died (it may be tried again).
fn died<R, E>(result: &Result<R, ClientError<E>>) -> bool {
    matches!(result, Err(ClientError::ServerDied { .. }))
}
