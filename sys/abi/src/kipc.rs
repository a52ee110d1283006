//! Kernel IPC: messages the supervisor sends to [`crate::TaskId::KERNEL`].
//!
//! Only the task the build marks as supervisor may use these (Hubris lets any
//! task, its issue #1083); everyone else gets [`crate::rc::ACCESS`].

/// Operations of kernel IPC; the message body is the argument, little-endian.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KipcOp {
    /// `[u16 index]` → a [`crate::TaskStatus`], encoded as its `encode`
    /// gives it ([`crate::TASK_STATUS_LEN`] bytes): faulted or not and why,
    /// what it is doing (runnable, sending, awaiting a reply, receiving,
    /// stopped), refusals, whether it reached its serving loop, and how
    /// deep its stack has been used.
    ReadTaskStatus = 1,
    /// `[u16 index]`: reinitialize and start the task, bumping its generation.
    RestartTask = 2,
    /// `[u16 index]`: fault the task (fault injection).
    FaultTask = 3,
    /// `[u16 start]` → `[u16 index]` of the first faulted task at or after
    /// `start`, or 0xFFFF.
    FindFaultedTask = 4,
    /// `[]` → `[u16 count]`: how many tasks the image has.
    TaskCount = 5,
    /// `[u8 code]`: end the machine (QEMU isa-debug-exit), for tests.
    Shutdown = 6,
    /// `[u16 index, u16 n]`: fault the task as its `n`th message from now is
    /// delivered to it (instead of delivering it; the sender gets the dead
    /// code). Fault injection at a chosen message boundary; 0 disarms.
    ArmFault = 7,
    /// `[u16 index]` → `[u32 count]`: messages delivered to the task since
    /// boot (wrapping; across restarts), for measurements.
    MessageCount = 8,
}

impl KipcOp {
    /// Decodes an operation code.
    pub fn from_raw(raw: u32) -> Option<Self> {
        use KipcOp::*;
        [
            ReadTaskStatus,
            RestartTask,
            FaultTask,
            FindFaultedTask,
            TaskCount,
            Shutdown,
            ArmFault,
            MessageCount,
        ]
        .into_iter()
        .find(|o| *o as u32 == raw)
    }
}
