//! The kernel's state and the operations every syscall and trap builds on:
//! scheduling, switching address spaces, posting notifications, faulting and
//! restarting tasks.
//!
//! One CPU and interrupts masked in ring 0 make the state a plain global; it
//! is reached through [`k`], and no reference to it is held across the
//! `hlt` of the idle loop, where interrupt handlers run.

use abi::{rc, FaultInfo, TaskId};
use kern::ipc_rules::{admit, Refused};
use kern::regions::{Access, Span};
use kern::rights::Need;

use crate::arch::{cpu, entry, gdt, paging};
use crate::config;
use crate::task::{State, Task};

/// Everything the kernel knows.
pub struct Kernel {
    pub tasks: [Task; config::TASK_COUNT],
    pub current: usize,
    /// Milliseconds since boot.
    pub now_ms: u64,
    pub frames: paging::FrameAllocator,
    /// The task and notification bits each vector is routed to.
    pub irq_routes: [Option<(u16, u32)>; 256],
    /// Log frames the kernel dropped (oversized).
    pub dropped_logs: u32,
    /// Set when a task that outranks the caller woke up: the end of the
    /// syscall switches to [`Kernel::woken`].
    pub resched: bool,
    /// With `resched`: the best task woken since the last scheduling
    /// decision. No other runnable task outranks the running one (that is
    /// what the scheduler chose), so this one outranks them all: the next
    /// task is known without walking the task list (the IPC fast path).
    pub woken: usize,
    /// Task indices by (priority, index), computed at boot.
    pub order: [u16; config::TASK_COUNT],
    /// Each task's place in `order`.
    pub position: [u8; config::TASK_COUNT],
    /// Runnable tasks, one bit per place in `order`: the scheduler's pick
    /// is the lowest bit. Kept by [`Kernel::set_state`].
    pub runnable: u64,
    /// Tasks blocked in `send`, one bit per index: a `recv` looks for a
    /// waiting sender only if there is one anywhere. Kept by `set_state`.
    pub sending: u64,
    /// Boot-to-ready bookkeeping.
    pub boot: crate::ready::Boot,
    /// The I/O ports open in the TSS bitmap (the current task's).
    pub open_ports: &'static [kern::desc::PortRange],
}

/// The scheduler's and `recv`'s bit sets have a bit per task.
const _: () = assert!(config::TASK_COUNT <= 64, "at most 64 tasks");

/// Why [`Kernel::target`] refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No task has that index: the caller's mistake, a usage fault.
    NoSuchTask,
    /// The code the caller gets ([`rc::NO_RIGHT`] or a dead code).
    Code(u32),
}

/// `current` before the first task runs.
pub const NO_TASK: usize = usize::MAX;

/// Callers a fault's backtrace shows at most.
const BACKTRACE_FRAMES: usize = 8;

static mut KERNEL: Kernel = Kernel {
    tasks: [const { Task::EMPTY }; config::TASK_COUNT],
    current: NO_TASK,
    now_ms: 0,
    frames: paging::FrameAllocator::new(0, 0),
    irq_routes: [None; 256],
    dropped_logs: 0,
    resched: false,
    woken: NO_TASK,
    order: [0; config::TASK_COUNT],
    position: [0; config::TASK_COUNT],
    runnable: 0,
    sending: 0,
    boot: crate::ready::Boot::new(),
    open_ports: &[],
};

/// The kernel state.
pub fn k() -> &'static mut Kernel {
    let p = &raw mut KERNEL;
    // SAFETY: one CPU; kernel code runs with interrupts masked except in the
    // idle loop, which holds no reference across `hlt` (see module doc).
    unsafe { &mut *p }
}

impl Kernel {
    /// The task ID (with generation) of an index.
    pub fn id_of(&self, index: usize) -> TaskId {
        TaskId::new(index as u16, self.tasks[index].generation)
    }

    /// Resolves a task ID from a task: `Err(rc)` if its generation is stale
    /// (the dead code names the current one), `None` if no such index.
    pub fn check_peer(&self, id: TaskId) -> Option<Result<usize, u32>> {
        let i = id.index();
        let t = self.tasks.get(i)?;
        Some(if t.generation != id.generation() {
            Err(rc::dead(t.generation.get()))
        } else {
            Ok(i)
        })
    }

