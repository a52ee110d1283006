//! The kernel ABI: everything the kernel and the tasks must agree on.
//!
//! One crate, shared by `sys/kern`, `sys/userlib`, the IDL runtime and the
//! host tests, so a syscall number or a response code is defined once.
//! The shape follows Hubris: task IDs carry a generation, a peer that died
//! answers with a *dead code* naming its new generation, messages are copied
//! (at most [`MAX_MESSAGE`] bytes), and a server reaches a client's buffers
//! only through *leases*.
//!
//! Register convention of `syscall`: `rax` holds the [`Sysnum`], arguments go
//! in `rdi, rsi, rdx, r10, r8, r9, r12, r13`, results come back in
//! `rax, rdi, rsi, rdx, r10, r8`. The kernel preserves every other register.
#![no_std]

pub mod acpi_window;
mod fault;
mod kipc;
mod status;
mod task_id;

pub use fault::{FaultInfo, ReplyFaultReason};
pub use kipc::{KipcOp, NO_HOLDER};
pub use status::{SchedState, TaskStatus, TASK_STATUS_LEN};
pub use task_id::{Generation, TaskId};

/// The largest message (request or reply) the kernel copies, in bytes.
pub const MAX_MESSAGE: usize = 256;
/// The most leases one message may carry.
pub const MAX_LEASES: usize = 4;
/// Notification bits per task.
pub const NOTIFICATION_BITS: u32 = 32;

/// Syscall numbers, in `rax`.
#[repr(u64)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Sysnum {
    /// `send(target, op, msg, msg_len, reply, reply_cap, leases, nleases)`
    /// → `(rc, reply_len)`.
    Send = 0,
    /// `recv(buf, cap, notification_mask, from)` →
    /// `(rc, sender, op, msg_len, reply_cap, nleases)`; `from` is
    /// [`TaskId::ANY`] for an open receive.
    Recv = 1,
    /// `reply(sender, rc, msg, len)`.
    Reply = 2,
    /// `set_timer(enabled, deadline_ms, notification_mask)`.
    SetTimer = 3,
    /// `borrow_read(sender, lease, offset, dst, len)` → `(rc, copied)`.
    BorrowRead = 4,
    /// `borrow_write(sender, lease, offset, src, len)` → `(rc, copied)`.
    BorrowWrite = 5,
    /// `borrow_info(sender, lease)` → `(rc, attributes, length)`.
    BorrowInfo = 6,
    /// `irq_control(notification_mask, enable)`.
    IrqControl = 7,
    /// `panic(msg, len)`: never returns; the task is faulted.
    Panic = 8,
    /// `get_timer()` → `(now_ms, deadline_ms, armed)`.
    GetTimer = 9,
    /// `refresh_task_id(task_id)` → `(rc, id)`: the current [`TaskId`] of
    /// that index, or [`rc::NO_RIGHT`] if the caller may neither send nor
    /// post to it.
    RefreshTaskId = 10,
    /// `post(target, bits)` → `rc`.
    Post = 11,
    /// `reply_fault(sender, reason)`: the sender is faulted.
    ReplyFault = 12,
    /// `log(frame, len)`: one defmt frame of the calling task.
    Log = 13,
    /// `reply_recv(sender, rc, msg, len, buf, cap, notification_mask, from)`
    /// → `recv`'s results: `reply` then `recv` in one call, a server's
    /// loop. A reply to a dead or stale sender is dropped, as by `reply`.
    ReplyRecv = 14,
}

impl Sysnum {
    /// Decodes a raw `rax`; `None` for a number no syscall has.
    pub fn from_raw(raw: u64) -> Option<Self> {
        use Sysnum::*;
        Some(match raw {
            0 => Send,
            1 => Recv,
            2 => Reply,
            3 => SetTimer,
            4 => BorrowRead,
            5 => BorrowWrite,
            6 => BorrowInfo,
            7 => IrqControl,
            8 => Panic,
            9 => GetTimer,
            10 => RefreshTaskId,
            11 => Post,
            12 => ReplyFault,
            13 => Log,
            14 => ReplyRecv,
            _ => return None,
        })
    }
}

