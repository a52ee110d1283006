//! The two faces of IPC that generated code uses, whatever carries it.
//!
//! A client only sends; a server receives, replies and reaches the client's
//! leased buffers. The kernel implements them with syscalls; the in-process
//! transport with direct calls. Codes returned are the kernel's (`abi::rc`).

use core::fmt;

use abi::{RecvMessage, ReplyFaultReason, TaskId};

use crate::lease::Lease;

/// Why a send did not produce a reply. The kernel never reports these (it
/// faults the client instead); the in-process transport does, so host tests
/// and the simulator can see them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No task has that index.
    NoSuchTask(u16),
    /// The task exists but no server is registered for it.
    NotServing(u16),
    /// The server is already handling a message of this same call chain (in
    /// the kernel this would deadlock).
    Reentrant(u16),
    /// More leases than `abi::MAX_LEASES`.
    TooManyLeases(usize),
    /// The message is longer than `abi::MAX_MESSAGE`.
    MessageTooLong(usize),
    /// The server answered with a reply fault; in the kernel the client
    /// would now be faulted.
    Faulted(ReplyFaultReason),
    /// The server's reply is longer than the client's reply buffer.
    ReplyTooLong {
        /// Bytes the server sent.
        len: usize,
        /// Bytes the client could take.
        capacity: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoSuchTask(i) => write!(f, "no task with index {i}"),
            SendError::NotServing(i) => write!(f, "task {i} has no server registered"),
            SendError::Reentrant(i) => write!(f, "task {i} is already handling this call chain"),
            SendError::TooManyLeases(n) => {
                write!(f, "{n} leases, more than the {} allowed", abi::MAX_LEASES)
            }
            SendError::MessageTooLong(n) => {
                write!(f, "message of {n} bytes, more than {}", abi::MAX_MESSAGE)
            }
            SendError::Faulted(r) => write!(f, "the server refused the message: {r:?}"),
            SendError::ReplyTooLong { len, capacity } => {
                write!(f, "reply of {len} bytes for a buffer of {capacity}")
            }
        }
    }
}

/// The client side: send a message and wait for the reply.
pub trait Transport {
    /// Sends `msg` as operation `op` to `target` with `leases`, waits, and
    /// returns the reply's response code and length (written to `reply`).
    /// A response code may be a dead code (`abi::rc::dead_generation`).
    fn send(
        &mut self,
        target: TaskId,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
        leases: &mut [Lease<'_>],
    ) -> Result<(u32, usize), SendError>;
}

/// What a server needs while handling one message: the client's leases and
/// the names of tasks (for `callers` lists).
pub trait ServerContext {
    /// Copies from the `lease`-th lease of `sender`, starting at `offset`,
    /// into all of `dst`; the count copied, or an `abi::rc` code.
    fn borrow_read(
        &self,
        sender: TaskId,
        lease: usize,
        offset: usize,
        dst: &mut [u8],
    ) -> Result<usize, u32>;
    /// Copies all of `src` into the `lease`-th lease of `sender` at `offset`.
    fn borrow_write(
        &self,
        sender: TaskId,
        lease: usize,
        offset: usize,
        src: &[u8],
    ) -> Result<usize, u32>;
    /// The lease's attributes (`abi::lease::READ`/`WRITE`) and length.
    fn borrow_info(&self, sender: TaskId, lease: usize) -> Result<(u32, usize), u32>;
    /// The app.toml name of the task, by its index.
    fn task_name(&self, task: TaskId) -> Option<&str>;
    /// Whether the task belongs to the caller group `group` (a `callers`
    /// entry `"@group"`, e.g. app.toml's operators). None by default.
    fn in_group(&self, _task: TaskId, _group: &str) -> bool {
        false
    }
}

/// The server side of the kernel's IPC.
pub trait ServerTransport: ServerContext {
    /// Waits for a message (or notification bits in `notification_mask`)
    /// from any task, copying its body into `buf`.
    fn recv(&mut self, buf: &mut [u8], notification_mask: u32) -> Result<RecvMessage, u32>;
    /// Answers `sender` with a response code and a body.
    fn reply(&mut self, sender: TaskId, code: u32, msg: &[u8]);
    /// Refuses `sender`'s message; the kernel faults the sender.
    fn reply_fault(&mut self, sender: TaskId, reason: ReplyFaultReason);
    /// [`reply`](Self::reply) then [`recv`](Self::recv); the kernel does
    /// both in one syscall.
    fn reply_recv(
        &mut self,
        sender: TaskId,
        code: u32,
        msg: &[u8],
        buf: &mut [u8],
        notification_mask: u32,
    ) -> Result<RecvMessage, u32> {
        self.reply(sender, code, msg);
        self.recv(buf, notification_mask)
    }
}