    /// Resolves the task `id` names for an operation of task `me` that
    /// needs the right `need` (with `bits` for a post): its index, or why
    /// not. The right is checked before the generation, so a task learns
    /// nothing (not even that a peer restarted) of a task it has no right
    /// to.
    #[inline]
    pub fn target(
        &mut self,
        me: usize,
        need: Need,
        id: TaskId,
        bits: u32,
    ) -> Result<usize, Refusal> {
        let caller = &self.tasks[me];
        let generation = self.tasks.get(id.index()).map(|t| t.generation.get());
        let verdict = admit(
            me,
            caller.may_send,
            || caller.rights(),
            id,
            generation,
            need,
            bits,
        );
        verdict.map_err(|r| self.refusal(me, need, id.index(), r))
    }

    /// The answer to refusal `r` of `need` to task `target`, counting a
    /// missing right against `me`.
    pub fn refusal(&mut self, me: usize, need: Need, target: usize, r: Refused) -> Refusal {
        match r {
            Refused::NoSuchTask => Refusal::NoSuchTask,
            Refused::NoRight => Refusal::Code(self.refuse(me, need, target)),
            Refused::Dead(g) => Refusal::Code(rc::dead(g)),
        }
    }

    /// Counts (and now and then logs) a refusal of `need` to task `target`
    /// (an index past the tasks: the kernel itself) from `me`; the code the
    /// caller gets.
    #[cold]
    #[inline(never)]
    pub fn refuse(&mut self, me: usize, need: Need, target: usize) -> u32 {
        let t = &mut self.tasks[me];
        t.refusals = t.refusals.saturating_add(1);
        let count = t.refusals;
        if kern::rights::worth_logging(count) {
            let name = |i: usize| match self.tasks.get(i) {
                Some(t) => t.desc.map_or("?", |d| d.name),
                None => "the kernel",
            };
            defmt::warn!(
                "task {=str} refused: {=str} to {=str} without a right in app.toml (refusal {=u32})",
                name(me),
                need.describe(),
                name(target),
                count
            );
        }
        rc::NO_RIGHT
    }

    /// Sets a task's state; every change goes through here (or through
    /// [`Kernel::hand_off`]), which keeps the `runnable` and `sending`
    /// sets.
    #[inline(always)]
    pub fn set_state(&mut self, index: usize, state: State) {
        self.tasks[index].state = state;
        // Places and indices are below 64 (`TASK_COUNT`): no shift wraps.
        let place = 1u64.wrapping_shl(self.position[index] as u32);
        let me = 1u64.wrapping_shl(index as u32);
        match state {
            State::Runnable => {
                self.runnable |= place;
                self.sending &= !me;
            }
            State::InSend(_) => {
                self.runnable &= !place;
                self.sending |= me;
            }
            _ => {
                self.runnable &= !place;
                self.sending &= !me;
            }
        }
    }

    /// The IPC fast path's one transition: `blocked`, which was running,
    /// takes `state`, neither runnable nor sending (`InReply`, `InRecv`),
    /// and `woken`, which was in neither set (`InRecv`, `InReply`), becomes
    /// `Runnable`. With [`Kernel::set_state`], the only writers of a
    /// task's state after boot.
    #[inline(always)]
    pub fn hand_off(&mut self, blocked: usize, state: State, woken: usize) {
        debug_assert!(!matches!(state, State::Runnable | State::InSend(_)));
        if let Ok([b, w]) = self.tasks.get_disjoint_mut([blocked, woken]) {
            b.state = state;
            w.state = State::Runnable;
        }
        let place = |i: usize| 1u64.wrapping_shl(self.position[i] as u32);
        self.runnable = (self.runnable & !place(blocked)) | place(woken);
    }

    /// Computes the priority order and the state sets from the tasks as
    /// built at boot.
    pub fn init_schedule(&mut self) {
        let priorities: [u8; config::TASK_COUNT] = core::array::from_fn(|i| self.tasks[i].priority);
        kern::sched::priority_order(&priorities, &mut self.order);
        for (place, &i) in self.order.iter().enumerate() {
            self.position[i as usize] = place as u8;
        }
        for i in 0..self.tasks.len() {
            self.set_state(i, self.tasks[i].state);
        }
    }

