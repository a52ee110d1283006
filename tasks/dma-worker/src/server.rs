//! The worker's server: `worker.idl` over a [`Machine`] (the task's
//! environment: its device registers, its timer, its log) and the broker
//! and pci clients over any transport.
//!
//! The task binary gives it the real machine (the kernel's register
//! windows over MMIO, the timer, defmt); the fuzz target a fake one, so the
//! generated dispatch is fed arbitrary calls against this very code.
//!
//! A device's registers are in custody: the kernel maps them into the
//! owner of the device's domain only, and the broker revokes and grants
//! them as the device moves. So the server never keeps a bus: it asks the
//! machine for the registers ([`Machine::registers`]) before every use,
//! with no IPC or sleep between the answer and the access, and treats "not
//! held" as "the device is no longer mine".

use edu::{Direction, Edu, EduBus};
use idl_runtime::abi::TaskId;
use idl_runtime::Transport;
use idl_types::{Bdf, Custody, DmaReport, DomainId, WorkerError};

use crate::{broker, check, holds, pci, prepare, worker, Buffer, TRANSFER};

/// Polls of a running DMA (edu takes 100 ms; the machine sleeps between).
pub const MAX_POLLS: u32 = 100;
/// The longest storm a caller may ask for (ms).
pub const STORM_MAX_MS: u32 = 10_000;
/// The IRQ_STATUS bit `raise_interrupt` raises (edu keeps the others for
/// its own events).
const RAISED: u32 = 0x8000;
/// How long edu takes for a transfer (ms of guest time): a transfer whose
/// device was taken away is given twice that to land before the buffer is
/// checked (its completion can't be polled without the registers).
const TRANSFER_MS: u64 = 100;

/// What the worker's server needs of the task around it.
pub trait Machine {
    /// A device's registers, for one use.
    type Bus: EduBus;

    /// The registers of the device with app.toml index `index` if this
    /// task holds them now (asked of the kernel afresh each time).
    fn registers(&mut self, index: u16) -> Option<Self::Bus>;
    /// `device`'s index in app.toml's `[devices]`.
    fn device_index(&self, device: Bdf) -> Option<u16>;
    /// Reads device `index`'s ID register where this task's device window
    /// would have it, without asking the kernel (`touch_registers`: a
    /// stale driver; on the real machine a non-holder faults here), or
    /// `None` if the device has no registers in custody or this task no
    /// device window.
    fn read_id_unchecked(&mut self, index: u16) -> Option<u32>;
    /// The time (ms).
    fn now_ms(&self) -> u64;
    /// Sleeps between two polls of a device.
    fn sleep_poll(&mut self);
    /// The notification bit device interrupts arrive on.
    fn irq_bit(&self) -> u32;
    /// Lets the kernel deliver the next device interrupt.
    fn rearm_irq(&mut self);
    /// Says what happened (the task's log).
    fn log(&mut self, event: Event);
}

/// What the server tells the log.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A transfer ended: where it went and whether it landed.
    Transfer {
        /// Its report.
        report: DmaReport,
        /// The device moved away with its registers while it ran.
        moved: bool,
    },
    /// A storm ended.
    Storm {
        /// The device.
        device: Bdf,
        /// Where it wrote.
        iova: u64,
        /// Transfers started.
        started: u32,
        /// How long it was asked to run (ms).
        millis: u32,
        /// Cut short: the device was taken away with its registers.
        taken: bool,
    },
    /// The device DMA-wrote an interrupt message.
    Forged {
        /// The device.
        device: Bdf,
        /// Where.
        address: u64,
        /// What.
        data: u32,
    },
    /// A device interrupt arrived (`count` so far).
    Interrupt {
        /// Interrupts so far.
        count: u32,
    },
}

/// A transfer in flight.
struct Running {
    device: Bdf,
    iova: u64,
    pattern: u8,
    target: Option<usize>,
    before: u64,
    started: u64,
}

/// How a wait for a running transfer ended.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Waited {
    /// The device says the transfer is over.
    Done,
    /// The registers were taken away (the device moved) before it said so.
    Gone,
}

/// The worker of one domain.
pub struct Worker<'m, M: Machine, T: Transport> {
    machine: M,
    domain: DomainId,
    buffer: Buffer,
    mem: &'m mut [u8],
    broker: broker::Client<T>,
    pci: pci::Client<T>,
    running: Option<Running>,
    /// Device interrupts delivered to this task's `irq` notification.
    interrupts: u32,
}

impl<'m, M: Machine, T: Transport> Worker<'m, M, T> {
    /// The worker of `domain`, whose buffer `mem` its devices see at
    /// `buffer`; it asks `broker` whose devices are whose and `pci` for
    /// bus mastering.
    pub fn new(
        machine: M,
        domain: DomainId,
        buffer: Buffer,
        mem: &'m mut [u8],
        broker: broker::Client<T>,
        pci: pci::Client<T>,
    ) -> Self {
        Worker {
            machine,
            domain,
            buffer,
            mem,
            broker,
            pci,
            running: None,
            interrupts: 0,
        }
    }

