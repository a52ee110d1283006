//! Kernel IPC: messages tasks send to [`crate::TaskId::KERNEL`].
//!
//! Three kinds, by who may send them; anyone else gets [`crate::rc::ACCESS`]:
//! - the supervisor's (task status, restart, fault injection, shutdown):
//!   only the task the build marks as supervisor (Hubris lets any task, its
//!   issue #1083);
//! - the device custodian's ([`KipcOp::GrantRegisters`],
//!   [`KipcOp::RevokeRegisters`]): only the task app.toml marks
//!   `device-custodian` (the broker), so a device's registers follow its
//!   owner on the kernel's word, not by convention;
//! - questions any task may ask about device registers
//!   ([`KipcOp::RegisterHolder`], [`KipcOp::RegisterWindow`]), answered
//!   from the page tables themselves.

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
    /// Custodian only. `[u16 device, u16 task]`: map the device's
    /// registers (its BAR, app.toml `[devices]` order) into the task's
    /// device window. Granting what the task already holds is done;
    /// [`crate::rc::REGISTERS_HELD`] if another task holds them (revoke
    /// first: one holder at a time), [`crate::rc::NO_WINDOW`] if the
    /// device has no registers in custody or the task may hold none.
    GrantRegisters = 9,
    /// Custodian only. `[u16 device]`: unmap the device's registers from
    /// whoever holds them; the page-table entries are cleared and the TLB
    /// flushed before the reply, so no access of the old holder lands
    /// after it. Revoking what no one holds is done.
    RevokeRegisters = 10,
    /// `[u16 device]` → `[u16 task]`: who holds the device's registers, read
    /// from the page tables, or [`NO_HOLDER`].
    RegisterHolder = 11,
    /// `[u16 device]` → `[u64 address, u64 bytes]`: where the device's
    /// registers are in the caller's address space;
    /// [`crate::rc::REGISTERS_NOT_HELD`] if the caller does not hold them.
    RegisterWindow = 12,
}

/// "No task" in [`KipcOp::RegisterHolder`]'s reply.
pub const NO_HOLDER: u16 = 0xFFFF;

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
            GrantRegisters,
            RevokeRegisters,
            RegisterHolder,
            RegisterWindow,
        ]
        .into_iter()
        .find(|o| *o as u32 == raw)
    }
}
