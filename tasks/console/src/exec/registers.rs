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

use core::fmt::{self, Write};

use idl_runtime::ClientError;
use idl_types::{Custody, TaskIndex, TaskReport, WorkerError};

use super::{Console, Label, MappedInto};
use crate::command::DeviceRef;
use crate::services::{Services, Worker};

/// How long `touch` waits for a faulted worker's restart (guest ms; the
/// supervisor's back-off is at most 1 s).
pub(super) const RESTART_WAIT_MS: u64 = 2500;
/// How often it looks meanwhile.
pub(super) const RESTART_POLL_MS: u64 = 10;

impl<S: Services> Console<'_, S> {
    pub(super) fn regs(&mut self, o: &mut dyn Write, device: DeviceRef) -> fmt::Result {
        let Some(dev) = self.resolve_or_say(o, device)? else {
            return Ok(());
        };
        let label = self.label(dev);
        let Some(index) = self
            .system
            .device_index(dev)
            .filter(|i| self.system.in_custody(*i))
        else {
            return writeln!(
                o,
                "{label} has no registers in custody (app.toml gives it no bar0-size)"
            );
        };
        let holder = self.services.register_holder(index);
        let mapped = MappedInto(holder.map(|t| self.system.task_name(t)));
        write!(o, "{label}'s registers are mapped {mapped}")?;
        let books = self.custody_of(dev);
        let owner = match books {
            Some(Custody::Domain(d)) => self.system.owner_task(d),
            _ => None,
        };
        match (books, holder) {
            (Some(Custody::Domain(d)), Some(h)) if owner == Some(h) => writeln!(
                o,
                " ({}'s owner, as the broker's books say)",
                self.system.domain_name(d)
            ),
            (Some(Custody::Domain(d)), _) => writeln!(
                o,
                ", but the broker's books give {label} to {} (owner {})",
                self.system.domain_name(d),
                owner.map_or("?", |t| self.system.task_name(t))
            ),
            (Some(Custody::Quarantined), None) => writeln!(o, " (it is in quarantine)"),
            (Some(Custody::Unassigned), None) => writeln!(o, " (it is unassigned)"),
            (Some(Custody::Quarantined), Some(_)) => {
                writeln!(o, ", but the broker holds {label} in quarantine")
            }
            (Some(Custody::Unassigned), Some(_)) => {
                writeln!(o, ", but the broker's books leave {label} unassigned")
            }
            (None, _) => writeln!(o, " (the broker did not say whose it is)"),
        }
    }

    pub(super) fn touch(
        &mut self,
        o: &mut dyn Write,
        device: DeviceRef,
        task: &str,
    ) -> fmt::Result {
        let Some(dev) = self.resolve_or_say(o, device)? else {
            return Ok(());
        };
        let label = self.label(dev);
        let Some(i) = self.system.task_index(task) else {
            return writeln!(o, "error: no task named '{task}' (see 'tasks')");
        };
        let workers = self.system.workers();
        if !workers.contains(&i) {
            write!(o, "error: {task} is not a DMA worker (the workers:")?;
            for w in workers.iter() {
                write!(o, " {}", self.system.task_name(*w))?;
            }
            return writeln!(o, ")");
        }
        let before = self.services.task_report(TaskIndex(i)).ok();
        match self.services.worker(i).touch_registers(dev) {
            Ok(id) => writeln!(o, "{task} read {label}'s ID register: {id:#010x}"),
            Err(ClientError::ServerDied { .. } | ClientError::ServerRestarted { .. }) => {
                self.say_fault(o, task, i, label, before)
            }
            Err(ClientError::Op(WorkerError::NoRegisters(_))) => writeln!(
                o,
                "error: {task} has no place for {label}'s registers (no device window, or {label} has none in custody); nothing was touched"
            ),
            Err(e) => writeln!(o, "error: {task} did not touch {label}'s registers: {e}"),
        }
    }

    /// After a worker died touching a device's registers: why (the
    /// supervisor's report of its last fault), once it has been restarted.
    fn say_fault(
        &mut self,
        o: &mut dyn Write,
        task: &str,
        i: u16,
        label: Label,
        before: Option<TaskReport>,
    ) -> fmt::Result {
        let start = self.services.now_ms();
        let mut last = None;
        let restarted = loop {
            if let Ok(r) = self.services.task_report(TaskIndex(i)) {
                let new_life = before.is_none_or(|b| b.generation != r.generation);
                last = Some(r);
                if !r.faulted && new_life {
                    break true;
                }
            }
            if self.services.now_ms().saturating_sub(start) >= RESTART_WAIT_MS {
                break false;
            }
            self.services.sleep_ms(RESTART_POLL_MS);
        };
        let Some(r) = last else {
            return writeln!(
                o,
                "{task} died touching {label}'s registers (the supervisor did not say why)"
            );
        };
        let faulted = before.is_none_or(|b| r.faults > b.faults);
        let why = abi::FaultInfo::decode(r.last_fault_kind, r.last_fault_a, r.last_fault_b)
            .filter(|_| faulted);
        write!(o, "{task} faulted touching {label}'s registers")?;
        if restarted {
            write!(o, " and was restarted (")?;
        } else {
            write!(o, " (")?;
        }
        match why {
            Some(f @ abi::FaultInfo::PageFault { address, .. }) => {
                write!(o, "{} at {address:#x}", f.describe())?
            }
            Some(f) => write!(o, "{}", f.describe())?,
            None => write!(o, "the supervisor counted no new fault")?,
        }
        if restarted {
            writeln!(o, "; now generation {})", r.generation)
        } else {
            writeln!(o, "); its restart is pending (in {} ms)", r.backoff_ms)
        }
    }
}
