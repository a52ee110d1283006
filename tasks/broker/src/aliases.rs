//! Shared bridge aliases: the requester IDs (the bridge's own, and
//! (secondary bus, 0.0) of a PCIe-to-PCI bridge) that every conventional
//! device behind one bridge uses.
//!
//! Two things a reader must know:
//! - An alias follows the device moved last (Xen's behaviour), and the
//!   DID it carries stays allocated only while that device (its *backer*)
//!   is counted by domid under the same owner. So an alias must always
//!   hold the same state as the own entry of some device that uses it:
//!   when its backer is released while a neighbour still needs the alias,
//!   the alias is handed over to that neighbour's custody
//!   ([`crate::plan::AliasPlan`]);
//!   leaving it on the old tables would keep a DID domid has freed.
//! - After a restart the books are rebuilt from the hardware, which does
//!   not say who wrote an alias: it is credited to a device whose own entry
//!   holds the same state ([`Broker::attribute_alias`]), the one domid
//!   must count for that DID.

use idl_runtime::Transport;
use idl_types::{Bdf, ContextState};

use crate::books::RidRecord;
use crate::engine::Broker;
use crate::journal::JournalStore;

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Credits the shared alias `alias` to a device whose own entry holds
    /// what the alias holds, keeping the current writer if it does. An
    /// alias no device backs keeps its record (nothing better is known).
    pub(crate) fn attribute_alias(&mut self, alias: Bdf) {
        let Some(record) = self.books.rid(alias).copied() else {
            return;
        };
        if record.state == ContextState::NotPresent {
            return;
        }
        let backs = |books: &crate::books::Books, device: Bdf| {
            books
                .rid(device)
                .is_some_and(|own| own.unit == record.unit && own.state == record.state)
        };
        if backs(&self.books, record.device) {
            return;
        }
        let backer = self
            .books
            .devices()
            .iter()
            .filter(|d| {
                d.facts.as_ref().is_some_and(|f| {
                    f.unit == record.unit
                        && f.rids
                            .iter()
                            .any(|r| r.bdf == alias && r.role.is_shared_alias())
                })
            })
            .map(|d| d.device)
            .find(|&d| backs(&self.books, d));
        if let Some(device) = backer {
            self.books.set_rid(RidRecord { device, ..record });
        }
    }
}
