//! Why a task stopped, as the kernel records it and the supervisor reads it.

/// Why a server refused a client's message (`reply_fault`); the client is
/// faulted with this reason.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReplyFaultReason {
    /// The operation code is not one the server implements.
    UndefinedOperation = 0,
    /// The message is too short or too long for the operation.
    BadMessageSize = 1,
    /// The message did not decode.
    BadMessageContents = 2,
    /// Wrong number of leases, or a lease of the wrong kind or size.
    BadLeases = 3,
    /// The client's reply buffer cannot take the reply.
    ReplyBufferTooSmall = 4,
    /// The client may not call this operation.
    AccessViolation = 5,
}

impl ReplyFaultReason {
    /// Decodes a raw reason; unknown values are `None`.
    pub fn from_raw(raw: u32) -> Option<Self> {
        use ReplyFaultReason::*;
        [
            UndefinedOperation,
            BadMessageSize,
            BadMessageContents,
            BadLeases,
            ReplyBufferTooSmall,
            AccessViolation,
        ]
        .into_iter()
        .find(|r| *r as u32 == raw)
    }
}

/// Why the kernel faulted a task. Encoded for kernel IPC as
/// `(kind, address_or_detail)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultInfo {
    /// A page fault: the address, and whether it was a write, an
    /// instruction fetch, or a protection violation on a present page.
    PageFault {
        address: u64,
        write: bool,
        execute: bool,
        present: bool,
    },
    /// General protection fault (error code).
    GeneralProtection { code: u64 },
    /// Invalid opcode (`ud2` and friends) at this address.
    InvalidOpcode { rip: u64 },
    /// Division by zero at this address.
    DivideError { rip: u64 },
    /// Any other CPU exception, by vector.
    Exception { vector: u8, rip: u64 },
    /// A syscall with a bad argument (an address outside the task, an
    /// unknown number, ...): which syscall.
    SyscallUsage { sysnum: u64 },
    /// The task called `panic`.
    Panic,
    /// A server answered the task's message with `reply_fault`.
    ReplyFault { server: u16, reason: u32 },
    /// The supervisor faulted it on purpose.
    Injected,
}

impl FaultInfo {
    /// Encodes as `(kind, a, b)` for the supervisor's kernel IPC.
    pub fn encode(&self) -> (u32, u64, u64) {
        match *self {
            FaultInfo::PageFault {
                address,
                write,
                execute,
                present,
            } => (
                1,
                address,
                (write as u64) | ((execute as u64) << 1) | ((present as u64) << 2),
            ),
            FaultInfo::GeneralProtection { code } => (2, code, 0),
            FaultInfo::InvalidOpcode { rip } => (3, rip, 0),
            FaultInfo::DivideError { rip } => (4, rip, 0),
            FaultInfo::Exception { vector, rip } => (5, rip, vector as u64),
            FaultInfo::SyscallUsage { sysnum } => (6, sysnum, 0),
            FaultInfo::Panic => (7, 0, 0),
            FaultInfo::ReplyFault { server, reason } => (8, server as u64, reason as u64),
            FaultInfo::Injected => (9, 0, 0),
        }
    }

    /// Decodes what [`FaultInfo::encode`] produced.
    pub fn decode(kind: u32, a: u64, b: u64) -> Option<Self> {
        Some(match kind {
            1 => FaultInfo::PageFault {
                address: a,
                write: b & 1 != 0,
                execute: b & 2 != 0,
                present: b & 4 != 0,
            },
            2 => FaultInfo::GeneralProtection { code: a },
            3 => FaultInfo::InvalidOpcode { rip: a },
            4 => FaultInfo::DivideError { rip: a },
            5 => FaultInfo::Exception {
                vector: b as u8,
                rip: a,
            },
            6 => FaultInfo::SyscallUsage { sysnum: a },
            7 => FaultInfo::Panic,
            8 => FaultInfo::ReplyFault {
                server: a as u16,
                reason: b as u32,
            },
            9 => FaultInfo::Injected,
            _ => return None,
        })
    }

    /// A short name for logs.
    pub fn describe(&self) -> &'static str {
        match self {
            FaultInfo::PageFault { write: true, .. } => "page fault on write",
            FaultInfo::PageFault { execute: true, .. } => "page fault on instruction fetch",
            FaultInfo::PageFault { .. } => "page fault on read",
            FaultInfo::GeneralProtection { .. } => "general protection fault",
            FaultInfo::InvalidOpcode { .. } => "invalid opcode",
            FaultInfo::DivideError { .. } => "divide error",
            FaultInfo::Exception { .. } => "CPU exception",
            FaultInfo::SyscallUsage { .. } => "bad syscall use",
            FaultInfo::Panic => "panic",
            FaultInfo::ReplyFault { .. } => "server refused its message",
            FaultInfo::Injected => "fault injected by the supervisor",
        }
    }
}
