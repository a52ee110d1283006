//! The undo of one forward step: a generated `Compensation` of the peer the
//! step talked to, which is what the journal stores.
//!
//! An undo is sent as is and never compensated itself (Xen's
//! MAP_ERROR_RECOVERY lesson: rolling back a rollback recurses). Every undo
//! the broker journals is idempotent (set an entry back to a recorded state,
//! release a device's reference, unmap a range), so running it after a
//! crash without knowing whether its step happened is safe.

use idl_runtime::{ClientError, MaxEncodedLen, Transport};
use serde::{Deserialize, Serialize};

use crate::peers::{Peer, PeerFailure, Peers};
use crate::{domid, iommu};

/// How many times an undo is tried before the device goes to quarantine.
pub const UNDO_ATTEMPTS: usize = 3;

/// A journaled undo message.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Undo {
    /// Nothing is owed (a replayed acquire that counted nothing).
    Nothing,
    /// To the domid task.
    Domid(domid::Compensation),
    /// To the iommu task.
    Iommu(iommu::Compensation),
    /// To the kernel (device registers).
    Kernel(crate::registers::RegisterUndo),
}

impl MaxEncodedLen for Undo {
    const MAX_ENCODED_LEN: usize = 1 + idl_types::max_len(
        idl_types::max_len(
            <domid::Compensation as MaxEncodedLen>::MAX_ENCODED_LEN,
            <iommu::Compensation as MaxEncodedLen>::MAX_ENCODED_LEN,
        ),
        crate::registers::REGISTER_UNDO_MAX_LEN,
    );
}

impl Undo {
    /// The peer it goes to.
    pub fn peer(&self) -> Peer {
        match self {
            Undo::Nothing | Undo::Domid(_) => Peer::Domid,
            Undo::Iommu(_) => Peer::Iommu,
            Undo::Kernel(_) => Peer::Kernel,
        }
    }

    /// Sends it once.
    pub fn execute_once<T: Transport + Clone>(
        &self,
        peers: &mut Peers<T>,
    ) -> Result<(), PeerFailure> {
        match self {
            Undo::Nothing => Ok(()),
            Undo::Domid(c) => c
                .execute(&mut peers.domid)
                .or_else(already_undone_domid)
                .map_err(|e| PeerFailure::from_client(Peer::Domid, e)),
            Undo::Iommu(c) => c
                .execute(&mut peers.iommu)
                .or_else(already_undone_iommu)
                .map_err(|e| PeerFailure::from_client(Peer::Iommu, e)),
            Undo::Kernel(r) => r.execute(&mut peers.kernel),
        }
    }

    /// Sends it until it works, at most [`UNDO_ATTEMPTS`] times (a dead
    /// peer is retried at its new generation).
    pub fn execute<T: Transport + Clone>(&self, peers: &mut Peers<T>) -> Result<(), PeerFailure> {
        let mut last = None;
        for _ in 0..UNDO_ATTEMPTS {
            match self.execute_once(peers) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(PeerFailure {
            peer: self.peer(),
            kind: crate::peers::FailureKind::Unreachable,
        }))
    }
}

/// A release of something domid no longer holds is an undo already done
/// (its step never happened, or an earlier run of this undo did it).
fn already_undone_domid(
    e: ClientError<idl_types::DomidError>,
) -> Result<(), ClientError<idl_types::DomidError>> {
    match e {
        // Not counted: its step never happened or this undo already ran.
        // Not rebuilt: domid restarted and will be rebuilt from the
        // hardware, which the rest of the rollback restores.
        ClientError::Op(idl_types::DomidError::NotHeld { .. })
        | ClientError::Op(idl_types::DomidError::NotRebuilt) => Ok(()),
        other => Err(other),
    }
}

/// Unmapping a range that is no longer mapped is an undo already done.
fn already_undone_iommu(
    e: ClientError<idl_types::IommuError>,
) -> Result<(), ClientError<idl_types::IommuError>> {
    match e {
        ClientError::Op(idl_types::IommuError::NotMapped { .. }) => Ok(()),
        other => Err(other),
    }
}
