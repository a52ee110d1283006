//! One safe function per syscall. Register use follows `abi`'s crate doc.

use abi::{Lease, RecvMessage, ReplyFaultReason, Sysnum, TaskId};
use core::arch::asm;

/// Raw results of a syscall: `rax, rdi, rsi, rdx, r10, r8`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Regs(pub [u64; 6]);

/// Makes a syscall with up to eight arguments.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn syscall(n: Sysnum, a: [u64; 8]) -> Regs {
    let (mut rax, mut rdi, mut rsi, mut rdx, mut r10, mut r8) =
        (n as u64, a[0], a[1], a[2], a[3], a[4]);
    // SAFETY: the kernel preserves every register but the results and the
    // ones `syscall` itself clobbers (rcx, r11); it touches only memory the
    // arguments name, after checking that it belongs to this task.
    unsafe {
        asm!(
            "syscall",
            in("r12") a[6],
            in("r13") a[7],
            inout("rax") rax,
            inout("rdi") rdi,
            inout("rsi") rsi,
            inout("rdx") rdx,
            inout("r10") r10,
            inout("r8") r8,
            in("r9") a[5],
            out("rcx") _,
            out("r11") _,
        );
    }
    Regs([rax, rdi, rsi, rdx, r10, r8])
}

/// Sends `msg` as operation `op` to `target` and waits for the reply.
/// Returns the response code and the reply's length (which may exceed
/// `reply.len()`: only `reply.len()` bytes are copied).
pub fn sys_send(
    target: TaskId,
    op: u32,
    msg: &[u8],
    reply: &mut [u8],
    leases: &[Lease],
) -> (u32, usize) {
    let r = syscall(
        Sysnum::Send,
        [
            target.0 as u64,
            op as u64,
            msg.as_ptr() as u64,
            msg.len() as u64,
            reply.as_mut_ptr() as u64,
            reply.len() as u64,
            leases.as_ptr() as u64,
            leases.len() as u64,
        ],
    );
    (r.0[0] as u32, r.0[1] as usize)
}

/// Receives a message (from `from`, or anyone with [`TaskId::ANY`]) or the
/// notifications in `notification_mask`. `Err(dead code)` if `from` died.
pub fn sys_recv(buf: &mut [u8], notification_mask: u32, from: TaskId) -> Result<RecvMessage, u32> {
    let r = syscall(
        Sysnum::Recv,
        [
            buf.as_mut_ptr() as u64,
            buf.len() as u64,
            notification_mask as u64,
            from.0 as u64,
            0,
            0,
            0,
            0,
        ],
    );
    received(r)
}

/// Decodes `recv`'s results.
#[inline(always)]
fn received(r: Regs) -> Result<RecvMessage, u32> {
    let rc = r.0[0] as u32;
    if rc != abi::rc::OK {
        return Err(rc);
    }
    Ok(RecvMessage {
        sender: TaskId(r.0[1] as u16),
        operation: r.0[2] as u32,
        message_len: r.0[3] as usize,
        reply_capacity: r.0[4] as usize,
        lease_count: r.0[5] as usize,
    })
}

/// Replies to `sender` (as [`sys_reply`]) and receives the next message (as
/// [`sys_recv`]) in one syscall: a server's loop.
pub fn sys_reply_recv(
    sender: TaskId,
    rc: u32,
    msg: &[u8],
    buf: &mut [u8],
    notification_mask: u32,
    from: TaskId,
) -> Result<RecvMessage, u32> {
    received(syscall(
        Sysnum::ReplyRecv,
        [
            sender.0 as u64,
            rc as u64,
            msg.as_ptr() as u64,
            msg.len() as u64,
            buf.as_mut_ptr() as u64,
            buf.len() as u64,
            notification_mask as u64,
            from.0 as u64,
        ],
    ))
}

/// Waits for any of the notification bits in `mask` (a closed receive from
/// the kernel) and returns the bits that fired.
pub fn sys_recv_notification(mask: u32) -> u32 {
    match sys_recv(&mut [], mask, TaskId::KERNEL) {
        Ok(m) => m.operation,
        Err(_) => 0,
    }
}

/// Replies to `sender` with response code `rc` and `msg`.
pub fn sys_reply(sender: TaskId, rc: u32, msg: &[u8]) {
    syscall(
        Sysnum::Reply,
        [
            sender.0 as u64,
            rc as u64,
            msg.as_ptr() as u64,
            msg.len() as u64,
            0,
            0,
            0,
            0,
        ],
    );
}

/// Refuses `sender`'s message: the kernel faults the sender.
pub fn sys_reply_fault(sender: TaskId, reason: ReplyFaultReason) {
    syscall(
        Sysnum::ReplyFault,
        [sender.0 as u64, reason as u64, 0, 0, 0, 0, 0, 0],
    );
}

fn borrow(
    n: Sysnum,
    sender: TaskId,
    lease: usize,
    offset: usize,
    ptr: u64,
    len: usize,
) -> Result<usize, u32> {
    let r = syscall(
        n,
        [
            sender.0 as u64,
            lease as u64,
            offset as u64,
            ptr,
            len as u64,
            0,
            0,
            0,
        ],
    );
    match r.0[0] as u32 {
        abi::rc::OK => Ok(r.0[1] as usize),
        code => Err(code),
    }
}

