//! The broker's transport and journal store in the simulator: every message
//! the broker sends is numbered, traced and may carry the planned fault;
//! every journal write is numbered and may be torn.
//!
//! Two things a reader must know:
//! - A fault at a message boundary kills its task *there*, whether or not
//!   the message is addressed to it: a peer is replaced by a new instance
//!   and its generation bumped (so the message, if it was for the victim,
//!   meets a dead code); the broker itself "dies" by having every later
//!   send and journal write refused, and is restarted from its store alone
//!   once the request returns.
//! - Around every iommu message the DMA observer is consulted: a disconnect
//!   window is always a violation, a mixed state is one unless the message
//!   took Xen's documented best-effort path (no CX16, an RMRR device,
//!   a present entry replaced).

use std::cell::RefCell;
use std::rc::Rc;

use idl_runtime::abi::{rc, TaskId};
use idl_runtime::{InProcess, InProcessClient, Lease, SendError, Transport};
use idl_types::{Bdf, ReassignMode, UnitId};
use task_broker::{JournalError, JournalStore};

use crate::hardware::Hardware;
use crate::servers::{index, Servers, NAMES};

/// A planned fault.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `task` dies just before (or after) the broker's message number
    /// `message` of the request.
    Message {
        /// The victim.
        task: &'static str,
        /// Which message (0-based, counted per request).
        message: usize,
        /// After the message was handled (else before it was sent).
        after: bool,
    },
    /// The broker dies in the middle of its journal write number `write`,
    /// having stored only the first `keep` bytes of it.
    TornWrite {
        /// Which write (0-based, per request).
        write: usize,
        /// Bytes that reached the region.
        keep: usize,
    },
    /// The broker's journal refuses its write number `write` and every one
    /// after it, while the broker lives on (its peers still answer); the
    /// broker is restarted after the request, as the firmware restarts
    /// itself when its journal fails, and its region works again.
    JournalRefuses {
        /// The first write refused (0-based, per request).
        write: usize,
    },
}

/// One message the broker sent.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// To whom.
    pub task: &'static str,
    /// Which operation.
    pub op: u32,
    /// For an iommu context change: the requester ID and the mode flags.
    pub context: Option<(Bdf, ReassignMode)>,
}

/// What the transport and store share with the simulator.
#[derive(Default, Debug)]
pub struct Control {
    /// Messages sent in this request.
    pub sent: usize,
    /// Journal writes in this request.
    pub writes: usize,
    /// The planned fault.
    pub fault: Option<Fault>,
    /// Whether it struck.
    pub fired: bool,
    /// The broker is dead: sends and writes are refused.
    pub broker_dead: bool,
    /// The broker's journal refuses writes (until the broker restarts).
    pub journal_refusing: bool,
    /// The journal said "committed" at some point of this request.
    pub committed: bool,
    /// A second fault, struck during the recovery from the first: its
    /// `message` counts the messages sent after the first fault struck
    /// (the rest of the request's rollback, the broker's restart and
    /// replay, the handling of the deaths: rebuilding books, domid's and
    /// pci's state).
    pub second: Option<Fault>,
    /// Whether the second fault struck.
    pub second_fired: bool,
    /// Messages sent since the first fault struck.
    pub recovery_sent: usize,
    /// Peers killed in this request.
    pub killed: Vec<&'static str>,
    /// Every message of this request.
    pub trace: Vec<Sent>,
    /// Violations seen during messages (the observer's).
    pub violations: Vec<String>,
}

impl Control {
    /// Arms `fault` for the next request and forgets the last one.
    pub fn arm(&mut self, fault: Option<Fault>) {
        self.arm_twice(fault, None);
    }

    /// Arms `fault` and, for the recovery after it, `second` (a
    /// [`Fault::Message`] counted in recovery messages).
    pub fn arm_twice(&mut self, fault: Option<Fault>, second: Option<Fault>) {
        self.second = second;
        self.second_fired = false;
        self.recovery_sent = 0;
        self.sent = 0;
        self.writes = 0;
        self.fault = fault;
        self.fired = false;
        self.journal_refusing = false;
        self.committed = false;
        self.killed.clear();
        self.trace.clear();
    }
}

