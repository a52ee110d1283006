//! The read-only commands: `devices` and `domains` (the broker's books, a
//! page at a time), `tasks` (the supervisor's report of each), `faults`
//! (the broker's fault events and what the iommu still holds) and `stats`
//! (the iommu's and the broker's counters).

use core::fmt::{self, Write};

use idl_types::{Bdf, BrokerEvent, DmaDirection, TaskIndex, UnitId};
use vtd::FaultReason;

use super::Console;
use crate::services::Services;
use crate::task_list::write_row;

/// The unit whose counters `stats` shows.
const UNIT: UnitId = UnitId(0);

impl<S: Services> Console<'_, S> {
    pub(super) fn devices(&mut self, o: &mut dyn Write) -> fmt::Result {
        writeln!(o, "{:<8} {:<8} {:<14} rmrr", "device", "name", "owner")?;
        let mut start = 0;
        loop {
            let Ok(page) = self.services.list_devices(start) else {
                return writeln!(o, "error: the broker did not answer");
            };
            for e in page.entries.iter() {
                writeln!(
                    o,
                    "{:<8} {:<8} {:<14} {}",
                    e.device,
                    self.system.device_name(e.device),
                    self.system.custody(e.custody),
                    if e.has_rmrr { "yes" } else { "no" }
                )?;
            }
            match page.next {
                Some(n) => start = n,
                None => return Ok(()),
            }
        }
    }

    pub(super) fn domains(&mut self, o: &mut dyn Write) -> fmt::Result {
        let mut start = 0;
        loop {
            let Ok(page) = self.services.list_domains(start) else {
                return writeln!(o, "error: the broker did not answer");
            };
            for d in page.entries.iter() {
                writeln!(
                    o,
                    "{:<10} owner {:<10} {} device(s)",
                    self.system.domain_name(d.domain),
                    self.system.task_name(d.owner.0),
                    d.devices
                )?;
            }
            match page.next {
                Some(n) => start = n,
                None => return Ok(()),
            }
        }
    }

    pub(super) fn tasks(&mut self, mut o: &mut dyn Write) -> fmt::Result {
        let system = self.system;
        for (i, task) in (0..).zip(system.task_names) {
            match self.services.task_report(TaskIndex(i)) {
                Ok(r) => write_row(&mut o, task, &r, |t| system.task_name(t.0))?,
                Err(e) => writeln!(o, "{task:<12} error: {e}")?,
            }
        }
        Ok(())
    }

    /// DMA faults: the broker pulls them from the iommu as they happen and
    /// keeps the newest as events, with every device its fault budget
    /// quarantined and how many faults that took; any the iommu still
    /// holds are shown too.
    pub(super) fn faults(&mut self, o: &mut dyn Write) -> fmt::Result {
        let mut shown = 0;
        let mut after = 0;
        while let Ok(Some(ev)) = self.services.event_after(after) {
            after = ev.seq;
            match ev.event {
                BrokerEvent::DmaFault {
                    device,
                    address,
                    reason,
                    direction,
                } => {
                    shown += 1;
                    self.write_fault(o, device, address, reason, direction)?;
                }
                BrokerEvent::FaultQuarantined { device, faults } => {
                    shown += 1;
                    writeln!(
                        o,
                        "fault: {device} ({}) quarantined after {faults} DMA faults within the broker's fault interval (budget {})",
                        self.system.device_name(device),
                        self.system.fault_budget
                    )?;
                }
                _ => {}
            }
        }
        if let Ok(batch) = self.services.pull_faults() {
            for f in batch.records.iter() {
                shown += 1;
                self.write_fault(o, f.source, f.address, f.reason, f.direction)?;
            }
        }
        if shown == 0 {
            writeln!(o, "no DMA faults recorded")?;
        }
        Ok(())
    }

    /// One fault in words: a DMA fault's address, direction and reason,
    /// or an interrupt-remapping fault's reason.
    fn write_fault(
        &self,
        o: &mut dyn Write,
        device: Bdf,
        address: u64,
        code: u8,
        direction: DmaDirection,
    ) -> fmt::Result {
        let name = self.system.device_name(device);
        let reason = FaultReason::from_code(code);
        if reason.is_interrupt_remapping() {
            return writeln!(
                o,
                "fault: {device} ({name}) interrupt blocked: {reason} (reason {code:#x})"
            );
        }
        let direction = direction.words();
        writeln!(
            o,
            "fault: {device} ({name}) at {address:#x} blocked ({direction}): {reason} (reason {code:#x})"
        )
    }

    /// The iommu's counters of unit 0: context changes by path and
    /// invalidations by granularity.
    pub(super) fn iommu_stats(&mut self, o: &mut dyn Write) -> fmt::Result {
        let c = match self.services.counters(UNIT) {
            Ok(c) => c,
            Err(e) => return writeln!(o, "error: {e}"),
        };
        writeln!(
            o,
            "unit 0: {} context changes ({} atomic, {} cleared-first, {} best-effort, {} data-corruption warnings)",
            c.context_changes,
            c.atomic_changes,
            c.cleared_first_changes,
            c.best_effort_changes,
            c.corruption_warnings
        )?;
        let (ci, ti) = (c.context_invalidations, c.iotlb_invalidations);
        writeln!(
            o,
            "        invalidations: context {} global / {} domain / {} device; IOTLB {} global / {} domain / {} page; {} DMA faults drained",
            ci.global, ci.domain, ci.selective, ti.global, ti.domain, ti.selective, c.faults_drained
        )
    }

    /// The broker's counters, and the cleanups after commit it still owes
    /// (retried until they succeed).
    pub(super) fn broker_stats(&mut self, o: &mut dyn Write) -> fmt::Result {
        match self.services.broker_stats() {
            Ok(b) => writeln!(
                o,
                "broker: {} committed, {} rolled back, {} failed rollbacks, {} journal replays; {} cleanups pending ({} failed so far)",
                b.committed,
                b.rolled_back,
                b.rollback_failures,
                b.replays,
                b.cleanups_pending,
                b.cleanup_failures
            ),
            Err(e) => writeln!(o, "error: {e}"),
        }
    }
}
