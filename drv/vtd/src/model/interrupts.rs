//! The model's interrupt remapping: the table latched by SIRTP, the
//! interrupt entry cache (IEC) and what a message written to the MSI window
//! becomes.
//!
//! This follows the VT-d specification, not QEMU 7.2, in two places the
//! tests depend on: a compatibility-format request is blocked while
//! remapping is on (QEMU 7.2 lets it through), and a request that carries
//! a requester ID is checked against the entry's source-ID field (QEMU's
//! DMA writes carry none; the model's callers pass `None` for those).
//! Entries are cached on use and only an IEC invalidation drops them, so a
//! missing invalidation shows up as stale delivery.

use std::collections::HashMap;

use super::state::State;
use crate::format::{decode_msi, FaultReason, GstsBit, Irte, MsiRequest};

/// IRTA: table size field S (2^(S+1) entries), bits 3:0.
const IRTA_S_MASK: u64 = 0xf;
/// Bytes per remapping entry.
const IRTE_SIZE: u64 = 16;

/// The remapping state: the latched table and its cache.
#[derive(Debug, Default, Clone)]
pub(crate) struct IrState {
    /// (base, entries) latched by the last SIRTP.
    pub(crate) table: Option<(u64, u32)>,
    /// Cached entries by index.
    pub(crate) iec: HashMap<u32, Irte>,
    /// Every delivery and block, for tests.
    pub(crate) delivered: u64,
    pub(crate) blocked: u64,
    /// IEC invalidations run (global, index-selective).
    pub(crate) iec_global: u64,
    pub(crate) iec_index: u64,
}

/// Where a remapped interrupt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// The vector.
    pub vector: u8,
    /// The xAPIC ID.
    pub destination: u8,
}

impl State {
    /// SIRTP: latch IRTA's table (the IEC starts empty).
    pub(crate) fn latch_interrupt_table(&mut self) {
        let irta = self.regs.irta;
        let entries = 1u32 << ((irta & IRTA_S_MASK) + 1);
        self.ir.table = Some((irta & !0xfff, entries));
        self.ir.iec.clear();
    }

    /// An IEC invalidation descriptor.
    pub(crate) fn invalidate_iec(&mut self, index: Option<(u16, u8)>) {
        match index {
            None => {
                self.ir.iec_global += 1;
                self.ir.iec.clear();
            }
            Some((first, im)) => {
                self.ir.iec_index += 1;
                let first = u32::from(first);
                let count = 1u32 << im.min(16);
                self.ir.iec.retain(|i, _| *i < first || *i >= first + count);
            }
        }
    }

    fn remapping(&self) -> bool {
        self.regs.gsts & GstsBit::Ires.mask() != 0
    }

    /// A message written to the MSI window by requester `sid` (`None`: the
    /// request carries no requester ID, as QEMU's DMA writes).
    pub(crate) fn msi(
        &mut self,
        address: u32,
        data: u32,
        sid: Option<u16>,
    ) -> Result<Delivered, FaultReason> {
        let result = self.remap(address, data, sid);
        match result {
            Ok(_) => self.ir.delivered += 1,
            Err(reason) => {
                self.ir.blocked += 1;
                self.record_interrupt_fault(sid.unwrap_or(0), address, reason);
            }
        }
        result
    }

    fn remap(
        &mut self,
        address: u32,
        data: u32,
        sid: Option<u16>,
    ) -> Result<Delivered, FaultReason> {
        let request = decode_msi(address, data);
        if !self.remapping() {
            return Ok(match request {
                MsiRequest::Compatibility {
                    vector,
                    destination,
                } => Delivered {
                    vector,
                    destination,
                },
                // Without remapping the format bit means nothing: the
                // address is taken as a compatibility one (vector from data).
                MsiRequest::Remappable { .. } => Delivered {
                    vector: data as u8,
                    destination: (address >> 12) as u8,
                },
            });
        }
        let index = match request {
            MsiRequest::Compatibility {
                vector,
                destination,
            } => {
                if self.regs.gsts & GstsBit::Cfis.mask() != 0 {
                    return Ok(Delivered {
                        vector,
                        destination,
                    });
                }
                return Err(FaultReason::IrCompatibilityBlocked);
            }
            MsiRequest::Remappable { index } => index,
        };
        let Some((base, entries)) = self.ir.table else {
            return Err(FaultReason::IrTableUnreadable);
        };
        if index >= entries {
            return Err(FaultReason::IrIndexBeyondTable);
        }
        let entry = match self.ir.iec.get(&index) {
            Some(cached) => *cached,
            None => {
                let at = base + u64::from(index) * IRTE_SIZE;
                let entry = Irte::from_words(self.mem.read_u64(at), self.mem.read_u64(at + 8));
                if entry.present() {
                    self.ir.iec.insert(index, entry);
                }
                entry
            }
        };
        if !entry.present() {
            return Err(FaultReason::IrEntryNotPresent);
        }
        if !entry.only_known_fields() {
            return Err(FaultReason::IrReservedEntry);
        }
        if let Some(sid) = sid {
            if !entry.source().admits(sid) {
                return Err(FaultReason::IrSourceRefused);
            }
        }
        Ok(Delivered {
            vector: entry.vector(),
            destination: entry.destination(),
        })
    }

    /// Interrupt faults go to the same recording registers as DMA faults,
    /// with the request's address in the record (its handle bits).
    fn record_interrupt_fault(&mut self, sid: u16, address: u32, reason: FaultReason) {
        self.record_fault(sid, u64::from(address), true, reason);
    }
}
