//! DMA faults: drained from every unit's fault registers into a queue the
//! broker and console pull from, oldest first.
//!
//! The hardware has few recording registers (QEMU: one), so the task drains
//! them as soon as the fault interrupt fires; the queue then holds records
//! until someone pulls. What cannot be kept is counted as lost, as is every
//! overflow the hardware itself reported.
//!
//! Every drain is also counted against the fault budget
//! ([`crate::fault_budget`]): the first record of a source per interval is
//! logged, the rest summarised, and a drain past the budget masks the
//! fault event until the interval closes.

use heapless::Deque;
use idl_types::{DmaDirection, FaultBatch, FaultRecord, UnitId, FAULTS_PER_BATCH};
use vtd::{Delay, PageAllocator, Registers, TableMemory};

use crate::convert;
use crate::fault_budget::IntervalSummary;
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
    /// showing the first of each source per interval to the fault log if
    /// one is set (the binary calls this when the fault interrupt fires;
    /// pulls do it too). A drain that takes the interval past the budget
    /// masks every unit's fault event (FECTL.IM) until
    /// [`Self::end_fault_interval`]. Returns how many records were drained.
    pub fn drain_faults(&mut self) -> u32 {
        let queue = &mut self.faults;
        let budget = &mut self.fault_budget;
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
                if budget.record(&record) {
                    if let Some(log) = log {
                        log(&record);
                    }
                }
                queue.push(record);
            });
            drained += summary.records;
            if summary.overflowed {
                queue.lost = queue.lost.saturating_add(1);
                budget.overflow();
            }
        }
        if self.fault_budget.verdict(drained).mask {
            self.set_fault_event_masked(true);
            if let Some(log) = self.fault_mask_log {
                log(self.fault_budget.records());
            }
        }
        drained
    }

    /// Whether the current fault interval holds anything: while it does,
    /// the binary keeps a timer armed to close it.
    pub fn fault_interval_open(&self) -> bool {
        self.fault_budget.open()
    }

    /// Whether the fault event is masked for the rest of the interval.
    pub fn fault_event_masked(&self) -> bool {
        self.fault_budget.masked()
    }

    /// Times a fault storm masked the fault event so far.
    pub fn fault_event_masks(&self) -> u32 {
        self.fault_budget.masks()
    }

    /// Closes the fault interval (the binary's timer, every
    /// [`crate::FAULT_INTERVAL_MS`]): shows its per-source summary to the
    /// summary log, and unmasks the fault event if the budget masked it (a
    /// fault still pending then raises the event again). Returns the
    /// summary.
    pub fn end_fault_interval(&mut self) -> IntervalSummary {
        let summary = self.fault_budget.close();
        if let Some(log) = self.fault_summary_log {
            log(&summary);
        }
        if summary.masked {
            self.set_fault_event_masked(false);
        }
        summary
    }

    /// Sets or clears FECTL.IM on every unit (FECTL's other bits are
    /// read-only or reserved, so the write is the mask bit alone).
    fn set_fault_event_masked(&mut self, masked: bool) {
        let value = if masked { vtd::regs::FECTL_IM } else { 0 };
        for slot in self.units.iter_mut() {
            slot.hw.registers().write32(vtd::regs::FECTL, value);
        }
    }

    /// Shows the first fault record of each source per interval to `log`
    /// (the binary logs it in words; the queue still keeps every record for
    /// `pull_faults`).
    pub fn set_fault_log(&mut self, log: fn(&FaultRecord)) {
        self.fault_log = Some(log);
    }

    /// Shows each closed interval's per-source counts to `log`.
    pub fn set_fault_summary_log(&mut self, log: fn(&IntervalSummary)) {
        self.fault_summary_log = Some(log);
    }

    /// Tells `log` when a storm masks the fault event (with the records the
    /// interval brought).
    pub fn set_fault_mask_log(&mut self, log: fn(u32)) {
        self.fault_mask_log = Some(log);
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