    /// Makes a task runnable; the end of the syscall switches to it only
    /// if it outranks the caller.
    pub fn wake(&mut self, index: usize) {
        self.set_state(index, State::Runnable);
        let current = self.tasks.get(self.current).map_or(u8::MAX, |t| t.priority);
        let priority = self.tasks[index].priority;
        if priority < current {
            let better = |w: &Task| (priority, index) < (w.priority, self.woken);
            if !self.resched || self.tasks.get(self.woken).is_none_or(better) {
                self.woken = index;
            }
            self.resched = true;
        }
    }

    /// Posts notification bits; wakes the task if it is receiving them.
    pub fn post(&mut self, index: usize, bits: u32) {
        let t = &mut self.tasks[index];
        t.pending |= bits;
        if let State::InRecv { mask, .. } = t.state {
            let fired = t.pending & mask;
            if fired != 0 {
                t.pending &= !fired;
                t.regs.deliver_notification(fired);
                self.wake(index);
            }
        }
    }

    /// Faults a task: it stops, its generation moves on, and everyone
    /// waiting on it gets the dead code; then the supervisor is told.
    pub fn fault(&mut self, index: usize, info: FaultInfo) {
        let name = self.tasks[index].desc.map_or("?", |d| d.name);
        let (kind, a, b) = info.encode();
        defmt::warn!(
            "task {=str} faulted: {=str} (kind {=u32}, {=u64:#x}, {=u64:#x})",
            name,
            info.describe(),
            kind,
            a,
            b
        );
        self.log_backtrace(index, name);
        if index == config::APP.supervisor as usize {
            crate::fatal(format_args!("the supervisor faulted: {}", info.describe()));
        }
        self.set_state(index, State::Faulted(info));
        crate::ready::note(self, index);
        let t = &mut self.tasks[index];
        t.fault_count = t.fault_count.saturating_add(1);
        self.end_incarnation(index);
        self.post(
            config::APP.supervisor as usize,
            config::APP.fault_notification,
        );
    }

    /// Logs where a faulting task was: the instruction it trapped on (or
    /// the syscall's return address), then the return addresses of its
    /// callers, walking the frame-pointer chain in its own memory (tasks
    /// are built with frame pointers). xtask puts a function and
    /// `file:line` from the task's ELF beside each address. The walk reads
    /// only memory the task may read, stops at the first frame that is
    /// not higher on the stack than the last, and takes at most
    /// [`BACKTRACE_FRAMES`] frames: a corrupt chain ends the trace, never
    /// the kernel.
    fn log_backtrace(&self, index: usize, name: &str) {
        let regs = &self.tasks[index].regs;
        defmt::warn!("task {=str} was at {=u64:#x}", name, regs.rip);
        let mut frame = regs.rbp;
        for _ in 0..BACKTRACE_FRAMES {
            if frame == 0 || !frame.is_multiple_of(8) {
                break;
            }
            let (Some(caller), Some(ret)) = (
                self.read_user::<u64>(index, frame),
                self.read_user::<u64>(index, frame.wrapping_add(8)),
            ) else {
                break;
            };
            if ret == 0 {
                break;
            }
            defmt::warn!("task {=str} called from {=u64:#x}", name, ret);
            if caller <= frame {
                break;
            }
            frame = caller;
        }
    }

    /// Bumps the generation and answers everyone blocked on the old one.
    fn end_incarnation(&mut self, index: usize) {
        let t = &mut self.tasks[index];
        t.generation = t.generation.next();
        t.timer = None;
        t.irqs_enabled = 0;
        let dead = rc::dead(t.generation.get());
        let me = index as u16;
        for i in 0..self.tasks.len() {
            let other = &mut self.tasks[i];
            let waiting = match other.state {
                State::InSend(x) | State::InReply(x) => x == me,
                State::InRecv { from: Some(x), .. } => x == me,
                _ => false,
            };
            if waiting {
                other.regs.set_code(dead);
                self.wake(i);
            }
        }
    }

