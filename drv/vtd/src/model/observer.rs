//! The DMA observer: after every single CPU store (or compare-exchange) to a
//! context entry, asks what each watched requester ID could reach at that
//! instant, and counts the bad instants.
//!
//! Two views are checked, because hardware may use either: *memory* (the
//! entry and tables as stored) and *hardware* (the IOTLB by source ID, then
//! the cached context entry, falling back to memory). Per store and per
//! watched requester ID, each kind of bad state counts at most once:
//! - disconnect window: a device with RMRRs has an RMRR page without
//!   translation (or its entry is non-present);
//! - non-present window: a device without RMRRs has a non-present entry
//!   (allowed by Xen's fallback, but counted);
//! - mixed state: a present entry (or a cached translation) pairs a
//!   registered DID with another registered domain's tables.

use std::collections::BTreeMap;

use super::state::State;
use super::walk::{fetch_context, validate, walk, Mode};
use crate::format::ContextEntry;
use crate::regs::PAGE_SIZE;

/// The observer's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObserverCounts {
    /// Context-entry stores observed.
    pub stores: u64,
    pub disconnect_windows: u64,
    pub non_present_windows: u64,
    pub mixed_states: u64,
}

#[derive(Default)]
pub(crate) struct Observer {
    /// Watched source IDs and their RMRR ranges (base, length).
    pub(crate) watched: BTreeMap<u16, Vec<(u64, u64)>>,
    /// Registered domains: DID -> table root.
    pub(crate) domains: BTreeMap<u16, u64>,
    pub(crate) counts: ObserverCounts,
}

impl Observer {
    pub(crate) fn check(&mut self, state: &State) {
        self.counts.stores += 1;
        for (&sid, rmrrs) in &self.watched {
            let mut disconnected = false;
            let mut non_present = false;
            let mut mixed = false;

            let memory = state
                .regs
                .root
                .and_then(|root| fetch_context(&state.mem, root, sid).ok());
            let cached = state.caches.context.get(&sid).copied().or(memory);
            for entry in [memory, cached] {
                match entry {
                    None => {
                        if rmrrs.is_empty() {
                            non_present = true;
                        } else {
                            disconnected = true;
                        }
                    }
                    Some(entry) => mixed |= self.is_mixed(&entry),
                }
            }
            mixed |= state
                .caches
                .iotlb
                .iter()
                .filter(|((s, _, _), _)| *s == sid)
                .any(|(_, e)| {
                    self.domains
                        .get(&e.did)
                        .is_some_and(|&r| r != e.source_root)
                });

            for &(base, len) in rmrrs {
                let mut page = base;
                while page < base.saturating_add(len) {
                    let by_memory = reaches(state, memory, page);
                    let by_hardware =
                        state.caches.lookup(sid, page).is_some() || reaches(state, cached, page);
                    disconnected |= !(by_memory && by_hardware);
                    page += PAGE_SIZE;
                }
            }
            self.counts.disconnect_windows += disconnected as u64;
            self.counts.non_present_windows += non_present as u64;
            self.counts.mixed_states += mixed as u64;
        }
    }

    fn is_mixed(&self, entry: &ContextEntry) -> bool {
        if entry.tt == crate::format::TranslationType::PassThrough {
            return false;
        }
        let root_of_did = self.domains.get(&entry.did);
        let did_of_root = self
            .domains
            .iter()
            .find(|(_, &root)| root == entry.slptptr)
            .map(|(&did, _)| did);
        root_of_did.is_some_and(|&root| root != entry.slptptr)
            || did_of_root.is_some_and(|did| did != entry.did)
    }
}

/// Whether `page` translates (for a read) through `entry` and memory.
fn reaches(state: &State, entry: Option<ContextEntry>, page: u64) -> bool {
    let Some(entry) = entry else {
        return false;
    };
    let cap = state.cap();
    match validate(&entry, &cap, &state.ecap()) {
        Ok(Mode::PassThrough) => true,
        Ok(Mode::Tables { root, levels }) => {
            walk(&state.mem, root, levels, cap.mgaw, page, false).is_ok()
        }
        Err(_) => false,
    }
}
