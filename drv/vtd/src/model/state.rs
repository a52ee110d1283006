//! Everything the model holds, behind one `RefCell` shared by the register,
//! memory and allocator handles: memory, registers, caches, knobs, counters
//! and the observer. DMA translation and fault recording live here.

use std::collections::HashMap;

use super::caches::{Caches, IotlbEntry};
use super::memory::{AllocState, PhysMem};
use super::observer::Observer;
use super::registers::RegFile;
use super::walk::{fetch_context, validate, walk, Mode};
use crate::cap::{Cap, Ecap};
use crate::counters::ByGranularity;
use crate::format::{FaultReason, FaultRecord, GstsBit, RootEntry};
use crate::regs;

/// Test knobs: ways to make the model misbehave on purpose.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Knobs {
    pub(crate) has_cx16: bool,
    /// GSTS bits that never follow their GCMD command.
    pub(crate) stuck_gsts: u32,
    /// Wait descriptors complete without writing their status.
    pub(crate) never_complete_waits: bool,
    /// The value "someone else" stores in the entry just before the next
    /// compare-exchange.
    pub(crate) interfere_next_cmpxchg: Option<u128>,
    /// How many more IOTLB invalidations are refused and invalidate nothing.
    pub(crate) reject_iotlb_invalidations: u32,
    /// How many IOTLB invalidations still work before those are refused.
    pub(crate) accept_iotlb_invalidations: u32,
}

/// What the model saw and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelStats {
    /// 64-bit accesses to 32-bit-only registers (ignored, as by QEMU).
    pub width_violations: u64,
    /// CCMD/IOTLB register invalidations ignored because QIE was set.
    pub ignored_register_invalidations: u64,
    /// Wait descriptors with SW and IF together (QEMU aborts on them).
    pub qemu_aborts: u64,
    /// Descriptors refused with FSTS.IQE.
    pub queue_errors: u64,
    /// Wait descriptors run.
    pub wait_descriptors: u64,
    pub gcmd_writes: u64,
    pub write_buffer_flushes: u64,
    pub context_invalidations: ByGranularity,
    pub iotlb_invalidations: ByGranularity,
    /// Faults recorded in a fault recording register.
    pub faults_recorded: u64,
    /// Faults folded into a pending record of the same source.
    pub faults_collapsed: u64,
    /// Faults lost because the next record was still full (PFO set).
    pub faults_lost: u64,
    /// Fault events signalled (FECTL.IM clear).
    pub fault_interrupts: u64,
    /// Context-entry stores seen (64-bit stores and compare-exchanges).
    pub context_stores: u64,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) mem: PhysMem,
    pub(crate) alloc: AllocState,
    pub(crate) regs: RegFile,
    pub(crate) caches: Caches,
    pub(crate) knobs: Knobs,
    pub(crate) stats: ModelStats,
    pub(crate) observer: Observer,
    /// Context-table pages reachable from the latched root table, by bus.
    pub(crate) context_pages: HashMap<u64, u8>,
    /// Interrupt remapping (see `interrupts`).
    pub(crate) ir: super::interrupts::IrState,
    /// Watched interrupt-remapping entries (see `irte_watch`).
    pub(crate) ir_watch: super::irte_watch::IrteWatch,
}

impl State {
    pub(crate) fn new(cap: u64, ecap: u64) -> State {
        let mut state = State::default();
        state.regs.cap = cap;
        state.regs.ecap = ecap;
        state.regs.fectl = regs::FECTL_IM;
        let records = Cap::decode_unchecked(cap).nfr.max(1) as usize;
        state.regs.frcd = vec![(0, 0); records];
        state.knobs.has_cx16 = true;
        state
    }

    pub(crate) fn cap(&self) -> Cap {
        Cap::decode_unchecked(self.regs.cap)
    }

    pub(crate) fn ecap(&self) -> Ecap {
        Ecap::decode(self.regs.ecap)
    }

    pub(crate) fn translating(&self) -> bool {
        self.regs.gsts & GstsBit::Te.mask() != 0
    }

    /// A DMA request: IOTLB (by source ID, QEMU's order), then the context
    /// cache or memory, then the walk; fills both caches and records faults.
    pub(crate) fn dma(&mut self, sid: u16, iova: u64, write: bool) -> Result<u64, FaultReason> {
        if !self.translating() {
            return Ok(iova);
        }
        let denied = if write {
            FaultReason::NoWrite
        } else {
            FaultReason::NoRead
        };
        if let Some(hit) = self.caches.lookup(sid, iova) {
            let allowed = if write { hit.perm.write } else { hit.perm.read };
            if allowed {
                return Ok(hit.phys + (iova - hit.iova));
            }
            self.record_fault(sid, iova, write, denied);
            return Err(denied);
        }
        let entry = match self.caches.context.get(&sid).copied() {
            Some(entry) => entry,
            None => {
                let Some(root) = self.regs.root else {
                    self.record_fault(sid, iova, write, FaultReason::RootTablePointerInvalid);
                    return Err(FaultReason::RootTablePointerInvalid);
                };
                match fetch_context(&self.mem, root, sid) {
                    Ok(entry) => entry,
                    Err(reason) => {
                        self.record_fault(sid, iova, write, reason);
                        return Err(reason);
                    }
                }
            }
        };
        let (cap, ecap) = (self.cap(), self.ecap());
        let result = validate(&entry, &cap, &ecap).and_then(|mode| {
            self.caches.context.insert(sid, entry);
            match mode {
                Mode::PassThrough => Ok(None),
                Mode::Tables { root, levels } => {
                    walk(&self.mem, root, levels, cap.mgaw, iova, write).map(Some)
                }
            }
        });
        match result {
            Ok(None) => Ok(iova),
            Ok(Some(leaf)) => {
                self.caches.fill(
                    sid,
                    IotlbEntry {
                        did: entry.did,
                        iova: leaf.iova,
                        size: leaf.size,
                        phys: leaf.phys,
                        perm: leaf.perm,
                        source_root: entry.slptptr,
                    },
                );
                Ok(leaf.phys + (iova - leaf.iova))
            }
            Err(reason) => {
                if !entry.fpd {
                    self.record_fault(sid, iova, write, reason);
                }
                Err(reason)
            }
        }
    }

