//! Device registers in custody: the kernel's half of "a device's registers
//! follow its owner".
//!
//! Every app.toml device with `bar0` and `bar0-size` has its BAR mapped into
//! at most one task: the task that owns the device's domain. xtask gives
//! each domain owner a *device window* (a range of its address space with a
//! fixed slot per device) and names one task the custodian (the broker).
//! Only the custodian may grant a device's registers to a task or revoke
//! them, through kernel IPC; the kernel refuses a grant while another task
//! holds them, so two tasks never hold one device's registers, whatever the
//! custodian does. Who holds what is read back from the page tables
//! themselves, so a restarted broker (or task) sees what the hardware will
//! enforce, not what some memory says.
//!
//! This half decodes requests, decides who may make them, and computes the
//! addresses; `registers.rs` in the kernel binary touches the page tables.

use abi::{rc, KipcOp};

use crate::desc::{DeviceRegs, NO_DEVICE_WINDOW};

/// One register request, decoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Map `device`'s registers into `task`.
    Grant { device: usize, task: usize },
    /// Unmap `device`'s registers from whoever holds them.
    Revoke { device: usize },
    /// Who holds `device`'s registers.
    Holder { device: usize },
    /// Where the caller holds `device`'s registers.
    Window { device: usize },
}

impl Request {
    /// Decodes `op` with its little-endian body; `None` if `op` is not a
    /// register operation or the body is short.
    pub fn decode(op: KipcOp, body: &[u8]) -> Option<Request> {
        let u16_at = |i: usize| {
            body.get(i..i + 2)
                .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        };
        let device = u16_at(0)?;
        Some(match op {
            KipcOp::GrantRegisters => Request::Grant {
                device,
                task: u16_at(2)?,
            },
            KipcOp::RevokeRegisters => Request::Revoke { device },
            KipcOp::RegisterHolder => Request::Holder { device },
            KipcOp::RegisterWindow => Request::Window { device },
            _ => return None,
        })
    }

    /// Whether only the custodian may make it.
    pub fn changes_custody(self) -> bool {
        matches!(self, Request::Grant { .. } | Request::Revoke { .. })
    }

    /// The device it names.
    pub fn device(self) -> usize {
        match self {
            Request::Grant { device, .. }
            | Request::Revoke { device }
            | Request::Holder { device }
            | Request::Window { device } => device,
        }
    }
}

/// Whether `op` is a register operation (any task may send the questions).
pub fn is_register_op(op: KipcOp) -> bool {
    matches!(
        op,
        KipcOp::GrantRegisters
            | KipcOp::RevokeRegisters
            | KipcOp::RegisterHolder
            | KipcOp::RegisterWindow
    )
}

/// Whether task `caller` may make `request` when `custodian` is the
/// custodian's index (`abi::NO_HOLDER` if the image has none).
pub fn permitted(request: Request, caller: usize, custodian: u16) -> Result<(), u32> {
    if request.changes_custody() && caller != usize::from(custodian) {
        return Err(rc::ACCESS);
    }
    Ok(())
}

/// Where device `device`'s registers go in a task whose window is
/// `window`: `(virtual base, physical base, bytes)`, or [`rc::NO_WINDOW`]
/// if the device has no registers in custody or the task no window.
pub fn placement(
    devices: &[DeviceRegs],
    window: u64,
    device: usize,
) -> Result<(u64, u64, u64), u32> {
    let d = devices
        .get(device)
        .filter(|d| d.size != 0)
        .ok_or(rc::NO_WINDOW)?;
    if window == NO_DEVICE_WINDOW {
        return Err(rc::NO_WINDOW);
    }
    let va = window.checked_add(d.offset).ok_or(rc::NO_WINDOW)?;
    Ok((va, d.paddr, d.size))
}

/// What a grant does, given who holds the device's registers now.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GrantAction {
    /// Map them into the task.
    Map,
    /// The task holds them already: nothing to do (a replayed grant).
    AlreadyHeld,
}

/// Decides a grant to `task` while `holder` holds the registers.
pub fn grant_action(holder: Option<usize>, task: usize) -> Result<GrantAction, u32> {
    match holder {
        None => Ok(GrantAction::Map),
        Some(h) if h == task => Ok(GrantAction::AlreadyHeld),
        Some(_) => Err(rc::REGISTERS_HELD),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICES: [DeviceRegs; 2] = [
        DeviceRegs {
            name: "edu0",
            paddr: 0xfe80_0000,
            size: 0x10_0000,
            offset: 0,
            initial_holder: 5,
        },
        DeviceRegs {
            name: "nic",
            paddr: 0,
            size: 0,
            offset: 0,
            initial_holder: abi::NO_HOLDER,
        },
    ];

    #[test]
    fn a_grant_or_revoke_from_anyone_but_the_custodian_is_refused() {
        let grant = Request::Grant { device: 0, task: 5 };
        assert_eq!(permitted(grant, 4, 4), Ok(()));
        assert_eq!(permitted(grant, 5, 4), Err(rc::ACCESS));
        assert_eq!(
            permitted(Request::Revoke { device: 0 }, 5, 4),
            Err(rc::ACCESS)
        );
        assert_eq!(
            permitted(grant, 4, abi::NO_HOLDER),
            Err(rc::ACCESS),
            "an image without a custodian grants nothing"
        );
    }

    #[test]
    fn anyone_may_ask_who_holds_registers_and_where_its_own_are() {
        assert_eq!(permitted(Request::Holder { device: 0 }, 7, 4), Ok(()));
        assert_eq!(permitted(Request::Window { device: 0 }, 7, 4), Ok(()));
    }

    #[test]
    fn a_grant_while_another_task_holds_the_registers_is_refused() {
        assert_eq!(grant_action(None, 5), Ok(GrantAction::Map));
        assert_eq!(grant_action(Some(5), 5), Ok(GrantAction::AlreadyHeld));
        assert_eq!(grant_action(Some(6), 5), Err(rc::REGISTERS_HELD));
    }

    #[test]
    fn a_device_without_registers_or_a_task_without_a_window_has_no_placement() {
        assert_eq!(
            placement(&DEVICES, 0x80_0e00_0000, 0),
            Ok((0x80_0e00_0000, 0xfe80_0000, 0x10_0000))
        );
        assert_eq!(placement(&DEVICES, 0x80_0e00_0000, 1), Err(rc::NO_WINDOW));
        assert_eq!(placement(&DEVICES, 0x80_0e00_0000, 9), Err(rc::NO_WINDOW));
        assert_eq!(placement(&DEVICES, NO_DEVICE_WINDOW, 0), Err(rc::NO_WINDOW));
        assert_eq!(
            placement(&DEVICES, u64::MAX, 0),
            Ok((u64::MAX, 0xfe80_0000, 0x10_0000))
        );
    }

    #[test]
    fn requests_decode_from_their_little_endian_bodies_and_short_ones_are_refused() {
        assert_eq!(
            Request::decode(KipcOp::GrantRegisters, &[1, 0, 6, 0]),
            Some(Request::Grant { device: 1, task: 6 })
        );
        assert_eq!(Request::decode(KipcOp::GrantRegisters, &[1, 0, 6]), None);
        assert_eq!(
            Request::decode(KipcOp::RevokeRegisters, &[2, 0]),
            Some(Request::Revoke { device: 2 })
        );
        assert_eq!(Request::decode(KipcOp::RegisterHolder, &[]), None);
        assert_eq!(Request::decode(KipcOp::RestartTask, &[1, 0]), None);
        assert!(is_register_op(KipcOp::RegisterWindow));
        assert!(!is_register_op(KipcOp::Shutdown));
    }
}
