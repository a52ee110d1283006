//! Shared bridge aliases: the requester IDs (the bridge's own, and
//! (secondary bus, 0.0) of a PCIe-to-PCI bridge) that every conventional
//! device behind one bridge uses.
//!
//! Two things a reader must know:
//! - An alias follows the device moved last (the seed's behaviour), and the
//!   DID it carries stays allocated only while that device (its *backer*)
//!   is counted by domid under the same owner. So an alias must always
//!   hold the same state as the own entry of some device that uses it:
//!   when its backer is released while a neighbour still needs the alias,
//!   the alias is handed over to that neighbour's custody ([`AliasPlan`]);
//!   leaving it on the old tables would keep a DID domid has freed.
//! - After a restart the books are rebuilt from the hardware, which does
//!   not say who wrote an alias: it is credited to a device whose own entry
//!   holds the same state ([`Broker::attribute_alias`]), the one domid
//!   must count for that DID.

use heapless::Vec;
use idl_runtime::Transport;
use idl_types::{Bdf, BrokerError, ContextState, Custody, UnitId};

use crate::books::{RidRecord, MAX_DEVICES};
use crate::engine::Broker;
use crate::journal::JournalStore;

/// What a device leaving for no translation does with one of its shared
/// aliases.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum AliasPlan {
    /// No other assigned device uses it: clear it with the device.
    Clear,
    /// Another device already backs what it holds: leave it alone.
    Keep,
    /// It holds the leaving device's state and `heir` still needs it:
    /// switch it to `heir`'s own state.
    HandOver {
        /// The neighbour taking custody of the alias.
        heir: Bdf,
        /// What the heir's own entry holds (and the alias will).
        state: ContextState,
        /// Whether the heir has an RMRR (its DMA through the alias must
        /// not be disconnected, even for a moment).
        heir_rmrr: bool,
    },
}

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// The devices other than `except` that are assigned or quarantined,
    /// sit behind `unit` and list `alias` as a shared alias, each with
    /// whether it has an RMRR. Facts are read for devices that lack them.
    fn alias_users(
        &mut self,
        unit: UnitId,
        alias: Bdf,
        except: Bdf,
    ) -> Vec<(Bdf, bool), MAX_DEVICES> {
        let held: Vec<Bdf, MAX_DEVICES> = self
            .books
            .devices()
            .iter()
            .filter(|d| d.device != except && d.custody != Custody::Unassigned)
            .map(|d| d.device)
            .collect();
        let mut users = Vec::new();
        for device in held {
            // A device whose facts cannot be read now cannot be shown to
            // use the alias; the books keep what they knew.
            let Ok(facts) = self.facts(device) else {
                continue;
            };
            let uses = facts.unit == unit
                && facts
                    .rids
                    .iter()
                    .any(|r| r.bdf == alias && r.role.is_shared_alias());
            if uses {
                let _ = users.push((device, facts.has_rmrr()));
            }
        }
        users
    }

    /// What `device`, leaving for no translation, must do with its shared
    /// alias `alias` on `unit`, which holds `current` now. Reads the
    /// neighbours' own entries from the hardware (the truth).
    pub(crate) fn alias_on_release(
        &mut self,
        device: Bdf,
        unit: UnitId,
        alias: Bdf,
        current: ContextState,
    ) -> Result<AliasPlan, BrokerError> {
        let users = self.alias_users(unit, alias, device);
        let mut heir = None;
        for &(user, rmrr) in users.iter() {
            let state = self
                .peers
                .iommu
                .get_context(unit, user)
                .map_err(|_| BrokerError::PeerDown)?
                .state()
                .ok_or(BrokerError::Recovering)?;
            if state == current {
                return Ok(AliasPlan::Keep);
            }
            if heir.is_none() && state != ContextState::NotPresent {
                heir = Some(AliasPlan::HandOver {
                    heir: user,
                    state,
                    heir_rmrr: rmrr,
                });
            }
        }
        Ok(heir.unwrap_or(AliasPlan::Clear))
    }

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
