//! Fault draining: read every pending fault record, hand it to the caller in
//! decoded form, clear its F bit, then clear an overflow (PFO).
//!
//! Records are scanned from FSTS.FRI round the CAP.NFR registers until one
//! has F clear; the F dword and FSTS are written 32 bits wide (QEMU).

use crate::format::{FaultReason, FaultRecord};
use crate::hw::{Delay, PageAllocator, Registers, TableMemory};
use crate::regs;
use crate::rid::Rid;
use crate::unit::Unit;

/// A blocked DMA request, as reported to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub source: Rid,
    /// Page address of the request.
    pub address: u64,
    pub write: bool,
    pub reason: FaultReason,
}

/// What a drain found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrainSummary {
    /// Records reported.
    pub records: u32,
    /// FSTS.PFO was set: at least one fault was lost.
    pub overflowed: bool,
}

impl<R: Registers, M: TableMemory, A: PageAllocator, D: Delay> Unit<R, M, A, D> {
    /// Reports and clears every pending fault record, then the overflow bit.
    pub fn drain_faults(&mut self, mut report: impl FnMut(Fault)) -> DrainSummary {
        let mut summary = DrainSummary::default();
        let fsts = self.read32(regs::FSTS);
        let count = self.cap.nfr.max(1) as u32;
        let first = ((fsts >> regs::FSTS_FRI_SHIFT) & regs::FSTS_FRI_MASK) % count;
        if fsts & regs::FSTS_PPF != 0 {
            for step in 0..count {
                let offset = self.cap.fault_record_offset()
                    + ((first + step) % count) as usize * regs::FRCD_SIZE;
                let hi = self.read64(offset + 8);
                let record = FaultRecord::decode(0, hi);
                if !record.fault {
                    break;
                }
                let lo = self.read64(offset);
                let record = FaultRecord::decode(lo, hi);
                report(Fault {
                    source: Rid::from_sid(record.sid),
                    address: record.address,
                    write: !record.read,
                    reason: record.reason,
                });
                summary.records += 1;
                self.counters.faults_drained += 1;
                self.write32(offset + regs::FRCD_F_DWORD, regs::FRCD_F_IN_DWORD);
            }
        }
        if fsts & regs::FSTS_PFO != 0 {
            summary.overflowed = true;
            self.write32(regs::FSTS, regs::FSTS_PFO);
        }
        summary
    }
}
