//! The syscall dispatcher: decode `rax`, run the call, reschedule.
//!
//! # What a task's values can reach (the audit)
//!
//! No register a task passes can panic the kernel (it is built with
//! overflow checks, so an unchecked `+` would be a panic) or make it touch
//! memory that is not the task's. Every value, by where it goes:
//! - **Pointers and lengths** (messages, reply and receive buffers, lease
//!   tables, log and panic text, borrow buffers) go through
//!   `SpanTable::translate`, which adds nothing: it subtracts the span's
//!   base and compares, so `base + len` past the top of memory is refused,
//!   not wrapped (`kern::regions` tests it). Message and log lengths are
//!   compared with `MAX_MESSAGE` before use; a lease count with
//!   `MAX_LEASES` before it multiplies.
//! - **Lease fields** (base, length, from the client's table) and **borrow
//!   offsets** (from the server): `base + offset` and `offset + len` are
//!   `checked_add`s answered with `LEASE_OUT_OF_RANGE`; the lease table's
//!   `index * 16` likewise (`ipc::lease_of`, `ipc::borrow`).
//! - **Task IDs**: the index is looked up with `get` (out of range: a usage
//!   fault), then the caller's rights, then the generation
//!   (`Kernel::target`); shifts by an index use `wrapping_shr`/`shl` on
//!   indices below 64 (`TASK_COUNT <= 64` is a compile-time assertion).
//! - **Copy lengths** are the minimum of the two checked buffers.
//! - **Timer deadlines, notification bits, IRQ masks, reply codes and
//!   operation numbers** are stored and compared, never used in
//!   arithmetic; counters (`delivered`, `refusals`, `fault_count`,
//!   `fault_after`) wrap or saturate by design.
//! - **Kernel IPC arguments** (supervisor only): indices go through
//!   `kipc::valid`; request and reply lengths are clamped to the kernel's
//!   buffers.
//!
//! The firmware is held to the same rule at boot: E820 sums saturate or are
//! checked (`setup::is_ram`, `MemEntry::end`), and the ACPI window is
//! bounded by the memory map (`kern::acpi_window`). The chaos task of
//! `apps/broker-tests.toml` makes 100 000 random syscalls against all of
//! this.

use abi::{rc, FaultInfo, Sysnum, TaskId, MAX_MESSAGE};

use kern::rights::Need;

use crate::kernel::{k, schedule, switch_to_woken, Refusal};
use crate::{fastpath, ipc, log};

/// Called by `syscall_entry` with the caller's registers saved, for every
/// syscall but the two below (which come here when their fast path
/// declines).
#[no_mangle]
#[inline(never)]
extern "C" fn syscall_from_user(number: u64) {
    general(k().current, number);
}

/// `send`, by `syscall_entry`: the fast path, else the general one.
#[no_mangle]
extern "C" fn syscall_send() {
    let kk = k();
    let me = kk.current;
    if !fastpath::send(kk, me) {
        syscall_from_user(Sysnum::Send as u64);
    }
}

/// `reply_recv`, by `syscall_entry`: the fast path, else the general one.
#[no_mangle]
extern "C" fn syscall_reply_recv() {
    let kk = k();
    let me = kk.current;
    if !fastpath::reply_recv(kk, me) {
        syscall_from_user(Sysnum::ReplyRecv as u64);
    }
}

/// Runs syscall `number` for task `me`, then reschedules.
#[inline(always)]
fn general(me: usize, number: u64) {
    match Sysnum::from_raw(number) {
        Some(Sysnum::Send) => ipc::send(me),
        Some(Sysnum::Recv) => ipc::recv(me),
        Some(Sysnum::Reply) => ipc::reply(me),
        Some(Sysnum::ReplyRecv) => ipc::reply_recv(me),
        Some(Sysnum::ReplyFault) => ipc::reply_fault(me),
        Some(Sysnum::BorrowRead) => ipc::borrow(me, false),
        Some(Sysnum::BorrowWrite) => ipc::borrow(me, true),
        Some(Sysnum::BorrowInfo) => ipc::borrow_info(me),
        Some(Sysnum::SetTimer) => set_timer(me),
        Some(Sysnum::GetTimer) => get_timer(me),
        Some(Sysnum::Post) => post(me),
        Some(Sysnum::IrqControl) => irq_control(me),
        Some(Sysnum::RefreshTaskId) => refresh_task_id(me),
        Some(Sysnum::Log) => log_frame(me),
        Some(Sysnum::Panic) => panic(me),
        None => k().fault(me, FaultInfo::SyscallUsage { sysnum: number }),
    }
    // The caller goes on unless it blocked or someone else woke up.
    let kk = k();
    if kk.resched {
        switch_to_woken();
    } else if !kk.tasks[me].is_runnable() {
        schedule();
    }
}

