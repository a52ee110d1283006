//! The supervisor's policy, independent of the kernel: when to restart a
//! faulted task (back-off against crash loops), the log of deaths that
//! other tasks (the broker) pull, and the operator's powers, all served as
//! the `Supervisor` interface ([`server`], generated from
//! `idl/supervisor.idl`).
//!
//! A task that faults soon after a restart waits twice as long as last
//! time before the next one, up to [`MAX_BACKOFF_MS`]. It is forgiven only
//! once it has reached its serving loop (the kernel says whether it blocked
//! in an open receive) and then run for [`STABLE_MS`]: the back-off then
//! halves for each such period, decaying instead of dropping to nothing. A
//! task whose start-up is slow and then faults, again and again, keeps
//! backing off however long each start took. Hubris restarts
//! unconditionally and a crash loop starves lower priorities (its #616).
#![no_std]

pub mod deaths;
pub mod server;

#[cfg(test)]
extern crate std;

#[allow(missing_docs, clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/idl.rs"));
}
pub use deaths::{cause_of, DeathLog};
pub use generated::supervisor;
pub use server::{KernelPowers, Supervisor, TaskStatus};

/// First delay after a quick re-fault.
pub const MIN_BACKOFF_MS: u64 = 10;
/// The longest delay.
pub const MAX_BACKOFF_MS: u64 = 1000;
/// Run time in its serving loop after which a task's back-off halves.
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
    /// Records a fault at `now`; `served`: whether the incarnation that
    /// faulted reached its serving loop. Returns when to restart.
    pub fn faulted(&mut self, now: u64, fault: (u32, u64, u64), served: bool) -> u64 {
        self.last_fault = fault;
        self.faults = self.faults.saturating_add(1);
        let ran = now.saturating_sub(self.started_at);
        self.backoff_ms = if self.restarts == 0 {
            // Its first fault: nothing suggests a loop yet.
            0
        } else if served && ran >= STABLE_MS {
            decayed(self.backoff_ms, ran / STABLE_MS)
        } else {
            self.backoff_ms
                .saturating_mul(2)
                .clamp(MIN_BACKOFF_MS, MAX_BACKOFF_MS)
        };
        let at = now.saturating_add(self.backoff_ms);
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

/// `backoff` halved once per stable period, none below [`MIN_BACKOFF_MS`].
fn decayed(backoff: u64, periods: u64) -> u64 {
    let halved = backoff
        .checked_shr(u32::try_from(periods).unwrap_or(u32::MAX))
        .unwrap_or(0);
    if halved < MIN_BACKOFF_MS {
        0
    } else {
        halved
    }
}

/// The earliest pending restart among `records`.
pub fn next_restart(records: &[TaskRecord]) -> Option<u64> {
    records.iter().filter_map(|r| r.restart_at).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const FAULT: (u32, u64, u64) = (7, 0, 0);

    /// Faults `r` `times` times, each `run_ms` after its restart; the
    /// restart delays it got.
    fn crash_loop(
        r: &mut TaskRecord,
        now: &mut u64,
        times: usize,
        run_ms: u64,
        served: bool,
    ) -> Vec<u64> {
        let mut delays = Vec::new();
        for _ in 0..times {
            *now += run_ms;
            let at = r.faulted(*now, FAULT, served);
            delays.push(at - *now);
            *now = at;
            r.restarted(*now);
        }
        delays
    }

    #[test]
    fn first_fault_restarts_at_once() {
        let mut r = TaskRecord::default();
        assert_eq!(r.faulted(100, FAULT, false), 100);
    }

    #[test]
    fn quick_refaults_back_off_exponentially_to_a_ceiling() {
        let mut r = TaskRecord::default();
        let delays = crash_loop(&mut r, &mut 0, 10, 1, true);
        assert_eq!(&delays[..5], &[0, MIN_BACKOFF_MS, 20, 40, 80]);
        assert_eq!(*delays.last().unwrap(), MAX_BACKOFF_MS);
    }

    #[test]
    fn a_task_that_faults_after_a_slow_start_backs_off_again_and_again() {
        // Each start takes longer than STABLE_MS and faults before the task
        // ever blocks in an open receive: it is never forgiven.
        let mut r = TaskRecord::default();
        let delays = crash_loop(&mut r, &mut 0, 10, STABLE_MS + 200, false);
        assert_eq!(&delays[..5], &[0, MIN_BACKOFF_MS, 20, 40, 80]);
        assert_eq!(*delays.last().unwrap(), MAX_BACKOFF_MS);
        assert!(delays.windows(2).all(|w| w[1] >= w[0]), "{delays:?}");
    }

    #[test]
    fn a_serving_task_that_ran_long_enough_is_forgiven_by_decay_not_at_once() {
        let mut r = TaskRecord::default();
        let mut now = 0;
        crash_loop(&mut r, &mut now, 8, 1, true);
        assert_eq!(r.backoff_ms, 640);
        // One stable period halves it; it is not wiped.
        let delays = crash_loop(&mut r, &mut now, 1, STABLE_MS, true);
        assert_eq!(delays, [320]);
        // Three more periods take it to 40.
        let delays = crash_loop(&mut r, &mut now, 1, 3 * STABLE_MS, true);
        assert_eq!(delays, [40]);
        // A long stable run forgives it entirely.
        let delays = crash_loop(&mut r, &mut now, 1, 100 * STABLE_MS, true);
        assert_eq!(delays, [0]);
    }

    #[test]
    fn a_quick_refault_after_forgiveness_backs_off_from_the_minimum() {
        let mut r = TaskRecord::default();
        let mut now = 0;
        crash_loop(&mut r, &mut now, 3, 1, true);
        crash_loop(&mut r, &mut now, 1, 100 * STABLE_MS, true);
        assert_eq!(
            crash_loop(&mut r, &mut now, 2, 1, true),
            [MIN_BACKOFF_MS, 20]
        );
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
