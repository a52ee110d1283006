//! Boot to ready: the moment every task started at boot has first blocked
//! in a receive (or died), logged once as guest time since reset and since
//! kernel entry; and the cost of one address-space switch, measured and
//! logged at boot (`cargo xtask bench` reads both lines).
//!
//! Times come from the TSC, which counts from reset, converted with the
//! ticks per millisecond measured against the PIT at boot. Under
//! `-icount shift=0` a TSC tick is one guest instruction (and 1 ns).

use crate::arch::cpu::rdtsc;
use crate::kernel::{k, switch_to, Kernel};

/// Samples of the switch measurement; the median is kept.
const SWITCH_SAMPLES: usize = 33;

/// What the kernel remembers until every task is ready.
pub struct Boot {
    /// The TSC when the kernel was entered.
    pub entry_tsc: u64,
    /// TSC ticks per millisecond.
    pub tsc_per_ms: u64,
    /// Tasks (one bit per index) not ready yet; 0 once logged.
    pub waiting: u64,
}

impl Boot {
    pub const fn new() -> Self {
        Boot {
            entry_tsc: 0,
            tsc_per_ms: 1,
            waiting: 0,
        }
    }
}

/// Measures the switch and starts waiting for the tasks that start at
/// boot; called once, after they are built and before the first runs.
pub fn start(entry_tsc: u64, tsc_per_ms: u64) {
    let kk = k();
    let switch_ticks = measure_switch(kk);
    defmt::info!(
        "address-space switch: {=u64} TSC ticks (median of {=usize})",
        switch_ticks,
        SWITCH_SAMPLES
    );
    let waiting = kk
        .tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_runnable())
        .fold(0u64, |m, (i, _)| m | 1 << i);
    kk.boot = Boot {
        entry_tsc,
        tsc_per_ms,
        waiting,
    };
}

/// Task `index` blocked in a receive or died (every path that blocks a
/// task in a receive or faults it calls this).
#[inline(always)]
pub fn note(kk: &mut Kernel, index: usize) {
    if kk.boot.waiting & (1u64 << index) != 0 {
        task_ready(kk, index);
    }
}

/// Logs the line when `index` was the last task not ready. Out of line:
/// runs once per task.
#[cold]
#[inline(never)]
fn task_ready(kk: &mut Kernel, index: usize) {
    let b = &mut kk.boot;
    b.waiting &= !(1u64 << index);
    if b.waiting != 0 {
        return;
    }
    let now = rdtsc();
    let us = |ticks: u64| ticks.saturating_mul(1000) / b.tsc_per_ms;
    defmt::info!(
        "all tasks ready: {=u64} us since reset, {=u64} us since kernel entry",
        us(now),
        us(now.wrapping_sub(b.entry_tsc))
    );
}

/// The median TSC ticks of one [`switch_to`] between two tasks without
/// I/O ports (page-table root, trap stack, save areas), less the cost of
/// reading the TSC; 0 with fewer than two such tasks. Leaves the second
/// task current, which the first `schedule` switches away from properly.
fn measure_switch(kk: &mut Kernel) -> u64 {
    let mut plain = (0..kk.tasks.len()).filter(|&i| kk.tasks[i].io_ports.is_empty());
    let (Some(a), Some(b)) = (plain.next(), plain.next()) else {
        return 0;
    };
    let mut empty = [0u64; SWITCH_SAMPLES];
    let mut pair = [0u64; SWITCH_SAMPLES];
    for (e, p) in empty.iter_mut().zip(pair.iter_mut()) {
        let t0 = rdtsc();
        *e = rdtsc().wrapping_sub(t0);
        let t0 = rdtsc();
        switch_to(a);
        switch_to(b);
        *p = rdtsc().wrapping_sub(t0);
    }
    let median = |s: &mut [u64]| {
        s.sort_unstable();
        s[SWITCH_SAMPLES / 2]
    };
    median(&mut pair).saturating_sub(median(&mut empty)) / 2
}
