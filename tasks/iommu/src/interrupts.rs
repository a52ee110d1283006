//! Interrupt remapping: the unit's interrupt-remapping table (IRT), one
//! entry per device that raises MSIs, each moved with its device's DMA.
//!
//! pci programs a device's MSI once, in remappable format naming its entry
//! (the *handle*); from then on only the entry decides which vector, and so
//! which task's notification, the device's interrupts reach. The broker
//! points the entry at the new owner in the same transaction that moves the
//! device's context entries, and blocks it (not present) in quarantine. A
//! change is one 128-bit exchange when the CPU has CX16, else the library's
//! blocked-first fallback (never a torn entry), and is followed by an
//! index-selective invalidation of the interrupt entry cache.
//!
//! Remapping needs queued invalidation (its cache is only invalidated
//! through the queue), so the register-invalidation build runs without it
//! and says at boot that MSIs are not isolated, as Xen does.

use idl_types::{Bdf, InterruptChange, InterruptRoute, IommuError, MsiSource, UnitId};
use vtd::format::{Irte, SourceCheck};
use vtd::{Delay, PageAllocator, Registers, Rid, TableMemory};

use crate::convert;
use crate::ledger::LedgerStore;
use crate::server::IommuServer;

/// Entries in the interrupt-remapping table: one 4 KiB page, far more than
/// the devices one unit covers on the machines custody runs on.
pub const IRT_ENTRIES: u16 = 256;

impl<R, M, A, D, L> IommuServer<R, M, A, D, L>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
    L: LedgerStore,
{
    /// Turns interrupt remapping on for `unit` (every entry blocked, and
    /// compatibility-format interrupts refused) and replies with its
    /// entries. A unit already remapping (taken over after a restart) is
    /// left as it is.
    pub fn enable_interrupt_remapping(&mut self, unit: UnitId) -> Result<u16, IommuError> {
        let slot = self.slot(unit)?;
        if let Some(table) = slot.hw.interrupt_remapping() {
            return Ok(table.entries);
        }
        slot.hw
            .enable_interrupt_remapping(IRT_ENTRIES)
            .map_err(|e| convert::error(unit, e, (0, 0)))?;
        Ok(IRT_ENTRIES)
    }

    /// How many entries `unit`'s table has (0: no remapping).
    pub fn interrupt_entries(&mut self, unit: UnitId) -> Result<u16, IommuError> {
        let slot = self.slot(unit)?;
        Ok(slot.hw.interrupt_remapping().map_or(0, |t| t.entries))
    }

    /// Points entry `handle` of `unit` at `route`; replies with what it
    /// held and whether the change was one exchange.
    pub fn set_route(
        &mut self,
        unit: UnitId,
        handle: u16,
        route: InterruptRoute,
    ) -> Result<InterruptChange, IommuError> {
        self.check_handle(unit, handle)?;
        let new = irte(route)?;
        let slot = self.slot(unit)?;
        let fallbacks = slot.hw.counters().irte_fallbacks;
        let previous = slot
            .hw
            .set_irte(handle, new)
            .map_err(|e| convert::error(unit, e, (0, 0)))?;
        let atomic = slot.hw.counters().irte_fallbacks == fallbacks;
        Ok(InterruptChange {
            previous: route_of(&previous),
            atomic,
        })
    }

    /// Refuses a unit that does not remap or a handle beyond its table, in
    /// the client's terms (the library would say it too, less precisely).
    fn check_handle(&mut self, unit: UnitId, handle: u16) -> Result<(), IommuError> {
        match self.interrupt_entries(unit)? {
            0 => Err(IommuError::InterruptRemappingOff(unit)),
            n if handle >= n => Err(IommuError::NoSuchIrte { unit, handle }),
            _ => Ok(()),
        }
    }

    /// What entry `handle` of `unit` holds.
    pub fn route(&mut self, unit: UnitId, handle: u16) -> Result<InterruptRoute, IommuError> {
        self.check_handle(unit, handle)?;
        let slot = self.slot(unit)?;
        let entry = slot
            .hw
            .get_irte(handle)
            .map_err(|e| convert::error(unit, e, (0, 0)))?;
        Ok(route_of(&entry))
    }
}

/// The entry that carries `route`.
fn irte(route: InterruptRoute) -> Result<Irte, IommuError> {
    Ok(match route {
        InterruptRoute::Blocked => Irte::NOT_PRESENT,
        InterruptRoute::Deliver {
            vector,
            destination,
            source,
        } => Irte::remapped(vector, destination, source_check(source)?),
    })
}

/// The hardware's source check for `source`.
fn source_check(source: MsiSource) -> Result<SourceCheck, IommuError> {
    Ok(match source {
        MsiSource::Any => SourceCheck::None,
        MsiSource::Exact(device) => SourceCheck::Exact(convert::rid(device)?),
        MsiSource::BusRange { first, last } => SourceCheck::BusRange { first, last },
    })
}

/// What an entry read from the table routes to.
fn route_of(entry: &Irte) -> InterruptRoute {
    if !entry.present() {
        return InterruptRoute::Blocked;
    }
    let source = match entry.source() {
        SourceCheck::None => MsiSource::Any,
        SourceCheck::Exact(rid) => MsiSource::Exact(Bdf::from_requester_id(Rid::sid(rid))),
        SourceCheck::BusRange { first, last } => MsiSource::BusRange { first, last },
    };
    InterruptRoute::Deliver {
        vector: entry.vector(),
        destination: entry.destination(),
        source,
    }
}
