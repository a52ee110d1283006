//! Device registers in custody, on the page tables (see
//! `kern::device_regs` for the rules): boot-time preparation and initial
//! grants, and the custodian's grant and revoke.
//!
//! Every domain owner's device window gets its page tables at boot, so a
//! run-time grant only writes leaf entries (it never allocates). A revoke
//! clears the leaves and reloads CR3 before it returns: on this one-CPU
//! kernel without PCIDs that is the whole TLB shootdown (an SMP kernel
//! would also have to interrupt every CPU that may run the old holder).

use abi::{rc, KipcOp, NO_HOLDER};
use kern::device_regs::{grant_action, permitted, placement, GrantAction, Request};

use crate::arch::paging::{self, FrameAllocator, MapError, NX, PCD, PWT, RW, US};
use crate::config;
use crate::kernel::Kernel;
use crate::task::Task;

/// Leaf flags of a device window: user, writable, uncached, never executed.
const WINDOW_FLAGS: u64 = US | RW | NX | PCD | PWT;

fn window_of(t: &Task) -> u64 {
    t.desc
        .map_or(kern::desc::NO_DEVICE_WINDOW, |d| d.device_window)
}

/// Creates the page tables of task `t`'s device window and maps the
/// registers it holds at boot (`index` is its task index).
pub fn prepare(frames: &mut FrameAllocator, t: &Task, index: usize) -> Result<(), MapError> {
    let window = window_of(t);
    for (d, regs) in config::APP.devices.iter().enumerate() {
        let Ok((va, pa, size)) = placement(config::APP.devices, window, d) else {
            continue;
        };
        paging::prepare_range(frames, t.pml4, va, size)?;
        if usize::from(regs.initial_holder) == index {
            paging::set_leaves(t.pml4, va, pa, size, WINDOW_FLAGS);
        }
    }
    Ok(())
}

/// Who holds device `device`'s registers, by the page tables.
fn holder(kk: &Kernel, device: usize) -> Option<usize> {
    kk.tasks.iter().position(|t| {
        placement(config::APP.devices, window_of(t), device)
            .is_ok_and(|(va, pa, _)| paging::lookup(t.pml4, va) == Some(pa))
    })
}

/// Answers a register request of task `me` into `out`: the reply's length,
/// or the code the caller gets.
pub fn handle(
    kk: &mut Kernel,
    me: usize,
    op: KipcOp,
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, u32> {
    let request = Request::decode(op, body).ok_or(rc::NO_WINDOW)?;
    permitted(request, me, config::APP.custodian)?;
    let device = request.device();
    let name = config::APP.devices.get(device).map_or("?", |d| d.name);
    match request {
        Request::Holder { .. } => {
            let h = holder(kk, device).map_or(NO_HOLDER, |i| i as u16);
            out[..2].copy_from_slice(&h.to_le_bytes());
            Ok(2)
        }
        Request::Window { .. } => {
            let (va, _, size) = placement(config::APP.devices, window_of(&kk.tasks[me]), device)?;
            if holder(kk, device) != Some(me) {
                return Err(rc::REGISTERS_NOT_HELD);
            }
            out[..8].copy_from_slice(&va.to_le_bytes());
            out[8..16].copy_from_slice(&size.to_le_bytes());
            Ok(16)
        }
        Request::Grant { task, .. } => {
            let t = kk.tasks.get(task).ok_or(rc::NO_WINDOW)?;
            let (va, pa, size) = placement(config::APP.devices, window_of(t), device)?;
            if grant_action(holder(kk, device), task)? == GrantAction::Map {
                if !paging::set_leaves(t.pml4, va, pa, size, WINDOW_FLAGS) {
                    return Err(rc::NO_WINDOW);
                }
                let to = t.desc.map_or("?", |d| d.name);
                defmt::info!("registers of {=str} granted to {=str}", name, to);
            }
            Ok(0)
        }
        Request::Revoke { .. } => {
            if let Some(h) = holder(kk, device) {
                let t = &kk.tasks[h];
                let (va, _, size) = placement(config::APP.devices, window_of(t), device)?;
                paging::clear_leaves(t.pml4, va, size);
                let from = t.desc.map_or("?", |d| d.name);
                defmt::info!("registers of {=str} revoked from {=str}", name, from);
            }
            Ok(0)
        }
    }
}
