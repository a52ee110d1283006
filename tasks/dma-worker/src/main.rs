//! A DMA worker task: serves `worker.idl`, driving the edu devices the
//! broker's books give its domain, and checking its own memory for where
//! each transfer landed.
//!
//! A device's registers are in custody: the kernel maps them into the
//! owner of the device's domain only, and the broker revokes and grants
//! them as the device moves. So the worker never keeps a pointer to them:
//! it asks the kernel where it holds them (`sys_register_window`) before
//! every use, with no IPC or sleep between the answer and the access, and
//! treats "not held" as "the device is no longer mine".
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
/// How long edu takes for a transfer (ms of guest time): a transfer whose
/// device was taken away is given twice that to land before the buffer is
/// checked (its completion can't be polled without the registers).
const TRANSFER_MS: u64 = 100;

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
        .find(|(_, d)| d.owner == config::TASK_INDEX)
        .and_then(|(i, d)| d.maps.first().map(|m| (i, m.iova, m.paddr, m.size)))
}

/// The virtual address of a granted region by physical base.
fn region_at(pa: u64) -> Option<(u64, u64)> {
    config::REGIONS
        .iter()
        .find(|r| r.paddr == pa)
        .map(|r| (r.vaddr, r.size))
}

/// `device`'s index in app.toml `[devices]`: the kernel's name for its
/// registers.
fn device_index(device: Bdf) -> Option<u16> {
    let rid = device.requester_id()?;
    let i = config::system::DEVICES
        .iter()
        .position(|d| d.address.rid == rid)?;
    u16::try_from(i).ok()
}

/// How a wait for a running transfer ended.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Waited {
    /// The device says the transfer is over.
    Done,
    /// The registers were taken away (the device moved) before it said so.
    Gone,
}

impl Worker {
    /// `device`'s registers where the kernel maps them into this task now,
    /// asked afresh: `NoRegisters` when this task does not hold them. The
    /// bus must be dropped before the next IPC or sleep (the broker may
    /// revoke the registers then); every caller asks again after one.
    fn bus(&self, device: Bdf) -> Result<Edu<MmioBus>, WorkerError> {
        let none = WorkerError::NoRegisters(device);
        let index = device_index(device).ok_or(none)?;
        let (va, bytes) = sys_register_window(index).ok_or(none)?;
        if bytes < edu::regs::BAR0_SIZE {
            return Err(none);
        }
        // SAFETY: the kernel has just said this task holds `device`'s
        // registers, mapped uncached at `va` for `bytes` >= BAR0_SIZE
        // bytes (MmioBus keeps every access inside BAR0_SIZE). The broker
        // is the only one that can unmap them, and the bus is used only
        // until this task's next IPC or sleep; should a revoke still come
        // in between (the broker preempting this task), the access
        // page-faults and the kernel ends this task: it reaches no other
        // device and no memory. Only the device's holder drives it.
        Ok(Edu::new(unsafe { MmioBus::new(va as *mut u8) }))
    }

    /// [`Self::bus`], checked to be an edu.
    fn edu(&self, device: Bdf) -> Result<Edu<MmioBus>, WorkerError> {
        let mut edu = self.bus(device)?;
        edu.identify().map_err(|_| WorkerError::NotEdu(device))?;
        Ok(edu)
    }

    /// Polls `device`'s running transfer until it ends, asking for the
    /// registers before each poll: [`Waited::Gone`] as soon as they are
    /// no longer this task's.
    fn wait(&self, device: Bdf) -> Result<Waited, WorkerError> {
        for poll in 0..=MAX_POLLS {
            // The bus lives for this one poll, never across the sleep.
            match self.bus(device).map(|mut edu| edu.dma_running()) {
                Err(_) => return Ok(Waited::Gone),
                Ok(false) => return Ok(Waited::Done),
                Ok(true) => {}
            }
            if poll < MAX_POLLS {
                TimerSleep.sleep();
            }
        }
        Err(WorkerError::Timeout(device))
    }

