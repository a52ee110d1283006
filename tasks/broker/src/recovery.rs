//! Recovery: the hardware's context entries are the truth (docs/DESIGN.md
//! §7).
//!
//! After the broker restarts it replays an unfinished journal (undoing a
//! running or rolling-back transaction, finishing a committed one's
//! cleanup), then rebuilds its books by asking the iommu what every
//! requester ID holds. After domid restarts, the broker rebuilds it from
//! the same entries (a server never calls its client, so domid cannot ask).

use heapless::Vec;
use idl_runtime::Transport;
use idl_types::{ContextState, Custody, DomainId, EntryOwner, RebuildOwner, RebuildRecord, UnitId};

/// Bytes of the rebuild lease (the op's maximum, whole records).
const REBUILD_LEASE: usize = 4090 / RebuildRecord::ENCODED_LEN * RebuildRecord::ENCODED_LEN;

use crate::books::RidRecord;
use crate::engine::Broker;
use crate::interrupts::route_for;
use crate::journal::{JournalStore, TxState};
use crate::registers::{holder_for, RegisterUndo};
use crate::transaction::{finish, roll_back, Rollback};
use crate::undo::Undo;
use crate::{domid, iommu};

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Tells domid each unit's DID capabilities, as the iommu reads them
    /// from CAP (idempotent).
    pub(crate) fn configure_domid(&mut self) {
        let units = self.peers.iommu.unit_count().unwrap_or(0);
        for unit in 0..units {
            if let Ok(caps) = self.peers.iommu.unit_caps(UnitId(unit)) {
                let _ = self
                    .peers
                    .domid
                    .configure_unit(caps.unit, caps.nd, caps.caching_mode);
            }
        }
    }

    /// Gives every configured domain its page tables (idempotent: a domain
    /// that has them already is fine).
    pub(crate) fn create_domains(&mut self) {
        let domains: Vec<DomainId, { crate::books::MAX_DOMAINS }> =
            self.books.domains().iter().map(|d| d.domain).collect();
        for domain in domains {
            let _ = self.peers.iommu.create_domain(domain);
        }
    }

    /// Finishes or undoes whatever transaction the journal holds.
    pub(crate) fn recover_journal(&mut self) {
        let Some(record) = self.journal.tx() else {
            return;
        };
        match self.journal.state() {
            TxState::Idle => {}
            TxState::Running | TxState::RollingBack => {
                self.stats.replays += 1;
                if !self.owed_undos_are_the_transactions(record) {
                    // Not a transaction this broker made (a hostile or
                    // corrupt region whose checksums hold): none of its
                    // undos runs. The hardware is the truth; a known
                    // device goes to quarantine, as after a failed undo.
                    let _ = self.journal.clear();
                    if self.books.device(record.device).is_some() {
                        self.rebuild_books();
                        let _ = self.move_device(record.device, Custody::Quarantined, true);
                    }
                    return;
                }
                if let (Rollback::Failed(_), _) = roll_back(&mut self.journal, &mut self.peers) {
                    let _ = self.journal.clear();
                    self.rebuild_books();
                    let _ = self.move_device(record.device, Custody::Quarantined, true);
                }
            }
            TxState::Committed => {
                self.stats.replays += 1;
                // A commit the hardware does not show, or a "move" into the
                // domain it came from (the broker never journals one: it is
                // Xen's no-op), is not this broker's (a hostile or corrupt
                // region whose checksums hold): the source's cleanup would
                // take an RMRR map or a DID from the device that is still
                // there. The books were just read from the context entries.
                let committed = record.source != record.target
                    && self
                        .books
                        .device(record.device)
                        .is_some_and(|d| d.custody == record.target);
                if committed {
                    if let Ok(facts) = self.facts(record.device) {
                        self.cleanup_after(record, &facts);
                    }
                }
                let _ = finish(&mut self.journal);
            }
        }
    }

    /// Whether every undo the journal owes belongs to its transaction:
    /// a requester ID of the device on the device's unit (its own
    /// functions, aliases, phantoms), or the transaction's source or
    /// target domain. A device the books do not list owns nothing.
    fn owed_undos_are_the_transactions(&mut self, record: crate::journal::TxRecord) -> bool {
        if self.books.device(record.device).is_none() {
            return false;
        }
        let Ok(facts) = self.facts(record.device) else {
            return false;
        };
        let owns = |unit: UnitId, rid: idl_types::Bdf| {
            unit == facts.unit && (rid == record.device || facts.rids.iter().any(|r| r.bdf == rid))
        };
        let handle = self.interrupt_handle(record.device);
        let registers = self.register_index(record.device);
        let vectors = self.interrupts.vectors.clone();
        let moves = |d: DomainId| {
            record.source == Custody::Domain(d) || record.target == Custody::Domain(d)
        };
        self.journal.owed().iter().all(|(_, undo)| match undo {
            Undo::Nothing => true,
            Undo::Domid(domid::Compensation::Acquire(a)) => {
                owns(a.unit, a.device) && moves(a.domain)
            }
            Undo::Domid(domid::Compensation::AcquireQuarantine(a)) => owns(a.unit, a.device),
            Undo::Iommu(
                iommu::Compensation::SetContext(a)
                | iommu::Compensation::ClearContext(a)
                | iommu::Compensation::QuarantineDevice(a),
            ) => owns(a.unit, a.rid),
            Undo::Iommu(iommu::Compensation::CreateDomain(a)) => moves(a.domain),
            Undo::Iommu(iommu::Compensation::MapRange(a)) => moves(a.domain),
            // The device's own entry, set back to a route one of the
            // transaction's custodians may hold (never another domain's).
            Undo::Iommu(iommu::Compensation::SetIrte(a)) => {
                a.unit == facts.unit
                    && handle == Some(a.handle)
                    && (a.route == route_for(record.source, &vectors, &facts)
                        || a.route == route_for(record.target, &vectors, &facts)
                        || a.route == idl_types::InterruptRoute::Blocked)
            }
            // The device's own registers, revoked or given back to one of
            // the transaction's custodians' owners (never another task).
            Undo::Kernel(r) => {
                registers == Some(r.index())
                    && match *r {
                        RegisterUndo::Revoke { .. } => true,
                        RegisterUndo::Grant { task, .. } => {
                            Some(task) == holder_for(record.source, &self.books)
                                || Some(task) == holder_for(record.target, &self.books)
                        }
                    }
            }
        })
    }

    /// Rebuilds every device's custody and requester-ID records from the
    /// iommu's context entries.
    pub fn rebuild_books(&mut self) {
        self.books.clear_rids();
        let devices: Vec<idl_types::Bdf, { crate::books::MAX_DEVICES }> =
            self.books.devices().iter().map(|d| d.device).collect();
        for device in devices {
            self.resync_device(device);
        }
    }

    /// Re-reads one device's entries from the hardware into the books.
    pub(crate) fn resync_device(&mut self, device: idl_types::Bdf) {
        let Ok(facts) = self.facts(device) else {
            return;
        };
        let mut own = None;
        for rid in facts.rids.iter() {
            let Ok(hardware) = self.peers.iommu.get_context(facts.unit, rid.bdf) else {
                continue;
            };
            let Some(state) = hardware.state() else {
                continue;
            };
            if rid.bdf == device {
                own = Some(state);
            }
            // A shared alias keeps an existing record's device until the
            // attribution below has every own entry to compare with.
            let writer = self
                .books
                .rid(rid.bdf)
                .filter(|_| rid.role.is_shared_alias())
                .map_or(device, |r| r.device);
            self.books.set_rid(RidRecord {
                rid: rid.bdf,
                unit: facts.unit,
                state,
                device: writer,
            });
        }
        // Credit each shared alias to a device whose own entry matches it
        // (during a rebuild the last of its users resynced settles it).
        for rid in facts.rids.iter().filter(|r| r.role.is_shared_alias()) {
            self.attribute_alias(rid.bdf);
        }
        if let Some(state) = own {
            let custody = match state {
                ContextState::NotPresent => Custody::Unassigned,
                ContextState::Domain { domain, .. } => Custody::Domain(domain),
                ContextState::Quarantine { .. } => Custody::Quarantined,
            };
            self.books.set_custody(device, custody);
        }
    }

    /// After domid (re)started: configure its units and rebuild it with every
    /// present context entry the iommu lists, each tagged with the device
    /// it serves (a shared alias with the device backing it, per the books:
    /// see `aliases`).
    pub fn rebuild_domid(&mut self) {
        self.stats.domid_rebuilds += 1;
        self.configure_domid();
        let mut lease = [0u8; REBUILD_LEASE];
        let mut len = 0;
        let units = self.peers.iommu.unit_count().unwrap_or(0);
        for unit in 0..units {
            let mut after = None;
            loop {
                let Ok(page) = self.peers.iommu.list_contexts(UnitId(unit), after) else {
                    break;
                };
                for entry in page.entries.iter() {
                    let owner = match entry.owner {
                        EntryOwner::Domain(d) => RebuildOwner::Domain(d),
                        EntryOwner::Quarantine => RebuildOwner::Quarantine,
                        EntryOwner::NotPresent | EntryOwner::Unknown => continue,
                    };
                    let device = self.books.rid(entry.rid).map_or(entry.rid, |r| r.device);
                    let record = RebuildRecord {
                        unit: entry.unit,
                        rid: entry.rid,
                        did: entry.did,
                        owner,
                        device,
                    };
                    if let (Some(bytes), Some(dst)) = (
                        record.encode(),
                        lease.get_mut(len..len + RebuildRecord::ENCODED_LEN),
                    ) {
                        dst.copy_from_slice(&bytes);
                        len += RebuildRecord::ENCODED_LEN;
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        let _ = self.peers.domid.rebuild(lease.get(..len).unwrap_or(&[]));
    }

    /// A peer restarted (learnt from the supervisor's death log, see
    /// `deaths`): re-read the hardware, rebuild domid if it was domid, and
    /// tell pci every owner again if it was pci.
    pub fn peer_restarted(&mut self, peer: crate::peers::Peer) {
        self.rebuild_books();
        if peer == crate::peers::Peer::Domid {
            self.rebuild_domid();
        }
        if peer == crate::peers::Peer::Pci {
            self.pci_forgot();
        }
        if !self.pending.is_empty() {
            self.retry_cleanups();
        }
    }
}
