//! Telling the pci task who may drive each device: the owner task of the
//! domain that holds it (pci lets only a device's owner, or the broker,
//! write its config space and turn its bus mastering on).
//!
//! Two things a reader must know:
//! - This follows the books; it is not a step of the transaction. A device
//!   whose DMA is translated into a domain may be driven by that domain's
//!   owner; getting the pci owner wrong only refuses or allows config
//!   writes, never DMA outside the domain, which the IOMMU decides.
//! - A conventional PCI device's DMA reaches the IOMMU only through its
//!   upstream bridge, and only while that bridge masters. The bridge is
//!   platform plumbing that belongs to no domain, so the broker (privileged
//!   at pci) turns its bus mastering on when a device behind it is given to
//!   a domain, and leaves it on (other devices may sit behind it).

use heapless::Vec;
use idl_runtime::Transport;
use idl_types::{Bdf, Custody};

use crate::books::MAX_DEVICES;
use crate::engine::Broker;
use crate::facts::RidRole;
use crate::journal::JournalStore;

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// Names each device's owner at pci as the books say, where it differs
    /// from what pci was last told, and lets the bridges of newly assigned
    /// conventional devices master. Nothing is sent when nothing changed;
    /// everything is sent again after pci restarted ([`Broker::pci_forgot`]).
    /// Returns how many pci calls were refused (pci down, or the device
    /// unknown to it) after a second pass over what the first could not
    /// send (the first call to a restarted pci meets its old generation);
    /// a device still refused is retried on the next sync.
    pub fn sync_pci_owners(&mut self) -> u32 {
        match self.sync_pass() {
            0 => 0,
            _ => self.sync_pass(),
        }
    }

    /// One pass of [`Broker::sync_pci_owners`].
    fn sync_pass(&mut self) -> u32 {
        let devices: Vec<(Bdf, Custody), MAX_DEVICES> = self
            .books
            .devices()
            .iter()
            .map(|d| (d.device, d.custody))
            .collect();
        let mut refused = 0;
        for (device, custody) in devices {
            let owner = match custody {
                Custody::Domain(domain) => self.books.domain(domain).map(|d| d.owner),
                Custody::Quarantined | Custody::Unassigned => None,
            };
            let told = self.pci_told.iter().position(|(d, _)| *d == device);
            if told.and_then(|i| self.pci_told.get(i)) == Some(&(device, owner)) {
                continue;
            }
            if self.peers.pci.set_owner(device, owner).is_err() {
                refused += 1;
                continue;
            }
            match told.and_then(|i| self.pci_told.get_mut(i)) {
                Some(entry) => entry.1 = owner,
                // One entry per device of the books, so there is room.
                None => {
                    let _ = self.pci_told.push((device, owner));
                }
            }
            if owner.is_none() {
                continue;
            }
            let bridges: Vec<Bdf, 2> = self
                .books
                .device(device)
                .and_then(|d| d.facts.as_ref())
                .map(|f| {
                    f.rids
                        .iter()
                        .filter(|r| r.role == RidRole::Bridge)
                        .map(|r| r.bdf)
                        .take(2)
                        .collect()
                })
                .unwrap_or_default();
            for bridge in bridges {
                if self.peers.pci.enable_bus_master(bridge, true).is_err() {
                    refused += 1;
                }
            }
        }
        refused
    }

    /// pci restarted with no owners: the next sync tells it everything.
    pub fn pci_forgot(&mut self) {
        self.pci_told.clear();
    }
}
