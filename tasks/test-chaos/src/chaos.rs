//! The chaos task's run: random syscalls, targeted attacks, calls meant to
//! fault it, then its report to the runner.
//!
//! Two things a reader must know. Random calls use wild pointers only where
//! the kernel must not touch them (a zero length, a lease base the server
//! borrows through), so the random phase itself should never fault the
//! task; the calls that must fault it come after, one per life. And every
//! answer the kernel's contract fixes (no right, access, too long, lease
//! out of range) is checked: one that differs counts as unexpected, and the
//! runner fails the scenario on any.

use abi::{lease, rc, Lease, Sysnum, TaskId, MAX_LEASES, MAX_MESSAGE};
use idl_runtime::{ClientError, KernelTransport};
use idl_types::TaskIndex;
use task_supervisor::supervisor;
use task_test_chaos::{Rng, Tally, BORROW, BORROW_REQUEST, ECHO};
use userlib::*;

use crate::config;
use crate::raw::syscall;

/// Random syscalls to make before the calls that fault the task.
pub const CALLS: u32 = 100_000;
/// A round of targeted attacks every this many random calls.
const ATTACK_EVERY: u32 = 500;
/// "CHAOS v1" in the persist region: the state there is ours.
const MAGIC: u64 = 0x3176_2053_4F41_4843;
/// Each task's virtual window (xtask's layout).
const TASK_WINDOW: u64 = 0x1000_0000;
/// Kernel text, identity-mapped supervisor-only.
const KERNEL: u64 = 0x10_0000;
/// The local APIC's page.
const LAPIC: u64 = 0xFEE0_0000;
/// The IOMMU's registers (QEMU's DRHD).
const VTD: u64 = 0xFED9_0000;
/// A non-canonical address.
const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;
/// Unexpected answers logged in full (the rest are only counted).
const LOGGED_SURPRISES: u32 = 8;
/// The runner's report: total, refused, unexpected, fatal calls, seed.
const REPORT_LEN: usize = 24;

#[derive(Copy, Clone, PartialEq, Eq)]
#[repr(u32)]
enum Phase {
    Waiting = 0,
    Random = 1,
    Fatal = 2,
    Report = 3,
}

/// Progress, in the persist region: it survives the task's restarts.
#[repr(C)]
struct State {
    magic: u64,
    seed: u64,
    rng: u64,
    done: u32,
    phase: u32,
    next_fatal: u32,
    unexpected: u32,
    tally: Tally,
}

/// Buffers the task names to the kernel (its own memory).
const BUF: usize = 2 * MAX_MESSAGE;
static mut MESSAGE: [u8; BUF] = [0; BUF];
static mut REPLY: [u8; BUF] = [0; BUF];
static mut LEASES: [Lease; MAX_LEASES] = [Lease {
    attributes: 0,
    reserved: 0,
    base: 0,
    length: 0,
}; MAX_LEASES];

fn state() -> &'static mut State {
    let (va, size) = (
        config::regions::CHAOS_STATE.vaddr,
        config::regions::CHAOS_STATE.size,
    );
    const _: () = assert!(core::mem::size_of::<State>() <= 4096);
    debug_assert!(size >= 4096);
    // SAFETY: the task's own persist region, page-aligned, writable, at
    // least a page; only this task touches it, through this one reference.
    unsafe { &mut *(va as *mut State) }
}

fn buf(which: *mut [u8; BUF]) -> u64 {
    which as u64
}

/// The calls this task's peers and the kernel answer, for the checks.
struct Ctx {
    me: usize,
    echo: usize,
    supervisor: usize,
    runner: usize,
    /// This task's window: other tasks' are whole windows away.
    window: u64,
}

impl Ctx {
    fn is_slot(&self, i: usize) -> bool {
        i == self.echo || i == self.supervisor || i == self.runner
    }

