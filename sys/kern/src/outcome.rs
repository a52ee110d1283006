//! What a syscall handler returns: done (its results are in the caller's
//! registers, or it blocked), a response code for the caller, or the
//! caller at fault. The dispatcher applies the last two in one place
//! (`syscalls::general`), so no handler writes an error register or faults
//! its caller itself.

use abi::{FaultInfo, Sysnum};

/// Why a syscall did not succeed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UserError {
    /// The caller gets this response code (a refusal it may recover from:
    /// no right, a dead peer, a lease out of range, ...).
    Code(u32),
    /// The caller misused the syscall (a buffer not its own, a task that
    /// does not exist, ...): it is faulted.
    Fault(FaultInfo),
}

impl UserError {
    /// A usage fault of `sysnum`.
    pub const fn usage(sysnum: Sysnum) -> Self {
        UserError::Fault(FaultInfo::SyscallUsage {
            sysnum: sysnum as u64,
        })
    }
}

/// A syscall handler's result.
pub type SysResult = Result<(), UserError>;
