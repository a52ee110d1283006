//! The IPC fast path: the two syscalls of a round trip in their common
//! case, done with as few instructions as possible (seL4's idea).
//!
//! A client's `send` to a server already waiting in an open (or matching)
//! receive, that outranks the client: the message moves and the server runs
//! next. A server's `reply_recv` to a client waiting for its reply, with no
//! notification pending and no other sender queued: the reply moves, the
//! server blocks, and the best runnable task (the scheduler's bit set) runs.
//!
//! Each function either does the whole call exactly as the general path in
//! `ipc` would (same registers, states, next task) or changes nothing and
//! returns `false`, and the general path runs: a dead peer, leases, fault
//! injection, a bad buffer, anything unusual goes the long way.

use abi::{rc, TaskId, MAX_MESSAGE};

use crate::kernel::{copy_phys, schedule, switch_to, Kernel};
use crate::task::{BufferKind, State};

/// `send` with the message delivered at once; `false` to take the
/// general path.
pub fn send(kk: &mut Kernel, me: usize) -> bool {
    let r = &kk.tasks[me].regs;
    let id = TaskId(r.rdi as u16);
    let (op, msg, msg_len, reply, reply_cap, nleases) = (r.rsi, r.rdx, r.r10, r.r8, r.r9, r.r13);
    let t = id.index();
    if nleases != 0 || msg_len > MAX_MESSAGE as u64 || t >= kk.tasks.len() || t == me {
        return false;
    }
    let target = &kk.tasks[t];
    let accepts = match target.state {
        State::InRecv { from, .. } => from.is_none_or(|f| f as usize == me),
        _ => false,
    };
    // The target outranks the sender, which the scheduler chose over every
    // other runnable task: so the target runs next.
    if !accepts
        || target.generation != id.generation()
        || target.priority >= kk.tasks[me].priority
        || target.fault_after.is_some()
    {
        return false;
    }
    let task = &mut kk.tasks[me];
    let (Some(msg_pa), Some(reply_pa)) = (
        task.translate(BufferKind::Outgoing, msg, msg_len),
        task.translate(BufferKind::Reply, reply, reply_cap),
    ) else {
        return false;
    };
    task.bufs.message = msg_pa;
    task.bufs.reply = reply_pa;
    let sender = kk.id_of(me);
    let target = &mut kk.tasks[t];
    // SAFETY: our message was checked just now, the target's receive
    // buffer for `rsi` bytes when it called `recv` (`IpcBuffers`);
    // distinct tasks share no copyable memory.
    unsafe { copy_phys(msg_pa, target.bufs.receive, msg_len.min(target.regs.rsi)) };
    let r = &mut target.regs;
    r.rax = rc::OK as u64;
    r.rdi = sender.0 as u64;
    r.rsi = op as u32 as u64;
    r.rdx = msg_len;
    r.r10 = reply_cap;
    r.r8 = 0;
    kk.set_state(me, State::InReply(t as u16));
    kk.set_state(t, State::Runnable);
    switch_to(t);
    true
}

/// `reply_recv` with the reply delivered and the caller blocking in an open
/// receive; `false` to take the general path.
pub fn reply_recv(kk: &mut Kernel, me: usize) -> bool {
    let r = &kk.tasks[me].regs;
    let id = TaskId(r.rdi as u16);
    let (code, msg, len) = (r.rsi, r.rdx, r.r10);
    let (buf, cap, mask, from) = (r.r8, r.r9, r.r12 as u32, r.r13);
    let c = id.index();
    if from != TaskId::ANY.0 as u64
        || len > MAX_MESSAGE as u64
        || c >= kk.tasks.len()
        || kk.sending != 0
        || kk.tasks[me].pending & mask != 0
    {
        return false;
    }
    let client = &kk.tasks[c];
    if client.generation != id.generation() || client.state != State::InReply(me as u16) {
        return false;
    }
    let task = &mut kk.tasks[me];
    let (Some(msg_pa), Some(buf_pa)) = (
        task.translate(BufferKind::Outgoing, msg, len),
        task.translate(BufferKind::Incoming, buf, cap),
    ) else {
        return false;
    };
    task.bufs.receive = buf_pa;
    // `recv`'s argument registers, as the general path leaves them.
    let r = &mut task.regs;
    (r.rdi, r.rsi, r.rdx, r.r10) = (buf, cap, mask as u64, from);
    let client = &mut kk.tasks[c];
    // SAFETY: our reply was checked just now, the client's reply buffer
    // for `r9` bytes when it sent (`IpcBuffers`); distinct tasks share no
    // copyable memory.
    unsafe { copy_phys(msg_pa, client.bufs.reply, len.min(client.regs.r9)) };
    client.regs.rax = code as u32 as u64;
    client.regs.rdi = len;
    kk.set_state(me, State::InRecv { mask, from: None });
    crate::ready::note(kk, me);
    kk.set_state(c, State::Runnable);
    // The client is runnable: the set is not empty.
    match kk.order.get(kk.runnable.trailing_zeros() as usize) {
        Some(&next) => switch_to(next as usize),
        None => schedule(),
    }
    true
}
