//! Message passing: send, receive, reply, reply-fault and the lease borrows.
//!
//! Copy semantics as in Hubris: a message moves from the sender's buffer to
//! the receiver's at delivery, a reply from the server's buffer to the
//! sender's reply buffer, and a server touches a client's memory only through
//! the leases the client attached, while the client waits for the reply.
//! A blocked sender's arguments stay in its saved registers (read through
//! `arch::regs`'s typed views); its buffers were translated when it called.
//! Each handler is a function of (kernel, caller) returning a
//! [`SysResult`]: the dispatcher answers its errors.

use abi::{lease, rc, FaultInfo, Lease, Sysnum, TaskId, MAX_LEASES, MAX_MESSAGE};
use kern::regions::Access;
use kern::rights::Need;

use crate::arch::regs::{Delivery, RecvArgs, ReplyArgs};
use crate::kernel::{copy_phys, Kernel, Refusal};
use crate::outcome::{SysResult, UserError};
use crate::task::{BufferKind, State};
use kern::ipc_rules::{
    receive_rule, reply_rule, send_rule, ReceiveRule, ReplyRule, SendCall, SendRule,
};

/// The "sender" of a notification-only receive: matches no task.
const NOBODY: u16 = u16::MAX;
const LEASE_SIZE: u64 = core::mem::size_of::<Lease>() as u64;

/// `send`: deliver now if the target waits for us, else block (the
/// decision is `kern::ipc_rules::send_rule`'s; the caller's buffers are
/// checked before a refusal is answered).
pub fn send(kk: &mut Kernel, me: usize) -> SysResult {
    let a = kk.tasks[me].regs.send_args();
    let call = SendCall {
        target: a.target,
        msg_len: a.msg.len,
        leases: a.leases.len,
    };
    let caller = &kk.tasks[me];
    let target = kk.tasks.get(a.target.index());
    let rule = send_rule(me, caller, &caller.rights(), call, target);
    match rule {
        SendRule::Kernel => return crate::kipc::handle(kk, me),
        SendRule::TooLong => return Err(UserError::Code(rc::TOO_LONG)),
        _ => {}
    }
    let task = &mut kk.tasks[me];
    let checked = (
        task.translate(BufferKind::Outgoing, a.msg.addr, a.msg.len),
        task.translate(BufferKind::Reply, a.reply.addr, a.reply.len),
        a.leases.len <= MAX_LEASES as u64
            && task
                .spans
                .translate(a.leases.addr, a.leases.len * LEASE_SIZE, Access::Read)
                .is_some(),
    );
    let (Some(msg_pa), Some(reply_pa), true) = checked else {
        return Err(UserError::usage(Sysnum::Send));
    };
    let bufs = &mut kk.tasks[me].bufs;
    bufs.message = msg_pa;
    bufs.reply = reply_pa;
    let t = a.target.index();
    match rule {
        SendRule::Refused(r) => Err(match kk.refusal(me, Need::Send, t, r) {
            Refusal::NoSuchTask => UserError::usage(Sysnum::Send),
            Refusal::Code(code) => UserError::Code(code),
        }),
        // `deliver` kills a target armed to die at this message.
        SendRule::Deliver | SendRule::TargetDies => {
            deliver(kk, me, t);
            Ok(())
        }
        _ => {
            kk.set_state(me, State::InSend(t as u16));
            Ok(())
        }
    }
}

/// Fault injection (kipc `ArmFault`): whether this delivery is the one the
/// receiver must die at instead. Counts the delivery either way.
fn dies_at_this_message(kk: &mut Kernel, receiver: usize) -> bool {
    let t = &mut kk.tasks[receiver];
    match t.fault_after {
        Some(1) => {
            t.fault_after = None;
            true
        }
        Some(n) => {
            t.fault_after = Some(n.saturating_sub(1));
            false
        }
        None => false,
    }
}

/// Moves `sender`'s message into `receiver`'s receive buffer and records
/// that `sender` now waits for `receiver`'s reply, unless fault injection
/// kills the receiver here: then the sender gets the dead code.
fn deliver(kk: &mut Kernel, sender: usize, receiver: usize) {
    if dies_at_this_message(kk, receiver) {
        kk.set_state(sender, State::InSend(receiver as u16));
        kk.fault(receiver, FaultInfo::Injected);
        return;
    }
    let a = kk.tasks[sender].regs.send_args();
    let cap = kk.tasks[receiver].regs.receive_capacity();
    // SAFETY: both buffers were translated and checked against the tasks'
    // maps when the syscalls were made (`IpcBuffers`), for these lengths;
    // distinct tasks never share copyable memory.
    unsafe {
        copy_phys(
            kk.tasks[sender].bufs.message,
            kk.tasks[receiver].bufs.receive,
            a.msg.len.min(cap),
        )
    };
    let id = kk.id_of(sender);
    let t = &mut kk.tasks[receiver];
    t.delivered = t.delivered.wrapping_add(1);
    t.regs.deliver_message(Delivery {
        sender: id,
        op: a.op,
        len: a.msg.len,
        reply_capacity: a.reply.len,
        leases: a.leases.len,
    });
    kk.set_state(sender, State::InReply(receiver as u16));
    kk.wake(receiver);
}

