//! Deaths: the one place the broker handles the supervisor's death records,
//! for the broker task, the fused build and the simulator alike.
//!
//! For each record after the cursor (`Supervisor::death_after`) the dead
//! task's domains lose their devices to quarantine ([`Broker::owner_died`]),
//! and if it was one of the broker's peers the books are rebuilt from the
//! hardware ([`Broker::peer_restarted`]). Which task index is which peer
//! comes from the clients' server IDs (the `PeerIds` given to `Peers::new`).
//!
//! What a reader must know: the cursor (the number of the last death
//! handled) lives in the journal's header, in the persist region, and is
//! written *after* the record is handled. So a broker that dies mid-way
//! handles that death again in its next life, never skips one: both
//! handlings are idempotent (a quarantined device stays put; a rebuild
//! re-reads the same hardware). Asking the supervisor for its newest number
//! at start instead would skip every death that happened while no broker
//! ran (and the one it died handling), leaving a dead owner's devices in
//! its domains. The supervisor's numbering and the persist region both
//! start over only at boot, so the cursor never runs ahead of the log.

use core::fmt;

use idl_runtime::{ClientError, Transport};
use idl_types::{DeathRecord, NoError, TaskIndex};

use crate::engine::Broker;
use crate::journal::{JournalError, JournalStore};
use crate::peers::Peer;

/// One death as the broker handled it (for the caller's log).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DeathHandled {
    /// The supervisor's record.
    pub record: DeathRecord,
    /// Devices of the dead task's domains that went to quarantine.
    pub quarantined: usize,
    /// The peer the task was, if it was one (the books were rebuilt).
    pub peer: Option<Peer>,
}

/// Why pulling deaths stopped before the supervisor had none left.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeathPollError {
    /// `death_after` failed: no record could be read.
    Supervisor(ClientError<NoError>),
    /// Death `seq` was handled but the cursor could not be saved; it will be
    /// handled again (harmlessly) by the next poll or the next life.
    CursorNotSaved {
        /// The death's number.
        seq: u32,
        /// What the journal said.
        cause: JournalError,
    },
}

impl fmt::Display for DeathPollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeathPollError::Supervisor(e) => write!(f, "the supervisor did not say who died: {e}"),
            DeathPollError::CursorNotSaved { seq, cause } => {
                write!(
                    f,
                    "death {seq} handled but not recorded as handled: {cause}"
                )
            }
        }
    }
}

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Pulls every death after the journal's cursor and handles each,
    /// telling `each` about it; returns how many. Called after the
    /// supervisor's notification and once at start (deaths that happened
    /// while no broker ran).
    pub fn poll_deaths_with(
        &mut self,
        each: &mut dyn FnMut(&DeathHandled),
    ) -> Result<usize, DeathPollError> {
        let mut handled = 0;
        loop {
            let after = self.journal.deaths_seen();
            let record = match self.peers.supervisor.death_after(after) {
                Ok(Some(record)) => record,
                Ok(None) => return Ok(handled),
                Err(e) => return Err(DeathPollError::Supervisor(e)),
            };
            if record.seq <= after {
                // A supervisor answering out of order would loop forever.
                return Ok(handled);
            }
            let death = self.handle_death(record);
            handled += 1;
            each(&death);
            self.journal.set_deaths_seen(record.seq).map_err(|cause| {
                DeathPollError::CursorNotSaved {
                    seq: record.seq,
                    cause,
                }
            })?;
        }
    }

    /// [`Broker::poll_deaths_with`] without a report: how many deaths were
    /// handled (those before a failure count).
    pub fn poll_deaths(&mut self) -> usize {
        let mut handled = 0;
        let _ = self.poll_deaths_with(&mut |_| handled += 1);
        handled
    }

    /// Which peer `task` is, by the task IDs the peers' clients address.
    pub fn peer_of(&self, task: TaskIndex) -> Option<Peer> {
        let is = |server: idl_runtime::abi::TaskId| server.index() == usize::from(task.0);
        if is(self.peers.iommu.server()) {
            Some(Peer::Iommu)
        } else if is(self.peers.domid.server()) {
            Some(Peer::Domid)
        } else if is(self.peers.pci.server()) {
            Some(Peer::Pci)
        } else if is(self.peers.acpi.server()) {
            Some(Peer::Acpi)
        } else {
            None
        }
    }

    fn handle_death(&mut self, record: DeathRecord) -> DeathHandled {
        let quarantined = self.owner_died(record.task);
        let peer = self.peer_of(record.task);
        if let Some(peer) = peer {
            // Its memory is fresh: re-read the hardware (and rebuild domid,
            // or tell pci every owner again).
            self.peer_restarted(peer);
        }
        DeathHandled {
            record,
            quarantined,
            peer,
        }
    }
}