    /// Re-initializes a task's memory and registers and starts it. A live
    /// task is ended first (its peers get the dead code).
    pub fn restart(&mut self, index: usize) {
        if !matches!(self.tasks[index].state, State::Faulted(_) | State::Stopped) {
            self.end_incarnation(index);
        }
        let t = &mut self.tasks[index];
        let Some(desc) = t.desc else { return };
        reinit_memory(t, desc);
        t.reset_registers(desc.entry, desc.stack_top);
        let generation = t.generation.get();
        self.wake(index);
        defmt::info!(
            "task {=str} started, generation {=u8}",
            desc.name,
            generation
        );
    }

    /// How deep task `index`'s stack has been used and its size, in bytes
    /// (see `kern::stack`); `None` for a task without a stack.
    pub fn stack_mark(&self, index: usize) -> Option<(usize, u64)> {
        let t = self.tasks.get(index)?;
        let desc = t.desc?;
        let base = desc.stack_top - desc.stack_size;
        let span = t.spans.spans().iter().find(|s| s.vaddr == base)?;
        // SAFETY: the span is the task's stack, identity-mapped; the kernel
        // runs with interrupts off and no task runs while it reads it.
        let stack =
            unsafe { core::slice::from_raw_parts(span.paddr as *const u8, span.size as usize) };
        Some((kern::stack::used(stack), desc.stack_size))
    }

    /// Logs how deep each task's stack has been used (see `kern::stack`).
    pub fn log_stack_marks(&self) {
        for (i, t) in self.tasks.iter().enumerate() {
            let (Some(desc), Some((used, size))) = (t.desc, self.stack_mark(i)) else {
                continue;
            };
            defmt::info!(
                "stack: {=str} used {=usize} of {=u64} bytes",
                desc.name,
                used,
                size
            );
        }
    }

    /// Copies `len` bytes from one task's memory to another's; `false` if
    /// either range is not the task's (nothing is copied then).
    pub fn copy(&self, from: (usize, u64), to: (usize, u64), len: u64) -> bool {
        if len == 0 {
            return true;
        }
        let src = self.tasks[from.0]
            .spans
            .translate(from.1, len, Access::Read);
        let dst = self.tasks[to.0].spans.translate(to.1, len, Access::Write);
        match (src, dst) {
            (Some(s), Some(d)) => {
                // SAFETY: both ranges were checked against the tasks'
                // maps; physical memory is identity-mapped for the kernel;
                // distinct tasks never share RAM.
                unsafe { copy_phys(s, d, len) };
                true
            }
            _ => false,
        }
    }

    /// Reads a value from a task's memory.
    pub fn read_user<T: Copy>(&self, task: usize, va: u64) -> Option<T> {
        let pa =
            self.tasks[task]
                .spans
                .translate(va, core::mem::size_of::<T>() as u64, Access::Read)?;
        // SAFETY: the range is the task's, identity-mapped; unaligned read.
        Some(unsafe { (pa as *const T).read_unaligned() })
    }

    /// A slice of a task's memory, for the kernel to read (log frames).
    pub fn user_bytes(&self, task: usize, va: u64, len: u64) -> Option<&'static [u8]> {
        let pa = self.tasks[task].spans.translate(va, len, Access::Read)?;
        // SAFETY: as `read_user`; the slice is used before the task runs again.
        Some(unsafe { core::slice::from_raw_parts(pa as *const u8, len as usize) })
    }

    /// Writes bytes into a task's memory.
    pub fn write_user(&self, task: usize, va: u64, bytes: &[u8]) -> bool {
        match self.tasks[task]
            .spans
            .translate(va, bytes.len() as u64, Access::Write)
        {
            Some(pa) => {
                // SAFETY: checked range, identity-mapped.
                unsafe {
                    core::ptr::copy_nonoverlapping(bytes.as_ptr(), pa as *mut u8, bytes.len())
                };
                true
            }
            None => false,
        }
    }
}

