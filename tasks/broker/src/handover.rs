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
    /// Names every device's owner at pci as the books say, and lets the
    /// bridges of assigned conventional devices master. Returns how many
    /// pci calls were refused (pci down, or the device unknown to it).
    pub fn sync_pci_owners(&mut self) -> u32 {
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
            if self.peers.pci.set_owner(device, owner).is_err() {
                refused += 1;
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
}