/// `recv`: notifications first, then the highest-priority waiting sender,
/// else block.
pub fn recv(kk: &mut Kernel, me: usize) -> SysResult {
    let a = kk.tasks[me].regs.recv_args();
    receive(kk, me, a, Sysnum::Recv)
}

/// The receive half of `recv` and `reply_recv`; `sysnum` names the call in
/// a usage fault.
fn receive(kk: &mut Kernel, me: usize, a: RecvArgs, sysnum: Sysnum) -> SysResult {
    let Some(buf_pa) = kk.tasks[me].translate(BufferKind::Incoming, a.buf.addr, a.buf.len) else {
        return Err(UserError::usage(sysnum));
    };
    let task = &mut kk.tasks[me];
    task.bufs.receive = buf_pa;
    // Where a later delivery looks for it (`reply_recv` passed it elsewhere).
    task.regs.set_receive_capacity(a.buf.len);
    let from = if a.from == TaskId::ANY {
        None
    } else if a.from == TaskId::KERNEL {
        // Notifications only: a closed receive from no task.
        Some(NOBODY)
    } else {
        match kk.check_peer(a.from) {
            None => return Err(UserError::usage(sysnum)),
            Some(Err(dead)) => return Err(UserError::Code(dead)),
            Some(Ok(f)) => Some(f as u16),
        }
    };
    // An open receive is a serving loop (the supervisor's forgiveness).
    kk.tasks[me].served |= from.is_none();
    // Nobody anywhere in `send`, or notifications first: skip the walk.
    let waiting = if kk.sending == 0 || kk.tasks[me].pending & a.mask != 0 {
        None
    } else {
        kk.tasks
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                matches!(t.state, State::InSend(x) if x as usize == me)
                    && from.is_none_or(|f| f as usize == *i)
            })
            .min_by_key(|(i, t)| (t.priority, *i))
            .map(|(i, _)| i)
    };
    match (
        receive_rule(&kk.tasks[me], a.mask, waiting.is_some()),
        waiting,
    ) {
        (ReceiveRule::Notification(fired), _) => {
            let t = &mut kk.tasks[me];
            t.pending &= !fired;
            t.regs.deliver_notification(fired);
        }
        (ReceiveRule::Message, Some(s)) => deliver(kk, s, me),
        _ => {
            kk.set_state(me, State::InRecv { mask: a.mask, from });
            crate::ready::note(kk, me);
        }
    }
    Ok(())
}

/// The client `id` if it is waiting for `me`'s reply, else the code to
/// return (a reply to a dead or stale client is dropped, as in Hubris).
fn waiting_client(kk: &Kernel, me: usize, id: TaskId) -> Option<Result<usize, u32>> {
    match reply_rule(me, id, kk.tasks.get(id.index())) {
        ReplyRule::NoSuchTask => None,
        ReplyRule::Drop => Some(Err(rc::NOT_WAITING)),
        ReplyRule::Deliver => Some(Ok(id.index())),
    }
}

/// `reply`: copy the reply and wake the client.
pub fn reply(kk: &mut Kernel, me: usize) -> SysResult {
    let a = kk.tasks[me].regs.reply_args();
    answer(kk, me, a, Sysnum::Reply)
}

/// `reply_recv`: `reply`, then `recv` (seL4's ReplyRecv): a server's loop
/// makes one syscall per message instead of two.
pub fn reply_recv(kk: &mut Kernel, me: usize) -> SysResult {
    let (reply, recv) = kk.tasks[me].regs.reply_recv_args();
    answer(kk, me, reply, Sysnum::ReplyRecv)?;
    receive(kk, me, recv, Sysnum::ReplyRecv)
}

