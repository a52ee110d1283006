//! `regs DEV` and `touch DEV TASK`: a device's registers are in custody.
//! The kernel maps them into one task at most, the owner of the device's
//! domain, and the broker revokes and grants them as the device moves (a
//! quarantined device's are mapped into no task).
//!
//! `regs` asks the kernel which task holds them (read from the page
//! tables) and sets that beside the broker's books. `touch` makes a worker
//! act as a driver with a stale pointer: it reads the device's ID register
//! where its device window would hold it, without asking the kernel. The
//! holder reads the ID; any other worker page-faults, and the console says
//! so from the supervisor's report, once the worker has been restarted.

use core::fmt::{self, Write as _};

use idl_runtime::ClientError;
use idl_types::{Bdf, Custody, TaskIndex, TaskReport, WorkerError};
use task_console::DeviceRef;
use userlib::{sys_get_timer, sys_recv_notification, sys_register_holder, sys_set_timer};

use crate::interrupts::workers;
use crate::serial::Out;
use crate::{config, current_id, domain_name, resolve_or_say, worker, Console, NAMES};

/// How long `touch` waits for a faulted worker's restart (guest ms; the
/// supervisor's back-off is at most 1 s).
const RESTART_WAIT_MS: u64 = 2500;
/// How often it looks meanwhile.
const RESTART_POLL_MS: u64 = 10;

/// A device by its app.toml name, or by address when it has none.
pub(crate) struct Label(pub(crate) Bdf);

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match crate::device_name(self.0) {
            "-" => write!(f, "{}", self.0),
            name => f.write_str(name),
        }
    }
}

/// `dev`'s index in app.toml `[devices]`: the kernel's name for its
/// registers.
pub(crate) fn device_index(dev: Bdf) -> Option<u16> {
    let rid = dev.requester_id()?;
    let i = config::system::DEVICES
        .iter()
        .position(|d| d.address.rid == rid)?;
    u16::try_from(i).ok()
}

/// Whether app.toml puts `dev`'s registers in custody.
fn in_custody(index: u16) -> bool {
    config::system::DEVICE_REGISTERS
        .get(usize::from(index))
        .is_some_and(|r| r.is_some())
}

/// The task the kernel maps `dev`'s registers into now, if any.
pub(crate) fn holder_of(dev: Bdf) -> Option<u16> {
    device_index(dev).and_then(sys_register_holder)
}

/// "into dma_b only" or "into no task".
pub(crate) struct MappedInto(pub(crate) Option<u16>);

impl fmt::Display for MappedInto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(t) => write!(
                f,
                "into {} only",
                NAMES.get(usize::from(t)).copied().unwrap_or("?")
            ),
            None => write!(f, "into no task"),
        }
    }
}

/// A worker's refusal in words: for `NoRegisters`, which task the kernel
/// does map the device's registers into.
pub(crate) struct Refusal<'a>(pub(crate) &'a str, pub(crate) ClientError<WorkerError>);

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            ClientError::Op(WorkerError::NoRegisters(d)) => write!(
                f,
                "{} holds no registers of {} now (the kernel maps them {})",
                self.0,
                Label(d),
                MappedInto(holder_of(d))
            ),
            e => write!(f, "{e}"),
        }
    }
}

/// The name of worker task `i`.
pub(crate) fn task_name(i: u16) -> &'static str {
    NAMES.get(usize::from(i)).copied().unwrap_or("?")
}

impl Console {
    pub(crate) fn regs(&mut self, device: DeviceRef) {
        let mut o = Out;
        let Some(dev) = resolve_or_say(device) else {
            return;
        };
        let label = Label(dev);
        let Some(index) = device_index(dev).filter(|i| in_custody(*i)) else {
            let _ = writeln!(
                o,
                "{label} has no registers in custody (app.toml gives it no bar0-size)"
            );
            return;
        };
        let holder = sys_register_holder(index);
        let _ = write!(o, "{label}'s registers are mapped {}", MappedInto(holder));
        let books = self.find_device(|e| e.device == dev).map(|e| e.custody);
        let owner = match books {
            Some(Custody::Domain(d)) => crate::owner_task(d),
            _ => None,
        };
        match (books, holder) {
            (Some(Custody::Domain(d)), Some(h)) if owner == Some(h) => {
                let _ = writeln!(
                    o,
                    " ({}'s owner, as the broker's books say)",
                    domain_name(d)
                );
            }
            (Some(Custody::Domain(d)), _) => {
                let _ = writeln!(
                    o,
                    ", but the broker's books give {label} to {} (owner {})",
                    domain_name(d),
                    owner.map_or("?", task_name)
                );
            }
            (Some(Custody::Quarantined), None) => {
                let _ = writeln!(o, " (it is in quarantine)");
            }
            (Some(Custody::Unassigned), None) => {
                let _ = writeln!(o, " (it is unassigned)");
            }
            (Some(Custody::Quarantined), Some(_)) => {
                let _ = writeln!(o, ", but the broker holds {label} in quarantine");
            }
            (Some(Custody::Unassigned), Some(_)) => {
                let _ = writeln!(o, ", but the broker's books leave {label} unassigned");
            }
            (None, _) => {
                let _ = writeln!(o, " (the broker did not say whose it is)");
            }
        }
    }

