//! Carrying out a parsed command: whom to ask what (over [`Services`]) and
//! how to word the answer (into any `core::fmt::Write`). One file per group
//! of commands; here the dispatch and what several share: the broker's
//! books of a device, and a device, a mapping or a worker's refusal in
//! words.

mod bench;
mod custody;
mod dma;
mod interrupts;
mod listing;
mod registers;
mod storm;
mod supervision;

#[cfg(test)]
mod tests;

use core::fmt::{self, Write};

use idl_runtime::ClientError;
use idl_types::{Bdf, Custody, DeviceEntry, DomainId, WorkerError};

use crate::command::{Command, DeviceRef};
use crate::help::write_help;
use crate::services::Services;
use crate::system::{System, NO_NAME};

/// The console's state between commands and what it needs to run them.
pub struct Console<'s, S> {
    /// Whom the commands ask.
    services: S,
    system: System<'s>,
    /// DMAs asked for so far: picks the next page of a buffer and pattern.
    dma_count: u64,
}

impl<'s, S: Services> Console<'s, S> {
    /// The console of `system`, asking `services`.
    pub fn new(services: S, system: System<'s>) -> Self {
        Console {
            services,
            system,
            dma_count: 0,
        }
    }

    /// Carries out `cmd`, writing its answer (or a worded error) to `o`.
    pub fn run(&mut self, cmd: Command, o: &mut dyn Write) -> fmt::Result {
        match cmd {
            Command::Nothing => Ok(()),
            Command::Help => write_help(o),
            Command::Devices => self.devices(o),
            Command::Domains => self.domains(o),
            Command::Tasks => self.tasks(o),
            Command::Assign { device, domain } => self.assign(o, device, domain, false),
            Command::Reassign { device, domain } => self.assign(o, device, domain, true),
            Command::Quarantine { device } => self.quarantine(o, device, true),
            Command::Release { device } => self.quarantine(o, device, false),
            Command::Faults => self.faults(o),
            Command::Stats => {
                self.iommu_stats(o)?;
                self.broker_stats(o)
            }
            Command::Kill { task, at } => self.kill(o, task, at),
            Command::Dma { device, iova } => self.dma(o, device, iova),
            Command::DmaMove {
                device,
                domain,
                iova,
            } => self.dma_move(o, device, domain, iova),
            Command::Irq { device } => self.irq(o, device),
            Command::Regs { device } => self.regs(o, device),
            Command::Touch { device, task } => self.touch(o, device, task),
            Command::ForgeMsi { device, forged } => self.forge_msi(o, device, forged),
            Command::DmaStorm {
                device,
                iova,
                millis,
            } => self.dma_storm(o, device, iova, millis),
            Command::Bench {
                device,
                first,
                second,
                count,
            } => self.bench(o, device, first, second, count),
            Command::Shutdown => self.shutdown(o),
        }
    }

    /// `d` resolved, or `None` having said why not.
    fn resolve_or_say(&self, o: &mut dyn Write, d: DeviceRef) -> Result<Option<Bdf>, fmt::Error> {
        match self.system.resolve(d) {
            Ok(dev) => Ok(Some(dev)),
            Err(why) => writeln!(o, "error: {why}").map(|()| None),
        }
    }

    /// The first device in the broker's books that `pred` accepts.
    fn find_device(&mut self, pred: impl Fn(&DeviceEntry) -> bool) -> Option<DeviceEntry> {
        let mut start = 0;
        loop {
            let page = self.services.list_devices(start).ok()?;
            if let Some(e) = page.entries.iter().find(|e| pred(e)) {
                return Some(*e);
            }
            start = page.next?;
        }
    }

    /// Where the broker's books say `dev` is.
    fn custody_of(&mut self, dev: Bdf) -> Option<Custody> {
        self.find_device(|e| e.device == dev).map(|e| e.custody)
    }

    /// A device other than `except` that `domain` holds, if any.
    fn device_of(&mut self, domain: DomainId, except: Bdf) -> Option<Bdf> {
        self.find_device(|e| e.device != except && e.custody == Custody::Domain(domain))
            .map(|e| e.device)
    }

    fn quarantined(&mut self, dev: Bdf) -> bool {
        self.custody_of(dev) == Some(Custody::Quarantined)
    }

    /// The worker task owning `dev`'s domain, by the broker's books.
    fn owner_of(&mut self, dev: Bdf) -> Option<u16> {
        match self.custody_of(dev)? {
            Custody::Domain(d) => self.system.owner_task(d),
            _ => None,
        }
    }

    /// The task the kernel maps `dev`'s registers into now.
    fn holder_of(&mut self, dev: Bdf) -> Option<u16> {
        let index = self.system.device_index(dev)?;
        self.services.register_holder(index)
    }

    /// `dev` by its app.toml name, or by address when it has none.
    fn label(&self, dev: Bdf) -> Label<'s> {
        Label(dev, self.system.device_name(dev))
    }

    /// Where the kernel maps `dev`'s registers, in words.
    fn mapped_into(&mut self, dev: Bdf) -> MappedInto<'s> {
        MappedInto(self.holder_of(dev).map(|t| self.system.task_name(t)))
    }

    /// Worker `task`'s refusal in words.
    fn refusal(&mut self, task: &'s str, e: ClientError<WorkerError>) -> Refusal<'s> {
        match e {
            ClientError::Op(WorkerError::NoRegisters(d)) => Refusal::NoRegisters {
                task,
                device: self.label(d),
                mapped: self.mapped_into(d),
            },
            e => Refusal::Other(e),
        }
    }

    /// `dma` or `irq` of a quarantined device: nobody can drive it, since
    /// its registers are mapped into no task (or, should custody ever be
    /// split, into which). Leaves the line open.
    fn say_quarantined(&mut self, o: &mut dyn Write, dev: Bdf, what: &str) -> fmt::Result {
        let label = self.label(dev);
        match self.holder_of(dev) {
            None => write!(
                o,
                "{label} is in quarantine: its registers are mapped into no task, so no one can {what}"
            ),
            Some(t) => write!(
                o,
                "error: {label} is in quarantine, but its registers are still mapped into {}",
                self.system.task_name(t)
            ),
        }
    }
}

/// A device by its app.toml name, or by address when it has none.
#[derive(Clone, Copy)]
struct Label<'a>(Bdf, &'a str);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            NO_NAME => write!(f, "{}", self.0),
            name => f.write_str(name),
        }
    }
}

/// "into dma_b only" or "into no task".
struct MappedInto<'a>(Option<&'a str>);

impl fmt::Display for MappedInto<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(t) => write!(f, "into {t} only"),
            None => write!(f, "into no task"),
        }
    }
}

/// A worker's refusal in words: for `NoRegisters`, which task the kernel
/// does map the device's registers into.
enum Refusal<'a> {
    NoRegisters {
        task: &'a str,
        device: Label<'a>,
        mapped: MappedInto<'a>,
    },
    Other(ClientError<WorkerError>),
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoRegisters {
                task,
                device,
                mapped,
            } => write!(
                f,
                "{task} holds no registers of {device} now (the kernel maps them {mapped})"
            ),
            Refusal::Other(e) => write!(f, "{e}"),
        }
    }
}
