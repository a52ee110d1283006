//! A device's registers in custody: its BAR is mapped into its owner's
//! address space alone, and follows the device in the same transaction as
//! its DMA and interrupts.
//!
//! The kernel holds the page tables, so the broker asks it, by kernel IPC
//! (`KipcOp::GrantRegisters`, `RevokeRegisters`, `RegisterHolder`), which
//! only the task app.toml marks `device-custodian` may send. A move whose
//! target has another owner than its source gets two more forward steps
//! after the interrupt entry, each journaled with its undo first: revoke
//! the source owner's mapping (undo: grant it back), then grant the target
//! owner's (undo: revoke it). The kernel refuses a grant while another task
//! holds the registers, so even a confused broker cannot give one device's
//! registers to two tasks.
//!
//! Who holds what is read from the kernel (which reads its page tables),
//! never remembered: a move reads it like it reads a context entry, and a
//! (re)starting broker makes every holder agree with its books, so a
//! crash at any message leaves DMA, interrupts and registers with one
//! owner.

use heapless::Vec;
use idl_runtime::abi::{rc, KipcOp, TaskId, NO_HOLDER};
use idl_runtime::Transport;
use idl_types::{Bdf, BrokerError, Custody, TaskIndex};
use serde::{Deserialize, Serialize};

use crate::books::{Books, MAX_DEVICES};
use crate::engine::Broker;
use crate::journal::JournalStore;
use crate::peers::{FailureKind, Peer, PeerFailure};

/// Why the kernel refused a register request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegisterRefusal {
    /// Another task holds the registers (the kernel's one-holder rule).
    Held,
    /// The device has no registers in custody, or the task no window.
    NoWindow,
    /// The broker is not the image's device custodian.
    NotCustodian,
    /// Any other code.
    Other(u32),
}

impl core::fmt::Display for RegisterRefusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RegisterRefusal::Held => write!(f, "another task holds the registers"),
            RegisterRefusal::NoWindow => {
                write!(
                    f,
                    "the device has no registers in custody or the task no window"
                )
            }
            RegisterRefusal::NotCustodian => {
                write!(f, "this task is not app.toml's device-custodian")
            }
            RegisterRefusal::Other(code) => write!(f, "kernel code {code:#x}"),
        }
    }
}

/// The kernel's register requests, over the broker's transport.
#[derive(Clone)]
pub struct Registers<T: Transport + Clone> {
    transport: T,
}

impl<T: Transport + Clone> Registers<T> {
    /// Requests over `transport`.
    pub fn new(transport: T) -> Self {
        Registers { transport }
    }

    fn call(&mut self, op: KipcOp, body: &[u8], reply: &mut [u8]) -> Result<usize, PeerFailure> {
        let failure = |kind| PeerFailure {
            peer: Peer::Kernel,
            kind,
        };
        match self
            .transport
            .send(TaskId::KERNEL, op as u32, body, reply, &mut [])
        {
            Ok((rc::OK, len)) => Ok(len),
            Ok((code, _)) => Err(failure(FailureKind::Kernel(match code {
                rc::REGISTERS_HELD => RegisterRefusal::Held,
                rc::NO_WINDOW => RegisterRefusal::NoWindow,
                rc::ACCESS => RegisterRefusal::NotCustodian,
                other => RegisterRefusal::Other(other),
            }))),
            Err(_) => Err(failure(FailureKind::Unreachable)),
        }
    }

    /// Maps device `index`'s registers into `task` (done if it holds them).
    pub fn grant(&mut self, index: u16, task: TaskIndex) -> Result<(), PeerFailure> {
        let mut body = [0u8; 4];
        body[..2].copy_from_slice(&index.to_le_bytes());
        body[2..].copy_from_slice(&task.0.to_le_bytes());
        self.call(KipcOp::GrantRegisters, &body, &mut [])
            .map(|_| ())
    }

    /// Unmaps device `index`'s registers from whoever holds them (TLB
    /// flushed before the answer).
    pub fn revoke(&mut self, index: u16) -> Result<(), PeerFailure> {
        self.call(KipcOp::RevokeRegisters, &index.to_le_bytes(), &mut [])
            .map(|_| ())
    }

