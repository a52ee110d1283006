//! The memory each domain is given at start (app.toml `[domains.NAME]
//! maps`): identity of the iova range, the physical pool behind it, mapped
//! into the domain's page tables before any device is assigned to it.
//!
//! Mapping is idempotent on the iommu's side (a range already mapped
//! exactly so is kept), so a restarted broker maps again without harm; a
//! domain's tables, and so its maps, survive an iommu restart in its ledger.

use idl_runtime::Transport;
use idl_types::{Access, DomainId};

use crate::engine::Broker;
use crate::journal::JournalStore;

const PAGE: u64 = 4096;
/// Domain memory ranges the broker keeps (app.toml may declare in all).
pub const MAX_MAPS: usize = 32;

/// One range of memory a domain's devices may reach.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DomainMap {
    /// The domain.
    pub domain: DomainId,
    /// Where its devices see it.
    pub iova: u64,
    /// Where it is.
    pub phys: u64,
    /// Its length (whole pages; a partial last page is left out).
    pub bytes: u64,
}

impl DomainMap {
    /// Whether this range of `domain`'s memory shares a page with
    /// `[first, first + pages)`; the first such page if it does.
    pub fn overlap(&self, domain: DomainId, first: u64, pages: u32) -> Option<u64> {
        if self.domain != domain || self.bytes < PAGE {
            return None;
        }
        let end = first.saturating_add(u64::from(pages).saturating_mul(PAGE));
        let mine_end = self.iova.saturating_add(self.bytes & !(PAGE - 1));
        let start = first.max(self.iova);
        (start < end.min(mine_end)).then_some(start)
    }
}

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Maps every range of `maps` read/write into its domain; returns how
    /// many the iommu refused (each is also counted in the stats).
    pub(crate) fn map_domain_memory(&mut self, maps: &[DomainMap]) -> u32 {
        self.memory = maps.iter().copied().take(MAX_MAPS).collect();
        let mut refused = 0;
        for m in maps {
            let pages = u32::try_from(m.bytes / PAGE).unwrap_or(u32::MAX);
            if pages == 0 {
                continue;
            }
            let mapped =
                self.peers
                    .iommu
                    .map_range(m.domain, m.iova, m.phys, pages, Access::ReadWrite);
            if mapped.is_err() {
                refused += 1;
            }
        }
        self.stats.memory_map_failures += refused;
        refused
    }
}