/// The name the trace gives kernel IPC (the broker's register requests).
pub const KERNEL: &str = "kernel";

/// The shared control block.
pub type Ctl = Rc<RefCell<Control>>;

/// The broker's transport.
pub struct FaultyTransport<'a, 's, 'h> {
    /// Sends as the broker.
    pub inner: InProcessClient<'a, 's, 9>,
    /// The registry (to bump generations).
    pub system: &'a InProcess<'s, 9>,
    /// The servers (to replace a killed one).
    pub servers: &'a Servers<'h>,
    /// The hardware (the observer).
    pub hw: &'a Hardware<'h>,
    /// Shared with the simulator.
    pub ctl: Ctl,
}

impl Clone for FaultyTransport<'_, '_, '_> {
    fn clone(&self) -> Self {
        FaultyTransport {
            inner: self.inner,
            system: self.system,
            servers: self.servers,
            hw: self.hw,
            ctl: self.ctl.clone(),
        }
    }
}

/// Kills `task` now: a new server instance, a new generation. Returns the
/// dead code its callers see.
pub fn kill(
    system: &InProcess<'_, 9>,
    servers: &Servers<'_>,
    ctl: &Ctl,
    task: &'static str,
) -> u32 {
    if let Err(e) = servers.restart(task) {
        ctl.borrow_mut()
            .violations
            .push(format!("{task} did not restart: {e}"));
    }
    let _ = system.restart(task, None);
    ctl.borrow_mut().killed.push(task);
    let generation = system.task_id(task).map_or(0, |t| t.generation().get());
    servers.record_death(task, generation);
    rc::dead(generation)
}

/// The unit, requester ID and mode of an iommu context-change message, read
/// in the operation's encoding (fixed layouts, or postcard for
/// `quarantine_device`, whose RMRR list has variable length).
fn context_change(op: u32, msg: &[u8]) -> Option<(UnitId, Bdf, ReassignMode)> {
    use idl_runtime::postcard::from_bytes;
    use idl_types::wire::decode_message;
    use task_iommu::iommu as ipc;
    match ipc::Op::from_raw(op)? {
        ipc::Op::SetContext => decode_message::<ipc::SetContextArgs>(msg)?
            .ok()
            .map(|a| (a.unit, a.rid, a.mode)),
        ipc::Op::ClearContext => decode_message::<ipc::ClearContextArgs>(msg)?
            .ok()
            .map(|a| (a.unit, a.rid, a.mode)),
        ipc::Op::QuarantineDevice => from_bytes::<ipc::QuarantineDeviceArgs>(msg)
            .ok()
            .map(|a| (a.unit, a.rid, a.mode)),
        _ => None,
    }
}

impl FaultyTransport<'_, '_, '_> {
    /// How many mixed states the message may show: one for Xen's
    /// best-effort write (no CX16, WITH_RMRR, a present entry replaced).
    fn mixed_allowance(&self, op: u32, msg: &[u8]) -> u64 {
        let Some((unit, rid, mode)) = context_change(op, msg) else {
            return 0;
        };
        let present = self.hw.entry(unit, rid).present;
        u64::from(!self.hw.platform.cx16 && mode.contains(ReassignMode::WITH_RMRR) && present)
    }

    /// Delivers one message, checking the observer around iommu messages.
    fn deliver(
        &mut self,
        target: TaskId,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
        leases: &mut [Lease<'_>],
    ) -> Result<(u32, usize), SendError> {
        if target == TaskId::KERNEL {
            return Ok(self.hw.kernel.ipc(index("broker"), op, msg, reply));
        }
        let to_iommu = target.index() == usize::from(index("iommu").0);
        if !to_iommu {
            return self.inner.send(target, op, msg, reply, leases);
        }
        self.servers.register_observer();
        let allowed = self.mixed_allowance(op, msg);
        let (windows, mixed) = self.hw.observed();
        let result = self.inner.send(target, op, msg, reply, leases);
        let (windows_after, mixed_after) = self.hw.observed();
        let mut c = self.ctl.borrow_mut();
        if windows_after > windows {
            c.violations.push(format!(
                "iommu op {op}: {} disconnect windows for an RMRR device",
                windows_after - windows
            ));
        }
        if mixed_after - mixed > allowed {
            c.violations.push(format!(
                "iommu op {op}: {} mixed states (allowed {allowed})",
                mixed_after - mixed
            ));
        }
        result
    }
}

