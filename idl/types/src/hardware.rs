//! What the iommu task reports about the hardware itself: a context entry as
//! memory holds it, pages of them for recovery, a unit's capabilities and
//! its counters.
//!
//! After any restart the hardware's context entries are the truth the
//! broker and domid rebuild their books from, so a `HardwareContext` says
//! both what the entry holds (DID, table root) and whose tables the root
//! belongs to, as far as the iommu knows.

use serde::{Deserialize, Serialize};

use crate::context::ContextState;
use crate::ids::{Bdf, Did, DomainId, UnitId};
use crate::max_len::{MaxEncodedLen, ENUM_TAG_LEN};
use crate::wire::Fixed;

/// Whose tables a context entry's root points at.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 3)]
pub enum EntryOwner {
    /// The entry is not present.
    NotPresent,
    /// A domain's page tables.
    Domain(DomainId),
    /// The quarantine tables of the device the entry belongs to.
    Quarantine,
    /// Tables the iommu did not build (or no longer knows).
    Unknown,
}

impl MaxEncodedLen for EntryOwner {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + DomainId::MAX_ENCODED_LEN;
}

wire_struct! {
    /// One context entry as the hardware's tables hold it.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 17)]
    pub struct HardwareContext {
        /// The unit whose context table holds it.
        pub unit: UnitId,
        /// The requester ID it translates.
        pub rid: Bdf,
        /// Its DID field (0 when not present).
        pub did: Did,
        /// Its second-level table root (0 when not present).
        pub root: u64,
        /// Whose tables `root` is.
        pub owner: EntryOwner,
    }
}

impl HardwareContext {
    /// The entry in the terms `set_context` takes, or `None` when its tables
    /// belong to nobody the iommu knows (such an entry cannot be restored by
    /// a `set_context`).
    pub const fn state(&self) -> Option<ContextState> {
        match self.owner {
            EntryOwner::NotPresent => Some(ContextState::NotPresent),
            EntryOwner::Domain(domain) => Some(ContextState::Domain {
                domain,
                did: self.did,
            }),
            EntryOwner::Quarantine => Some(ContextState::Quarantine { did: self.did }),
            EntryOwner::Unknown => None,
        }
    }
}

/// Present context entries per listing page.
pub const CONTEXTS_PER_PAGE: usize = 8;

wire_struct! {
    /// A page of the present context entries of one unit, in requester-ID
    /// order.
    pub struct ContextPage {
        /// The entries after the requested start.
        pub entries: heapless::Vec<HardwareContext, CONTEXTS_PER_PAGE>,
        /// The last requester ID this page looked at, to pass as `after` for
        /// the next page; `None` when the unit has no more entries.
        pub next: Option<Bdf>,
    }
}

wire_struct! {
    /// A unit's capabilities that the other tasks need.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 6)]
    pub struct UnitCaps {
        /// The unit.
        pub unit: UnitId,
        /// CAP.ND: 2^(4+2·ND) domain IDs.
        pub nd: u8,
        /// CAP.CM: DID 0 is reserved and non-present entries may be cached.
        pub caching_mode: bool,
        /// Page-table depth in use (3 or 4).
        pub levels: u8,
        /// Invalidations go through the queue (else registers).
        pub queued_invalidation: bool,
        /// Context entries are replaced with one 128-bit compare-exchange.
        pub atomic_context: bool,
    }
}

wire_struct! {
    /// Invalidations of one cache, by granularity.
    #[derive(Copy, Default)]
    #[derive(Fixed)]
    #[fixed(size = 24)]
    pub struct InvalidationCounts {
        /// Global.
        pub global: u64,
        /// Domain-selective.
        pub domain: u64,
        /// Device-selective (context cache) or page-selective (IOTLB).
        pub selective: u64,
    }
}

wire_struct! {
    /// What one unit's server has done, for benchmarks and the console.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 105)]
    pub struct IommuCounters {
        /// The unit.
        pub unit: UnitId,
        /// Context-entry changes made by set_context, clear and quarantine.
        pub context_changes: u64,
        /// Of those, one 128-bit compare-exchange each.
        pub atomic_changes: u64,
        /// Of those, Xen's fallback through a non-present entry.
        pub cleared_first_changes: u64,
        /// Of those, Xen's best-effort order (DID last).
        pub best_effort_changes: u64,
        /// Xen's "may cause data corruption" warnings.
        pub corruption_warnings: u64,
        /// Plain 64-bit stores to context entries.
        pub context_stores: u64,
        /// Context-cache invalidations.
        pub context_invalidations: InvalidationCounts,
        /// IOTLB invalidations.
        pub iotlb_invalidations: InvalidationCounts,
        /// Fault records drained.
        pub faults_drained: u64,
    }
}
