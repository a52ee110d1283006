//! DMA faults: drained from every unit's fault registers into a queue the
//! broker and console pull from, oldest first.
//!
//! The hardware has few recording registers (QEMU: one), so the task drains
//! them as soon as the fault interrupt fires; the queue then holds records
//! until someone pulls. What cannot be kept is counted as lost, as is every
//! overflow the hardware itself reported.

use heapless::Deque;
use idl_types::{DmaDirection, FaultBatch, FaultRecord, UnitId, FAULTS_PER_BATCH};
use vtd::{Delay, PageAllocator, Registers, TableMemory};

use crate::convert;
use crate::ledger::LedgerStore;
use crate::server::IommuServer;

/// Records kept between pulls.
pub const FAULT_QUEUE: usize = 64;

/// Records waiting to be pulled.
#[derive(Default)]
pub(crate) struct FaultQueue {
    records: Deque<FaultRecord, FAULT_QUEUE>,
    lost: u32,
}

impl FaultQueue {
    fn push(&mut self, record: FaultRecord) {
        if self.records.push_back(record).is_err() {
            self.lost = self.lost.saturating_add(1);
        }
    }

    /// Up to a batch of the oldest records; the lost count is reported
    /// once and reset.
    pub(crate) fn pull(&mut self) -> FaultBatch {
        let mut records = heapless::Vec::new();
        while records.len() < FAULTS_PER_BATCH {
            let Some(r) = self.records.pop_front() else {
                break;
            };
            // Bounded by the loop condition.
            let _ = records.push(r);
        }
        let lost = core::mem::take(&mut self.lost);
        FaultBatch {
            records,
            pending: self.records.len() as u32,
            lost,
        }
    }
}

impl<R, M, A, D, L> IommuServer<R, M, A, D, L>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
    L: LedgerStore,
{
    /// Moves every pending fault record of every unit into the queue,
    /// showing each to the fault log if one is set (the binary calls this
    /// when the fault interrupt fires; pulls do it too). Returns how many
    /// records were drained.
    pub fn drain_faults(&mut self) -> u32 {
        let queue = &mut self.faults;
        let log = self.fault_log;
        let mut drained = 0;
        for (i, slot) in self.units.iter_mut().enumerate() {
            let unit = UnitId(i as u8);
            let summary = slot.hw.drain_faults(|f| {
                let record = FaultRecord {
                    unit,
                    source: convert::bdf(f.source),
                    address: f.address,
                    reason: f.reason.code(),
                    direction: if f.write {
                        DmaDirection::Write
                    } else {
                        DmaDirection::Read
                    },
                };
                if let Some(log) = log {
                    log(&record);
                }
                queue.push(record);
            });
            drained += summary.records;
            if summary.overflowed {
                queue.lost = queue.lost.saturating_add(1);
            }
        }
        drained
    }

    /// Shows every fault record to `log` as it is drained (the binary logs
    /// them in words; the queue still keeps them for `pull_faults`).
    pub fn set_fault_log(&mut self, log: fn(&FaultRecord)) {
        self.fault_log = Some(log);
    }

    /// Shows every context entry replaced the best-effort way to `log`
    /// (the binary logs each with the device and both owners, as Xen's fix
    /// prints its warning; the counters still count them).
    pub fn set_best_effort_log(&mut self, log: fn(&crate::BestEffortUpdate)) {
        self.best_effort_log = Some(log);
    }

    pub(crate) fn pull_faults(&mut self) -> FaultBatch {
        self.drain_faults();
        self.faults.pull()
    }
}