    pub(crate) fn touch(&mut self, device: DeviceRef, task: &str) {
        let mut o = Out;
        let Some(dev) = resolve_or_say(device) else {
            return;
        };
        let label = Label(dev);
        let Some(i) = NAMES.iter().position(|n| *n == task) else {
            let _ = writeln!(o, "error: no task named '{task}' (see 'tasks')");
            return;
        };
        let i = i as u16;
        let workers = workers();
        if !workers.contains(&i) {
            let _ = write!(o, "error: {task} is not a DMA worker (the workers:");
            for w in workers.iter() {
                let _ = write!(o, " {}", task_name(*w));
            }
            let _ = writeln!(o, ")");
            return;
        }
        let before = self.supervisor.task_report(TaskIndex(i)).ok();
        let r = worker::Client::new(self.transport, current_id(i)).touch_registers(dev);
        match r {
            Ok(id) => {
                let _ = writeln!(o, "{task} read {label}'s ID register: {id:#010x}");
            }
            Err(ClientError::ServerDied { .. } | ClientError::ServerRestarted { .. }) => {
                self.say_fault(task, i, &label, before)
            }
            Err(ClientError::Op(WorkerError::NoRegisters(_))) => {
                let _ = writeln!(
                    o,
                    "error: {task} has no place for {label}'s registers (no device window, or {label} has none in custody); nothing was touched"
                );
            }
            Err(e) => {
                let _ = writeln!(o, "error: {task} did not touch {label}'s registers: {e}");
            }
        }
    }

    /// After a worker died touching a device's registers: why (the
    /// supervisor's report of its last fault), once it has been restarted.
    fn say_fault(&mut self, task: &str, i: u16, label: &Label, before: Option<TaskReport>) {
        let mut o = Out;
        let start = sys_get_timer();
        let mut last = None;
        let restarted = loop {
            if let Ok(r) = self.supervisor.task_report(TaskIndex(i)) {
                let new_life = before.is_none_or(|b| b.generation != r.generation);
                last = Some(r);
                if !r.faulted && new_life {
                    break true;
                }
            }
            if sys_get_timer().saturating_sub(start) >= RESTART_WAIT_MS {
                break false;
            }
            sys_set_timer(
                Some(sys_get_timer() + RESTART_POLL_MS),
                config::notifications::TIMER,
            );
            sys_recv_notification(config::notifications::TIMER);
        };
        let Some(r) = last else {
            let _ = writeln!(
                o,
                "{task} died touching {label}'s registers (the supervisor did not say why)"
            );
            return;
        };
        let faulted = before.is_none_or(|b| r.faults > b.faults);
        let why = abi::FaultInfo::decode(r.last_fault_kind, r.last_fault_a, r.last_fault_b)
            .filter(|_| faulted);
        let _ = write!(o, "{task} faulted touching {label}'s registers");
        if restarted {
            let _ = write!(o, " and was restarted (");
        } else {
            let _ = write!(o, " (");
        }
        match why {
            Some(f @ abi::FaultInfo::PageFault { address, .. }) => {
                let _ = write!(o, "{} at {address:#x}", f.describe());
            }
            Some(f) => {
                let _ = write!(o, "{}", f.describe());
            }
            None => {
                let _ = write!(o, "the supervisor counted no new fault");
            }
        }
        if restarted {
            let _ = writeln!(o, "; now generation {})", r.generation);
        } else {
            let _ = writeln!(o, "); its restart is pending (in {} ms)", r.backoff_ms);
        }
    }

    /// `dma` or `irq` of a quarantined device: nobody can drive it, since
    /// its registers are mapped into no task (or, should custody ever be
    /// split, into which).
    pub(crate) fn say_quarantined(&mut self, dev: Bdf, what: &str) {
        let mut o = Out;
        let label = Label(dev);
        match holder_of(dev) {
            None => {
                let _ = write!(
                    o,
                    "{label} is in quarantine: its registers are mapped into no task, so no one can {what}"
                );
            }
            Some(t) => {
                let _ = write!(
                    o,
                    "error: {label} is in quarantine, but its registers are still mapped into {}",
                    task_name(t)
                );
            }
        }
    }
}
