//! A DMA worker task: serves `worker.idl`, driving the edu devices the
//! broker's books give its domain, and checking its own memory for where
//! each transfer landed.
#![no_std]
#![no_main]

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

use abi::TaskId;
use edu::{Direction, Edu, MmioBus, Sleep};
use idl_runtime::KernelTransport;
use idl_types::{Bdf, Custody, DmaReport, DomainId, WorkerError};
use task_dma_worker::{check, holds, prepare, Buffer, TRANSFER};
use userlib::*;

task_config!();

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;
/// Polls of a running DMA (10 ms apart; edu takes 100 ms).
const MAX_POLLS: u32 = 100;
const POLL_MS: u64 = 10;
/// The longest storm a caller may ask for (ms).
const STORM_MAX_MS: u32 = 10_000;
/// The IRQ_STATUS bit `raise_interrupt` raises (edu keeps the others for
/// its own events).
const RAISED: u32 = 0x8000;

/// Sleeps on the task's timer between polls.
struct TimerSleep;

impl Sleep for TimerSleep {
    fn sleep(&mut self) {
        sys_set_timer(
            Some(sys_get_timer() + POLL_MS),
            config::notifications::TIMER,
        );
        sys_recv_notification(config::notifications::TIMER);
    }
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

struct Worker {
    domain: DomainId,
    buffer: Buffer,
    mem: &'static mut [u8],
    broker: broker::Client<KernelTransport>,
    pci: pci::Client<KernelTransport>,
    running: Option<Running>,
    /// Device interrupts delivered to this task's `irq` notification.
    interrupts: u32,
}

/// This task's domain: (index in `DOMAINS`, the buffer's IOVA, its
/// physical base, its size).
fn my_domain() -> Option<(usize, u64, u64, u64)> {
    config::system::DOMAINS
        .iter()
        .enumerate()
        .find(|(_, d)| d.1 == config::TASK_INDEX)
        .and_then(|(i, d)| d.2.first().map(|m| (i, m.0, m.1, m.2)))
}

/// The virtual address of a granted region by physical base.
fn region_at(pa: u64) -> Option<(u64, u64)> {
    config::REGIONS
        .iter()
        .find(|r| r.2 == pa)
        .map(|r| (r.1, r.3))
}

impl Worker {
    fn edu(&self, device: Bdf) -> Result<Edu<MmioBus>, WorkerError> {
        let rid = device
            .requester_id()
            .ok_or(WorkerError::NoRegisters(device))?;
        let bar = config::system::DEVICE_BARS
            .iter()
            .find(|b| b.0 == rid)
            .ok_or(WorkerError::NoRegisters(device))?;
        let (va, _) = region_at(bar.1).ok_or(WorkerError::NoRegisters(device))?;
        // SAFETY: `va` is the device's BAR0, granted to this task as an
        // uncached mmio region of BAR0's size by app.toml; only the task
        // that owns the device (checked with the broker) drives it.
        let mut edu = Edu::new(unsafe { MmioBus::new(va as *mut u8) });
        edu.identify().map_err(|_| WorkerError::NotEdu(device))?;
        Ok(edu)
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
            start = page.next?;
        }
    }

    fn start(&mut self, device: Bdf, iova: u64, pattern: u8) -> Result<(), WorkerError> {
        self.check_mine(device)?;
        self.start_unchecked(device, iova, pattern)
    }

    /// Starts a transfer from `device` without checking whose it is.
    fn start_unchecked(&mut self, device: Bdf, iova: u64, pattern: u8) -> Result<(), WorkerError> {
        if self.running.is_some() {
            return Err(WorkerError::Busy);
        }
        if !Buffer::reachable(iova) {
            return Err(WorkerError::BadIova(iova));
        }
        let mut edu = self.edu(device)?;
        let _ = self.pci.enable_bus_master(device, true);
        let target = self.buffer.offset_of(iova);
        let before = prepare(self.mem, target, pattern);
        edu.dma(
            Direction::ToDevice,
            self.buffer.staging(),
            0,
            TRANSFER as u32,
            &mut TimerSleep,
            MAX_POLLS,
        )
        .map_err(|_| WorkerError::Timeout(device))?;
        edu.start_dma(Direction::ToRam, iova, 0, TRANSFER as u32, false)
            .map_err(|_| WorkerError::Busy)?;
        self.running = Some(Running {
            device,
            iova,
            pattern,
            target,
            before,
            started: sys_get_timer(),
        });
        Ok(())
    }

    fn finish(&mut self) -> Result<DmaReport, WorkerError> {
        let r = self.running.take().ok_or(WorkerError::NothingRunning)?;
        let mut edu = self.edu(r.device)?;
        edu.wait_dma(&mut TimerSleep, MAX_POLLS)
            .map_err(|_| WorkerError::Timeout(r.device))?;
        let (landed, rest_untouched) = check(self.mem, r.target, r.pattern, r.before);
        let report = DmaReport {
            device: r.device,
            iova: r.iova,
            landed,
            rest_untouched,
            millis: (sys_get_timer() - r.started) as u32,
        };
        defmt::info!(
            "DMA from {=u8:02x}:{=u8:02x}.{=u8} to IOVA {=u64:#x}: {=str}{=str}",
            r.device.bus,
            r.device.device,
            r.device.function,
            r.iova,
            if landed {
                "landed in my buffer"
            } else {
                "did not land in my buffer"
            },
            if rest_untouched {
                ""
            } else {
                "; OTHER BYTES CHANGED"
            }
        );
        Ok(report)
    }
}

impl worker::Server for Worker {
    fn dma(&mut self, _caller: TaskId, a: worker::DmaArgs) -> Result<DmaReport, WorkerError> {
        self.start(a.device, a.iova, a.pattern)?;
        self.finish()
    }

