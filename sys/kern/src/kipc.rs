//! Kernel IPC: the supervisor's messages to the kernel (task status,
//! restart, fault injection, shutdown) and the device-register requests
//! (`registers`). Answered at once, without blocking. Only the supervisor
//! may send its messages, only the custodian may grant or revoke
//! registers; anyone else gets `rc::ACCESS`.

use abi::{rc, FaultInfo, KipcOp, SchedState, Sysnum, TaskStatus};

use crate::kernel::Kernel;
use crate::outcome::{SysResult, UserError};
use crate::task::State;
use crate::{arch, config};

/// Longest kernel IPC request.
const MAX_REQUEST: usize = 8;
/// Longest kernel IPC reply (a task's status is the longest).
const MAX_REPLY: usize = abi::TASK_STATUS_LEN;
/// A register window reply (address, bytes) fits.
const _: () = assert!(MAX_REPLY >= 16);
/// "No such task" in `FindFaultedTask`.
const NONE_FOUND: u16 = 0xFFFF;

/// Handles a `send` to `TaskId::KERNEL` from `me`.
pub fn handle(kk: &mut Kernel, me: usize) -> SysResult {
    let a = kk.tasks[me].regs.send_args();
    let op = KipcOp::from_raw(a.op);
    let for_registers = op.is_some_and(kern::device_regs::is_register_op);
    if !for_registers && me != config::APP.supervisor as usize {
        kk.refuse(me, kern::rights::Need::Send, usize::MAX);
        return Err(UserError::Code(rc::ACCESS));
    }
    let usage = UserError::usage(Sysnum::Send);
    let mut req = [0u8; MAX_REQUEST];
    let n = (a.msg.len as usize).min(MAX_REQUEST);
    let bytes = kk.user_bytes(me, a.msg.addr, n as u64).ok_or(usage)?;
    req[..n].copy_from_slice(bytes);
    let arg = u16::from_le_bytes([req[0], req[1]]) as usize;
    let mut out = [0u8; MAX_REPLY];
    if let (true, Some(op)) = (for_registers, op) {
        let len = match crate::registers::handle(kk, me, op, &req[..n], &mut out) {
            Ok(len) => len.min(a.reply.len as usize),
            Err(code) => {
                if code == rc::ACCESS {
                    kk.refuse(me, kern::rights::Need::Send, usize::MAX);
                }
                return Err(UserError::Code(code));
            }
        };
        if !kk.write_user(me, a.reply.addr, &out[..len]) {
            return Err(usage);
        }
        kk.tasks[me].regs.set_ok(len as u64, 0);
        return Ok(());
    }
    let result = match op {
        Some(KipcOp::ReadTaskStatus) => read_status(kk, arg, &mut out),
        Some(KipcOp::RestartTask) => valid(kk, arg).map(|i| {
            kk.restart(i);
            0
        }),
        Some(KipcOp::FaultTask) => valid(kk, arg).map(|i| {
            if !matches!(kk.tasks[i].state, State::Faulted(_)) {
                kk.fault(i, FaultInfo::Injected);
            }
            0
        }),
        Some(KipcOp::FindFaultedTask) => {
            let found = (arg..kk.tasks.len())
                .find(|&i| matches!(kk.tasks[i].state, State::Faulted(_)))
                .map_or(NONE_FOUND, |i| i as u16);
            out[..2].copy_from_slice(&found.to_le_bytes());
            Ok(2)
        }
        Some(KipcOp::TaskCount) => {
            out[..2].copy_from_slice(&(kk.tasks.len() as u16).to_le_bytes());
            Ok(2)
        }
        Some(KipcOp::Shutdown) => {
            kk.log_stack_marks();
            arch::exit(req[0])
        }
        Some(KipcOp::MessageCount) => valid(kk, arg).map(|i| {
            out[..4].copy_from_slice(&kk.tasks[i].delivered.to_le_bytes());
            4
        }),
        Some(KipcOp::ArmFault) => valid(kk, arg).map(|i| {
            let n = u16::from_le_bytes([req[2], req[3]]);
            kk.tasks[i].fault_after = (n > 0).then_some(n);
            0
        }),
        Some(
            KipcOp::GrantRegisters
            | KipcOp::RevokeRegisters
            | KipcOp::RegisterHolder
            | KipcOp::RegisterWindow,
        )
        | None => Err(()),
    };
    let len = result.map_err(|()| usage)?.min(a.reply.len as usize);
    if !kk.write_user(me, a.reply.addr, &out[..len]) {
        return Err(usage);
    }
    kk.tasks[me].regs.set_ok(len as u64, 0);
    Ok(())
}

fn valid(kk: &Kernel, index: usize) -> Result<usize, ()> {
    (index < kk.tasks.len()).then_some(index).ok_or(())
}

fn read_status(kk: &Kernel, index: usize, out: &mut [u8; MAX_REPLY]) -> Result<usize, ()> {
    let t = &kk.tasks[valid(kk, index)?];
    let (fault, sched) = match t.state {
        State::Faulted(f) => (Some(f), SchedState::Stopped),
        State::Stopped => (None, SchedState::Stopped),
        State::Runnable => (None, SchedState::Runnable),
        State::InSend(to) => (None, SchedState::InSend(to)),
        State::InReply(to) => (None, SchedState::InReply(to)),
        State::InRecv { mask, from } => (
            None,
            SchedState::InRecv {
                from,
                notifications: mask,
            },
        ),
    };
    let (used, size) = kk.stack_mark(index).unwrap_or((0, 0));
    let status = TaskStatus {
        generation: t.generation.get(),
        fault,
        sched,
        refusals: t.refusals,
        served: t.served,
        stack_used: u32::try_from(used).unwrap_or(u32::MAX),
        stack_size: u32::try_from(size).unwrap_or(u32::MAX),
    };
    out[..abi::TASK_STATUS_LEN].copy_from_slice(&status.encode());
    Ok(abi::TASK_STATUS_LEN)
}
