//! DMA faults as broker events: after the iommu posts that it recorded
//! faults, the broker pulls them (a server never calls its client) and
//! names, for each, the device whose requester ID faulted, so an owner or
//! the console sees "device X tried address A" in the event stream.

use idl_runtime::Transport;
use idl_types::BrokerEvent;

use crate::engine::Broker;
use crate::journal::JournalStore;

/// Batches pulled at most per call (the iommu keeps the rest queued).
const MAX_BATCHES: usize = 8;

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Pulls the iommu's fault records into the event stream; returns how
    /// many. A bridge alias is named as the device that wrote it last.
    pub fn pull_dma_faults(&mut self) -> usize {
        let mut seen = 0;
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
                });
                seen += 1;
            }
            if batch.pending == 0 {
                break;
            }
        }
        seen
    }
}