    /// `device`'s registers as the machine gives them now:
    /// `NoRegisters` when this task does not hold them. The bus must be
    /// dropped before the next IPC or sleep (the broker may revoke the
    /// registers then); every caller asks again after one.
    fn bus(&mut self, device: Bdf) -> Result<Edu<M::Bus>, WorkerError> {
        let none = WorkerError::NoRegisters(device);
        let index = self.machine.device_index(device).ok_or(none)?;
        let bus = self.machine.registers(index).ok_or(none)?;
        Ok(Edu::new(bus))
    }

    /// [`Self::bus`], checked to be an edu.
    fn edu(&mut self, device: Bdf) -> Result<Edu<M::Bus>, WorkerError> {
        let mut edu = self.bus(device)?;
        edu.identify().map_err(|_| WorkerError::NotEdu(device))?;
        Ok(edu)
    }

    /// Polls `device`'s running transfer until it ends, asking for the
    /// registers before each poll: [`Waited::Gone`] as soon as they are
    /// no longer this task's.
    fn wait(&mut self, device: Bdf) -> Result<Waited, WorkerError> {
        for poll in 0..=MAX_POLLS {
            // The bus lives for this one poll, never across the sleep.
            match self.bus(device).map(|mut edu| edu.dma_running()) {
                Err(_) => return Ok(Waited::Gone),
                Ok(false) => return Ok(Waited::Done),
                Ok(true) => {}
            }
            if poll < MAX_POLLS {
                self.machine.sleep_poll();
            }
        }
        Err(WorkerError::Timeout(device))
    }

    /// Starts a transfer on `device` (registers asked afresh) and waits for
    /// it; `NoRegisters` if they go meanwhile.
    fn transfer(
        &mut self,
        device: Bdf,
        wide: bool,
        direction: Direction,
        iova: u64,
        len: u32,
    ) -> Result<(), WorkerError> {
        let mut edu = self.bus(device)?;
        if wide {
            edu = edu.with_32_bit_dma();
        }
        edu.start_dma(direction, iova, 0, len, false)
            .map_err(|e| match e {
                edu::EduError::DmaBusy => WorkerError::Busy,
                _ => WorkerError::BadIova(iova),
            })?;
        match self.wait(device)? {
            Waited::Done => Ok(()),
            Waited::Gone => Err(WorkerError::NoRegisters(device)),
        }
    }

    fn check_mine(&mut self, device: Bdf) -> Result<(), WorkerError> {
        match self.custody_of(device) {
            Some(Custody::Domain(d)) if d == self.domain => Ok(()),
            _ => Err(WorkerError::NotMine(device)),
        }
    }

    /// Who holds `device`, by the broker's books.
    fn custody_of(&mut self, device: Bdf) -> Option<Custody> {
        let mut start = 0u16;
        loop {
            let page = self.broker.list_devices(start).ok()?;
            if let Some(e) = page.entries.iter().find(|e| e.device == device) {
                return Some(e.custody);
            }
            // A page that does not move on ends the walk.
            start = page.next.filter(|&next| next > start)?;
        }
    }

    /// The checks before a device of this domain is driven: its own, no
    /// transfer running, `iova` reachable, an edu held now, bus mastering
    /// on.
    fn ready(&mut self, device: Bdf, iova: u64) -> Result<(), WorkerError> {
        self.check_mine(device)?;
        if self.running.is_some() {
            return Err(WorkerError::Busy);
        }
        if !Buffer::reachable(iova) {
            return Err(WorkerError::BadIova(iova));
        }
        // Held now and an edu (the registers are asked for again after
        // the call to pci: the device may have moved meanwhile).
        self.edu(device)?;
        let _ = self.pci.enable_bus_master(device, true);
        Ok(())
    }

    fn start(&mut self, device: Bdf, iova: u64, pattern: u8) -> Result<(), WorkerError> {
        self.ready(device, iova)?;
        let target = self.buffer.offset_of(iova);
        let before = prepare(self.mem, target, pattern);
        let staging = self.buffer.staging();
        self.transfer(device, false, Direction::ToDevice, staging, TRANSFER as u32)?;
        self.bus(device)?
            .start_dma(Direction::ToRam, iova, 0, TRANSFER as u32, false)
            .map_err(|_| WorkerError::Busy)?;
        self.running = Some(Running {
            device,
            iova,
            pattern,
            target,
            before,
            started: self.machine.now_ms(),
        });
        Ok(())
    }

    /// Waits for the started transfer and checks this task's buffer. If
    /// the device moved meanwhile, its registers went with it: the end of
    /// the transfer can't be polled, so the worker waits as long as edu
    /// takes (twice over) without touching the device, then looks.
    fn finish(&mut self) -> Result<DmaReport, WorkerError> {
        let r = self.running.take().ok_or(WorkerError::NothingRunning)?;
        let waited = self.wait(r.device)?;
        if waited == Waited::Gone {
            let until = r.started.saturating_add(2 * TRANSFER_MS);
            while self.machine.now_ms() < until {
                self.machine.sleep_poll();
            }
        }
        let (landed, rest_untouched) = check(self.mem, r.target, r.pattern, r.before);
        let millis = self.machine.now_ms().saturating_sub(r.started);
        let report = DmaReport {
            device: r.device,
            iova: r.iova,
            landed,
            rest_untouched,
            millis: u32::try_from(millis).unwrap_or(u32::MAX),
        };
        self.machine.log(Event::Transfer {
            report,
            moved: waited == Waited::Gone,
        });
        Ok(report)
    }
}

