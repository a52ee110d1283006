//! DMA faults as broker events: after the iommu posts that it recorded
//! faults, the broker pulls them (a server never calls its client) and
//! names, for each, the device whose requester ID faulted, so an owner or
//! the console sees "device X tried address A" in the event stream.
//!
//! Each fault also counts against the device's fault budget
//! ([`crate::fault_policy`]): a device past it is quarantined here, by the
//! same transaction as any other move, and `FaultQuarantined` says so with
//! its count. Fault events live in their own ring (`events`), so a storm
//! never pushes the ownership events out.

use heapless::Vec;
use idl_runtime::Transport;
use idl_types::{Bdf, BrokerEvent, Custody};

use crate::engine::Broker;
use crate::journal::JournalStore;

/// Batches pulled at most per call (the iommu keeps the rest queued).
const MAX_BATCHES: usize = 8;

/// Devices quarantined per pull at most (the rest are named at the next).
pub const MAX_QUARANTINED_PER_PULL: usize = 4;

/// What one pull did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultsPulled {
    /// Fault records pulled.
    pub seen: usize,
    /// Devices that went past the budget: `(device, faults in the
    /// interval, whether the quarantine move committed)`.
    pub quarantined: Vec<(Bdf, u32, bool), MAX_QUARANTINED_PER_PULL>,
}

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Pulls the iommu's fault records into the event stream, counting each
    /// against its device's budget at `now_ms` (ms since boot) and
    /// quarantining a device past it. A bridge alias is named as the
    /// device that wrote it last.
    pub fn pull_dma_faults(&mut self, now_ms: u64) -> FaultsPulled {
        let mut pulled = FaultsPulled::default();
        let mut over: Vec<(Bdf, u32), MAX_QUARANTINED_PER_PULL> = Vec::new();
        for _ in 0..MAX_BATCHES {
            let Ok(batch) = self.peers.iommu.pull_faults() else {
                break;
            };
            for record in batch.records.iter() {
                let device = self
                    .books
                    .rid(record.source)
                    .map_or(record.source, |r| r.device);
                self.events.push(BrokerEvent::DmaFault {
                    device,
                    address: record.address,
                    reason: record.reason,
                    direction: record.direction,
                });
                pulled.seen += 1;
                if let Some(faults) = self.fault_policy.count(device, now_ms) {
                    if !over.iter().any(|(d, _)| *d == device) {
                        // Full: the device is still past its budget at its
                        // next fault, and named then.
                        let _ = over.push((device, faults));
                    }
                }
            }
            if batch.pending == 0 {
                break;
            }
        }
        for (device, faults) in over {
            let committed = self.quarantine_for_faults(device, faults);
            let _ = pulled.quarantined.push((device, faults, committed));
        }
        pulled
    }

    /// Moves a device that went past its fault budget to quarantine (unless
    /// it is there already, or not a device the broker keeps) and raises
    /// `FaultQuarantined`; whether the move committed.
    fn quarantine_for_faults(&mut self, device: Bdf, faults: u32) -> bool {
        match self.books.device(device).map(|r| r.custody) {
            None | Some(Custody::Quarantined) => return false,
            Some(_) => {}
        }
        let committed = self
            .move_device(device, Custody::Quarantined, false)
            .is_ok();
        if committed {
            if let Some(record) = self.books.device_mut(device) {
                record.reclaim_for = None;
            }
            self.events
                .push(BrokerEvent::FaultQuarantined { device, faults });
        }
        committed
    }

    /// The fault budget each device is held to.
    pub fn fault_budget(&self) -> u32 {
        self.fault_policy.budget()
    }
}
