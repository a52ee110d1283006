//! Context-entry replacement, exactly as Xen's "VT-d: re-assign devices
//! directly" (CVE-2022-26359): the new entry is computed from the old one and
//! written over it without ever unmapping in between (docs/DESIGN.md §6.4).
//!
//! With CMPXCHG16B the switch is one atomic store. Without it Xen's
//! fallback runs: for a device without RMRR (or an entry that was not
//! present) the entry goes non-present, then high half, then low half; for a
//! present entry of an RMRR device, best effort (low half first, DID last),
//! which may briefly pair the new tables with the old DID, hence the warning.
//! Afterwards the context cache of the device and the IOTLB of the
//! **previous** DID are flushed.

use core::fmt;

use crate::cap::Levels;
use crate::error::Error;
use crate::format::{ContextEntry, TranslationType};
use crate::hw::{Cmpxchg16bError, Delay, PageAllocator, Registers, TableMemory};
use crate::mode::MapMode;
use crate::regs;
use crate::rid::Rid;
use crate::unit::Unit;

/// What the new owner's DMA goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainTables {
    /// Second-level tables rooted at `root`, `levels` deep.
    Paged { root: u64, levels: Levels },
    /// Untranslated (needs ECAP.PT).
    PassThrough,
}

/// The owner a context entry should point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Assignment {
    pub did: u16,
    pub tables: DomainTables,
    /// The device has ATS enabled: use the device-IOTLB translation type
    /// when ECAP.DT allows.
    pub ats: bool,
}

/// The state of a context entry before a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Previous {
    pub present: bool,
    pub did: u16,
    pub root: u64,
    pub tt: TranslationType,
}

impl Previous {
    fn of(entry: &ContextEntry) -> Previous {
        Previous {
            present: entry.present,
            did: entry.did,
            root: entry.slptptr,
            tt: entry.tt,
        }
    }
}

/// How the new entry reached memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorePath {
    /// Already pointing at the same owner: nothing written, nothing flushed.
    Unchanged,
    /// One 128-bit compare-exchange.
    Atomic,
    /// No CX16: present bit cleared first (if it was set), high half, then
    /// low half. The entry passes through non-present.
    ClearedFirst,
    /// No CX16, present entry of an RMRR device: low half, then high half
    /// (DID last). New tables briefly run under the old DID.
    BestEffort,
}

/// Something the caller should log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Warning {
    /// Xen's "reassignment may cause data corruption" warning: the old
    /// DID is shared with other devices of a live owner.
    ReassignmentMayCorrupt { rid: Rid, previous_did: u16 },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::ReassignmentMayCorrupt { rid, previous_did } => write!(
                f,
                "{rid}: reassignment may cause data corruption in the domain of DID {previous_did}"
            ),
        }
    }
}

/// The result of [`Unit::set_context`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetContext {
    pub previous: Previous,
    pub path: StorePath,
    pub warning: Option<Warning>,
}

impl<R: Registers, M: TableMemory, A: PageAllocator, D: Delay> Unit<R, M, A, D> {
    /// Points `rid`'s context entry at `target`, replacing whatever owner it
    /// had in place. `did_is_known` must accept the DID of a present entry
    /// (the caller's books), else the change is refused.
    ///
    /// If a flush fails after the entry was stored, the error is returned and
    /// the entry stays changed: [`Unit::get_context`] tells the truth.
    pub fn set_context(
        &mut self,
        rid: Rid,
        target: &Assignment,
        mode: MapMode,
        mut did_is_known: impl FnMut(u16) -> bool,
    ) -> Result<SetContext, Error> {
        self.check_did(target.did)?;
        let table = self
            .context_table(rid.bus, true)?
            .ok_or(Error::NotBroughtUp)?;
        let slot = table + rid.devfn as u64 * regs::ENTRY128_SIZE;
        let old_lo = self.mem.read_u64(slot);
        let old_hi = self.mem.read_u64(slot + 8);
        let old = ContextEntry::decode(old_lo, old_hi);
        let previous = Previous::of(&old);
        if old.present && !did_is_known(old.did) {
            return Err(Error::UnknownOwner { rid, did: old.did });
        }

        let mut new = old;
        match target.tables {
            DomainTables::PassThrough => {
                if !self.ecap.pt {
                    return Err(Error::PassThroughUnsupported);
                }
                new.tt = TranslationType::PassThrough;
                new.slptptr = 0;
                new.aw = self.levels.aw();
            }
            DomainTables::Paged { root, levels } => {
                if !self.cap.supports(levels) {
                    return Err(Error::LevelsUnsupported {
                        levels: levels.count(),
                    });
                }
                new.tt = if target.ats && self.ecap.dt {
                    TranslationType::DeviceIotlb
                } else {
                    TranslationType::MultiLevel
                };
                new.slptptr = root;
                new.aw = levels.aw();
            }
        }
        // AW follows the target's tables on every store; Xen sets it
        // only for a new entry and asserts it unchanged otherwise, which is
        // the same whenever domains share one depth.
        new.did = target.did;
        if !old.present {
            new.fpd = false;
            new.present = true;
        }

        if old.present && new == old {
            return Ok(SetContext {
                previous,
                path: StorePath::Unchanged,
                warning: None,
            });
        }

        let (new_lo, new_hi) = new.encode();
        let mut warning = None;
        let path = if self.mem.has_cx16() {
            let expected = old.to_u128();
            self.counters.context_cmpxchg += 1;
            match self.mem.cmpxchg16b(slot, expected, new.to_u128()) {
                Ok(()) => {}
                Err(Cmpxchg16bError::Changed(actual)) => {
                    return Err(Error::EntryChanged {
                        rid,
                        expected,
                        actual,
                    })
                }
                // Nothing was stored, nor read: not a concurrent change.
                Err(Cmpxchg16bError::Refused) => return Err(Error::Cmpxchg16bRefused { rid }),
            }
            StorePath::Atomic
        } else if self.config.require_cx16 {
            return Err(Error::Cx16Required { rid });
        } else if !old.present || !mode.contains(MapMode::WITH_RMRR) {
            if old.present {
                let cleared = ContextEntry {
                    present: false,
                    ..old
                };
                self.store_context(slot, cleared.encode().0);
                self.sync(slot, regs::ENTRY128_SIZE);
            }
            self.store_context(slot + 8, new_hi);
            self.store_context(slot, new_lo);
            StorePath::ClearedFirst
        } else {
            if !mode.intersects(MapMode::OWNER_DYING | MapMode::SINGLE_DEVICE) {
                warning = Some(Warning::ReassignmentMayCorrupt {
                    rid,
                    previous_did: old.did,
                });
            }
            self.store_context(slot, new_lo);
            self.store_context(slot + 8, new_hi);
            StorePath::BestEffort
        };
        self.sync(slot, regs::ENTRY128_SIZE);

        let previous_did = old.present.then_some(old.did);
        self.flush_after_context_change(rid.sid(), previous_did)?;
        Ok(SetContext {
            previous,
            path,
            warning,
        })
    }

