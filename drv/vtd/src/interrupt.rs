//! Interrupt remapping: the unit's interrupt-remapping table (IRT), turned
//! on once, and entries replaced as context entries are, with one 128-bit
//! compare-exchange.
//!
//! What a reader must know:
//! - Remapping needs queued invalidation: the interrupt entry cache (IEC)
//!   can only be invalidated through the queue. A unit running register
//!   invalidation refuses to remap ([`Error::InterruptRemappingNeedsQueue`]).
//! - Compatibility-format interrupts are never allowed (GCMD.CFI stays
//!   clear): with remapping on, a device's only way to interrupt is an
//!   entry the driver made present.
//! - An entry changes with one `cmpxchg16b` followed by an index-selective
//!   IEC invalidation. Without CX16 the fallback never lets the hardware
//!   use a half-written entry: a present entry is first made not present
//!   and invalidated (its interrupts are blocked for that moment, and
//!   fault), then the high word, then the low word with P set, then the
//!   index is invalidated again; it is counted in
//!   [`crate::Counters::irte_fallbacks`]. With `Config::require_cx16` the
//!   fallback is refused instead.

use crate::error::Error;
use crate::format::{Descriptor, GstsBit, Irte};
use crate::hw::{Cmpxchg16bError, Delay, PageAllocator, Registers, TableMemory};
use crate::invalidate::InvalidationMode;
use crate::regs;
use crate::unit::Unit;

/// Bytes per remapping entry.
pub const IRTE_SIZE: u64 = 16;
/// Entries one 4 KiB page holds: the largest table this driver builds.
pub const MAX_IRT_ENTRIES: u16 = (regs::PAGE_SIZE / IRTE_SIZE) as u16;

/// The unit's interrupt-remapping table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IrTable {
    /// Physical address of the table (one page).
    pub base: u64,
    /// Entries in it (a power of two, at most [`MAX_IRT_ENTRIES`]).
    pub entries: u16,
}

impl IrTable {
    /// IRTA for this table: base | S, with 2^(S+1) entries (xAPIC: EIME 0).
    pub(crate) fn irta(&self) -> u64 {
        let s = u64::from(self.entries.trailing_zeros().saturating_sub(1));
        self.base | s
    }

    /// The table IRTA describes, if it is one this driver could have built.
    pub(crate) fn from_irta(irta: u64) -> Option<IrTable> {
        if irta & !regs::IRTA_BASE_MASK & !regs::IRTA_S_MASK != 0 {
            return None;
        }
        let s = irta & regs::IRTA_S_MASK;
        let entries = 1u32 << (s + 1);
        let entries = u16::try_from(entries)
            .ok()
            .filter(|n| *n <= MAX_IRT_ENTRIES)?;
        Some(IrTable {
            base: irta & regs::IRTA_BASE_MASK,
            entries,
        })
    }

    fn slot(&self, index: u16) -> u64 {
        self.base + u64::from(index) * IRTE_SIZE
    }
}

impl<R: Registers, M: TableMemory, A: PageAllocator, D: Delay> Unit<R, M, A, D> {
    /// Turns interrupt remapping on with a table of `entries` entries (a
    /// power of two, 2..=[`MAX_IRT_ENTRIES`]), every entry not present:
    /// until an entry is set, every remappable interrupt is blocked, and
    /// compatibility-format ones always are.
    pub fn enable_interrupt_remapping(&mut self, entries: u16) -> Result<(), Error> {
        if !self.ecap.ir {
            return Err(Error::InterruptRemappingUnsupported);
        }
        if !matches!(self.inval, InvalidationMode::Queue(_)) {
            return Err(Error::InterruptRemappingNeedsQueue);
        }
        if self.ir_table.is_some() {
            return Ok(());
        }
        if !entries.is_power_of_two() || !(2..=MAX_IRT_ENTRIES).contains(&entries) {
            return Err(Error::IrtSize { entries });
        }
        let base = self.alloc.alloc_page().ok_or(Error::OutOfMemory)?;
        self.mem.zero_page(base);
        self.sync(base, regs::PAGE_SIZE);
        let table = IrTable { base, entries };
        self.write64(regs::IRTA, table.irta());
        self.gcmd(GstsBit::Irtps, true);
        self.wait_gsts(GstsBit::Irtps, true)?;
        self.ir_table = Some(table);
        self.invalidate_iec(None)?;
        self.gcmd(GstsBit::Ires, true);
        self.wait_gsts(GstsBit::Ires, true)
    }

    /// The interrupt-remapping table, once remapping is on (or was found on
    /// by [`Unit::resume`]).
    pub fn interrupt_remapping(&self) -> Option<IrTable> {
        self.ir_table
    }

    /// What entry `index` holds.
    pub fn get_irte(&mut self, index: u16) -> Result<Irte, Error> {
        let slot = self.irte_slot(index)?;
        Ok(Irte::from_words(
            self.mem.read_u64(slot),
            self.mem.read_u64(slot + 8),
        ))
    }

    /// Replaces entry `index` with `new` and invalidates its cached copy;
    /// returns what it held. One compare-exchange with CX16; else the
    /// blocked-first fallback (module doc). Setting the entry it already
    /// holds stores nothing but still invalidates the index, so repeating
    /// an interrupted call finishes it.
    pub fn set_irte(&mut self, index: u16, new: Irte) -> Result<Irte, Error> {
        let slot = self.irte_slot(index)?;
        let old = self.get_irte(index)?;
        if old == new {
            // Nothing to store, but the cached copy may still be older:
            // a store whose invalidation never ran (the driver restarted
            // in between, or the queue failed) is completed by setting the
            // same entry again.
            self.invalidate_iec(Some(index))?;
            return Ok(old);
        }
        self.counters.irte_writes += 1;
        if self.mem.has_cx16() {
            match self.mem.cmpxchg16b(slot, old.0, new.0) {
                Ok(()) => {}
                Err(Cmpxchg16bError::Changed(actual)) => {
                    return Err(Error::IrteChanged {
                        index,
                        expected: old.0,
                        actual,
                    })
                }
                Err(Cmpxchg16bError::Refused) => return Err(Error::IrteCmpxchgRefused { index }),
            }
            self.sync(slot, IRTE_SIZE);
        } else if self.config.require_cx16 {
            return Err(Error::IrteCx16Required { index });
        } else {
            self.counters.irte_fallbacks += 1;
            if old.present() {
                self.mem.write_u64(slot, old.blocked().lo());
                self.sync(slot, IRTE_SIZE);
                self.invalidate_iec(Some(index))?;
            }
            self.mem.write_u64(slot + 8, new.hi());
            self.sync(slot, IRTE_SIZE);
            self.mem.write_u64(slot, new.lo());
            self.sync(slot, IRTE_SIZE);
        }
        self.invalidate_iec(Some(index))?;
        Ok(old)
    }

    /// Invalidates the interrupt entry cache: one entry, or all of it.
    pub fn invalidate_iec(&mut self, index: Option<u16>) -> Result<(), Error> {
        self.counters.iec_invalidations += 1;
        // IM = 0: exactly the one entry.
        self.submit(Descriptor::InterruptEntryCache {
            index: index.map(|i| (i, 0)),
        })
    }

    fn irte_slot(&self, index: u16) -> Result<u64, Error> {
        let table = self.ir_table.ok_or(Error::InterruptRemappingOff)?;
        if index >= table.entries {
            return Err(Error::IrteIndex {
                index,
                entries: table.entries,
            });
        }
        Ok(table.slot(index))
    }
}