    /// Starts a transfer on `device` (registers asked afresh) and waits for
    /// it; `NoRegisters` if they go meanwhile.
    fn transfer(
        &self,
        device: Bdf,
        edu_of: impl Fn(Edu<MmioBus>) -> Edu<MmioBus>,
        direction: Direction,
        iova: u64,
        len: u32,
    ) -> Result<(), WorkerError> {
        edu_of(self.bus(device)?)
            .start_dma(direction, iova, 0, len, false)
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
            start = page.next?;
        }
    }

    fn start(&mut self, device: Bdf, iova: u64, pattern: u8) -> Result<(), WorkerError> {
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
        let target = self.buffer.offset_of(iova);
        let before = prepare(self.mem, target, pattern);
        let staging = self.buffer.staging();
        self.transfer(device, |e| e, Direction::ToDevice, staging, TRANSFER as u32)?;
        self.bus(device)?
            .start_dma(Direction::ToRam, iova, 0, TRANSFER as u32, false)
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

    /// Waits for the started transfer and checks this task's buffer. If
    /// the device moved meanwhile, its registers went with it: the end of
    /// the transfer can't be polled, so the worker waits as long as edu
    /// takes (twice over) without touching the device, then looks.
    fn finish(&mut self) -> Result<DmaReport, WorkerError> {
        let r = self.running.take().ok_or(WorkerError::NothingRunning)?;
        let waited = self.wait(r.device)?;
        if waited == Waited::Gone {
            let until = r.started + 2 * TRANSFER_MS;
            while sys_get_timer() < until {
                TimerSleep.sleep();
            }
        }
        let (landed, rest_untouched) = check(self.mem, r.target, r.pattern, r.before);
        let report = DmaReport {
            device: r.device,
            iova: r.iova,
            landed,
            rest_untouched,
            millis: (sys_get_timer() - r.started) as u32,
        };
        defmt::info!(
            "DMA from {=u8:02x}:{=u8:02x}.{=u8} to IOVA {=u64:#x}: {=str}{=str}{=str}",
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
            },
            if waited == Waited::Gone {
                " (the device moved away with its registers while it ran)"
            } else {
                ""
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
        self.edu(a.device)?;
        let _ = self.pci.enable_bus_master(a.device, true);
        let millis = a.millis.min(STORM_MAX_MS);
        let end = sys_get_timer().saturating_add(u64::from(millis));
        let mut started = 0u32;
        let mut taken = false;
        while sys_get_timer() < end {
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
        defmt::info!(
            "storm from {=u8:02x}:{=u8:02x}.{=u8} to IOVA {=u64:#x}: {=u32} transfers in {=u32} ms{=str}",
            a.device.bus,
            a.device.device,
            a.device.function,
            a.iova,
            started,
            millis,
            if taken {
                " (cut short: the device was taken away with its registers)"
            } else {
                ""
            }
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
        let wide = Edu::with_32_bit_dma;
        let staging = self.buffer.staging();
        self.transfer(a.device, wide, Direction::ToDevice, staging, len)?;
        self.transfer(a.device, wide, Direction::ToRam, a.address, len)?;
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

    fn touch_registers(
        &mut self,
        _caller: TaskId,
        a: worker::TouchRegistersArgs,
    ) -> Result<u32, WorkerError> {
        let none = WorkerError::NoRegisters(a.device);
        let index = device_index(a.device).ok_or(none)?;
        let registers = config::system::DEVICE_REGISTERS
            .get(usize::from(index))
            .copied()
            .flatten()
            .ok_or(none)?;
        let (offset, bytes) = (registers.offset, registers.size);
        if config::DEVICE_WINDOW == 0 || bytes < (edu::regs::ID + 4) as u64 {
            return Err(none);
        }
        let va = config::DEVICE_WINDOW + offset + edu::regs::ID as u64;
        defmt::warn!(
            "reading {=str}'s ID register at {=u64:#x} without asking the kernel whether I hold it",
            config::system::DEVICES[usize::from(index)].name,
            va
        );
        // SAFETY: deliberately not checked with the kernel: this op plays
        // a driver with a stale pointer. `va` is 4-byte aligned (device
        // slots are page-aligned, ID is offset 0) and lies in this task's
        // device window, which the layout reserves for device registers:
        // no Rust object of this task lives there. If the kernel maps
        // `device`'s registers there now, this is an uncached read of
        // edu's ID register, which has no side effect. If not, the page is
        // not present: the read traps and the kernel faults this task
        // before the instruction completes, so no value is ever made from
        // unmapped memory (the supervisor then restarts the task).
        let id = unsafe { (va as *const u32).read_volatile() };
        defmt::info!(
            "{=str}'s ID register reads {=u32:#010x}",
            config::system::DEVICES[usize::from(index)].name,
            id
        );
        Ok(id)
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
        config::system::DOMAINS[index].name,
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
    // The server learns app.toml's caller groups: `touch_registers` is for
    // operators only.
    let mut server = KernelTransport::with_groups(&NAMES, &config::powers::GROUPS);
    idl_runtime::serve(&mut server, &mut w, &mut [0; abi::MAX_MESSAGE])
}
