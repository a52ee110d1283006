//! The death log: what `Supervisor::death_after` answers from. Each death
//! gets the next sequence number; a client keeps the last number it handled
//! and asks for the oldest record after it.
//!
//! Two things a reader must know:
//! - The log keeps **one record per task**, its newest death: a task that
//!   dies again before a client caught up replaces its older record (the
//!   new one has a higher number). So the log is bounded by the task count
//!   and cannot overflow: a client that falls behind learns of every task
//!   that died since its cursor, only not how many times. That is all the
//!   broker needs: quarantining a dead owner's devices and rebuilding after
//!   a peer's restart are both idempotent, and the newest record is the one
//!   whose generation is current.
//! - Numbers start at 1 (0 is "before any death", a fresh client's cursor)
//!   and only grow while the machine runs; the log lives in the
//!   supervisor's memory, which is never restarted (a supervisor fault
//!   stops the machine). After `u32::MAX` deaths numbering stops there
//!   (further deaths replace records at that number, which a client whose
//!   cursor reached it no longer sees): at the fastest sustainable rate,
//!   one death per back-off forgiveness period, that is decades away.

use abi::FaultInfo;
use idl_types::{DeathCause, DeathRecord, TaskIndex};

/// The newest death of each of up to `N` tasks (index = task index).
#[derive(Clone, Debug)]
pub struct DeathLog<const N: usize> {
    newest: [Option<DeathRecord>; N],
    /// The last number given out (0: none yet).
    last_seq: u32,
}

impl<const N: usize> Default for DeathLog<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> DeathLog<N> {
    /// An empty log.
    pub const fn new() -> Self {
        DeathLog {
            newest: [None; N],
            last_seq: 0,
        }
    }

    /// Records that `task` died; it runs at `generation` once restarted.
    /// Returns the record's number, or `None` if `task` is not one of the
    /// `N` tasks the log covers.
    pub fn record(
        &mut self,
        task: TaskIndex,
        generation: u8,
        cause: DeathCause,
        restarted: bool,
    ) -> Option<u32> {
        let slot = self.newest.get_mut(usize::from(task.0))?;
        let seq = self.last_seq.saturating_add(1);
        self.last_seq = seq;
        *slot = Some(DeathRecord {
            seq,
            task,
            generation,
            cause,
            restarted,
        });
        Some(seq)
    }

    /// The oldest record numbered above `after`, if any.
    pub fn after(&self, after: u32) -> Option<DeathRecord> {
        self.newest
            .iter()
            .flatten()
            .filter(|r| r.seq > after)
            .min_by_key(|r| r.seq)
            .copied()
    }

    /// The number of the newest death (0 if none).
    pub fn last_seq(&self) -> u32 {
        self.last_seq
    }

    /// The generation `task` runs at (or will, once its pending restart
    /// happens): its newest death's, or 0 (the kernel's first) if it never
    /// died; `None` for a task the log does not cover. Exact because a
    /// task's generation changes only when its incarnation ends, and the
    /// supervisor ends none itself: it restarts only faulted tasks, and it
    /// records every fault.
    pub fn generation_of(&self, task: TaskIndex) -> Option<u8> {
        let slot = self.newest.get(usize::from(task.0))?;
        Some(slot.map_or(0, |r| r.generation))
    }
}

