//! A task as the kernel keeps it: saved registers, FPU state, scheduling
//! state, pending notifications, timer, and its address-space map.

use abi::Generation;

pub use crate::arch::regs::{SavedRegs, SAVED_REGS_SIZE};
use kern::desc::TaskDesc;
use kern::regions::{Access, SpanTable};

/// Where a task's `fxsave` area is, from the start of its save area: the
/// entry code reaches both through one pointer.
pub const FPU_OFFSET: usize = core::mem::offset_of!(Task, fpu) - core::mem::offset_of!(Task, regs);
const _: () = assert!(FPU_OFFSET == SAVED_REGS_SIZE, "fpu follows regs");

/// RFLAGS of a fresh task: interrupts on, reserved bit 1.
const INITIAL_RFLAGS: u64 = 0x202;
/// x87 control word after `fninit`.
const FCW_DEFAULT: u16 = 0x037F;
/// MXCSR after reset: all SSE exceptions masked.
const MXCSR_DEFAULT: u32 = 0x1F80;
const FXSAVE_MXCSR_OFFSET: usize = 24;

/// The `fxsave` image of a task.
#[repr(C, align(16))]
#[derive(Copy, Clone)]
pub struct FpuState(pub [u8; 512]);

impl FpuState {
    /// The state a task starts with.
    pub const fn initial() -> Self {
        let mut a = [0u8; 512];
        let fcw = FCW_DEFAULT.to_le_bytes();
        a[0] = fcw[0];
        a[1] = fcw[1];
        let m = MXCSR_DEFAULT.to_le_bytes();
        a[FXSAVE_MXCSR_OFFSET] = m[0];
        a[FXSAVE_MXCSR_OFFSET + 1] = m[1];
        a[FXSAVE_MXCSR_OFFSET + 2] = m[2];
        a[FXSAVE_MXCSR_OFFSET + 3] = m[3];
        FpuState(a)
    }
}

/// Physical addresses of the buffers a task named in its last IPC
/// syscall, translated and checked when it made the call. A task's map
/// never changes after boot, and it stays blocked until the transfer is
/// done, so the delivery copies without translating again.
#[derive(Copy, Clone, Debug, Default)]
pub struct IpcBuffers {
    /// `send`: the message.
    pub message: u64,
    /// `send`: where the reply goes.
    pub reply: u64,
    /// `recv`: where a message goes.
    pub receive: u64,
    /// The last checked translation of each kind: a server loop or a
    /// client names the same buffers call after call.
    pub cache: [Translated; 3],
}

/// Which [`IpcBuffers::cache`] entry a translation uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BufferKind {
    /// A message or reply the task sends (read).
    Outgoing = 0,
    /// A send's reply buffer (written).
    Reply = 1,
    /// A receive buffer (written).
    Incoming = 2,
}

/// One translation `va..va+len` → `pa` that `SpanTable::translate`
/// accepted for its kind's access. `len == 0` marks it empty.
#[derive(Copy, Clone, Debug, Default)]
pub struct Translated {
    pub va: u64,
    pub len: u64,
    pub pa: u64,
}

impl Translated {
    const EMPTY: Translated = Translated {
        va: 0,
        len: 0,
        pa: 0,
    };
}

pub use kern::ipc_rules::State;