    /// Makes `rid`'s context entry non-present and flushes with the DID
    /// **from the entry being cleared** (Xen 445ab9852d). A non-present entry
    /// is left alone.
    pub fn clear_context(&mut self, rid: Rid) -> Result<Previous, Error> {
        let Some(table) = self.context_table(rid.bus, false)? else {
            return Ok(Previous::of(&ContextEntry::empty()));
        };
        let slot = table + rid.devfn as u64 * regs::ENTRY128_SIZE;
        let old = ContextEntry::decode(self.mem.read_u64(slot), self.mem.read_u64(slot + 8));
        if !old.present {
            return Ok(Previous::of(&old));
        }
        // The low half (with P) goes first so the entry is never present
        // with a half-cleared high half.
        self.store_context(slot, 0);
        self.store_context(slot + 8, 0);
        self.sync(slot, regs::ENTRY128_SIZE);
        self.invalidate_context_device(old.did, rid.sid(), 0)?;
        self.invalidate_iotlb_domain(old.did)?;
        Ok(Previous::of(&old))
    }

    /// The context entry of `rid` as memory holds it (empty when its bus has
    /// no context table).
    pub fn get_context(&mut self, rid: Rid) -> Result<ContextEntry, Error> {
        let Some(table) = self.context_table(rid.bus, false)? else {
            return Ok(ContextEntry::empty());
        };
        let slot = table + rid.devfn as u64 * regs::ENTRY128_SIZE;
        Ok(ContextEntry::decode(
            self.mem.read_u64(slot),
            self.mem.read_u64(slot + 8),
        ))
    }

    /// Calls `f` with every present context entry (to rebuild books after a
    /// restart: the hardware is the truth).
    pub fn for_each_present_context(
        &mut self,
        mut f: impl FnMut(Rid, ContextEntry),
    ) -> Result<(), Error> {
        for bus in 0..=u8::MAX {
            let Some(table) = self.context_table(bus, false)? else {
                continue;
            };
            for devfn in 0..=u8::MAX {
                let slot = table + devfn as u64 * regs::ENTRY128_SIZE;
                let entry =
                    ContextEntry::decode(self.mem.read_u64(slot), self.mem.read_u64(slot + 8));
                if entry.present {
                    f(Rid { bus, devfn }, entry);
                }
            }
        }
        Ok(())
    }

    /// Physical address of `rid`'s context entry, if its bus has a context
    /// table (diagnostics, and tests that drive the model directly).
    pub fn context_entry_address(&mut self, rid: Rid) -> Result<Option<u64>, Error> {
        Ok(self
            .context_table(rid.bus, false)?
            .map(|table| table + rid.devfn as u64 * regs::ENTRY128_SIZE))
    }

    fn store_context(&mut self, addr: u64, value: u64) {
        self.counters.context_stores += 1;
        self.mem.write_u64(addr, value);
    }

    fn check_did(&self, did: u16) -> Result<(), Error> {
        if did as u32 >= self.domains {
            return Err(Error::DidOutOfRange {
                did,
                count: self.domains,
            });
        }
        if did == 0 && self.cap.cm {
            return Err(Error::DidZeroWithCachingMode);
        }
        Ok(())
    }
}