    /// A pointer: own buffers, other windows, the kernel, MMIO,
    /// non-canonical, the top of memory, null.
    fn wild(&self, rng: &mut Rng) -> u64 {
        let off = rng.below(0x1_0000);
        match rng.below(9) {
            0 => buf(&raw mut MESSAGE),
            // Its own text: mapped, but read-only to the kernel too.
            1 => self.window.wrapping_add(off & 0xfff),
            2 => self.window.wrapping_add(TASK_WINDOW * (1 + rng.below(8))),
            3 => self.window.wrapping_sub(TASK_WINDOW * (1 + rng.below(8))),
            4 => KERNEL + off,
            5 => LAPIC + (off & 0xfff),
            6 => VTD + (off & 0xfff),
            7 => NON_CANONICAL | rng.next_u64() >> 1,
            _ => u64::MAX - off,
        }
    }

    /// A task ID in the image's index range, with a random generation.
    fn id(&self, rng: &mut Rng) -> TaskId {
        let index = rng.below(config::TASK_COUNT as u64) as u16;
        let generation = if rng.chance(50) {
            0
        } else {
            rng.below(64) as u8
        };
        TaskId::new(index, abi::Generation::new(generation))
    }
}

pub fn run() -> ! {
    let st = state();
    if st.magic != MAGIC {
        *st = State {
            magic: MAGIC,
            seed: env!("CHAOS_SEED").parse().unwrap_or(1),
            rng: 0,
            done: 0,
            phase: Phase::Waiting as u32,
            next_fatal: 0,
            unexpected: 0,
            tally: Tally::default(),
        };
        st.rng = Rng::new(st.seed).0;
    }
    defmt::info!(
        "CHAOS seed {=u64:#x} (replay: CUSTODY_CHAOS_SEED={=u64:#x}); {=u32} calls done",
        st.seed,
        st.seed,
        st.done
    );
    let va = config::regions::CHAOS_STATE.vaddr;
    let ctx = Ctx {
        me: usize::from(config::TASK_INDEX),
        echo: config::slots::ECHO.index(),
        supervisor: config::slots::SUPERVISOR.index(),
        runner: config::slots::RUNNER.index(),
        window: va & !(TASK_WINDOW - 1),
    };
    if st.phase == Phase::Waiting as u32 {
        sys_recv_notification(config::notifications::GO);
        st.phase = Phase::Random as u32;
    }
    if st.phase == Phase::Random as u32 {
        while st.done < CALLS {
            let mut rng = Rng(st.rng);
            if st.done.is_multiple_of(ATTACK_EVERY) {
                attacks(st, &ctx);
            }
            random_call(st, &ctx, &mut rng);
            st.rng = rng.0;
            st.done += 1;
        }
        st.phase = Phase::Fatal as u32;
    }
    if st.phase == Phase::Fatal as u32 {
        while let Some(call) = FATAL.get(st.next_fatal as usize) {
            // Recorded before the call: the next life goes on after it.
            st.next_fatal += 1;
            st.tally.count(call.0 as usize, true);
            (call.1)(&ctx);
            surprise(
                st,
                call.0,
                rc::OK,
                "a call meant to fault the task returned",
            );
        }
        st.phase = Phase::Report as u32;
    }
    report(st)
}

/// Counts an answer that differs from the kernel's contract.
fn surprise(st: &mut State, kind: u64, code: u32, what: &str) {
    st.unexpected = st.unexpected.saturating_add(1);
    if st.unexpected <= LOGGED_SURPRISES {
        defmt::error!(
            "CHAOS unexpected answer to syscall {=u64}: {=u32:#x}: {=str}",
            kind,
            code,
            what
        );
    }
}

fn expect(st: &mut State, kind: Sysnum, code: u32, want: u32, what: &str) {
    if code != want {
        surprise(st, kind as u64, code, what);
    }
}

