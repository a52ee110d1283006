//! The supervisor task: binds the restart policy, the death log and the
//! operator's powers (`task_supervisor::server`) to the kernel, and serves
//! `Supervisor` from one receive loop.
//!
//! What a reader must know: a death is logged when the kernel reports the
//! fault, before the restart (which may wait out its back-off): the broker
//! should quarantine a dead owner's devices at once, and a call it makes to
//! a peer whose restart is pending simply waits for it. A caller refused an
//! operation (not one of app.toml's operators, or not allowed fault
//! injection) gets the access-denied answer and a warning line naming it.
#![no_std]
#![no_main]

use abi::{FaultInfo, KipcOp, TASK_STATUS_LEN};
use idl_runtime::{reply_code, Call, Dispatch, DispatchOutcome, KernelTransport, ServerContext};
use idl_types::TaskIndex;
use task_supervisor::{cause_of, next_restart, supervisor, KernelPowers, Supervisor, TaskStatus};
use userlib::*;

task_config!();

const MAX_TASKS: usize = config::TASK_COUNT;
/// "No faulted task" in `KipcOp::FindFaultedTask`.
const NONE_FAULTED: u16 = 0xFFFF;

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// The kernel, through kernel IPC.
struct Kipc;

impl KernelPowers for Kipc {
    fn status(&mut self, task: u16) -> Option<TaskStatus> {
        let mut s = [0u8; TASK_STATUS_LEN];
        let (rc, len) = sys_kipc(KipcOp::ReadTaskStatus, &task.to_le_bytes(), &mut s);
        if rc != abi::rc::OK {
            return None;
        }
        TaskStatus::decode(s.get(..len)?)
    }

    fn message_count(&mut self, task: u16) -> Option<u32> {
        let mut count = [0u8; 4];
        let (rc, len) = sys_kipc(KipcOp::MessageCount, &task.to_le_bytes(), &mut count);
        (rc == abi::rc::OK && len == count.len()).then(|| u32::from_le_bytes(count))
    }

    fn fault(&mut self, task: u16) -> bool {
        defmt::warn!("fault injection: faulting {=str} on request", name(task));
        sys_kipc(KipcOp::FaultTask, &task.to_le_bytes(), &mut []).0 == abi::rc::OK
    }

    fn arm_fault(&mut self, task: u16, at_message: u16) -> bool {
        defmt::warn!(
            "fault injection: {=str} will fault at its message {=u16} from now",
            name(task),
            at_message
        );
        let mut msg = [0u8; 4];
        msg[..2].copy_from_slice(&task.to_le_bytes());
        msg[2..].copy_from_slice(&at_message.to_le_bytes());
        sys_kipc(KipcOp::ArmFault, &msg, &mut []).0 == abi::rc::OK
    }

    fn shutdown(&mut self, code: u8) {
        sys_kipc(KipcOp::Shutdown, &[code], &mut []);
    }
}

fn name(task: u16) -> &'static str {
    NAMES.get(usize::from(task)).copied().unwrap_or("?")
}

/// The server with its notification handling, and how many of each task's
/// requests it refused (logged the first time and at powers of two).
struct Task(Supervisor<Kipc, MAX_TASKS>, [u32; MAX_TASKS]);

impl Dispatch for Task {
    fn dispatch(
        &mut self,
        call: &Call<'_>,
        ctx: &dyn ServerContext,
        reply: &mut [u8],
    ) -> DispatchOutcome {
        let outcome = supervisor::dispatch(&mut self.0, call, ctx, reply);
        if let DispatchOutcome::Reply {
            code: reply_code::ACCESS_DENIED,
            ..
        } = outcome
        {
            let op = supervisor::Op::from_raw(call.op).map_or("?", |o| o.name());
            let count = self.1.get_mut(call.caller.index()).map_or(1, |c| {
                *c = c.saturating_add(1);
                *c
            });
            if count.is_power_of_two() {
                defmt::warn!(
                    "refused {=str} from {=str}: app.toml does not give it that power (refusal {=u32})",
                    op,
                    name(call.caller.index() as u16),
                    count
                );
            }
        }
        outcome
    }

    fn notification_mask(&self) -> u32 {
        config::notifications::FAULT | config::notifications::TIMER
    }

    fn notified(&mut self, bits: u32) {
        if bits & config::notifications::FAULT != 0 && self.collect_faults(sys_get_timer()) {
            tell_subscribers();
        }
        self.restart_due(sys_get_timer());
        sys_set_timer(next_restart(&self.0.records), config::notifications::TIMER);
    }
}

/// Posts every `notify` subscriber of app.toml (the broker): someone died;
/// they pull the records with `Supervisor::death_after` (calls go uphill,
/// posts may not).
fn tell_subscribers() {
    for n in config::NOTIFY {
        if let Ok(current) = sys_refresh_task_id(n.task) {
            let _ = sys_post(current, n.bits);
        }
    }
}

impl Task {
    /// Records every newly faulted task (and logs its death); true if there
    /// was one.
    fn collect_faults(&mut self, now: u64) -> bool {
        let s = &mut self.0;
        let mut start = 0u16;
        let mut any = false;
        loop {
            let mut reply = [0u8; 2];
            let (rc, _) = sys_kipc(KipcOp::FindFaultedTask, &start.to_le_bytes(), &mut reply);
            let found = u16::from_le_bytes(reply);
            if rc != 0 || found == NONE_FAULTED || usize::from(found) >= MAX_TASKS {
                return any;
            }
            let status = s.kernel.status(found).unwrap_or_default();
            let record = &mut s.records[usize::from(found)];
            if record.restart_at.is_none() {
                any = true;
                let fault = status.fault.map_or((0, 0, 0), |f| f.encode());
                let (kind, a, b) = fault;
                let at = record.faulted(now, fault, status.served);
                // This supervisor never holds a task back for good: the
                // restart is at most a back-off away (`restarted`), and
                // the kernel already bumped the generation it will run at.
                let seq = s.deaths.record(
                    TaskIndex(found),
                    status.generation,
                    cause_of(kind, a, b),
                    true,
                );
                let why = FaultInfo::decode(kind, a, b).map_or("unknown cause", |f| f.describe());
                defmt::warn!(
                    "{=str} faulted ({=str}, {=u64:#x}); restart in {=u64} ms; death {=u32}",
                    name(found),
                    why,
                    a,
                    at - now,
                    seq.unwrap_or(0)
                );
            }
            start = found + 1;
        }
    }

    fn restart_due(&mut self, now: u64) {
        for (i, r) in self.0.records.iter_mut().enumerate() {
            if r.restart_at.is_some_and(|at| at <= now) {
                sys_kipc(KipcOp::RestartTask, &(i as u16).to_le_bytes(), &mut []);
                r.restarted(now);
            }
        }
    }
}

#[export_name = "main"]
fn main() -> ! {
    defmt::info!("supervising {=usize} tasks", MAX_TASKS);
    let mut task = Task(Supervisor::new(Kipc, config::TASK_INDEX), [0; MAX_TASKS]);
    let mut transport = KernelTransport::with_groups(&NAMES, &config::powers::GROUPS);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut transport, &mut task, &mut buf)
}