impl<M: Machine, T: Transport> worker::Server for Worker<'_, M, T> {
    fn dma(&mut self, _caller: TaskId, a: worker::DmaArgs) -> Result<DmaReport, WorkerError> {
        self.start(a.device, a.iova, a.pattern)?;
        self.finish()
    }

    fn start_dma(&mut self, _caller: TaskId, a: worker::StartDmaArgs) -> Result<(), WorkerError> {
        self.start(a.device, a.iova, a.pattern)
    }

    fn holds(&mut self, _caller: TaskId, a: worker::HoldsArgs) -> Result<bool, WorkerError> {
        if !Buffer::reachable(a.iova) {
            return Err(WorkerError::BadIova(a.iova));
        }
        Ok(holds(self.mem, self.buffer.offset_of(a.iova), a.pattern))
    }

    fn storm(&mut self, _caller: TaskId, a: worker::StormArgs) -> Result<u32, WorkerError> {
        self.ready(a.device, a.iova)?;
        let millis = a.millis.min(STORM_MAX_MS);
        let end = self.machine.now_ms().saturating_add(u64::from(millis));
        let mut started = 0u32;
        let mut taken = false;
        while self.machine.now_ms() < end {
            // The broker's fault budget may take the device (and so its
            // registers) away at any poll: then the storm is over.
            let Ok(mut edu) = self.bus(a.device) else {
                taken = true;
                break;
            };
            edu.start_dma(Direction::ToRam, a.iova, 0, TRANSFER as u32, false)
                .map_err(|_| WorkerError::Busy)?;
            started += 1;
            if self.wait(a.device)? == Waited::Gone {
                taken = true;
                break;
            }
        }
        self.machine.log(Event::Storm {
            device: a.device,
            iova: a.iova,
            started,
            millis,
            taken,
        });
        Ok(started)
    }

    fn finish_dma(
        &mut self,
        _caller: TaskId,
        _a: worker::FinishDmaArgs,
    ) -> Result<DmaReport, WorkerError> {
        self.finish()
    }

    fn raise_interrupt(
        &mut self,
        _caller: TaskId,
        a: worker::RaiseInterruptArgs,
    ) -> Result<(), WorkerError> {
        self.edu(a.device)?;
        // An MSI is a memory write: a device that may not master the bus
        // cannot send one. The owner turns it on, as its driver would; for
        // anyone else pci refuses and the device keeps what it has.
        let _ = self.pci.enable_bus_master(a.device, true);
        let mut edu = self.bus(a.device)?;
        edu.raise_irq(RAISED);
        // The MSI is edge-triggered and sent on the raise; clearing the
        // status keeps the next raise a fresh one.
        edu.ack_irq(RAISED);
        Ok(())
    }

    fn forge_msi(&mut self, _caller: TaskId, a: worker::ForgeMsiArgs) -> Result<(), WorkerError> {
        self.check_mine(a.device)?;
        if self.running.is_some() {
            return Err(WorkerError::Busy);
        }
        self.edu(a.device)?;
        let _ = self.pci.enable_bus_master(a.device, true);
        let message = a.data.to_le_bytes();
        if let Some(stage) = self.mem.get_mut(..message.len()) {
            stage.copy_from_slice(&message);
        }
        let len = message.len() as u32;
        let staging = self.buffer.staging();
        self.transfer(a.device, true, Direction::ToDevice, staging, len)?;
        self.transfer(a.device, true, Direction::ToRam, a.address, len)?;
        self.machine.log(Event::Forged {
            device: a.device,
            address: a.address,
            data: a.data,
        });
        Ok(())
    }

    fn touch_registers(
        &mut self,
        _caller: TaskId,
        a: worker::TouchRegistersArgs,
    ) -> Result<u32, WorkerError> {
        let none = WorkerError::NoRegisters(a.device);
        let index = self.machine.device_index(a.device).ok_or(none)?;
        self.machine.read_id_unchecked(index).ok_or(none)
    }

    fn interrupts_seen(&mut self, _caller: TaskId, _a: worker::InterruptsSeenArgs) -> u32 {
        self.interrupts
    }

    fn notification_mask(&self) -> u32 {
        self.machine.irq_bit()
    }

    fn notified(&mut self, bits: u32) {
        if bits & self.machine.irq_bit() != 0 {
            self.interrupts = self.interrupts.wrapping_add(1);
            self.machine.log(Event::Interrupt {
                count: self.interrupts,
            });
            // The kernel holds the vector until the task takes the next.
            self.machine.rearm_irq();
        }
    }
}