/// Posts this task its own `poke` bit, so a receive that follows returns.
fn poke(st: &mut State, ctx: &Ctx) {
    let me = TaskId::new(ctx.me as u16, current_generation(ctx));
    let r = syscall(
        Sysnum::Post as u64,
        [
            me.0 as u64,
            config::notifications::POKE as u64,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
    );
    st.tally.count(Sysnum::Post as usize, r[0] as u32 != rc::OK);
}

fn current_generation(ctx: &Ctx) -> abi::Generation {
    let me = TaskId::new(ctx.me as u16, abi::Generation::new(0));
    sys_refresh_task_id(me).map_or(abi::Generation::new(0), |id| id.generation())
}

/// A pointer and a length the kernel may be given: the task's own buffer
/// with a length that fits, or anything at all with length 0.
fn buffer(rng: &mut Rng, ctx: &Ctx, own: *mut [u8; BUF], max: u64) -> (u64, u64) {
    if rng.chance(20) {
        (ctx.wild(rng), 0)
    } else {
        (buf(own), rng.below(max + 1))
    }
}

/// Fills the lease table with hostile leases; the count to pass.
fn leases(rng: &mut Rng, ctx: &Ctx) -> u64 {
    let n = rng.below(MAX_LEASES as u64 + 1);
    for i in 0..n as usize {
        let l = Lease {
            attributes: rng.below(4) as u32,
            reserved: if rng.chance(10) {
                rng.next_u64() as u32
            } else {
                0
            },
            base: if rng.chance(30) {
                buf(&raw mut REPLY) + rng.below(BUF as u64)
            } else {
                ctx.wild(rng)
            },
            length: match rng.below(3) {
                0 => rng.below(64),
                1 => rng.below(BUF as u64),
                _ => rng.next_u64(),
            },
        };
        // SAFETY: this task's own static, not borrowed elsewhere.
        unsafe { (&raw mut LEASES).cast::<Lease>().add(i).write(l) };
    }
    n
}

/// One random syscall the task should survive.
fn random_call(st: &mut State, ctx: &Ctx, rng: &mut Rng) {
    use Sysnum::*;
    const KINDS: [Sysnum; 16] = [
        Send,
        Send,
        Send,
        Send,
        Recv,
        Reply,
        SetTimer,
        BorrowRead,
        BorrowWrite,
        BorrowInfo,
        IrqControl,
        GetTimer,
        RefreshTaskId,
        Post,
        ReplyFault,
        ReplyRecv,
    ];
    let kind = rng.pick(&KINDS).unwrap_or(GetTimer);
    let max = BUF as u64;
    let code = match kind {
        Send => return random_send(st, ctx, rng),
        Recv | ReplyRecv => {
            poke(st, ctx);
            let from = match rng.below(4) {
                0 => TaskId::KERNEL,
                1 => ctx.id(rng),
                _ => TaskId::ANY,
            };
            let mask = rng.next_u64() as u32 | config::notifications::POKE;
            let (b, cap) = buffer(rng, ctx, &raw mut REPLY, max);
            let r = if kind == Recv {
                syscall(
                    Recv as u64,
                    [b, cap, mask as u64, from.0 as u64, 0, 0, 0, 0],
                )
            } else {
                let (m, len) = buffer(rng, ctx, &raw mut MESSAGE, MAX_MESSAGE as u64);
                let to = ctx.id(rng);
                syscall(
                    ReplyRecv as u64,
                    [
                        to.0 as u64,
                        rng.next_u64(),
                        m,
                        len,
                        b,
                        cap,
                        mask as u64,
                        from.0 as u64,
                    ],
                )
            };
            r[0] as u32
        }
        Reply => {
            let (m, len) = buffer(rng, ctx, &raw mut MESSAGE, MAX_MESSAGE as u64);
            syscall(
                Reply as u64,
                [ctx.id(rng).0 as u64, rng.next_u64(), m, len, 0, 0, 0, 0],
            );
            rc::OK
        }
        ReplyFault => {
            syscall(
                ReplyFault as u64,
                [ctx.id(rng).0 as u64, rng.next_u64(), 0, 0, 0, 0, 0, 0],
            );
            rc::OK
        }
        SetTimer => {
            let deadline = if rng.chance(50) {
                sys_get_timer().wrapping_add(rng.below(50))
            } else {
                rng.next_u64()
            };
            // Bits only the task's own poke: a timer must not wake it for
            // `go` or the report's wait.
            let bits = config::notifications::POKE as u64;
            syscall(
                SetTimer as u64,
                [rng.below(2), deadline, bits, 0, 0, 0, 0, 0],
            )[0] as u32
        }
        BorrowRead | BorrowWrite => {
            let (b, len) = buffer(rng, ctx, &raw mut REPLY, max);
            let r = syscall(
                kind as u64,
                [
                    ctx.id(rng).0 as u64,
                    rng.below(8),
                    rng.next_u64(),
                    b,
                    len,
                    0,
                    0,
                    0,
                ],
            );
            r[0] as u32
        }
        BorrowInfo => syscall(
            BorrowInfo as u64,
            [ctx.id(rng).0 as u64, rng.next_u64(), 0, 0, 0, 0, 0, 0],
        )[0] as u32,
        IrqControl => syscall(
            IrqControl as u64,
            [rng.next_u64(), rng.below(2), 0, 0, 0, 0, 0, 0],
        )[0] as u32,
        GetTimer => {
            syscall(
                GetTimer as u64,
                [rng.next_u64(), rng.next_u64(), 0, 0, 0, 0, 0, 0],
            );
            rc::OK
        }
        RefreshTaskId => {
            let id = ctx.id(rng);
            let code = syscall(RefreshTaskId as u64, [id.0 as u64, 0, 0, 0, 0, 0, 0, 0])[0] as u32;
            let allowed = ctx.is_slot(id.index()) || id.index() == ctx.me;
            let want = if allowed { rc::OK } else { rc::NO_RIGHT };
            expect(
                st,
                RefreshTaskId,
                code,
                want,
                "look-up of a task with(out) a right",
            );
            code
        }
        Post => {
            let id = ctx.id(rng);
            let bits = rng.next_u64() as u32;
            let code = syscall(Post as u64, [id.0 as u64, bits as u64, 0, 0, 0, 0, 0, 0])[0] as u32;
            if id.index() != ctx.me {
                expect(
                    st,
                    Post,
                    code,
                    rc::NO_RIGHT,
                    "a post without a notify right",
                );
            }
            code
        }
        _ => rc::OK,
    };
    st.tally.count(kind as usize, code != rc::OK);
}

/// A random send: to the echo server (random op, lengths, leases and
/// generation), to a task without a slot, or to the kernel.
fn random_send(st: &mut State, ctx: &Ctx, rng: &mut Rng) {
    let (m, len) = if rng.chance(5) {
        // Over the limit: refused before anything is read.
        (
            buf(&raw mut MESSAGE),
            MAX_MESSAGE as u64 + 1 + rng.below(MAX_MESSAGE as u64),
        )
    } else {
        buffer(rng, ctx, &raw mut MESSAGE, MAX_MESSAGE as u64)
    };
    let (r, cap) = buffer(rng, ctx, &raw mut REPLY, BUF as u64);
    let n = leases(rng, ctx);
    let table = if n == 0 && rng.chance(50) {
        ctx.wild(rng)
    } else {
        &raw mut LEASES as u64
    };
    let (target, op) = match rng.below(10) {
        0..=4 => {
            let echo = TaskId::new(ctx.echo as u16, abi::Generation::new(0));
            let echo = sys_refresh_task_id(echo).unwrap_or(echo);
            let echo = if rng.chance(10) {
                echo.with_generation(abi::Generation::new(rng.below(64) as u8))
            } else {
                echo
            };
            if len as usize >= BORROW_REQUEST && rng.chance(50) {
                let mut req = [0u8; BORROW_REQUEST];
                req[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
                req[8..12].copy_from_slice(&(rng.below(BUF as u64) as u32).to_le_bytes());
                req[12] = rng.below(2) as u8;
                // SAFETY: the task's own static, at least BORROW_REQUEST
                // bytes, not borrowed elsewhere.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        req.as_ptr(),
                        (&raw mut MESSAGE).cast::<u8>(),
                        BORROW_REQUEST,
                    )
                };
                (echo, BORROW)
            } else {
                (
                    echo,
                    if rng.chance(90) {
                        ECHO
                    } else {
                        rng.next_u64() as u32
                    },
                )
            }
        }
        5 => (TaskId::KERNEL, rng.next_u64() as u32),
        _ => {
            let mut id = ctx.id(rng);
            if ctx.is_slot(id.index()) {
                // A slot other than echo answers only what it serves.
                id = TaskId::new(ctx.me as u16, id.generation());
            }
            (id, rng.next_u64() as u32)
        }
    };
    let out = syscall(
        Sysnum::Send as u64,
        [target.0 as u64, op as u64, m, len, r, cap, table, n],
    );
    let code = out[0] as u32;
    let too_long = len > MAX_MESSAGE as u64;
    if target == TaskId::KERNEL {
        expect(st, Sysnum::Send, code, rc::ACCESS, "kernel IPC from a task");
    } else if too_long {
        expect(
            st,
            Sysnum::Send,
            code,
            rc::TOO_LONG,
            "a message over the limit",
        );
    } else if target.index() != ctx.echo {
        expect(
            st,
            Sysnum::Send,
            code,
            rc::NO_RIGHT,
            "a send outside the task slots",
        );
    } else if code != rc::OK && rc::dead_generation(code).is_none() {
        surprise(
            st,
            Sysnum::Send as u64,
            code,
            "the echo server did not answer",
        );
    }
    st.tally.count(Sysnum::Send as usize, code != rc::OK);
}

