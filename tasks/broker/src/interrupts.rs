//! A device's interrupts in custody: its interrupt-remapping entry (IRTE)
//! follows its DMA, as one more compensated step of the move.
//!
//! Each device the broker keeps has one IRTE, its *handle*: the device's
//! index in app.toml's device list. At start the broker has pci program
//! every device's MSI once, in remappable format naming that handle, and
//! never again: from then on the iommu's entry alone decides where the
//! device's interrupts go. A device in a domain whose app.toml names an
//! `interrupt` reaches that vector (the kernel routes it to the owner's
//! notification) from its own requester ID only; anywhere else (no such
//! vector, quarantine, unassigned) its entry is not present, so its MSIs
//! are blocked and reported as interrupt-remapping faults.
//!
//! The entry is moved by the plan's `SetIrte` step after the device's
//! context entries, journaled with its undo (the entry's previous route)
//! like every other step. A unit that does not remap interrupts (the
//! register-invalidation build, or `intremap=off`) has no entries: then
//! no device's MSI is programmed and no step is planned, and the iommu
//! says at boot that MSIs are not isolated.

use heapless::Vec;
use idl_runtime::Transport;
use idl_types::{Bdf, BrokerError, Custody, DomainId, InterruptRoute, MsiSource, UnitId};

use crate::books::MAX_DEVICES;

/// Units one machine may have (app.toml `[capacity] units`).
const MAX_UNITS: usize = capacity::UNITS.value;
use crate::engine::Broker;
use crate::facts::{DeviceFacts, RidRole};
use crate::journal::JournalStore;

/// The xAPIC ID interrupts are delivered to: the kernel takes every vector
/// on CPU 0.
pub const MSI_DESTINATION: u8 = 0;

/// What a move needs to know about the device's interrupt.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InterruptNow {
    /// The device's IRTE.
    pub handle: u16,
    /// What the entry holds now (read from the hardware).
    pub current: InterruptRoute,
}

/// Which requester IDs may raise the device's interrupt, as Linux's
/// `set_msi_sid` decides: behind a PCIe-to-PCI bridge the bridge may tag
/// the message with (secondary bus, 0.0) or forward the device's own ID,
/// so only the bus range from the alias's bus to the device's can be
/// checked; behind a conventional PCI bridge the message carries the
/// bridge's ID; otherwise the device's own.
pub fn msi_source(facts: &DeviceFacts) -> MsiSource {
    let alias = |role| facts.rids.iter().find(|r| r.role == role).map(|r| r.bdf);
    if let Some(secondary) = alias(RidRole::SecondaryBus) {
        return MsiSource::BusRange {
            first: secondary.bus.min(facts.device.bus),
            last: secondary.bus.max(facts.device.bus),
        };
    }
    if let Some(bridge) = alias(RidRole::Bridge) {
        return MsiSource::Exact(bridge);
    }
    MsiSource::Exact(facts.device)
}

/// Where a device's interrupts go once it is in `custody`: the domain's
/// vector (from `vectors`, app.toml's `interrupt`), else nowhere.
pub fn route_for(
    custody: Custody,
    vectors: &[(DomainId, u8)],
    facts: &DeviceFacts,
) -> InterruptRoute {
    let Custody::Domain(domain) = custody else {
        return InterruptRoute::Blocked;
    };
    match vectors.iter().find(|(d, _)| *d == domain) {
        Some(&(_, vector)) => InterruptRoute::Deliver {
            vector,
            destination: MSI_DESTINATION,
            source: msi_source(facts),
        },
        None => InterruptRoute::Blocked,
    }
}

/// The broker's interrupt books: the domains' vectors and the devices
/// whose MSI is programmed in remappable format.
#[derive(Clone, Debug, Default)]
pub struct InterruptBooks {
    /// Each domain's vector (app.toml's `interrupt`).
    pub vectors: Vec<(DomainId, u8), { crate::books::MAX_DOMAINS }>,
    /// Devices whose MSI names their handle (remapping on, MSI present).
    pub programmed: Vec<Bdf, MAX_DEVICES>,
}

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// The device's IRTE: its index in the books' device list.
    pub(crate) fn interrupt_handle(&self, device: Bdf) -> Option<u16> {
        let i = self
            .books
            .devices()
            .iter()
            .position(|d| d.device == device)?;
        u16::try_from(i).ok()
    }

    /// Programs every device's MSI to name its handle (on a unit that
    /// remaps interrupts), then makes every entry agree with the books:
    /// a device's interrupts reach its custodian's vector or are blocked.
    /// After a crash between a move's context and interrupt steps the
    /// journal's replay has already set the entry back; this repairs any
    /// entry a hostile or corrupt journal left behind, so the hardware
    /// never delivers to a task that does not hold the device.
    pub(crate) fn program_interrupts(&mut self) {
        self.interrupts.programmed.clear();
        let devices: Vec<Bdf, MAX_DEVICES> =
            self.books.devices().iter().map(|d| d.device).collect();
        // Each unit's table size, asked once per unit.
        let mut entries: Vec<(UnitId, u16), MAX_UNITS> = Vec::new();
        for device in devices {
            let (Some(handle), Ok(facts)) = (self.interrupt_handle(device), self.facts(device))
            else {
                continue;
            };
            let known = entries.iter().find(|(u, _)| *u == facts.unit).map(|e| e.1);
            let n = match known {
                Some(n) => n,
                None => {
                    let n = self.peers.iommu.interrupt_entries(facts.unit).unwrap_or(0);
                    let _ = entries.push((facts.unit, n));
                    n
                }
            };
            if handle >= n {
                continue;
            }
            if self.peers.pci.program_msi(device, handle).is_err() {
                // No MSI capability (or pci refused): nothing to remap.
                continue;
            }
            let _ = self.interrupts.programmed.push(device);
            self.reconcile_interrupt(device, &facts, handle);
        }
    }

    /// Sets the device's entry to what its custody says, if it differs.
    fn reconcile_interrupt(&mut self, device: Bdf, facts: &DeviceFacts, handle: u16) {
        let Some(custody) = self.books.device(device).map(|d| d.custody) else {
            return;
        };
        let want = route_for(custody, &self.interrupts.vectors, facts);
        let now = self.peers.iommu.get_irte(facts.unit, handle);
        if now.ok() != Some(want) {
            let _ = self.peers.iommu.set_irte(facts.unit, handle, want);
        }
    }

    /// The device's interrupt as a move needs it: `None` when its MSI is
    /// not remapped.
    pub(crate) fn read_interrupt(
        &mut self,
        facts: &DeviceFacts,
    ) -> Result<Option<InterruptNow>, BrokerError> {
        if !self.interrupts.programmed.contains(&facts.device) {
            return Ok(None);
        }
        let Some(handle) = self.interrupt_handle(facts.device) else {
            return Ok(None);
        };
        let current = self
            .peers
            .iommu
            .get_irte(facts.unit, handle)
            .map_err(|_| BrokerError::PeerDown)?;
        Ok(Some(InterruptNow { handle, current }))
    }
}