impl Transport for FaultyTransport<'_, '_, '_> {
    fn send(
        &mut self,
        target: TaskId,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
        leases: &mut [Lease<'_>],
    ) -> Result<(u32, usize), SendError> {
        let name = if target == TaskId::KERNEL {
            KERNEL
        } else {
            NAMES.get(target.index()).copied().unwrap_or("?")
        };
        let fault = {
            let mut c = self.ctl.borrow_mut();
            if c.broker_dead {
                return Err(SendError::NotServing(index("broker").0));
            }
            let n = c.sent;
            c.sent += 1;
            let recovery = c.fired.then(|| {
                c.recovery_sent += 1;
                c.recovery_sent - 1
            });
            let context = (name == "iommu")
                .then(|| context_change(op, msg).map(|(_, rid, mode)| (rid, mode)))
                .flatten();
            c.trace.push(Sent {
                task: name,
                op,
                context,
            });
            match (c.fault, c.second) {
                (
                    Some(Fault::Message {
                        task,
                        message,
                        after,
                    }),
                    _,
                ) if message == n && !c.fired => {
                    c.fired = true;
                    Some((task, after))
                }
                (
                    _,
                    Some(Fault::Message {
                        task,
                        message,
                        after,
                    }),
                ) if Some(message) == recovery && !c.second_fired => {
                    c.second_fired = true;
                    Some((task, after))
                }
                _ => None,
            }
        };
        let Some((victim, after)) = fault else {
            return self.deliver(target, op, msg, reply, leases);
        };
        if victim == "broker" {
            if after {
                let _ = self.deliver(target, op, msg, reply, leases);
            }
            self.ctl.borrow_mut().broker_dead = true;
            return Err(SendError::NotServing(index("broker").0));
        }
        if !after {
            kill(self.system, self.servers, &self.ctl, victim);
            return self.deliver(target, op, msg, reply, leases);
        }
        let result = self.deliver(target, op, msg, reply, leases);
        let dead = kill(self.system, self.servers, &self.ctl, victim);
        if victim == name {
            return Ok((dead, 0));
        }
        result
    }
}

/// The broker's persist region: refuses writes once the broker is dead,
/// and tears the planned write.
pub struct SimStore {
    /// The region's bytes.
    pub bytes: Vec<u8>,
    /// Shared with the simulator.
    pub ctl: Ctl,
}

impl JournalStore for SimStore {
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), JournalError> {
        let torn = {
            let mut c = self.ctl.borrow_mut();
            if c.broker_dead || c.journal_refusing {
                return Err(JournalError::StoreRefused);
            }
            let n = c.writes;
            c.writes += 1;
            match c.fault {
                Some(Fault::TornWrite { write, keep }) if write == n && !c.fired => {
                    c.fired = true;
                    c.broker_dead = true;
                    Some(keep.min(data.len()))
                }
                Some(Fault::JournalRefuses { write }) if write == n && !c.fired => {
                    c.fired = true;
                    c.journal_refusing = true;
                    return Err(JournalError::StoreRefused);
                }
                _ => None,
            }
        };
        let end = offset
            .checked_add(data.len())
            .ok_or(JournalError::OutOfRange { offset })?;
        let dst = self
            .bytes
            .get_mut(offset..end)
            .ok_or(JournalError::OutOfRange { offset })?;
        let result = match torn {
            None => {
                dst.copy_from_slice(data);
                Ok(())
            }
            Some(keep) => {
                if let (Some(d), Some(s)) = (dst.get_mut(..keep), data.get(..keep)) {
                    d.copy_from_slice(s);
                }
                Err(JournalError::StoreRefused)
            }
        };
        // What a broker starting now would find (a write torn after its
        // last byte is whole).
        if task_broker::Journal::<SimStore>::stored_state(&self.bytes)
            == Some(task_broker::TxState::Committed)
        {
            self.ctl.borrow_mut().committed = true;
        }
        result
    }
}