/// The targeted attacks of one round: the supervisor's powers, calls and
/// posts outside its rights, leases that wrap or point at the kernel.
fn attacks(st: &mut State, ctx: &Ctx) {
    let mut sup = supervisor::Client::new(KernelTransport::new(&[]), config::slots::SUPERVISOR);
    let victim = TaskIndex((ctx.me as u16 + 1) % config::TASK_COUNT as u16);
    let refused = [
        matches!(
            sup.shutdown(abi::DEBUG_EXIT_FAILURE),
            Err(ClientError::AccessDenied)
        ),
        matches!(sup.fault_task(victim), Err(ClientError::AccessDenied)),
        matches!(sup.arm_fault(victim, 1), Err(ClientError::AccessDenied)),
        matches!(sup.task_report(victim), Err(ClientError::AccessDenied)),
        matches!(sup.death_after(0), Err(ClientError::AccessDenied)),
    ];
    for was_refused in refused {
        st.tally.count(Sysnum::Send as usize, true);
        if !was_refused {
            surprise(
                st,
                Sysnum::Send as u64,
                0,
                "the supervisor served a power to a non-operator",
            );
        }
    }
    // Every task it has no slot for, by its current index and generation 0.
    for i in (0..config::TASK_COUNT).filter(|&i| !ctx.is_slot(i)) {
        let id = TaskId::new(i as u16, abi::Generation::new(0));
        let (code, _) = sys_send(id, 1, b"chaos", &mut [], &[]);
        st.tally.count(Sysnum::Send as usize, true);
        expect(
            st,
            Sysnum::Send,
            code,
            rc::NO_RIGHT,
            "a call outside the task slots",
        );
        let code = sys_post(id, u32::MAX).err().unwrap_or(rc::OK);
        st.tally.count(Sysnum::Post as usize, true);
        if i != ctx.me {
            expect(
                st,
                Sysnum::Post,
                code,
                rc::NO_RIGHT,
                "a post without a notify right",
            );
        }
    }
    // Leases whose base + offset wraps, or that lie in the kernel.
    for (base, offset) in [(u64::MAX - 0xF, 0x10u64), (KERNEL, 0), (NON_CANONICAL, 8)] {
        let echo = TaskId::new(ctx.echo as u16, abi::Generation::new(0));
        let echo = sys_refresh_task_id(echo).unwrap_or(echo);
        let l = [Lease {
            attributes: lease::READ | lease::WRITE,
            reserved: 0,
            base,
            length: 0x100,
        }];
        let mut msg = [0u8; BORROW_REQUEST];
        msg[..8].copy_from_slice(&offset.to_le_bytes());
        msg[8..12].copy_from_slice(&16u32.to_le_bytes());
        let mut reply = [0u8; 4];
        let (code, len) = sys_send(echo, BORROW, &msg, &mut reply, &l);
        st.tally.count(Sysnum::Send as usize, true);
        let borrow = u32::from_le_bytes(reply);
        if code != rc::OK || len != 4 || borrow != rc::LEASE_OUT_OF_RANGE {
            surprise(
                st,
                Sysnum::BorrowRead as u64,
                borrow,
                "a hostile lease was borrowed",
            );
        }
    }
}

