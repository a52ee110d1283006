//! The fault budget: a device issuing bad DMA without pause must not keep
//! the iommu (and, through its log lines, the whole machine) busy.
//!
//! Faults are counted per *interval*: the binary opens one when the first
//! fault after a quiet spell arrives (it arms a timer for
//! [`FAULT_INTERVAL_MS`]) and closes it when the timer fires
//! ([`crate::IommuServer::end_fault_interval`]). Within an interval:
//! - only the first record of each source is logged in full; the rest are
//!   counted per source and logged as one summary line per source when the
//!   interval closes (each log line costs about 3 ms of serial output with
//!   interrupts masked, so one line per record would be the starvation);
//! - once a drain takes the interval past [`FAULT_BUDGET`] records, the
//!   units' fault event is masked (FECTL.IM): the hardware keeps recording
//!   (and reports what it cannot keep as overflow), but no longer
//!   interrupts. Closing the interval unmasks it; a fault still pending then
//!   raises the event again (FECTL.IP), so nothing is left unseen.

use heapless::Vec;
use idl_types::{Bdf, FaultRecord, UnitId};

/// Fault records one interval may bring before the fault event is masked
/// until the interval closes. A well-behaved system makes a handful; a
/// device in a loop makes one per recording register per drain.
pub const FAULT_BUDGET: u32 = 16;

/// How long an interval lasts (ms): the longest the fault event stays
/// masked, and how often a storm costs one summary line per source.
pub const FAULT_INTERVAL_MS: u64 = 100;

/// Sources summarised per interval; records from further sources in the
/// same interval are counted together as `others`.
pub const SUMMARY_SOURCES: usize = 8;

/// One source's faults in the interval that closed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SourceSummary {
    /// The unit that recorded them.
    pub unit: UnitId,
    /// The requester ID that faulted.
    pub source: Bdf,
    /// Records from it in the interval (the first was logged in full).
    pub count: u32,
    /// The last of them.
    pub last: FaultRecord,
}

/// What the interval that closed held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntervalSummary {
    /// Per source, in order of first fault.
    pub sources: Vec<SourceSummary, SUMMARY_SOURCES>,
    /// Records from sources beyond [`SUMMARY_SOURCES`].
    pub others: u32,
    /// Overflows the hardware reported (faults it could not record).
    pub overflows: u32,
    /// Whether the fault event was masked during the interval.
    pub masked: bool,
}

/// What one drain decided.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DrainVerdict {
    /// Records drained.
    pub records: u32,
    /// This drain took the interval past the budget: mask the event now.
    pub mask: bool,
}

/// The current interval's books.
#[derive(Clone, Debug, Default)]
pub struct FaultBudget {
    summary: IntervalSummary,
    records: u32,
    /// Times the event was masked, over the server's life.
    masks: u32,
}

impl FaultBudget {
    /// No fault yet.
    pub const fn new() -> FaultBudget {
        FaultBudget {
            summary: IntervalSummary {
                sources: Vec::new(),
                others: 0,
                overflows: 0,
                masked: false,
            },
            records: 0,
            masks: 0,
        }
    }

    /// Counts one record; `true` if it is its source's first in the
    /// interval (log it in full).
    pub fn record(&mut self, record: &FaultRecord) -> bool {
        self.records = self.records.saturating_add(1);
        let sources = &mut self.summary.sources;
        if let Some(s) = sources
            .iter_mut()
            .find(|s| s.unit == record.unit && s.source == record.source)
        {
            s.count = s.count.saturating_add(1);
            s.last = *record;
            return false;
        }
        let new = SourceSummary {
            unit: record.unit,
            source: record.source,
            count: 1,
            last: *record,
        };
        if sources.push(new).is_err() {
            self.summary.others = self.summary.others.saturating_add(1);
            return false;
        }
        true
    }

    /// Counts an overflow the hardware reported.
    pub fn overflow(&mut self) {
        self.summary.overflows = self.summary.overflows.saturating_add(1);
    }

    /// After a drain of `records`: whether the event must be masked now
    /// (the interval went past the budget and it is not masked yet).
    pub fn verdict(&mut self, records: u32) -> DrainVerdict {
        let mask = !self.summary.masked && self.records > FAULT_BUDGET;
        if mask {
            self.summary.masked = true;
            self.masks = self.masks.saturating_add(1);
        }
        DrainVerdict { records, mask }
    }

    /// Whether the interval holds anything (the binary keeps a timer armed
    /// while it does).
    pub fn open(&self) -> bool {
        self.records > 0 || self.summary.overflows > 0
    }

    /// Whether the event is masked now.
    pub fn masked(&self) -> bool {
        self.summary.masked
    }

    /// Records in the current interval.
    pub fn records(&self) -> u32 {
        self.records
    }

    /// Times the event was masked so far.
    pub fn masks(&self) -> u32 {
        self.masks
    }

    /// Closes the interval: what it held, and a fresh one.
    pub fn close(&mut self) -> IntervalSummary {
        self.records = 0;
        core::mem::take(&mut self.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idl_types::DmaDirection;

    fn record(device: u8) -> FaultRecord {
        FaultRecord {
            unit: UnitId(0),
            source: Bdf {
                bus: 0,
                device,
                function: 0,
            },
            address: 0x30_0000,
            reason: 5,
            direction: DmaDirection::Write,
        }
    }

    #[test]
    fn only_the_first_fault_of_a_source_in_an_interval_is_logged_in_full() {
        let mut b = FaultBudget::default();
        assert!(b.record(&record(2)));
        assert!(!b.record(&record(2)));
        assert!(b.record(&record(4)));
        assert!(!b.record(&record(2)));
        let s = b.close();
        let counts = s.sources.iter().map(|s| (s.source.device, s.count));
        assert!(counts.eq([(2, 3), (4, 1)]));
        assert!(b.record(&record(2)), "a new interval logs the first again");
    }

    #[test]
    fn a_drain_past_the_budget_masks_once_per_interval() {
        let mut b = FaultBudget::default();
        for _ in 0..FAULT_BUDGET {
            b.record(&record(2));
        }
        assert!(
            !b.verdict(FAULT_BUDGET).mask,
            "the budget itself is allowed"
        );
        b.record(&record(2));
        assert!(b.verdict(1).mask, "one past the budget masks");
        b.record(&record(2));
        assert!(!b.verdict(1).mask, "masked already");
        assert!(b.masked());
        let s = b.close();
        assert!(s.masked);
        assert_eq!(s.sources[0].count, FAULT_BUDGET + 2);
        assert!(!b.masked() && !b.open(), "a fresh interval");
        assert_eq!(b.masks(), 1);
    }

    #[test]
    fn sources_beyond_the_summary_table_are_counted_together() {
        let mut b = FaultBudget::default();
        for d in 0..(SUMMARY_SOURCES as u8 + 3) {
            b.record(&record(d));
        }
        b.overflow();
        let s = b.close();
        assert_eq!(s.sources.len(), SUMMARY_SOURCES);
        assert_eq!((s.others, s.overflows), (3, 1));
    }
}