/// The coarse cause of a fault the kernel reported as `(kind, a, b)`
/// (`abi::FaultInfo::encode`); an undecodable one counts as a CPU fault.
pub fn cause_of(kind: u32, a: u64, b: u64) -> DeathCause {
    match FaultInfo::decode(kind, a, b) {
        Some(FaultInfo::Panic) => DeathCause::Panic,
        Some(FaultInfo::SyscallUsage { .. }) => DeathCause::SyscallUsage,
        Some(FaultInfo::ReplyFault { .. }) => DeathCause::ReplyFault,
        Some(FaultInfo::Injected) => DeathCause::Injected,
        Some(
            FaultInfo::PageFault { .. }
            | FaultInfo::GeneralProtection { .. }
            | FaultInfo::InvalidOpcode { .. }
            | FaultInfo::DivideError { .. }
            | FaultInfo::Exception { .. },
        )
        | None => DeathCause::CpuFault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn died(log: &mut DeathLog<4>, task: u16) -> u32 {
        log.record(TaskIndex(task), 1, DeathCause::Injected, true)
            .expect("task in range")
    }

    /// Every record a client starting at `cursor` pulls, in order.
    fn drain(log: &DeathLog<4>, mut cursor: u32) -> Vec<DeathRecord> {
        let mut out = Vec::new();
        while let Some(r) = log.after(cursor) {
            cursor = r.seq;
            out.push(r);
        }
        out
    }

    #[test]
    fn an_empty_log_has_nothing_after_zero() {
        let log = DeathLog::<4>::new();
        assert_eq!(log.after(0), None);
        assert_eq!(log.last_seq(), 0);
    }

    #[test]
    fn deaths_are_numbered_from_one_and_pulled_in_order() {
        let mut log = DeathLog::<4>::new();
        assert_eq!(died(&mut log, 2), 1);
        assert_eq!(died(&mut log, 0), 2);
        assert_eq!(died(&mut log, 3), 3);
        let tasks: Vec<u16> = drain(&log, 0).iter().map(|r| r.task.0).collect();
        assert_eq!(tasks, [2, 0, 3]);
    }

    #[test]
    fn a_cursor_skips_what_it_already_handled() {
        let mut log = DeathLog::<4>::new();
        died(&mut log, 1);
        let second = died(&mut log, 2);
        died(&mut log, 3);
        let rest: Vec<u32> = drain(&log, second).iter().map(|r| r.seq).collect();
        assert_eq!(rest, [3]);
        assert_eq!(log.after(3), None);
    }

    #[test]
    fn a_task_dying_again_replaces_its_record_with_a_newer_number() {
        let mut log = DeathLog::<4>::new();
        died(&mut log, 1);
        died(&mut log, 2);
        let again = died(&mut log, 1);
        let seen: Vec<(u16, u32)> = drain(&log, 0).iter().map(|r| (r.task.0, r.seq)).collect();
        assert_eq!(seen, [(2, 2), (1, again)]);
    }

    #[test]
    fn a_client_far_behind_still_learns_of_every_task_that_died() {
        // Many more deaths than the log has room for records.
        let mut log = DeathLog::<4>::new();
        for round in 0..50u16 {
            died(&mut log, round % 4);
        }
        let mut tasks: Vec<u16> = drain(&log, 0).iter().map(|r| r.task.0).collect();
        tasks.sort_unstable();
        assert_eq!(tasks, [0, 1, 2, 3]);
        // And one that read up to the middle sees the ones that died later.
        let mut log = DeathLog::<4>::new();
        let cursor = died(&mut log, 0);
        for _ in 0..10 {
            died(&mut log, 1);
        }
        let seen: Vec<u16> = drain(&log, cursor).iter().map(|r| r.task.0).collect();
        assert_eq!(seen, [1]);
    }

    #[test]
    fn a_death_after_the_cursor_caught_up_is_seen() {
        let mut log = DeathLog::<4>::new();
        let cursor = died(&mut log, 1);
        assert_eq!(log.after(cursor), None);
        died(&mut log, 1);
        assert_eq!(log.after(cursor).map(|r| r.task), Some(TaskIndex(1)));
    }

    #[test]
    fn a_task_outside_the_log_is_not_recorded() {
        let mut log = DeathLog::<4>::new();
        assert_eq!(
            log.record(TaskIndex(4), 0, DeathCause::CpuFault, true),
            None
        );
        assert_eq!(log.after(0), None);
        assert_eq!(log.last_seq(), 0);
    }

    #[test]
    fn numbering_stops_at_the_top_instead_of_wrapping() {
        let mut log = DeathLog::<4> {
            newest: [None; 4],
            last_seq: u32::MAX - 1,
        };
        assert_eq!(died(&mut log, 0), u32::MAX);
        assert_eq!(died(&mut log, 1), u32::MAX);
        assert_eq!(log.after(u32::MAX - 1).map(|r| r.seq), Some(u32::MAX));
    }

    #[test]
    fn the_record_keeps_generation_and_cause() {
        let mut log = DeathLog::<4>::new();
        log.record(TaskIndex(3), 7, DeathCause::Panic, true);
        assert_eq!(
            log.after(0),
            Some(DeathRecord {
                seq: 1,
                task: TaskIndex(3),
                generation: 7,
                cause: DeathCause::Panic,
                restarted: true,
            })
        );
    }

    #[test]
    fn a_task_that_never_died_runs_at_the_first_generation() {
        let mut log = DeathLog::<4>::new();
        assert_eq!(log.generation_of(TaskIndex(2)), Some(0));
        log.record(TaskIndex(2), 3, DeathCause::Panic, true);
        assert_eq!(log.generation_of(TaskIndex(2)), Some(3));
        assert_eq!(log.generation_of(TaskIndex(4)), None);
    }

    #[test]
    fn fault_kinds_map_to_their_coarse_cause() {
        let enc = |f: FaultInfo| f.encode();
        let cause = |f: FaultInfo| {
            let (k, a, b) = enc(f);
            cause_of(k, a, b)
        };
        assert_eq!(cause(FaultInfo::Panic), DeathCause::Panic);
        assert_eq!(cause(FaultInfo::Injected), DeathCause::Injected);
        assert_eq!(
            cause(FaultInfo::SyscallUsage { sysnum: 3 }),
            DeathCause::SyscallUsage
        );
        assert_eq!(
            cause(FaultInfo::ReplyFault {
                server: 2,
                reason: 1
            }),
            DeathCause::ReplyFault
        );
        assert_eq!(
            cause(FaultInfo::GeneralProtection { code: 0 }),
            DeathCause::CpuFault
        );
        assert_eq!(cause_of(0xdead, 0, 0), DeathCause::CpuFault);
    }
}