/// Copies from `sender`'s lease `lease` at `offset` into `dst`.
pub fn sys_borrow_read(
    sender: TaskId,
    lease: usize,
    offset: usize,
    dst: &mut [u8],
) -> Result<usize, u32> {
    borrow(
        Sysnum::BorrowRead,
        sender,
        lease,
        offset,
        dst.as_mut_ptr() as u64,
        dst.len(),
    )
}

/// Copies `src` into `sender`'s lease `lease` at `offset`.
pub fn sys_borrow_write(
    sender: TaskId,
    lease: usize,
    offset: usize,
    src: &[u8],
) -> Result<usize, u32> {
    borrow(
        Sysnum::BorrowWrite,
        sender,
        lease,
        offset,
        src.as_ptr() as u64,
        src.len(),
    )
}

/// A lease's attributes and length.
pub fn sys_borrow_info(sender: TaskId, lease: usize) -> Result<(u32, usize), u32> {
    let r = syscall(
        Sysnum::BorrowInfo,
        [sender.0 as u64, lease as u64, 0, 0, 0, 0, 0, 0],
    );
    match r.0[0] as u32 {
        abi::rc::OK => Ok((r.0[1] as u32, r.0[2] as usize)),
        code => Err(code),
    }
}

/// Arms (or with `None` disarms) the timer: at `deadline` ms since boot the
/// kernel posts `bits`.
pub fn sys_set_timer(deadline: Option<u64>, bits: u32) {
    syscall(
        Sysnum::SetTimer,
        [
            deadline.is_some() as u64,
            deadline.unwrap_or(0),
            bits as u64,
            0,
            0,
            0,
            0,
            0,
        ],
    );
}

/// Milliseconds since boot.
pub fn sys_get_timer() -> u64 {
    syscall(Sysnum::GetTimer, [0; 8]).0[0]
}

/// Posts notification `bits` to `target`; `Err(dead code)` if stale.
pub fn sys_post(target: TaskId, bits: u32) -> Result<(), u32> {
    match syscall(
        Sysnum::Post,
        [target.0 as u64, bits as u64, 0, 0, 0, 0, 0, 0],
    )
    .0[0] as u32
    {
        abi::rc::OK => Ok(()),
        code => Err(code),
    }
}

/// Enables (or disables) the interrupts behind notification `bits`.
pub fn sys_irq_control(bits: u32, enable: bool) {
    syscall(
        Sysnum::IrqControl,
        [bits as u64, enable as u64, 0, 0, 0, 0, 0, 0],
    );
}

/// The current ID (generation) of `id`'s task; `Err(abi::rc::NO_RIGHT)` if
/// this task may neither send nor post to it.
pub fn sys_refresh_task_id(id: TaskId) -> Result<TaskId, u32> {
    let r = syscall(Sysnum::RefreshTaskId, [id.0 as u64, 0, 0, 0, 0, 0, 0, 0]);
    match r.0[0] as u32 {
        abi::rc::OK => Ok(TaskId(r.0[1] as u16)),
        code => Err(code),
    }
}

/// Hands one encoded defmt frame to the kernel's log stream.
pub fn sys_log(frame: &[u8]) {
    syscall(
        Sysnum::Log,
        [frame.as_ptr() as u64, frame.len() as u64, 0, 0, 0, 0, 0, 0],
    );
}

/// Ends the task with a panic message.
pub fn sys_panic(msg: &[u8]) -> ! {
    syscall(
        Sysnum::Panic,
        [msg.as_ptr() as u64, msg.len() as u64, 0, 0, 0, 0, 0, 0],
    );
    // The kernel never returns from `panic`; if it did, this is a fault too.
    loop {
        // SAFETY: `ud2` faults the task, which is what a panic must do.
        unsafe { asm!("ud2") }
    }
}

/// Sends a kernel IPC (see `abi::KipcOp` for who may send which).
pub fn sys_kipc(op: abi::KipcOp, arg: &[u8], reply: &mut [u8]) -> (u32, usize) {
    sys_send(TaskId::KERNEL, op as u32, arg, reply, &[])
}

/// Where this task holds device `device`'s registers (its index in
/// app.toml `[devices]`): `(address, bytes)`, or `None` if it does not hold
/// them now. The broker grants and revokes them as the device moves, so a
/// driver asks again before every use.
pub fn sys_register_window(device: u16) -> Option<(u64, u64)> {
    let mut reply = [0u8; 16];
    match sys_kipc(
        abi::KipcOp::RegisterWindow,
        &device.to_le_bytes(),
        &mut reply,
    ) {
        (abi::rc::OK, 16) => {
            let word = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&reply[i..i + 8]);
                u64::from_le_bytes(b)
            };
            Some((word(0), word(8)))
        }
        _ => None,
    }
}

/// Which task holds device `device`'s registers, read from the page
/// tables, or `None`.
pub fn sys_register_holder(device: u16) -> Option<u16> {
    let mut reply = [0u8; 2];
    match sys_kipc(
        abi::KipcOp::RegisterHolder,
        &device.to_le_bytes(),
        &mut reply,
    ) {
        (abi::rc::OK, 2) => Some(u16::from_le_bytes(reply)).filter(|h| *h != abi::NO_HOLDER),
        _ => None,
    }
}