/// Copies `len` bytes from physical `src` to `dst` (identity-mapped),
/// eight at a time: `rep movsb` costs an instruction per byte under TCG.
///
/// # Safety
/// Both ranges are valid, identity-mapped memory; they may overlap only if
/// `dst <= src` (a forward copy).
#[inline(always)]
pub unsafe fn copy_phys(src: u64, dst: u64, len: u64) {
    // Pointer steps, not checked integer sums: no overflow checks per word.
    let (s, d) = (src as *const u8, dst as *mut u8);
    let (sw, dw) = (src as *const u64, dst as *mut u64);
    for i in 0..(len / 8) as usize {
        // SAFETY: within the caller's ranges; unaligned access is fine on x86.
        unsafe { dw.add(i).write_unaligned(sw.add(i).read_unaligned()) };
    }
    for i in (len & !7) as usize..len as usize {
        // SAFETY: as above.
        unsafe { d.add(i).write(s.add(i).read()) };
    }
}

fn reinit_memory(t: &mut Task, desc: &'static kern::desc::TaskDesc) {
    use kern::desc::{seg, RegionKind};
    let zero = |span: &Span| {
        // SAFETY: the span is this task's own memory, identity-mapped.
        unsafe { core::ptr::write_bytes(span.paddr as *mut u8, 0, span.size as usize) }
    };
    let find = |va: u64| t.spans.spans().iter().find(|s| s.vaddr == va).copied();
    for s in desc.segments.iter().filter(|s| s.flags & seg::W != 0) {
        if let Some(span) = find(s.vaddr) {
            zero(&span);
            // SAFETY: `data` fits the span (checked at boot), identity-mapped.
            unsafe {
                core::ptr::copy_nonoverlapping(s.data.as_ptr(), span.paddr as *mut u8, s.data.len())
            };
        }
    }
    if let Some(span) = find(desc.stack_top - desc.stack_size) {
        // SAFETY: the span is this task's own stack, identity-mapped.
        unsafe {
            core::ptr::write_bytes(
                span.paddr as *mut u8,
                kern::stack::PAINT,
                span.size as usize,
            )
        }
    }
    for r in desc.regions.iter().filter(|r| r.kind == RegionKind::Ram) {
        if let Some(span) = find(r.vaddr) {
            zero(&span);
        }
    }
}

/// Makes `next` the running task: address space, trap stack and save area
/// (which the entry code uses, with the FPU area after it) and I/O ports
/// follow it. On every IPC's path: kept to a few stores.
#[inline(always)]
pub fn switch_to(next: usize) {
    let kk = k();
    if kk.current == next {
        // Everything already points at it.
        return;
    }
    kk.current = next;
    let n = &mut kk.tasks[next];
    // SAFETY: every task's PML4 maps the kernel in slot 0.
    unsafe { cpu::write_cr3(n.pml4) };
    let regs = &raw mut n.regs;
    gdt::set_rsp0((regs as u64).wrapping_add(crate::task::SAVED_REGS_SIZE as u64));
    // SAFETY: single CPU, masked interrupts; the entry code reads it (the
    // FPU area after it is 512 bytes, 16-byte aligned, as fxsave needs).
    unsafe { entry::CURRENT_REGS = regs };
    let ports = n.io_ports;
    if !kk.open_ports.is_empty() || !ports.is_empty() {
        switch_ports(kk, ports);
    }
}

/// Closes the ports open in the TSS I/O bitmap and opens `ports`; out of
/// line, as few tasks have any.
#[cold]
#[inline(never)]
fn switch_ports(kk: &mut Kernel, ports: &'static [kern::desc::PortRange]) {
    for r in kk.open_ports {
        gdt::set_ports(r.base, r.count, false);
    }
    for r in ports {
        gdt::set_ports(r.base, r.count, true);
    }
    kk.open_ports = ports;
}

/// Picks the next task and switches to it; with nothing runnable, halts
/// until an interrupt makes something runnable.
pub fn schedule() {
    loop {
        let kk = k();
        let next = kern::sched::pick_ranked(&kk.order, kk.runnable);
        if let Some(n) = next {
            // Wake-ups while idle are covered by this decision.
            kk.resched = false;
            switch_to(n);
            return;
        }
        cpu::idle_until_interrupt();
    }
}

/// Switches to the task [`Kernel::wake`] found outranking the caller,
/// without walking the task list; the general scheduler if it is somehow
/// not runnable any more (a later fault in the same syscall).
pub fn switch_to_woken() {
    let kk = k();
    kk.resched = false;
    match kk.tasks.get(kk.woken) {
        Some(t) if t.is_runnable() => switch_to(kk.woken),
        _ => schedule(),
    }
}
