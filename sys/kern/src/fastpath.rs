//! The IPC fast path: the two syscalls of a round trip in their common
//! case, done with as few instructions as possible (seL4's idea).
//!
//! A client's `send` to a server already waiting in an open (or matching)
//! receive, that outranks the client: the message moves and the server runs
//! next. A server's `reply_recv` to a client waiting for its reply, with no
//! notification pending and no other sender queued: the reply moves, the
//! server blocks, and the best runnable task (the scheduler's bit set) runs.
//!
//! Whether the fast path takes a call is `kern::ipc_rules::fast_send` /
//! `fast_reply_recv`, which a host test holds against the general path's
//! rules (`the_fast_path_agrees_with_the_general_path`). Each function
//! either does the whole call exactly as the general path in `ipc` would (same registers a task can observe, states, next task) or
//! changes nothing and returns `false`, and the general path runs: a dead
//! peer, a target outside the sender's rights, leases, fault injection, a
//! bad buffer, anything unusual goes the long way. The checks come cheapest first, on registers before memory;
//! both tasks are borrowed once ([`get_disjoint_mut`](slice::get_disjoint_mut)
//! checks the index and that they differ), and the scheduler's sets are
//! updated for the one transition each call makes
//! ([`Kernel::hand_off`]).

use abi::TaskId;
use kern::ipc_rules::{fast_reply_recv, fast_send, ReplyRecvCall, SendCall};

use crate::arch::regs::Delivery;

use crate::kernel::{copy_phys, schedule, switch_to, Kernel};
use crate::task::{BufferKind, State};

/// `send` with the message delivered at once; `false` to take the
/// general path.
#[inline(always)]
pub fn send(kk: &mut Kernel, me: usize) -> bool {
    let a = kk.tasks[me].regs.send_args();
    let (msg, msg_len, reply, reply_cap) = (a.msg.addr, a.msg.len, a.reply.addr, a.reply.len);
    let call = SendCall {
        target: a.target,
        msg_len,
        leases: a.leases.len,
    };
    let t = a.target.index();
    let Ok([task, target]) = kk.tasks.get_disjoint_mut([me, t]) else {
        return false;
    };
    // The target outranks the sender, which the scheduler chose over every
    // other runnable task: so the target runs next.
    if !fast_send(me, &*task, call, t, &*target) {
        return false;
    }
    let (Some(msg_pa), Some(reply_pa)) = (
        task.translate(BufferKind::Outgoing, msg, msg_len),
        task.translate(BufferKind::Reply, reply, reply_cap),
    ) else {
        return false;
    };
    // The message moves now: only the reply buffer is needed later.
    task.bufs.reply = reply_pa;
    // SAFETY: our message was checked just now, the target's receive
    // buffer for its capacity when it called `recv` (`IpcBuffers`);
    // distinct tasks share no copyable memory.
    let cap = target.regs.receive_capacity();
    unsafe { copy_phys(msg_pa, target.bufs.receive, msg_len.min(cap)) };
    let sender = TaskId::new(me as u16, task.generation);
    target.delivered = target.delivered.wrapping_add(1);
    target.regs.deliver_message(Delivery {
        sender,
        op: a.op,
        len: msg_len,
        reply_capacity: reply_cap,
        leases: 0,
    });
    kk.hand_off(me, State::InReply(t as u16), t);
    switch_to(t);
    true
}

/// `reply_recv` with the reply delivered and the caller blocking in an open
/// receive; `false` to take the general path.
#[inline(always)]
pub fn reply_recv(kk: &mut Kernel, me: usize) -> bool {
    let (reply, recv) = kk.tasks[me].regs.reply_recv_args();
    let (code, msg, len) = (reply.code, reply.msg.addr, reply.msg.len);
    let (buf, cap, mask) = (recv.buf.addr, recv.buf.len, recv.mask);
    let call = ReplyRecvCall {
        to: reply.to,
        msg_len: len,
        mask,
        from: recv.from,
    };
    let anyone_sending = kk.sending != 0;
    let c = reply.to.index();
    let Ok([task, client]) = kk.tasks.get_disjoint_mut([me, c]) else {
        return false;
    };
    if !fast_reply_recv(me, &*task, call, anyone_sending, &*client) {
        return false;
    }
    let (Some(msg_pa), Some(buf_pa)) = (
        task.translate(BufferKind::Outgoing, msg, len),
        task.translate(BufferKind::Incoming, buf, cap),
    ) else {
        return false;
    };
    task.bufs.receive = buf_pa;
    // The receive's capacity, where a later delivery looks for it.
    task.regs.set_receive_capacity(cap);
    // SAFETY: our reply was checked just now, the client's reply buffer
    // for its capacity when it sent (`IpcBuffers`); distinct tasks share
    // no copyable memory.
    let reply_cap = client.regs.reply_capacity();
    unsafe { copy_phys(msg_pa, client.bufs.reply, len.min(reply_cap)) };
    client.regs.deliver_reply(code, len);
    kk.hand_off(me, State::InRecv { mask, from: None }, c);
    crate::ready::note(kk, me);
    // The client is runnable: the set is not empty.
    match kk.order.get(kk.runnable.trailing_zeros() as usize) {
        Some(&next) => switch_to(next as usize),
        None => schedule(),
    }
    true
}
