//! The supervisor's policy, independent of the kernel: when to restart a
//! faulted task (back-off against crash loops), and the log of deaths that
//! other tasks (the broker) pull through the `Supervisor` interface
//! ([`deaths`], generated from `idl/supervisor.idl`).
//!
//! A task that faults again soon after a restart waits twice as long as
//! last time before the next one, up to [`MAX_BACKOFF_MS`]; a task that ran
//! for [`STABLE_MS`] is forgiven and restarts at once. Hubris restarts
//! unconditionally and a crash loop starves lower priorities (its #616).
//! The task serves `Supervisor` and its raw operations ([`protocol`]) in one
//! receive loop: IDL codes carry the interface's tag in their upper 16 bits,
//! raw codes are small.
#![no_std]

pub mod deaths;
pub mod protocol;

#[cfg(test)]
extern crate std;

#[allow(missing_docs, clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/idl.rs"));
}
pub use deaths::{cause_of, DeathLog};
pub use generated::supervisor;

/// First delay after a quick re-fault.
pub const MIN_BACKOFF_MS: u64 = 10;
/// The longest delay.
pub const MAX_BACKOFF_MS: u64 = 1000;
/// Run time after which a fault is not part of a crash loop.
pub const STABLE_MS: u64 = 500;

/// What the supervisor remembers of one task.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskRecord {
    /// When it was last started (ms since boot).
    pub started_at: u64,
    /// The current back-off.
    pub backoff_ms: u64,
    /// When to restart it, if a restart is pending.
    pub restart_at: Option<u64>,
    /// Restarts so far.
    pub restarts: u32,
    /// Faults so far.
    pub faults: u32,
    /// The last fault, as `FaultInfo::encode` gives it.
    pub last_fault: (u32, u64, u64),
}

impl TaskRecord {
    /// Records a fault at `now`; returns when to restart.
    pub fn faulted(&mut self, now: u64, fault: (u32, u64, u64)) -> u64 {
        self.last_fault = fault;
        self.faults = self.faults.saturating_add(1);
        let ran = now.saturating_sub(self.started_at);
        self.backoff_ms = if ran >= STABLE_MS || self.restarts == 0 {
            0
        } else if self.backoff_ms == 0 {
            MIN_BACKOFF_MS
        } else {
            (self.backoff_ms * 2).min(MAX_BACKOFF_MS)
        };
        let at = now + self.backoff_ms;
        self.restart_at = Some(at);
        at
    }

    /// Records a restart at `now`.
    pub fn restarted(&mut self, now: u64) {
        self.started_at = now;
        self.restart_at = None;
        self.restarts = self.restarts.saturating_add(1);
    }
}

/// The earliest pending restart among `records`.
pub fn next_restart(records: &[TaskRecord]) -> Option<u64> {
    records.iter().filter_map(|r| r.restart_at).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fault_restarts_at_once() {
        let mut r = TaskRecord::default();
        assert_eq!(r.faulted(100, (1, 0, 0)), 100);
    }

    #[test]
    fn quick_refaults_back_off_exponentially_to_a_ceiling() {
        let mut r = TaskRecord::default();
        let mut now = 0;
        let mut delays = std::vec::Vec::new();
        for _ in 0..10 {
            let at = r.faulted(now, (7, 0, 0));
            delays.push(at - now);
            now = at;
            r.restarted(now);
            now += 1;
        }
        assert_eq!(&delays[..5], &[0, MIN_BACKOFF_MS, 20, 40, 80]);
        assert_eq!(*delays.last().unwrap(), MAX_BACKOFF_MS);
    }

    #[test]
    fn a_task_that_ran_long_enough_is_forgiven() {
        let mut r = TaskRecord::default();
        r.faulted(0, (7, 0, 0));
        r.restarted(0);
        r.faulted(1, (7, 0, 0));
        r.restarted(20);
        assert_eq!(r.faulted(20 + STABLE_MS, (7, 0, 0)), 20 + STABLE_MS);
    }

    #[test]
    fn next_restart_is_the_earliest_pending() {
        let rs = [
            TaskRecord {
                restart_at: Some(50),
                ..Default::default()
            },
            TaskRecord::default(),
            TaskRecord {
                restart_at: Some(20),
                ..Default::default()
            },
        ];
        assert_eq!(next_restart(&rs), Some(20));
    }
}
