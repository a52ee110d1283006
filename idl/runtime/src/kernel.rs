//! The transport over the kernel's syscalls, for task images.
//!
//! A thin binding: each trait method is one `userlib` syscall wrapper
//! (inlined: a call's cost is mostly its syscall). The only work is turning
//! borrowed [`Lease`]s into `abi::Lease` records, whose addresses stay valid
//! because the slices stay borrowed across the send.

use abi::{RecvMessage, ReplyFaultReason, TaskId, MAX_LEASES};
use config_schema::task::CallerGroup;

use crate::lease::Lease;
use crate::transport::{SendError, ServerContext, ServerTransport, Transport};

/// The kernel's IPC, with the image's task names (by index, from app.toml)
/// for `callers` checks.
#[derive(Copy, Clone, Debug)]
pub struct KernelTransport {
    task_names: &'static [&'static str],
    groups: &'static [CallerGroup],
}

impl KernelTransport {
    /// A transport that knows task `i` as `task_names[i]`.
    pub const fn new(task_names: &'static [&'static str]) -> Self {
        KernelTransport {
            task_names,
            groups: &[],
        }
    }

    /// One that also knows caller groups (name, task indices), from
    /// app.toml (`config::powers::GROUPS`), for `callers = ["@group"]`.
    pub const fn with_groups(
        task_names: &'static [&'static str],
        groups: &'static [CallerGroup],
    ) -> Self {
        KernelTransport { task_names, groups }
    }
}

impl Transport for KernelTransport {
    #[inline]
    fn send(
        &mut self,
        target: TaskId,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
        leases: &mut [Lease<'_>],
    ) -> Result<(u32, usize), SendError> {
        if leases.is_empty() {
            // Most calls: no lease table to build.
            return Ok(userlib::sys_send(target, op, msg, reply, &[]));
        }
        let mut records = [abi::Lease::default(); MAX_LEASES];
        if leases.len() > MAX_LEASES {
            return Err(SendError::TooManyLeases(leases.len()));
        }
        for (record, lease) in records.iter_mut().zip(leases.iter()) {
            *record = lease.to_abi();
        }
        let records = records.get(..leases.len()).unwrap_or(&[]);
        Ok(userlib::sys_send(target, op, msg, reply, records))
    }
}

impl ServerContext for KernelTransport {
    fn borrow_read(
        &self,
        sender: TaskId,
        lease: usize,
        offset: usize,
        dst: &mut [u8],
    ) -> Result<usize, u32> {
        userlib::sys_borrow_read(sender, lease, offset, dst)
    }

    fn borrow_write(
        &self,
        sender: TaskId,
        lease: usize,
        offset: usize,
        src: &[u8],
    ) -> Result<usize, u32> {
        userlib::sys_borrow_write(sender, lease, offset, src)
    }

    fn borrow_info(&self, sender: TaskId, lease: usize) -> Result<(u32, usize), u32> {
        userlib::sys_borrow_info(sender, lease)
    }

    fn task_name(&self, task: TaskId) -> Option<&str> {
        self.task_names.get(task.index()).copied()
    }

    fn in_group(&self, task: TaskId, group: &str) -> bool {
        self.groups
            .iter()
            .filter(|g| g.name == group)
            .any(|g| g.members.iter().any(|&m| usize::from(m) == task.index()))
    }
}

impl ServerTransport for KernelTransport {
    #[inline]
    fn recv(&mut self, buf: &mut [u8], notification_mask: u32) -> Result<RecvMessage, u32> {
        userlib::sys_recv(buf, notification_mask, TaskId::ANY)
    }

    fn reply(&mut self, sender: TaskId, code: u32, msg: &[u8]) {
        userlib::sys_reply(sender, code, msg)
    }

    fn reply_fault(&mut self, sender: TaskId, reason: ReplyFaultReason) {
        userlib::sys_reply_fault(sender, reason)
    }

    #[inline]
    fn reply_recv(
        &mut self,
        sender: TaskId,
        code: u32,
        msg: &[u8],
        buf: &mut [u8],
        notification_mask: u32,
    ) -> Result<RecvMessage, u32> {
        userlib::sys_reply_recv(sender, code, msg, buf, notification_mask, TaskId::ANY)
    }
}