/// Response codes in `rax` after a syscall.
pub mod rc {
    /// Success.
    pub const OK: u32 = 0;
    /// The peer's generation is not the one named: it died (and maybe came
    /// back). The low byte is the peer's *current* generation.
    pub const DEAD_BASE: u32 = 0xFFFF_FF00;
    /// The lease index does not exist in the sender's message.
    pub const BAD_LEASE: u32 = 0xFFFF_FE01;
    /// The borrow runs past the lease's end or the lease lies outside the
    /// client's memory.
    pub const LEASE_OUT_OF_RANGE: u32 = 0xFFFF_FE02;
    /// The lease does not allow this direction.
    pub const LEASE_DENIED: u32 = 0xFFFF_FE03;
    /// The named task is not waiting for a reply from the caller.
    pub const NOT_WAITING: u32 = 0xFFFF_FE04;
    /// The kernel refuses this supervisor IPC from this caller.
    pub const ACCESS: u32 = 0xFFFF_FE05;
    /// The message is larger than [`crate::MAX_MESSAGE`].
    pub const TOO_LONG: u32 = 0xFFFF_FE06;
    /// The caller has no right to this task: it is not one of its
    /// app.toml `task-slots` (send), the bits are not all its `notify`
    /// bits for it (post), or neither (looking up its ID). Nothing was
    /// delivered; the kernel counts the refusal against the caller.
    pub const NO_RIGHT: u32 = 0xFFFF_FE07;
    /// Device registers: another task holds them (revoke first).
    pub const REGISTERS_HELD: u32 = 0xFFFF_FE08;
    /// Device registers: the caller does not hold them.
    pub const REGISTERS_NOT_HELD: u32 = 0xFFFF_FE09;
    /// Device registers: the device has none in custody, or the task has
    /// no device window (app.toml gives windows to domain owners).
    pub const NO_WINDOW: u32 = 0xFFFF_FE0A;

    /// The dead code that names generation `gen`.
    pub const fn dead(gen: u8) -> u32 {
        DEAD_BASE | gen as u32
    }

    /// The generation inside a dead code, if `code` is one.
    pub const fn dead_generation(code: u32) -> Option<u8> {
        if code & 0xFFFF_FF00 == DEAD_BASE {
            Some(code as u8)
        } else {
            None
        }
    }
}

/// Lease attribute bits.
pub mod lease {
    /// The server may read the buffer.
    pub const READ: u32 = 1;
    /// The server may write the buffer.
    pub const WRITE: u32 = 2;
}

/// One lease as a client passes it to `send`: a window on its memory.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Lease {
    /// [`lease::READ`] and/or [`lease::WRITE`].
    pub attributes: u32,
    /// Padding that keeps `base` aligned; must be zero.
    pub reserved: u32,
    /// The client's virtual address.
    pub base: u64,
    /// Length in bytes.
    pub length: u64,
}

/// What a `recv` delivered: a message, or notification bits from the kernel.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RecvMessage {
    /// Who sent it; [`TaskId::KERNEL`] for notifications.
    pub sender: TaskId,
    /// The operation code, or the notification bits that fired.
    pub operation: u32,
    /// Bytes of message copied into the buffer.
    pub message_len: usize,
    /// How large a reply the sender can take.
    pub reply_capacity: usize,
    /// How many leases came with it.
    pub lease_count: usize,
}

/// The port on which the kernel tells QEMU to exit (`isa-debug-exit`).
pub const DEBUG_EXIT_PORT: u16 = 0xf4;
/// The value a passing image writes to [`DEBUG_EXIT_PORT`]: QEMU exits with
/// `(value << 1) | 1`, i.e. 33.
pub const DEBUG_EXIT_SUCCESS: u8 = 0x10;
/// The value a failing image writes: QEMU exits with 35.
pub const DEBUG_EXIT_FAILURE: u8 = 0x11;

/// Marker byte that starts every log record on the log serial port.
pub const LOG_FRAME_MAGIC: u8 = 0xC5;
/// The task index the kernel's own log records carry.
pub const KERNEL_LOG_INDEX: u8 = 0xFF;

#[cfg(test)]
mod tests;