/// A call that must fault the task (a usage fault).
type Fatal = (u64, fn(&Ctx));

/// One per life; each names what it hands the kernel.
const FATAL: [Fatal; 8] = [
    (Sysnum::Send as u64, |c| {
        // A message in kernel memory.
        syscall(0, [c.echo as u64, ECHO as u64, KERNEL, 16, 0, 0, 0, 0]);
    }),
    (Sysnum::Send as u64, |c| {
        // A reply buffer on the local APIC.
        let m = buf(&raw mut MESSAGE);
        syscall(0, [c.echo as u64, ECHO as u64, m, 4, LAPIC, 16, 0, 0]);
    }),
    (Sysnum::Recv as u64, |_| {
        // A receive buffer at a non-canonical address.
        syscall(1, [NON_CANONICAL, 16, 0, TaskId::ANY.0 as u64, 0, 0, 0, 0]);
    }),
    (Sysnum::Send as u64, |c| {
        // A message in another task's window.
        syscall(
            0,
            [
                c.echo as u64,
                ECHO as u64,
                c.window + TASK_WINDOW,
                16,
                0,
                0,
                0,
                0,
            ],
        );
    }),
    (Sysnum::Send as u64, |_| {
        // A task index no task has.
        syscall(0, [1000, ECHO as u64, 0, 0, 0, 0, 0, 0]);
    }),
    (15, |_| {
        // A syscall number no syscall has.
        syscall(0x99, [0; 8]);
    }),
    (Sysnum::Log as u64, |_| {
        // A log frame over the limit.
        syscall(
            Sysnum::Log as u64,
            [buf(&raw mut MESSAGE), BUF as u64, 0, 0, 0, 0, 0, 0],
        );
    }),
    (Sysnum::Panic as u64, |_| {
        syscall(
            Sysnum::Panic as u64,
            [buf(&raw mut MESSAGE), 0, 0, 0, 0, 0, 0, 0],
        );
    }),
];