    fn start_dma(&mut self, _caller: TaskId, a: worker::StartDmaArgs) -> Result<(), WorkerError> {
        self.start(a.device, a.iova, a.pattern)
    }

    fn quarantine_dma(
        &mut self,
        _caller: TaskId,
        a: worker::QuarantineDmaArgs,
    ) -> Result<DmaReport, WorkerError> {
        if self.custody_of(a.device) != Some(Custody::Quarantined) {
            return Err(WorkerError::NotMine(a.device));
        }
        self.start_unchecked(a.device, a.iova, a.pattern)?;
        self.finish()
    }

    fn holds(&mut self, _caller: TaskId, a: worker::HoldsArgs) -> Result<bool, WorkerError> {
        if !Buffer::reachable(a.iova) {
            return Err(WorkerError::BadIova(a.iova));
        }
        Ok(holds(self.mem, self.buffer.offset_of(a.iova), a.pattern))
    }

    fn storm(&mut self, _caller: TaskId, a: worker::StormArgs) -> Result<u32, WorkerError> {
        self.check_mine(a.device)?;
        if self.running.is_some() {
            return Err(WorkerError::Busy);
        }
        if !Buffer::reachable(a.iova) {
            return Err(WorkerError::BadIova(a.iova));
        }
        let mut edu = self.edu(a.device)?;
        let _ = self.pci.enable_bus_master(a.device, true);
        let millis = a.millis.min(STORM_MAX_MS);
        let end = sys_get_timer().saturating_add(u64::from(millis));
        let mut started = 0u32;
        while sys_get_timer() < end {
            edu.start_dma(Direction::ToRam, a.iova, 0, TRANSFER as u32, false)
                .map_err(|_| WorkerError::Busy)?;
            started += 1;
            edu.wait_dma(&mut TimerSleep, MAX_POLLS)
                .map_err(|_| WorkerError::Timeout(a.device))?;
        }
        defmt::info!(
            "storm from {=u8:02x}:{=u8:02x}.{=u8} to IOVA {=u64:#x}: {=u32} transfers in {=u32} ms",
            a.device.bus,
            a.device.device,
            a.device.function,
            a.iova,
            started,
            millis
        );
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
        let mut edu = self.edu(a.device)?;
        // An MSI is a memory write: a device that may not master the bus
        // cannot send one. The owner turns it on, as its driver would; for
        // anyone else pci refuses and the device keeps what it has.
        let _ = self.pci.enable_bus_master(a.device, true);
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
        let mut edu = self.edu(a.device)?.with_32_bit_dma();
        let _ = self.pci.enable_bus_master(a.device, true);
        let message = a.data.to_le_bytes();
        if let Some(stage) = self.mem.get_mut(..message.len()) {
            stage.copy_from_slice(&message);
        }
        let len = message.len() as u32;
        let timeout = |_| WorkerError::Timeout(a.device);
        edu.dma(
            Direction::ToDevice,
            self.buffer.staging(),
            0,
            len,
            &mut TimerSleep,
            MAX_POLLS,
        )
        .map_err(timeout)?;
        edu.dma(
            Direction::ToRam,
            a.address,
            0,
            len,
            &mut TimerSleep,
            MAX_POLLS,
        )
        .map_err(|_| WorkerError::BadIova(a.address))?;
        defmt::warn!(
            "{=u8:02x}:{=u8:02x}.{=u8} DMA-wrote {=u32:#x} to {=u64:#x} (a forged interrupt message)",
            a.device.bus,
            a.device.device,
            a.device.function,
            a.data,
            a.address
        );
        Ok(())
    }

    fn interrupts_seen(&mut self, _caller: TaskId, _a: worker::InterruptsSeenArgs) -> u32 {
        self.interrupts
    }

    fn notification_mask(&self) -> u32 {
        config::notifications::IRQ
    }

    fn notified(&mut self, bits: u32) {
        if bits & config::notifications::IRQ != 0 {
            self.interrupts = self.interrupts.wrapping_add(1);
            defmt::info!("device interrupt received ({=u32} so far)", self.interrupts);
            // The kernel holds the vector until the task takes the next.
            sys_irq_control(config::notifications::IRQ, true);
        }
    }
}

#[export_name = "main"]
fn main() -> ! {
    let Some((index, iova, pa, size)) = my_domain() else {
        sys_panic(b"app.toml gives this worker no domain with a mapped buffer")
    };
    let Some((va, region_size)) = region_at(pa).filter(|r| r.1 >= size) else {
        sys_panic(b"the domain's buffer is not granted to this worker")
    };
    // SAFETY: the worker's own dma region, granted read-write, `size`
    // bytes at `va`; nothing else in this task aliases it.
    let mem =
        unsafe { core::slice::from_raw_parts_mut(va as *mut u8, region_size.min(size) as usize) };
    let domain = DomainId(config::system::FIRST_DOMAIN_ID + index as u16);
    defmt::info!(
        "worker of {=str}: buffer IOVA {=u64:#x}, {=u64} KiB",
        config::system::DOMAINS[index].0,
        iova,
        size / 1024
    );
    let t = KernelTransport::new(&NAMES);
    let mut w = worker::Endpoint(Worker {
        domain,
        buffer: Buffer {
            iova_base: iova,
            size,
        },
        mem,
        broker: broker::Client::new(t, config::slots::BROKER),
        pci: pci::Client::new(t, config::slots::PCI),
        running: None,
        interrupts: 0,
    });
    sys_irq_control(config::notifications::IRQ, true);
    let mut tt = t;
    idl_runtime::serve(&mut tt, &mut w, &mut [0; abi::MAX_MESSAGE])
}
