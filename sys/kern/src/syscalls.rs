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

use crate::kernel::{k, schedule, switch_to_woken, Kernel, Refusal};
use crate::outcome::{SysResult, UserError};
use crate::{fastpath, ipc, log};

/// Called by `syscall_entry` with the caller's registers saved, for every
/// syscall but the two below (which come here when their fast path
/// declines).
#[no_mangle]
#[inline(never)]
extern "C" fn syscall_from_user(number: u64) {
    let kk = k();
    let me = kk.current;
    general(kk, me, number);
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

/// Runs syscall `number` for task `me`, answers its error (a code, or a
/// fault of the caller), then reschedules.
#[inline(always)]
fn general(kk: &mut Kernel, me: usize, number: u64) {
    let result = match Sysnum::from_raw(number) {
        Some(Sysnum::Send) => ipc::send(kk, me),
        Some(Sysnum::Recv) => ipc::recv(kk, me),
        Some(Sysnum::Reply) => ipc::reply(kk, me),
        Some(Sysnum::ReplyRecv) => ipc::reply_recv(kk, me),
        Some(Sysnum::ReplyFault) => ipc::reply_fault(kk, me),
        Some(Sysnum::BorrowRead) => ipc::borrow(kk, me, false),
        Some(Sysnum::BorrowWrite) => ipc::borrow(kk, me, true),
        Some(Sysnum::BorrowInfo) => ipc::borrow_info(kk, me),
        Some(Sysnum::SetTimer) => set_timer(kk, me),
        Some(Sysnum::GetTimer) => get_timer(kk, me),
        Some(Sysnum::Post) => post(kk, me),
        Some(Sysnum::IrqControl) => irq_control(kk, me),
        Some(Sysnum::RefreshTaskId) => refresh_task_id(kk, me),
        Some(Sysnum::Log) => log_frame(kk, me),
        Some(Sysnum::Panic) => panic(kk, me),
        None => Err(UserError::Fault(FaultInfo::SyscallUsage { sysnum: number })),
    };
    match result {
        Ok(()) => {}
        Err(UserError::Code(code)) => kk.tasks[me].regs.set_code(code),
        Err(UserError::Fault(info)) => {
            if let FaultInfo::SyscallUsage { sysnum } = info {
                let a = kk.tasks[me].regs.args();
                defmt::warn!(
                    "refusing syscall {=u64} with args {=u64:#x} {=u64:#x} {=u64:#x} {=u64:#x} {=u64:#x} {=u64:#x} {=u64:#x} {=u64:#x}",
                    sysnum, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
                );
            }
            kk.fault(me, info);
        }
    }
    // The caller goes on unless it blocked or someone else woke up.
    if kk.resched {
        switch_to_woken();
    } else if !kk.tasks[me].is_runnable() {
        schedule();
    }
}

fn set_timer(kk: &mut Kernel, me: usize) -> SysResult {
    let t = &mut kk.tasks[me];
    let (enabled, deadline, bits) = (t.regs.arg(0) != 0, t.regs.arg(1), t.regs.arg(2) as u32);
    t.timer = enabled.then_some((deadline, bits));
    t.regs.set_code(rc::OK);
    Ok(())
}

fn get_timer(kk: &mut Kernel, me: usize) -> SysResult {
    let now = kk.now_ms;
    let t = &mut kk.tasks[me];
    let deadline = t.timer.map_or(0, |(d, _)| d);
    t.regs.set_values(now, deadline, t.timer.is_some() as u64);
    Ok(())
}

/// The task `id` names for `me`'s `need` (a task that does not exist is a
/// usage fault of `sysnum`).
fn resolve(
    kk: &mut Kernel,
    me: usize,
    need: Need,
    id: TaskId,
    bits: u32,
    sysnum: Sysnum,
) -> Result<usize, UserError> {
    kk.target(me, need, id, bits).map_err(|r| match r {
        Refusal::NoSuchTask => UserError::usage(sysnum),
        Refusal::Code(code) => UserError::Code(code),
    })
}

fn post(kk: &mut Kernel, me: usize) -> SysResult {
    let r = &kk.tasks[me].regs;
    let (target, bits) = (TaskId(r.arg(0) as u16), r.arg(1) as u32);
    let t = resolve(kk, me, Need::Post, target, bits, Sysnum::Post)?;
    kk.post(t, bits);
    kk.tasks[me].regs.set_code(rc::OK);
    Ok(())
}

fn irq_control(kk: &mut Kernel, me: usize) -> SysResult {
    let t = &mut kk.tasks[me];
    let (bits, enable) = (t.regs.arg(0) as u32, t.regs.arg(1) != 0);
    t.regs.set_code(rc::OK);
    if let Some(d) = t.desc {
        for irq in d.irqs.iter().filter(|i| i.notification & bits != 0) {
            if irq.gsi != kern::desc::NO_GSI {
                crate::arch::ioapic::set_masked(irq.gsi, !enable);
            }
        }
    }
    if !enable {
        t.irqs_enabled &= !bits;
        return Ok(());
    }
    t.irqs_enabled |= bits;
    let missed = t.irqs_pending & bits;
    if missed != 0 {
        t.irqs_pending &= !missed;
        t.irqs_enabled &= !missed;
        kk.post(me, missed);
    }
    Ok(())
}

fn refresh_task_id(kk: &mut Kernel, me: usize) -> SysResult {
    let id = TaskId(kk.tasks[me].regs.arg(0) as u16);
    let i = resolve(kk, me, Need::Name, id, 0, Sysnum::RefreshTaskId)?;
    let current = kk.id_of(i);
    kk.tasks[me].regs.set_ok(current.0 as u64, 0);
    Ok(())
}

fn log_frame(kk: &mut Kernel, me: usize) -> SysResult {
    let (ptr, len) = (kk.tasks[me].regs.arg(0), kk.tasks[me].regs.arg(1));
    let bytes = kk
        .user_bytes(me, ptr, len)
        .filter(|_| len <= MAX_MESSAGE as u64)
        .ok_or(UserError::usage(Sysnum::Log))?;
    log::record(me as u8, kk.now_ms, bytes);
    kk.tasks[me].regs.set_code(rc::OK);
    Ok(())
}

fn panic(kk: &mut Kernel, me: usize) -> SysResult {
    let (ptr, len) = (kk.tasks[me].regs.arg(0), kk.tasks[me].regs.arg(1));
    let text = kk
        .user_bytes(me, ptr, len.min(MAX_MESSAGE as u64))
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("(message unreadable)");
    let name = kk.tasks[me].desc.map_or("?", |d| d.name);
    defmt::error!("task {=str} panicked: {=str}", name, text);
    Err(UserError::Fault(FaultInfo::Panic))
}
