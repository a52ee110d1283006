//! Deaths of tasks, as the supervisor reports them.

use serde::{Deserialize, Serialize};

use crate::ids::TaskIndex;
use crate::max_len::{max_len, MaxEncodedLen, ENUM_TAG_LEN};
use crate::wire::Fixed;

/// Why a task died, coarsely (the kernel's full record stays with the
/// supervisor).
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 1)]
pub enum DeathCause {
    /// A CPU fault (page fault, #GP, #UD, ...).
    CpuFault,
    /// It panicked.
    Panic,
    /// It misused a syscall.
    SyscallUsage,
    /// A server refused its message.
    ReplyFault,
    /// The supervisor injected the fault (tests).
    Injected,
}

impl MaxEncodedLen for DeathCause {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN;
}

wire_struct! {
    /// One death, numbered so a client pulls the ones after the last it saw.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 9)]
    pub struct DeathRecord {
        /// Increases by one per death.
        pub seq: u32,
        /// The task that died.
        pub task: TaskIndex,
        /// Its generation after the restart (or the dead one if held).
        pub generation: u8,
        /// Why.
        pub cause: DeathCause,
        /// Whether the supervisor restarted it (false: held after a crash loop).
        pub restarted: bool,
    }
}

wire_struct! {
    /// A task as the supervisor and the kernel know it
    /// (`Supervisor::task_report`, for the operator).
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 53)]
    pub struct TaskReport {
        /// The generation it runs at (or will, once restarted).
        pub generation: u8,
        /// Whether it is faulted now (its restart is pending).
        pub faulted: bool,
        /// Faults since boot.
        pub faults: u32,
        /// Restarts since boot.
        pub restarts: u32,
        /// Its last fault as `abi::FaultInfo::encode` gives it (kind 0:
        /// none yet).
        pub last_fault_kind: u32,
        /// The last fault's first detail.
        pub last_fault_a: u64,
        /// The last fault's second detail.
        pub last_fault_b: u64,
        /// Sends, posts and look-ups the kernel refused it for want of a
        /// right in app.toml, since boot.
        pub refusals: u32,
        /// The restart delay the supervisor's back-off holds now (ms).
        pub backoff_ms: u32,
        /// What it is doing now.
        pub activity: TaskActivity,
        /// Bytes of its stack ever used (the kernel's painted high-water
        /// mark).
        pub stack_used: u32,
        /// Its stack's size in bytes.
        pub stack_size: u32,
    }
}

/// What a task is doing, as the kernel's scheduler holds it (the
/// operator's `tasks`).
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 7)]
pub enum TaskActivity {
    /// Ready to run, or running.
    Runnable,
    /// Blocked sending to this task: it is not receiving.
    Sending(TaskIndex),
    /// Its message was delivered to this task; waiting for the reply.
    AwaitingReply(TaskIndex),
    /// Blocked receiving from any task, or woken by these notification bits.
    Receiving {
        /// The notification bits that wake it.
        notifications: u32,
    },
    /// Blocked receiving from this one task only, or these notification
    /// bits.
    ReceivingFrom {
        /// The one sender it accepts.
        from: TaskIndex,
        /// The notification bits that wake it.
        notifications: u32,
    },
    /// Faulted (the report's last fault says why), not started, or held.
    Stopped,
}

impl MaxEncodedLen for TaskActivity {
    const MAX_ENCODED_LEN: usize =
        ENUM_TAG_LEN + max_len(TaskIndex::MAX_ENCODED_LEN, 0) + u32::MAX_ENCODED_LEN;
}