/// The reply half of `reply` and `reply_recv`: copies the reply and wakes
/// the client. A reply to a client that died or is not waiting is dropped.
fn answer(kk: &mut Kernel, me: usize, a: ReplyArgs, sysnum: Sysnum) -> SysResult {
    let msg_pa = match kk.tasks[me].translate(BufferKind::Outgoing, a.msg.addr, a.msg.len) {
        Some(pa) if a.msg.len <= MAX_MESSAGE as u64 => pa,
        _ => return Err(UserError::usage(sysnum)),
    };
    let c = match waiting_client(kk, me, a.to) {
        None => return Err(UserError::usage(sysnum)),
        Some(Err(_)) => return Ok(()),
        Some(Ok(c)) => c,
    };
    let client = &mut kk.tasks[c];
    let len = a.msg.len.min(client.regs.reply_capacity());
    // SAFETY: the client's reply buffer was checked for its capacity when
    // it sent (`IpcBuffers`), ours just now; distinct tasks share no
    // copyable memory.
    unsafe { copy_phys(msg_pa, client.bufs.reply, len) };
    client.regs.deliver_reply(a.code, a.msg.len);
    kk.wake(c);
    Ok(())
}

/// `reply_fault`: the client's message was bad; the client is faulted.
pub fn reply_fault(kk: &mut Kernel, me: usize) -> SysResult {
    let r = &kk.tasks[me].regs;
    let (id, reason) = (TaskId(r.arg(0) as u16), r.arg(1) as u32);
    match waiting_client(kk, me, id) {
        None => return Err(UserError::usage(Sysnum::ReplyFault)),
        Some(Err(_)) => {}
        Some(Ok(c)) => kk.fault(
            c,
            FaultInfo::ReplyFault {
                server: me as u16,
                reason,
            },
        ),
    }
    Ok(())
}

/// Looks up lease `index` of client `id` for server `me`.
fn lease_of(kk: &Kernel, me: usize, id: TaskId, index: u64) -> Result<(usize, Lease), u32> {
    let c = match waiting_client(kk, me, id) {
        None | Some(Err(_)) => return Err(rc::NOT_WAITING),
        Some(Ok(c)) => c,
    };
    let table = kk.tasks[c].regs.lease_table();
    if index >= table.len {
        return Err(rc::BAD_LEASE);
    }
    // `index < count <= MAX_LEASES` and the table was checked at the send;
    // checked arithmetic all the same (no value from a task may panic).
    let at = index
        .checked_mul(LEASE_SIZE)
        .and_then(|off| table.addr.checked_add(off))
        .ok_or(rc::BAD_LEASE)?;
    kk.read_user::<Lease>(c, at)
        .map(|l| (c, l))
        .ok_or(rc::BAD_LEASE)
}

/// `borrow_read` (`write = false`) and `borrow_write` (`write = true`).
pub fn borrow(kk: &mut Kernel, me: usize, write: bool) -> SysResult {
    let a = kk.tasks[me].regs.borrow_args();
    let need = if write { Access::Read } else { Access::Write };
    if kk.tasks[me]
        .spans
        .translate(a.buf.addr, a.buf.len, need)
        .is_none()
    {
        let sysnum = if write {
            Sysnum::BorrowWrite
        } else {
            Sysnum::BorrowRead
        };
        return Err(UserError::usage(sysnum));
    }
    let (c, l) = lease_of(kk, me, a.from, a.lease).map_err(UserError::Code)?;
    let bit = if write { lease::WRITE } else { lease::READ };
    if l.attributes & bit == 0 {
        return Err(UserError::Code(rc::LEASE_DENIED));
    }
    let out_of_range = UserError::Code(rc::LEASE_OUT_OF_RANGE);
    let end = a.offset.checked_add(a.buf.len).ok_or(out_of_range)?;
    if end > l.length {
        return Err(out_of_range);
    }
    // The client chose `base`, the server `offset`: either may be anything,
    // so the sum may wrap.
    let at = l.base.checked_add(a.offset).ok_or(out_of_range)?;
    let copied = if write {
        kk.copy((me, a.buf.addr), (c, at), a.buf.len)
    } else {
        kk.copy((c, at), (me, a.buf.addr), a.buf.len)
    };
    if !copied {
        return Err(out_of_range);
    }
    kk.tasks[me].regs.set_ok(a.buf.len, 0);
    Ok(())
}

/// `borrow_info`: a lease's attributes and length.
pub fn borrow_info(kk: &mut Kernel, me: usize) -> SysResult {
    let a = kk.tasks[me].regs.borrow_args();
    let (_, l) = lease_of(kk, me, a.from, a.lease).map_err(UserError::Code)?;
    kk.tasks[me].regs.set_ok(l.attributes as u64, l.length);
    Ok(())
}