/// Logs the counts, tells the runner, and waits for good.
fn report(st: &mut State) -> ! {
    const NAMES: [&str; 16] = [
        "send",
        "recv",
        "reply",
        "set_timer",
        "borrow_read",
        "borrow_write",
        "borrow_info",
        "irq_control",
        "panic",
        "get_timer",
        "refresh_task_id",
        "post",
        "reply_fault",
        "log",
        "reply_recv",
        "(no such syscall)",
    ];
    sys_set_timer(None, 0);
    for (i, name) in NAMES.iter().enumerate() {
        if st.tally.calls[i] > 0 {
            defmt::info!(
                "CHAOS {=str}: {=u32} calls, {=u32} refused",
                name,
                st.tally.calls[i],
                st.tally.refused[i]
            );
        }
    }
    let (total, refused) = (st.tally.total(), st.tally.total_refused());
    defmt::info!(
        "CHAOS done: {=u32} syscalls, {=u32} refused, {=u32} unexpected answers, {=u32} calls meant to fault it; seed {=u64:#x}",
        total,
        refused,
        st.unexpected,
        st.next_fatal,
        st.seed
    );
    let mut msg = [0u8; REPORT_LEN];
    msg[0..4].copy_from_slice(&total.to_le_bytes());
    msg[4..8].copy_from_slice(&refused.to_le_bytes());
    msg[8..12].copy_from_slice(&st.unexpected.to_le_bytes());
    msg[12..16].copy_from_slice(&st.next_fatal.to_le_bytes());
    msg[16..24].copy_from_slice(&st.seed.to_le_bytes());
    let runner = sys_refresh_task_id(config::slots::RUNNER).unwrap_or(config::slots::RUNNER);
    sys_send(runner, 1, &msg, &mut [], &[]);
    loop {
        sys_recv_notification(0);
    }
}