    /// Who holds device `index`'s registers, by the page tables.
    pub fn holder(&mut self, index: u16) -> Result<Option<TaskIndex>, PeerFailure> {
        let mut reply = [0u8; 2];
        let len = self.call(KipcOp::RegisterHolder, &index.to_le_bytes(), &mut reply)?;
        if len != reply.len() {
            return Err(PeerFailure {
                peer: Peer::Kernel,
                kind: FailureKind::Unreachable,
            });
        }
        let h = u16::from_le_bytes(reply);
        Ok((h != NO_HOLDER).then_some(TaskIndex(h)))
    }
}

/// A journaled register undo (sent to the kernel).
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegisterUndo {
    /// Map device `index`'s registers back into `task`.
    Grant {
        /// The kernel's device index.
        index: u16,
        /// The task.
        task: TaskIndex,
    },
    /// Unmap device `index`'s registers.
    Revoke {
        /// The kernel's device index.
        index: u16,
    },
}

/// The largest encoded [`RegisterUndo`]: a tag and three varint u16s.
pub const REGISTER_UNDO_MAX_LEN: usize = 1 + 3 * 3;

impl RegisterUndo {
    /// Sends it once. Granting what the task holds and revoking what no
    /// one holds are done, so it is idempotent.
    pub fn execute<T: Transport + Clone>(
        &self,
        regs: &mut Registers<T>,
    ) -> Result<(), PeerFailure> {
        match *self {
            RegisterUndo::Grant { index, task } => regs.grant(index, task),
            RegisterUndo::Revoke { index } => regs.revoke(index),
        }
    }

    /// The device it concerns.
    pub fn index(&self) -> u16 {
        match *self {
            RegisterUndo::Grant { index, .. } | RegisterUndo::Revoke { index } => index,
        }
    }
}

/// What a move needs to know about the device's registers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RegistersNow {
    /// The kernel's device index.
    pub index: u16,
    /// Who holds them now (read from the kernel).
    pub holder: Option<TaskIndex>,
}

/// Who should hold a device's registers in `custody`: the domain's owner;
/// no one in quarantine or unassigned.
pub fn holder_for(custody: Custody, books: &Books) -> Option<TaskIndex> {
    match custody {
        Custody::Domain(d) => books.domain(d).map(|r| r.owner),
        _ => None,
    }
}

/// Devices whose registers are in custody: (device, kernel index).
pub type RegisterBooks = Vec<(Bdf, u16), MAX_DEVICES>;

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// The kernel's index of the device's registers, if in custody.
    pub(crate) fn register_index(&self, device: Bdf) -> Option<u16> {
        self.registers
            .iter()
            .find(|(d, _)| *d == device)
            .map(|(_, i)| *i)
    }

    /// The device's registers as a move needs them: `None` when they are
    /// not in custody.
    pub(crate) fn read_registers(
        &mut self,
        device: Bdf,
    ) -> Result<Option<RegistersNow>, BrokerError> {
        let Some(index) = self.register_index(device) else {
            return Ok(None);
        };
        let holder = self
            .peers
            .kernel
            .holder(index)
            .map_err(|_| BrokerError::PeerDown)?;
        Ok(Some(RegistersNow { index, holder }))
    }

    /// Makes every device's register holder what the books say: after a
    /// crash the journal's replay has already put them back; this repairs
    /// whatever a hostile or corrupt journal (or a first boot) left, so a
    /// device's registers are never with a task that does not own it.
    pub(crate) fn reconcile_registers(&mut self) {
        let registers = self.registers.clone();
        for (device, index) in registers {
            let Some(custody) = self.books.device(device).map(|d| d.custody) else {
                continue;
            };
            let want = holder_for(custody, &self.books);
            let Ok(now) = self.peers.kernel.holder(index) else {
                continue;
            };
            if now == want {
                continue;
            }
            if now.is_some() && self.peers.kernel.revoke(index).is_err() {
                continue;
            }
            if let Some(task) = want {
                let _ = self.peers.kernel.grant(index, task);
            }
        }
    }
}
