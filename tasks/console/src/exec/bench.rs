//! `bench DEV DOM1 DOM2 [N]`: times N reassignments of one device between
//! two domains and reports the IOMMU work they did, for `cargo xtask
//! bench` (which boots the default system and the fused build under
//! `-icount shift=0`, where one TSC tick is one guest instruction).
//!
//! Each reassignment is one `Broker.reassign` call timed around the call,
//! so the figure is everything a client waits for: the transaction, its
//! journal writes, the context switch on the unit and pci's owner update.
//! Every sample is logged as `BENCH reassign_DEV N` (xtask takes the
//! median); the IOMMU's counters, read before and after, give the
//! context-entry writes and invalidations by granularity, and the kernel's
//! count of messages delivered to every task but the supervisor (which
//! answers the counting itself) gives the kernel IPC each one took.

use core::fmt::{self, Write};

use heapless::Vec;
use idl_types::{IommuCounters, TaskIndex, UnitId};

use super::Console;
use crate::command::{DeviceRef, BENCH_MAX_COUNT};
use crate::services::Services;

/// The unit whose counters give the work done.
const UNIT: UnitId = UnitId(0);

/// One timed reassignment's length, in TSC ticks.
type Sample = u64;

impl<S: Services> Console<'_, S> {
    /// Messages the kernel has delivered to every task but the supervisor
    /// (whose count includes these questions); `None` if it would not say.
    fn messages_delivered(&mut self) -> Option<u64> {
        let mut total = 0u64;
        for task in (0..self.system.task_names.len()).map(u16::try_from) {
            let task = task.ok()?;
            if task != self.system.supervisor {
                total += u64::from(self.services.message_count(TaskIndex(task)).ok()?);
            }
        }
        Some(total)
    }

    /// Runs the benchmark and prints its summary.
    pub(super) fn bench(
        &mut self,
        o: &mut dyn Write,
        device: DeviceRef,
        first: &str,
        second: &str,
        count: u16,
    ) -> fmt::Result {
        let Some(dev) = self.resolve_or_say(o, device)? else {
            return Ok(());
        };
        let (Some(a), Some(b)) = (
            self.system.domain_by_name(first),
            self.system.domain_by_name(second),
        ) else {
            return writeln!(o, "error: no domain by that name (see 'domains')");
        };
        let name = self.system.device_name(dev);
        // Untimed: puts the device in DOM1 (refused if it is there already,
        // which is fine) and warms every path once.
        let _ = self.services.reassign(dev, a);
        let before = match self.services.counters(UNIT) {
            Ok(c) => c,
            Err(e) => return writeln!(o, "error: the iommu's counters: {e}"),
        };
        let messages_before = self.messages_delivered();
        let mut samples: Vec<Sample, { BENCH_MAX_COUNT as usize }> = Vec::new();
        for i in 0..count {
            let target = if i % 2 == 0 { b } else { a };
            let start = self.services.tsc();
            let result = self.services.reassign(dev, target);
            let took = self.services.tsc().wrapping_sub(start);
            if let Err(e) = result {
                return writeln!(o, "error: reassignment {i} refused: {e}");
            }
            self.services.log_bench(name, None, took);
            let _ = samples.push(took);
        }
        let messages = messages_before
            .zip(self.messages_delivered())
            .map(|(before, after)| after.wrapping_sub(before));
        let after = match self.services.counters(UNIT) {
            Ok(c) => c,
            Err(e) => return writeln!(o, "error: the iommu's counters: {e}"),
        };
        samples.sort_unstable();
        let median = samples.get(samples.len() / 2).copied().unwrap_or(0);
        let work = Work::between(&before, &after);
        for (what, total) in work.totals(count) {
            self.services.log_bench(name, Some(what), total);
        }
        if let Some(m) = messages {
            self.services.log_bench(name, Some("kernel_messages"), m);
        }
        writeln!(
            o,
            "bench {dev} ({name}): {count} reassignments {first} <-> {second}: median {median} TSC ticks (guest instructions under -icount)"
        )?;
        writeln!(
            o,
            "  in all: {} context writes ({} atomic); context-cache invalidations {} global / {} domain / {} device; IOTLB {} global / {} domain / {} page",
            work.context_changes,
            work.atomic_changes,
            work.context_global,
            work.context_domain,
            work.context_device,
            work.iotlb_global,
            work.iotlb_domain,
            work.iotlb_page
        )?;
        if let Some(m) = messages {
            writeln!(o, "  kernel IPC messages delivered: {m}")?;
        }
        Ok(())
    }
}

/// What the unit did between two readings of its counters.
struct Work {
    context_changes: u64,
    atomic_changes: u64,
    context_global: u64,
    context_domain: u64,
    context_device: u64,
    iotlb_global: u64,
    iotlb_domain: u64,
    iotlb_page: u64,
}

impl Work {
    fn between(before: &IommuCounters, after: &IommuCounters) -> Work {
        let d = |a: u64, b: u64| b.wrapping_sub(a);
        let (cb, ca) = (before.context_invalidations, after.context_invalidations);
        let (tb, ta) = (before.iotlb_invalidations, after.iotlb_invalidations);
        Work {
            context_changes: d(before.context_changes, after.context_changes),
            atomic_changes: d(before.atomic_changes, after.atomic_changes),
            context_global: d(cb.global, ca.global),
            context_domain: d(cb.domain, ca.domain),
            context_device: d(cb.selective, ca.selective),
            iotlb_global: d(tb.global, ta.global),
            iotlb_domain: d(tb.domain, ta.domain),
            iotlb_page: d(tb.selective, ta.selective),
        }
    }

    /// The `BENCH reassign_DEV_WHAT total` figures, with the count to
    /// divide by.
    fn totals(&self, count: u16) -> [(&'static str, u64); 9] {
        [
            ("count", u64::from(count)),
            ("context_writes", self.context_changes),
            ("atomic_writes", self.atomic_changes),
            ("context_cache_global", self.context_global),
            ("context_cache_domain", self.context_domain),
            ("context_cache_device", self.context_device),
            ("iotlb_global", self.iotlb_global),
            ("iotlb_domain", self.iotlb_domain),
            ("iotlb_page", self.iotlb_page),
        ]
    }
}
