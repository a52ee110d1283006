//! The kernel's half of device-register custody, as the simulator models
//! it: which task's page tables map each device's registers.
//!
//! The broker reaches it by kernel IPC (`TaskId::KERNEL`) through the same
//! transport as its peers, so the fault matrix kills tasks around register
//! requests like around any other message. The decisions (who may ask,
//! the one-holder rule, which tasks have a device window) are the real
//! kernel's own `kern::device_regs` functions; only the page tables are a
//! table here. The kernel cannot die, so a request is never half done.

use std::cell::RefCell;

use idl_runtime::abi::{rc, KipcOp, NO_HOLDER};
use idl_types::TaskIndex;
use kern::desc::{DeviceRegs, NO_DEVICE_WINDOW};
use kern::device_regs::{grant_action, permitted, placement, GrantAction, Request};

/// A device window base every domain owner has (the model maps nothing;
/// only whether a placement exists matters).
const WINDOW: u64 = 0x80_0e00_0000;
/// Each modelled device's registers.
const REGS: DeviceRegs = DeviceRegs {
    name: "device",
    paddr: 0xfe00_0000,
    size: 0x1000,
    offset: 0,
    initial_holder: NO_HOLDER,
};

/// Who holds each device's registers.
pub struct KernelModel {
    holders: RefCell<Vec<Option<TaskIndex>>>,
    devices: Vec<DeviceRegs>,
    /// Tasks with a device window (the domains' owners).
    windows: Vec<TaskIndex>,
    /// The task allowed to grant and revoke.
    custodian: TaskIndex,
}

impl KernelModel {
    /// `devices` devices with registers in custody, held at boot by
    /// `initial` (index-aligned), windows for `owners`.
    pub fn new(initial: &[Option<TaskIndex>], owners: &[TaskIndex], custodian: TaskIndex) -> Self {
        KernelModel {
            holders: RefCell::new(initial.to_vec()),
            devices: initial.iter().map(|_| REGS).collect(),
            windows: owners.to_vec(),
            custodian,
        }
    }

    /// Who holds device `index`'s registers.
    pub fn holder(&self, index: usize) -> Option<TaskIndex> {
        self.holders.borrow().get(index).copied().flatten()
    }

    fn window(&self, task: usize) -> u64 {
        if self.windows.iter().any(|t| usize::from(t.0) == task) {
            WINDOW
        } else {
            NO_DEVICE_WINDOW
        }
    }

    /// Answers a kernel IPC from `sender`: the response code and reply
    /// length, as the kernel's `kipc` would for a task that is not the
    /// supervisor (the broker): an operation other than a register
    /// request is refused (`ACCESS`), a register request too short to
    /// name its device has no window (`NO_WINDOW`).
    pub fn ipc(&self, sender: TaskIndex, op: u32, msg: &[u8], reply: &mut [u8]) -> (u32, usize) {
        let Some(op) = KipcOp::from_raw(op).filter(|op| kern::device_regs::is_register_op(*op))
        else {
            return (rc::ACCESS, 0);
        };
        let Some(request) = Request::decode(op, msg) else {
            return (rc::NO_WINDOW, 0);
        };
        match self.answer(request, usize::from(sender.0), reply) {
            Ok(len) => (rc::OK, len),
            Err(code) => (code, 0),
        }
    }

    fn answer(&self, request: Request, me: usize, reply: &mut [u8]) -> Result<usize, u32> {
        permitted(request, me, self.custodian.0)?;
        let device = request.device();
        let mut holders = self.holders.borrow_mut();
        let holder = holders
            .get(device)
            .copied()
            .flatten()
            .map(|t| usize::from(t.0));
        match request {
            Request::Holder { .. } => {
                let h = holder.map_or(NO_HOLDER, |h| h as u16);
                let out = reply.get_mut(..2).ok_or(rc::NO_WINDOW)?;
                out.copy_from_slice(&h.to_le_bytes());
                Ok(2)
            }
            Request::Window { .. } => {
                let (va, _, size) = placement(&self.devices, self.window(me), device)?;
                if holder != Some(me) {
                    return Err(rc::REGISTERS_NOT_HELD);
                }
                let out = reply.get_mut(..16).ok_or(rc::NO_WINDOW)?;
                out[..8].copy_from_slice(&va.to_le_bytes());
                out[8..].copy_from_slice(&size.to_le_bytes());
                Ok(16)
            }
            Request::Grant { task, .. } => {
                placement(&self.devices, self.window(task), device)?;
                if grant_action(holder, task)? == GrantAction::Map {
                    holders[device] = Some(TaskIndex(task as u16));
                }
                Ok(0)
            }
            Request::Revoke { .. } => {
                placement(&self.devices, WINDOW, device)?;
                holders[device] = None;
                Ok(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: TaskIndex = TaskIndex(7);
    const B: TaskIndex = TaskIndex(8);
    const BROKER: TaskIndex = TaskIndex(5);

    fn grant(k: &KernelModel, from: TaskIndex, device: u16, task: TaskIndex) -> u32 {
        let mut body = [0u8; 4];
        body[..2].copy_from_slice(&device.to_le_bytes());
        body[2..].copy_from_slice(&task.0.to_le_bytes());
        k.ipc(from, KipcOp::GrantRegisters as u32, &body, &mut []).0
    }

    #[test]
    fn other_kernel_requests_are_refused_and_short_ones_have_no_window_as_in_the_kernel() {
        let k = KernelModel::new(&[Some(A)], &[A, B], BROKER);
        let mut reply = [0u8; 16];
        let restart = KipcOp::RestartTask as u32;
        assert_eq!(k.ipc(BROKER, restart, &[0, 0], &mut reply), (rc::ACCESS, 0));
        assert_eq!(k.ipc(BROKER, 0xdead, &[0, 0], &mut reply), (rc::ACCESS, 0));
        let grant = KipcOp::GrantRegisters as u32;
        assert_eq!(k.ipc(BROKER, grant, &[0], &mut reply), (rc::NO_WINDOW, 0));
        assert_eq!(k.holder(0), Some(A), "nothing changed");
    }

    #[test]
    fn the_model_keeps_the_kernels_one_holder_rule_and_custodian_check() {
        let k = KernelModel::new(&[Some(A), None], &[A, B], BROKER);
        assert_eq!(grant(&k, BROKER, 0, B), rc::REGISTERS_HELD);
        assert_eq!(grant(&k, A, 1, A), rc::ACCESS);
        assert_eq!(grant(&k, BROKER, 1, TaskIndex(3)), rc::NO_WINDOW);
        assert_eq!(
            k.ipc(BROKER, KipcOp::RevokeRegisters as u32, &[0, 0], &mut [])
                .0,
            rc::OK
        );
        assert_eq!(grant(&k, BROKER, 0, B), rc::OK);
        assert_eq!(grant(&k, BROKER, 0, B), rc::OK, "a replayed grant is done");
        assert_eq!(k.holder(0), Some(B));
        let mut reply = [0u8; 2];
        assert_eq!(
            k.ipc(A, KipcOp::RegisterHolder as u32, &[0, 0], &mut reply),
            (rc::OK, 2)
        );
        assert_eq!(u16::from_le_bytes(reply), B.0);
    }
}
