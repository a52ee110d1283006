//! The supervisor task: binds the restart policy to the kernel.
#![no_std]
#![no_main]

use abi::{FaultInfo, KipcOp, TaskId};
use task_supervisor::protocol::*;
use task_supervisor::{next_restart, TaskRecord};
use userlib::*;

task_config!();

const MAX_TASKS: usize = config::TASK_COUNT;

#[export_name = "main"]
fn main() -> ! {
    let mut records = [TaskRecord::default(); MAX_TASKS];
    let mask = config::notifications::FAULT | config::notifications::TIMER;
    let mut buf = [0u8; 8];
    defmt::info!("supervising {=usize} tasks", MAX_TASKS);
    loop {
        let Ok(msg) = sys_recv(&mut buf, mask, TaskId::ANY) else {
            continue;
        };
        let now = sys_get_timer();
        if msg.sender == TaskId::KERNEL {
            if msg.operation & config::notifications::FAULT != 0
                && collect_faults(&mut records, now)
            {
                tell_subscribers();
            }
            restart_due(&mut records, sys_get_timer());
            sys_set_timer(next_restart(&records), config::notifications::TIMER);
            continue;
        }
        serve(&mut records, msg, &buf);
    }
}

/// Posts every `notify` subscriber of app.toml (the broker): someone died;
/// they ask which with `OP_TAKE_DEATH` (calls go uphill, posts may not).
fn tell_subscribers() {
    for (id, bits) in config::NOTIFY {
        let _ = sys_post(sys_refresh_task_id(id), bits);
    }
}

/// Records every newly faulted task; true if there was one.
fn collect_faults(records: &mut [TaskRecord; MAX_TASKS], now: u64) -> bool {
    let mut start = 0u16;
    let mut any = false;
    loop {
        let mut reply = [0u8; 2];
        let (rc, _) = sys_kipc(KipcOp::FindFaultedTask, &start.to_le_bytes(), &mut reply);
        let found = u16::from_le_bytes(reply);
        if rc != 0 || found == NO_TASK || found as usize >= MAX_TASKS {
            return any;
        }
        let i = found as usize;
        let mut status = [0u8; 22];
        sys_kipc(KipcOp::ReadTaskStatus, &found.to_le_bytes(), &mut status);
        let kind = u32::from_le_bytes([status[2], status[3], status[4], status[5]]);
        let a = u64::from_le_bytes(status[6..14].try_into().unwrap_or([0; 8]));
        let b = u64::from_le_bytes(status[14..22].try_into().unwrap_or([0; 8]));
        if records[i].restart_at.is_none() {
            any = true;
            let at = records[i].faulted(now, (kind, a, b));
            let why = FaultInfo::decode(kind, a, b).map_or("unknown cause", |f| f.describe());
            defmt::warn!(
                "{=str} faulted ({=str}, {=u64:#x}); restart in {=u64} ms",
                config::TASK_NAMES[i],
                why,
                a,
                at - now
            );
        }
        start = found + 1;
    }
}

fn restart_due(records: &mut [TaskRecord; MAX_TASKS], now: u64) {
    for (i, r) in records.iter_mut().enumerate() {
        if r.restart_at.is_some_and(|at| at <= now) {
            sys_kipc(KipcOp::RestartTask, &(i as u16).to_le_bytes(), &mut []);
            r.restarted(now);
        }
    }
}

fn serve(records: &mut [TaskRecord; MAX_TASKS], msg: abi::RecvMessage, buf: &[u8; 8]) {
    let arg = u16::from_le_bytes([buf[0], buf[1]]) as usize;
    match msg.operation {
        OP_TASK_RECORD if arg < MAX_TASKS && msg.message_len == 2 => {
            let r = &records[arg];
            sys_reply(msg.sender, 0, &encode_record(r.faults, r.last_fault));
        }
        OP_SHUTDOWN if msg.message_len == 1 => {
            sys_kipc(KipcOp::Shutdown, &[buf[0]], &mut []);
        }
        OP_FAULT_TASK
            if cfg!(feature = "fault-injection")
                && arg < MAX_TASKS
                && arg != config::TASK_INDEX as usize
                && msg.message_len == 2 =>
        {
            defmt::warn!(
                "fault injection: faulting {=str} on request",
                config::TASK_NAMES[arg]
            );
            sys_kipc(KipcOp::FaultTask, &(arg as u16).to_le_bytes(), &mut []);
            sys_reply(msg.sender, 0, &[]);
        }
        OP_ARM_FAULT
            if cfg!(feature = "fault-injection")
                && arg < MAX_TASKS
                && arg != config::TASK_INDEX as usize
                && msg.message_len == 4 =>
        {
            let n = u16::from_le_bytes([buf[2], buf[3]]);
            defmt::warn!(
                "fault injection: {=str} will fault at its message {=u16} from now",
                config::TASK_NAMES[arg],
                n
            );
            sys_kipc(KipcOp::ArmFault, &buf[..4], &mut []);
            sys_reply(msg.sender, 0, &[]);
        }
        OP_TAKE_DEATH => {
            let dead = records
                .iter_mut()
                .enumerate()
                .find(|(_, r)| r.unreported_death)
                .map_or(NO_TASK, |(i, r)| {
                    r.unreported_death = false;
                    i as u16
                });
            sys_reply(msg.sender, 0, &dead.to_le_bytes());
        }
        _ => sys_reply_fault(msg.sender, abi::ReplyFaultReason::BadMessageContents),
    }
}