    /// Records a fault in the one-at-a-time style of QEMU: a fault from a
    /// source that already has a pending record is collapsed; when the next
    /// record is still full the fault is lost and PFO set.
    pub(crate) fn record_fault(&mut self, sid: u16, iova: u64, write: bool, reason: FaultReason) {
        let pending = |&(lo, hi): &(u64, u64)| FaultRecord::decode(lo, hi);
        if self
            .regs
            .frcd
            .iter()
            .map(pending)
            .any(|r| r.fault && r.sid == sid)
        {
            self.stats.faults_collapsed += 1;
            return;
        }
        let index = self.regs.next_frcd % self.regs.frcd.len().max(1);
        let had_pending = self.fsts() & regs::FSTS_PPF != 0;
        let Some(slot) = self.regs.frcd.get_mut(index) else {
            return;
        };
        if FaultRecord::decode(slot.0, slot.1).fault {
            self.regs.fsts |= regs::FSTS_PFO;
            self.stats.faults_lost += 1;
            return;
        }
        *slot = FaultRecord {
            address: iova,
            sid,
            reason,
            read: !write,
            fault: true,
        }
        .encode();
        self.stats.faults_recorded += 1;
        self.regs.next_frcd = (index + 1) % self.regs.frcd.len();
        if !had_pending {
            self.regs.fsts = (self.regs.fsts & !(regs::FSTS_FRI_MASK << regs::FSTS_FRI_SHIFT))
                | ((index as u32) << regs::FSTS_FRI_SHIFT);
            // Signalled at once, or left pending (IP) while masked.
            if self.regs.fectl & regs::FECTL_IM == 0 {
                self.stats.fault_interrupts += 1;
            } else {
                self.regs.fectl |= regs::FECTL_IP;
            }
        }
    }

    pub(crate) fn clear_fault_record(&mut self, index: usize) {
        if let Some(slot) = self.regs.frcd.get_mut(index) {
            slot.1 &= !(1 << 63);
        }
    }

    /// Re-reads the latched root table (after SRTP or a store into it).
    pub(crate) fn rebuild_context_pages(&mut self) {
        self.context_pages.clear();
        let Some(root) = self.regs.root else {
            return;
        };
        for bus in 0..regs::ROOT_ENTRIES as u64 {
            let entry = RootEntry::decode(self.mem.read_u64(root + bus * regs::ENTRY128_SIZE));
            if entry.present {
                self.context_pages.insert(entry.context_table, bus as u8);
            }
        }
    }

    /// Whether `addr` is inside a context table the latched root table
    /// points at; gives the source ID of the entry.
    pub(crate) fn context_slot(&self, addr: u64) -> Option<u16> {
        let bus = *self.context_pages.get(&(addr & !0xfff))?;
        Some(((bus as u16) << 8) | ((addr & 0xfff) / regs::ENTRY128_SIZE) as u16)
    }

    /// Keeps `context_pages` current when `addr` is in the root table.
    fn after_store(&mut self, addr: u64) {
        if self.regs.root == Some(addr & !0xfff) {
            self.rebuild_context_pages();
        }
        self.watch_irte_store(addr);
    }

    /// A 64-bit store by the CPU, seen by the observer when it hits a
    /// context entry.
    pub(crate) fn cpu_store(&mut self, addr: u64, value: u64) {
        self.mem.write_u64(addr, value);
        self.after_store(addr);
        if self.context_slot(addr).is_some() {
            self.stats.context_stores += 1;
            self.observe();
        }
    }

    /// A 128-bit compare-exchange by the CPU.
    pub(crate) fn cpu_cmpxchg16b(&mut self, addr: u64, old: u128, new: u128) -> Result<(), u128> {
        if let Some(value) = self.knobs.interfere_next_cmpxchg.take() {
            self.mem.write_u128(addr, value);
        }
        let actual = self.mem.read_u128(addr);
        if actual != old {
            return Err(actual);
        }
        self.mem.write_u128(addr, new);
        self.after_store(addr);
        if self.context_slot(addr).is_some() {
            self.stats.context_stores += 1;
            self.observe();
        }
        Ok(())
    }

    fn observe(&mut self) {
        let mut observer = std::mem::take(&mut self.observer);
        observer.check(self);
        self.observer = observer;
    }
}
