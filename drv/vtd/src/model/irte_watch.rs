//! The interrupt-entry watch: after every CPU store (or compare-exchange)
//! into a watched interrupt-remapping entry, records which entry a message
//! naming it would be remapped through at that instant, so a test can
//! prove an update never exposes a half-written entry.
//!
//! Two views are recorded, because hardware may use either: *memory* (the
//! entry as stored) and *hardware* (the IEC's copy when one is cached, else
//! memory). A view whose entry is not present is recorded as `None`: the
//! message would be blocked, which is safe. The source-ID check is part of
//! the entry recorded, so "new vector, old source check" shows up as a
//! state that is neither the old nor the new entry.

use std::collections::BTreeMap;

use super::state::State;
use crate::format::Irte;

/// Bytes per remapping entry.
const IRTE_SIZE: u64 = 16;

/// Watched entries by index, and what each store left them as.
#[derive(Debug, Default, Clone)]
pub(crate) struct IrteWatch {
    pub(crate) seen: BTreeMap<u32, Vec<Option<Irte>>>,
}

impl State {
    /// After a CPU store at `addr`: if it hit a watched entry, record both
    /// views of it.
    pub(crate) fn watch_irte_store(&mut self, addr: u64) {
        let Some((base, entries)) = self.ir.table else {
            return;
        };
        let Some(offset) = addr.checked_sub(base) else {
            return;
        };
        let Ok(index) = u32::try_from(offset / IRTE_SIZE) else {
            return;
        };
        if index >= entries || !self.ir_watch.seen.contains_key(&index) {
            return;
        }
        let slot = base + u64::from(index) * IRTE_SIZE;
        let memory = Irte::from_words(self.mem.read_u64(slot), self.mem.read_u64(slot + 8));
        let hardware = self.ir.iec.get(&index).copied().unwrap_or(memory);
        let usable = |entry: Irte| entry.present().then_some(entry);
        if let Some(seen) = self.ir_watch.seen.get_mut(&index) {
            seen.push(usable(memory));
            if hardware != memory {
                seen.push(usable(hardware));
            }
        }
    }
}
