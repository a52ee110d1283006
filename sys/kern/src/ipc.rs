//! Message passing: send, receive, reply, reply-fault and the lease borrows.
//!
//! Copy semantics as in Hubris: a message moves from the sender's buffer to
//! the receiver's at delivery, a reply from the server's buffer to the
//! sender's reply buffer, and a server touches a client's memory only through
//! the leases the client attached, while the client waits for the reply.
//! The sender's arguments stay in its saved registers while it is blocked:
//! `rdi` target, `rsi` operation, `rdx`/`r10` message, `r8`/`r9` reply
//! buffer, `r12`/`r13` lease table.

use abi::{lease, rc, FaultInfo, Lease, TaskId, MAX_LEASES, MAX_MESSAGE};
use kern::regions::Access;

use kern::rights::Need;

use crate::kernel::{copy_phys, deliver_notification, k, Kernel, Refusal};
use crate::task::{BufferKind, State};

/// The "sender" of a notification-only receive: matches no task.
const NOBODY: u16 = u16::MAX;
const LEASE_SIZE: u64 = core::mem::size_of::<Lease>() as u64;

fn usage(kk: &mut Kernel, task: usize, sysnum: abi::Sysnum) {
    let r = kk.tasks[task].regs;
    defmt::warn!(
        "refusing syscall {=u64} with args {=u64:#x} {=u64:#x} {=u64:#x} {=u64:#x} {=u64:#x} {=u64:#x} {=u64:#x} {=u64:#x}",
        sysnum as u64, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9, r.r12, r.r13
    );
    kk.fault(
        task,
        FaultInfo::SyscallUsage {
            sysnum: sysnum as u64,
        },
    );
}

/// `send`: deliver now if the target waits for us, else block.
pub fn send(me: usize) {
    let kk = k();
    let r = &kk.tasks[me].regs;
    let target = TaskId(r.rdi as u16);
    let (msg, msg_len, reply, reply_cap, leases, nleases) =
        (r.rdx, r.r10, r.r8, r.r9, r.r12, r.r13);
    if target == TaskId::KERNEL {
        return crate::kipc::handle(me);
    }
    if msg_len > MAX_MESSAGE as u64 {
        kk.tasks[me].regs.rax = rc::TOO_LONG as u64;
        return;
    }
    let task = &mut kk.tasks[me];
    let checked = (
        task.translate(BufferKind::Outgoing, msg, msg_len),
        task.translate(BufferKind::Reply, reply, reply_cap),
        nleases <= MAX_LEASES as u64
            && task
                .spans
                .translate(leases, nleases * LEASE_SIZE, Access::Read)
                .is_some(),
    );
    let (Some(msg_pa), Some(reply_pa), true) = checked else {
        return usage(kk, me, abi::Sysnum::Send);
    };
    let bufs = &mut kk.tasks[me].bufs;
    bufs.message = msg_pa;
    bufs.reply = reply_pa;
    let t = match kk.target(me, Need::Send, target, 0) {
        Err(Refusal::NoSuchTask) => return usage(kk, me, abi::Sysnum::Send),
        Err(Refusal::Code(code)) => {
            kk.tasks[me].regs.rax = code as u64;
            return;
        }
        Ok(t) => t,
    };
    if let State::InRecv { from, .. } = kk.tasks[t].state {
        if from.is_none_or(|f| f as usize == me) {
            deliver(kk, me, t);
            return;
        }
    }
    kk.set_state(me, State::InSend(t as u16));
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
    let s = &kk.tasks[sender].regs;
    let (op, msg_len, reply_cap, nleases) = (s.rsi, s.r10, s.r9, s.r13);
    let cap = kk.tasks[receiver].regs.rsi;
    // SAFETY: both buffers were translated and checked against the tasks'
    // maps when the syscalls were made (`IpcBuffers`), for these lengths;
    // distinct tasks never share copyable memory.
    unsafe {
        copy_phys(
            kk.tasks[sender].bufs.message,
            kk.tasks[receiver].bufs.receive,
            msg_len.min(cap),
        )
    };
    let id = kk.id_of(sender);
    let t = &mut kk.tasks[receiver];
    t.delivered = t.delivered.wrapping_add(1);
    let r = &mut t.regs;
    r.rax = rc::OK as u64;
    r.rdi = id.0 as u64;
    r.rsi = op as u32 as u64;
    r.rdx = msg_len;
    r.r10 = reply_cap;
    r.r8 = nleases;
    kk.set_state(sender, State::InReply(receiver as u16));
    kk.wake(receiver);
}

