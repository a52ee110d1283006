//! The supervisor task: binds the restart policy and the death log to the
//! kernel, and serves `Supervisor` (IDL) and its raw operations
//! (`protocol`) from one receive loop.
//!
//! What a reader must know: a death is logged when the kernel reports the
//! fault, before the restart (which may wait out its back-off): the broker
//! should quarantine a dead owner's devices at once, and a call it makes to
//! a peer whose restart is pending simply waits for it.
#![no_std]
#![no_main]

use abi::{FaultInfo, KipcOp, ReplyFaultReason};
use idl_runtime::{Call, Dispatch, DispatchOutcome, KernelTransport, ServerContext};
use idl_types::TaskIndex;
use task_supervisor::protocol::*;
use task_supervisor::{cause_of, next_restart, supervisor, DeathLog, TaskRecord};
use userlib::*;

task_config!();

const MAX_TASKS: usize = config::TASK_COUNT;
/// "No faulted task" in `KipcOp::FindFaultedTask`.
const NONE_FAULTED: u16 = 0xFFFF;
/// `KipcOp::ReadTaskStatus` reply: `[u8 state, u8 generation, u32 kind,
/// u64 a, u64 b]`.
const STATUS_LEN: usize = 22;

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// Everything the supervisor remembers.
struct Supervisor {
    records: [TaskRecord; MAX_TASKS],
    deaths: DeathLog<MAX_TASKS>,
}

impl Dispatch for Supervisor {
    fn dispatch(
        &mut self,
        call: &Call<'_>,
        ctx: &dyn ServerContext,
        reply: &mut [u8],
    ) -> DispatchOutcome {
        if supervisor::Op::from_raw(call.op).is_some() {
            return supervisor::dispatch(&mut self.deaths, call, ctx, reply);
        }
        self.raw(call, reply)
    }

    fn notification_mask(&self) -> u32 {
        config::notifications::FAULT | config::notifications::TIMER
    }

    fn notified(&mut self, bits: u32) {
        if bits & config::notifications::FAULT != 0 && self.collect_faults(sys_get_timer()) {
            tell_subscribers();
        }
        self.restart_due(sys_get_timer());
        sys_set_timer(next_restart(&self.records), config::notifications::TIMER);
    }
}

/// Posts every `notify` subscriber of app.toml (the broker): someone died;
/// they pull the records with `Supervisor::death_after` (calls go uphill,
/// posts may not).
fn tell_subscribers() {
    for (id, bits) in config::NOTIFY {
        if let Ok(current) = sys_refresh_task_id(id) {
            let _ = sys_post(current, bits);
        }
    }
}

impl Supervisor {
    /// Records every newly faulted task (and logs its death); true if there
    /// was one.
    fn collect_faults(&mut self, now: u64) -> bool {
        let mut start = 0u16;
        let mut any = false;
        loop {
            let mut reply = [0u8; 2];
            let (rc, _) = sys_kipc(KipcOp::FindFaultedTask, &start.to_le_bytes(), &mut reply);
            let found = u16::from_le_bytes(reply);
            let Some(record) = self.records.get_mut(usize::from(found)) else {
                return any;
            };
            if rc != 0 || found == NONE_FAULTED {
                return any;
            }
            let mut status = [0u8; STATUS_LEN];
            sys_kipc(KipcOp::ReadTaskStatus, &found.to_le_bytes(), &mut status);
            let generation = status[1];
            let kind = u32::from_le_bytes([status[2], status[3], status[4], status[5]]);
            let a = u64::from_le_bytes(status[6..14].try_into().unwrap_or([0; 8]));
            let b = u64::from_le_bytes(status[14..22].try_into().unwrap_or([0; 8]));
            if record.restart_at.is_none() {
                any = true;
                let at = record.faulted(now, (kind, a, b));
                // This supervisor never holds a task back for good: the
                // restart is at most a back-off away (`restarted`), and
                // the kernel already bumped the generation it will run at.
                let seq =
                    self.deaths
                        .record(TaskIndex(found), generation, cause_of(kind, a, b), true);
                let why = FaultInfo::decode(kind, a, b).map_or("unknown cause", |f| f.describe());
                defmt::warn!(
                    "{=str} faulted ({=str}, {=u64:#x}); restart in {=u64} ms; death {=u32}",
                    NAMES.get(usize::from(found)).copied().unwrap_or("?"),
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
        for (i, r) in self.records.iter_mut().enumerate() {
            if r.restart_at.is_some_and(|at| at <= now) {
                sys_kipc(KipcOp::RestartTask, &(i as u16).to_le_bytes(), &mut []);
                r.restarted(now);
            }
        }
    }

    /// The raw operations of `protocol`; the reply body goes to `reply`.
    fn raw(&mut self, call: &Call<'_>, reply: &mut [u8]) -> DispatchOutcome {
        let refuse = DispatchOutcome::Fault(ReplyFaultReason::BadMessageContents);
        let msg = call.message;
        let arg = match msg {
            [lo, hi, ..] => usize::from(u16::from_le_bytes([*lo, *hi])),
            _ => usize::MAX,
        };
        let injectable = cfg!(feature = "fault-injection")
            && arg < MAX_TASKS
            && arg != config::TASK_INDEX as usize;
        match call.op {
            OP_TASK_RECORD if msg.len() == 2 => {
                let Some(r) = self.records.get(arg) else {
                    return refuse;
                };
                let body = encode_record(r.faults, r.last_fault);
                let Some(dst) = reply.get_mut(..body.len()) else {
                    return refuse;
                };
                dst.copy_from_slice(&body);
                DispatchOutcome::Reply {
                    code: 0,
                    len: body.len(),
                }
            }
            OP_MESSAGE_COUNT if arg < MAX_TASKS && msg.len() == 2 => {
                let mut count = [0u8; 4];
                sys_kipc(KipcOp::MessageCount, &msg[..2], &mut count);
                let Some(dst) = reply.get_mut(..count.len()) else {
                    return refuse;
                };
                dst.copy_from_slice(&count);
                DispatchOutcome::Reply {
                    code: 0,
                    len: count.len(),
                }
            }
            OP_SHUTDOWN if msg.len() == 1 => {
                sys_kipc(KipcOp::Shutdown, msg, &mut []);
                DispatchOutcome::Reply { code: 0, len: 0 }
            }
            OP_FAULT_TASK if injectable && msg.len() == 2 => {
                defmt::warn!(
                    "fault injection: faulting {=str} on request",
                    NAMES.get(arg).copied().unwrap_or("?")
                );
                sys_kipc(KipcOp::FaultTask, &msg[..2], &mut []);
                DispatchOutcome::Reply { code: 0, len: 0 }
            }
            OP_ARM_FAULT if injectable && msg.len() == MAX_REQUEST => {
                let n = u16::from_le_bytes([msg[2], msg[3]]);
                defmt::warn!(
                    "fault injection: {=str} will fault at its message {=u16} from now",
                    NAMES.get(arg).copied().unwrap_or("?"),
                    n
                );
                sys_kipc(KipcOp::ArmFault, msg, &mut []);
                DispatchOutcome::Reply { code: 0, len: 0 }
            }
            _ => refuse,
        }
    }
}

#[export_name = "main"]
fn main() -> ! {
    defmt::info!("supervising {=usize} tasks", MAX_TASKS);
    let mut supervisor = Supervisor {
        records: [TaskRecord::default(); MAX_TASKS],
        deaths: DeathLog::new(),
    };
    let mut transport = KernelTransport::new(&NAMES);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut transport, &mut supervisor, &mut buf)
}
