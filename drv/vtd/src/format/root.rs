//! Root entry (legacy mode): one per bus, pointing at that bus's context
//! table.

use super::ADDR_MASK;

const P: u64 = 1 << 0;

/// A 128-bit root entry; the high half is reserved (zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RootEntry {
    pub present: bool,
    /// Physical address of the context table.
    pub context_table: u64,
}

impl RootEntry {
    /// Decodes the low 64 bits (the high half carries nothing in legacy mode).
    pub fn decode(lo: u64) -> RootEntry {
        RootEntry {
            present: lo & P != 0,
            context_table: lo & ADDR_MASK,
        }
    }

    /// The low 64 bits.
    pub fn encode(&self) -> u64 {
        (self.context_table & ADDR_MASK) | if self.present { P } else { 0 }
    }
}