/// `recv`: notifications first, then the highest-priority waiting sender,
/// else block.
pub fn recv(me: usize) {
    receive(me, abi::Sysnum::Recv)
}

/// The receive half of `recv` and `reply_recv`, with the arguments in
/// `recv`'s registers; `sysnum` names the call in a usage fault.
fn receive(me: usize, sysnum: abi::Sysnum) {
    let kk = k();
    let r = &kk.tasks[me].regs;
    let (buf, cap, mask, from) = (r.rdi, r.rsi, r.rdx as u32, TaskId(r.r10 as u16));
    let Some(buf_pa) = kk.tasks[me].translate(BufferKind::Incoming, buf, cap) else {
        return usage(kk, me, sysnum);
    };
    kk.tasks[me].bufs.receive = buf_pa;
    let from = if from == TaskId::ANY {
        None
    } else if from == TaskId::KERNEL {
        // Notifications only: a closed receive from no task.
        Some(NOBODY)
    } else {
        match kk.check_peer(from) {
            None => return usage(kk, me, sysnum),
            Some(Err(dead)) => {
                kk.tasks[me].regs.rax = dead as u64;
                return;
            }
            Some(Ok(f)) => Some(f as u16),
        }
    };
    // An open receive is a serving loop (the supervisor's forgiveness).
    kk.tasks[me].served |= from.is_none();
    let fired = kk.tasks[me].pending & mask;
    if fired != 0 {
        kk.tasks[me].pending &= !fired;
        deliver_notification(&mut kk.tasks[me], fired);
        return;
    }
    // Nobody anywhere in `send`: the common case skips the walk.
    let waiting = if kk.sending == 0 {
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
    match waiting {
        Some(s) => deliver(kk, s, me),
        None => {
            kk.set_state(me, State::InRecv { mask, from });
            crate::ready::note(kk, me);
        }
    }
}

/// The client `id` if it is waiting for `me`'s reply, else the code to
/// return (a reply to a dead or stale client is dropped, as in Hubris).
fn waiting_client(kk: &Kernel, me: usize, id: TaskId) -> Option<Result<usize, u32>> {
    Some(match kk.check_peer(id)? {
        Err(dead) => Err(dead),
        Ok(c) if matches!(kk.tasks[c].state, State::InReply(x) if x as usize == me) => Ok(c),
        Ok(_) => Err(rc::NOT_WAITING),
    })
}

/// `reply`: copy the reply and wake the client.
pub fn reply(me: usize) {
    answer(me, abi::Sysnum::Reply);
}

/// `reply_recv`: `reply`, then `recv` (seL4's ReplyRecv): a server's loop
/// makes one syscall per message instead of two. The reply's arguments are
/// `reply`'s registers, the receive's follow in `r8, r9, r12, r13`.
pub fn reply_recv(me: usize) {
    if !answer(me, abi::Sysnum::ReplyRecv) {
        return;
    }
    let r = &mut k().tasks[me].regs;
    (r.rdi, r.rsi, r.rdx, r.r10) = (r.r8, r.r9, r.r12, r.r13);
    receive(me, abi::Sysnum::ReplyRecv)
}

/// The reply half of `reply` and `reply_recv`: copies the reply and wakes
/// the client. `false` if the caller was faulted for bad arguments.
fn answer(me: usize, sysnum: abi::Sysnum) -> bool {
    let kk = k();
    let r = &kk.tasks[me].regs;
    let (id, code, msg, len) = (TaskId(r.rdi as u16), r.rsi as u32, r.rdx, r.r10);
    let msg_pa = match kk.tasks[me].translate(BufferKind::Outgoing, msg, len) {
        Some(pa) if len <= MAX_MESSAGE as u64 => pa,
        _ => {
            usage(kk, me, sysnum);
            return false;
        }
    };
    let c = match waiting_client(kk, me, id) {
        None => {
            usage(kk, me, sysnum);
            return false;
        }
        Some(Err(_)) => return true,
        Some(Ok(c)) => c,
    };
    let client = &mut kk.tasks[c];
    // SAFETY: the client's reply buffer was checked for `r9` bytes when it
    // sent (`IpcBuffers`), ours just now; distinct tasks share no copyable
    // memory.
    unsafe { copy_phys(msg_pa, client.bufs.reply, len.min(client.regs.r9)) };
    client.regs.rax = code as u64;
    client.regs.rdi = len;
    kk.wake(c);
    true
}

/// `reply_fault`: the client's message was bad; the client is faulted.
pub fn reply_fault(me: usize) {
    let kk = k();
    let r = &kk.tasks[me].regs;
    let (id, reason) = (TaskId(r.rdi as u16), r.rsi as u32);
    match waiting_client(kk, me, id) {
        None => usage(kk, me, abi::Sysnum::ReplyFault),
        Some(Err(_)) => {}
        Some(Ok(c)) => kk.fault(
            c,
            FaultInfo::ReplyFault {
                server: me as u16,
                reason,
            },
        ),
    }
}

/// Looks up lease `index` of client `id` for server `me`.
fn lease_of(kk: &Kernel, me: usize, id: TaskId, index: u64) -> Result<(usize, Lease), u32> {
    let c = match waiting_client(kk, me, id) {
        None | Some(Err(_)) => return Err(rc::NOT_WAITING),
        Some(Ok(c)) => c,
    };
    let r = kk.tasks[c].regs;
    if index >= r.r13 {
        return Err(rc::BAD_LEASE);
    }
    // `index < r13 <= MAX_LEASES` and the table was checked at the send;
    // checked arithmetic all the same (no value from a task may panic).
    let at = index
        .checked_mul(LEASE_SIZE)
        .and_then(|off| r.r12.checked_add(off))
        .ok_or(rc::BAD_LEASE)?;
    kk.read_user::<Lease>(c, at)
        .map(|l| (c, l))
        .ok_or(rc::BAD_LEASE)
}

/// `borrow_read` (`write = false`) and `borrow_write` (`write = true`).
pub fn borrow(me: usize, write: bool) {
    let kk = k();
    let r = &kk.tasks[me].regs;
    let (id, index, offset, buf, len) = (TaskId(r.rdi as u16), r.rsi, r.rdx, r.r10, r.r8);
    let need = if write { Access::Read } else { Access::Write };
    if kk.tasks[me].spans.translate(buf, len, need).is_none() {
        let sysnum = if write {
            abi::Sysnum::BorrowWrite
        } else {
            abi::Sysnum::BorrowRead
        };
        return usage(kk, me, sysnum);
    }
    let result = lease_of(kk, me, id, index).and_then(|(c, l)| {
        let bit = if write { lease::WRITE } else { lease::READ };
        if l.attributes & bit == 0 {
            return Err(rc::LEASE_DENIED);
        }
        let end = offset.checked_add(len).ok_or(rc::LEASE_OUT_OF_RANGE)?;
        if end > l.length {
            return Err(rc::LEASE_OUT_OF_RANGE);
        }
        // The client chose `base`, the server `offset`: either may be
        // anything, so the sum may wrap.
        let at = l.base.checked_add(offset).ok_or(rc::LEASE_OUT_OF_RANGE)?;
        let ok = if write {
            kk.copy((me, buf), (c, at), len)
        } else {
            kk.copy((c, at), (me, buf), len)
        };
        ok.then_some(len).ok_or(rc::LEASE_OUT_OF_RANGE)
    });
    let regs = &mut kk.tasks[me].regs;
    match result {
        Ok(n) => {
            regs.rax = rc::OK as u64;
            regs.rdi = n;
        }
        Err(code) => {
            regs.rax = code as u64;
            regs.rdi = 0;
        }
    }
}

/// `borrow_info`: a lease's attributes and length.
pub fn borrow_info(me: usize) {
    let kk = k();
    let r = &kk.tasks[me].regs;
    let result = lease_of(kk, me, TaskId(r.rdi as u16), r.rsi);
    let regs = &mut kk.tasks[me].regs;
    match result {
        Ok((_, l)) => {
            regs.rax = rc::OK as u64;
            regs.rdi = l.attributes as u64;
            regs.rsi = l.length;
        }
        Err(code) => regs.rax = code as u64,
    }
}
