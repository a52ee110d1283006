//! The model's context cache and IOTLB, with QEMU's rules.
//!
//! The context cache holds an entry per source ID until a device-selective
//! or global invalidation (domain-selective counts as global, as in QEMU).
//! The IOTLB is looked up by source ID *before* the context entry and each
//! entry is tagged with the DID it was filled under: it lives until a
//! global, domain-selective (that DID) or page-selective (that DID, that
//! range) invalidation. Entries also remember the table root they came from,
//! which real hardware does not, so the observer can spot mixed states.

use std::collections::HashMap;

use crate::format::{CcGranularity, ContextEntry, IotlbGranularity};
use crate::pagetable::Perm;

/// One cached translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IotlbEntry {
    pub did: u16,
    /// First IOVA covered.
    pub iova: u64,
    /// Leaf size.
    pub size: u64,
    pub phys: u64,
    pub perm: Perm,
    /// The SLPTPTR of the context entry the walk used (model only).
    pub source_root: u64,
}

#[derive(Default)]
pub(crate) struct Caches {
    pub(crate) context: HashMap<u16, ContextEntry>,
    /// Keyed by (source ID, leaf base, leaf size).
    pub(crate) iotlb: HashMap<(u16, u64, u64), IotlbEntry>,
}

/// Leaf sizes the IOTLB may hold.
const SIZES: [u64; 3] = [1 << 12, 1 << 21, 1 << 30];

impl Caches {
    pub(crate) fn lookup(&self, sid: u16, iova: u64) -> Option<IotlbEntry> {
        SIZES
            .iter()
            .find_map(|&size| self.iotlb.get(&(sid, iova & !(size - 1), size)).copied())
    }

    pub(crate) fn fill(&mut self, sid: u16, entry: IotlbEntry) {
        self.iotlb.insert((sid, entry.iova, entry.size), entry);
    }

    /// Context-cache invalidation; false for a reserved granularity.
    pub(crate) fn invalidate_context(
        &mut self,
        granularity: CcGranularity,
        sid: u16,
        fm: u8,
    ) -> bool {
        match granularity {
            CcGranularity::Global | CcGranularity::Domain => self.context.clear(),
            CcGranularity::Device => {
                // FM masks the low 1..3 bits of the function number.
                let ignored = (0b111u16 << (3 - fm.min(3) as u32)) & 0b111;
                self.context.retain(|&s, _| s & !ignored != sid & !ignored);
            }
            CcGranularity::None => return false,
        }
        true
    }

    /// IOTLB invalidation; false for a reserved granularity.
    pub(crate) fn invalidate_iotlb(
        &mut self,
        granularity: IotlbGranularity,
        did: u16,
        addr: u64,
        am: u8,
    ) -> bool {
        match granularity {
            IotlbGranularity::Global => self.iotlb.clear(),
            IotlbGranularity::Domain => self.iotlb.retain(|_, e| e.did != did),
            IotlbGranularity::Page => {
                let len = 1u64 << (12 + am.min(52) as u32);
                let start = addr & !(len - 1);
                self.iotlb.retain(|_, e| {
                    e.did != did || e.iova >= start + len || e.iova + e.size <= start
                });
            }
            IotlbGranularity::None => return false,
        }
        true
    }
}