/// One task. `repr(C)`: the entry code finds `fpu` right after `regs`.
#[repr(C)]
pub struct Task {
    pub regs: SavedRegs,
    pub fpu: FpuState,
    pub desc: Option<&'static TaskDesc>,
    /// The task's priority (0 highest), copied from `desc` for the
    /// scheduler's hot path; unused slots have the lowest.
    pub priority: u8,
    pub generation: Generation,
    pub state: State,
    /// Notification bits posted and not yet received.
    pub pending: u32,
    /// Armed timer: deadline (ms) and bits to post.
    pub timer: Option<(u64, u32)>,
    /// Interrupt notification bits currently enabled.
    pub irqs_enabled: u32,
    /// Interrupt notification bits that fired while disabled.
    pub irqs_pending: u32,
    /// The top-level page table's physical address.
    pub pml4: u64,
    /// What the task may hand the kernel.
    pub spans: SpanTable,
    /// How many times it has faulted.
    pub fault_count: u32,
    /// Fault injection: fault as the `n`th message from now is delivered.
    pub fault_after: Option<u16>,
    /// Messages delivered to it since boot (wrapping), kipc `MessageCount`.
    pub delivered: u32,
    /// The buffers of its pending send or receive.
    pub bufs: IpcBuffers,
    /// The I/O ports it may use (`desc.io_ports`, copied for the
    /// context switch).
    pub io_ports: &'static [kern::desc::PortRange],
    /// The tasks it may send to (`desc.rights.send`, copied for the IPC
    /// fast path).
    pub may_send: u64,
    /// Whether this incarnation has blocked in an open receive (reached its
    /// serving loop): the supervisor forgives a crash only after that.
    pub served: bool,
    /// Sends, posts and look-ups the kernel refused it for want of a right
    /// (since boot, across restarts).
    pub refusals: u32,
}

impl Task {
    /// An unused slot.
    pub const EMPTY: Task = Task {
        regs: SavedRegs::ZERO,
        fpu: FpuState::initial(),
        desc: None,
        priority: u8::MAX,
        generation: Generation::new(0),
        state: State::Stopped,
        pending: 0,
        timer: None,
        irqs_enabled: 0,
        irqs_pending: 0,
        pml4: 0,
        spans: SpanTable::new(),
        fault_count: 0,
        fault_after: None,
        delivered: 0,
        bufs: IpcBuffers {
            message: 0,
            reply: 0,
            receive: 0,
            cache: [Translated::EMPTY; 3],
        },
        io_ports: &[],
        may_send: 0,
        served: false,
        refusals: 0,
    };

    /// Puts the registers in their starting state.
    pub fn reset_registers(&mut self, entry: u64, stack_top: u64) {
        self.regs = SavedRegs::initial(entry, stack_top, INITIAL_RFLAGS);
        self.fpu = FpuState::initial();
        self.pending = 0;
        self.timer = None;
        self.irqs_pending = 0;
        self.served = false;
    }

    /// Translates and checks a buffer of `kind` (`Access::Read` for
    /// outgoing, `Write` otherwise), reusing the last translation of that
    /// kind if the buffer is the same.
    #[inline(always)]
    pub fn translate(&mut self, kind: BufferKind, va: u64, len: u64) -> Option<u64> {
        let slot = &self.bufs.cache[kind as usize];
        if len == 0 {
            // As `SpanTable::translate`: an empty buffer is anywhere.
            return Some(0);
        }
        if slot.va == va && slot.len == len {
            return Some(slot.pa);
        }
        self.translate_slow(kind, va, len)
    }

    /// [`Task::translate`] when the cache misses.
    #[inline(never)]
    fn translate_slow(&mut self, kind: BufferKind, va: u64, len: u64) -> Option<u64> {
        let access = if kind == BufferKind::Outgoing {
            Access::Read
        } else {
            Access::Write
        };
        let pa = self.spans.translate(va, len, access)?;
        self.bufs.cache[kind as usize] = Translated { va, len, pa };
        Some(pa)
    }

    /// What it may do to other tasks.
    pub fn rights(&self) -> kern::rights::Rights {
        self.desc.map_or(kern::rights::Rights::NONE, |d| d.rights)
    }

    /// Whether the scheduler may run it.
    pub fn is_runnable(&self) -> bool {
        matches!(self.state, State::Runnable)
    }
}

/// The IPC rules read a task's own fields (no copy on the fast path).
impl kern::ipc_rules::Peer for Task {
    #[inline(always)]
    fn state(&self) -> &State {
        &self.state
    }
    #[inline(always)]
    fn generation(&self) -> u8 {
        self.generation.get()
    }
    #[inline(always)]
    fn priority(&self) -> u8 {
        self.priority
    }
    #[inline(always)]
    fn may_send(&self) -> u64 {
        self.may_send
    }
    #[inline(always)]
    fn fault_after(&self) -> Option<u16> {
        self.fault_after
    }
    #[inline(always)]
    fn pending(&self) -> u32 {
        self.pending
    }
}