fn set_timer(me: usize) {
    let t = &mut k().tasks[me];
    let (enabled, deadline, bits) = (t.regs.rdi != 0, t.regs.rsi, t.regs.rdx as u32);
    t.timer = enabled.then_some((deadline, bits));
    t.regs.rax = rc::OK as u64;
}

fn get_timer(me: usize) {
    let kk = k();
    let now = kk.now_ms;
    let t = &mut kk.tasks[me];
    t.regs.rax = now;
    t.regs.rdi = t.timer.map_or(0, |(d, _)| d);
    t.regs.rsi = t.timer.is_some() as u64;
}

fn post(me: usize) {
    let kk = k();
    let (target, bits) = (TaskId(kk.tasks[me].regs.rdi as u16), kk.tasks[me].regs.rsi as u32);
    let code = match kk.target(me, Need::Post, target, bits) {
        Err(Refusal::NoSuchTask) => {
            return kk.fault(
                me,
                FaultInfo::SyscallUsage {
                    sysnum: Sysnum::Post as u64,
                },
            )
        }
        Err(Refusal::Code(code)) => code,
        Ok(t) => {
            kk.post(t, bits);
            rc::OK
        }
    };
    kk.tasks[me].regs.rax = code as u64;
}

fn irq_control(me: usize) {
    let kk = k();
    let t = &mut kk.tasks[me];
    let (bits, enable) = (t.regs.rdi as u32, t.regs.rsi != 0);
    t.regs.rax = rc::OK as u64;
    if let Some(d) = t.desc {
        for irq in d.irqs.iter().filter(|i| i.notification & bits != 0) {
            if irq.gsi != kern::desc::NO_GSI {
                crate::arch::ioapic::set_masked(irq.gsi, !enable);
            }
        }
    }
    if !enable {
        t.irqs_enabled &= !bits;
        return;
    }
    t.irqs_enabled |= bits;
    let missed = t.irqs_pending & bits;
    if missed != 0 {
        t.irqs_pending &= !missed;
        t.irqs_enabled &= !missed;
        kk.post(me, missed);
    }
}

fn refresh_task_id(me: usize) {
    let kk = k();
    let id = TaskId(kk.tasks[me].regs.rdi as u16);
    match kk.target(me, Need::Name, id, 0) {
        Err(Refusal::NoSuchTask) => kk.fault(
            me,
            FaultInfo::SyscallUsage {
                sysnum: Sysnum::RefreshTaskId as u64,
            },
        ),
        Err(Refusal::Code(code)) => {
            let r = &mut kk.tasks[me].regs;
            r.rax = code as u64;
            r.rdi = 0;
        }
        Ok(i) => {
            let current = kk.id_of(i);
            let r = &mut kk.tasks[me].regs;
            r.rax = rc::OK as u64;
            r.rdi = current.0 as u64;
        }
    }
}

fn log_frame(me: usize) {
    let kk = k();
    let (ptr, len) = (kk.tasks[me].regs.rdi, kk.tasks[me].regs.rsi);
    match kk
        .user_bytes(me, ptr, len)
        .filter(|_| len <= MAX_MESSAGE as u64)
    {
        Some(bytes) => {
            log::record(me as u8, kk.now_ms, bytes);
            kk.tasks[me].regs.rax = rc::OK as u64;
        }
        None => kk.fault(
            me,
            FaultInfo::SyscallUsage {
                sysnum: Sysnum::Log as u64,
            },
        ),
    }
}

fn panic(me: usize) {
    let kk = k();
    let (ptr, len) = (kk.tasks[me].regs.rdi, kk.tasks[me].regs.rsi);
    let text = kk
        .user_bytes(me, ptr, len.min(MAX_MESSAGE as u64))
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("(message unreadable)");
    let name = kk.tasks[me].desc.map_or("?", |d| d.name);
    defmt::error!("task {=str} panicked: {=str}", name, text);
    kk.fault(me, FaultInfo::Panic);
}
