//! A DMA worker task: serves `worker.idl` (the library's
//! [`task_dma_worker::server::Worker`]) on this task's machine: its device
//! registers where the kernel maps them, its timer, its defmt log.
#![no_std]
#![no_main]

use edu::MmioBus;
use idl_runtime::KernelTransport;
use idl_types::{Bdf, DomainId};
use task_dma_worker::server::{Event, Machine, Worker};
use task_dma_worker::{broker, pci, worker, Buffer};
use userlib::*;

task_config!();

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;
/// Polls of a running DMA are this far apart (edu takes 100 ms).
const POLL_MS: u64 = 10;

/// This task as the worker's server sees it.
struct Task;

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

impl Machine for Task {
    type Bus = MmioBus;

    fn registers(&mut self, index: u16) -> Option<MmioBus> {
        let (va, bytes) = sys_register_window(index)?;
        if bytes < edu::regs::BAR0_SIZE {
            return None;
        }
        // SAFETY: the kernel has just said this task holds the device's
        // registers, mapped uncached at `va` for `bytes` >= BAR0_SIZE
        // bytes (MmioBus keeps every access inside BAR0_SIZE). The broker
        // is the only one that can unmap them, and the server uses the
        // bus only until this task's next IPC or sleep; should a revoke
        // still come in between (the broker preempting this task), the
        // access page-faults and the kernel ends this task: it reaches no
        // other device and no memory. Only the device's holder drives it.
        Some(unsafe { MmioBus::new(va as *mut u8) })
    }

    fn device_index(&self, device: Bdf) -> Option<u16> {
        let rid = device.requester_id()?;
        let i = config::system::DEVICES
            .iter()
            .position(|d| d.address.rid == rid)?;
        u16::try_from(i).ok()
    }

    fn read_id_unchecked(&mut self, index: u16) -> Option<u32> {
        let device = config::system::DEVICES.get(usize::from(index))?;
        let registers = config::system::DEVICE_REGISTERS
            .get(usize::from(index))
            .copied()
            .flatten()?;
        if config::DEVICE_WINDOW == 0 || registers.size < (edu::regs::ID + 4) as u64 {
            return None;
        }
        let va = config::DEVICE_WINDOW + registers.offset + edu::regs::ID as u64;
        defmt::warn!(
            "reading {=str}'s ID register at {=u64:#x} without asking the kernel whether I hold it",
            device.name,
            va
        );
        // SAFETY: deliberately not checked with the kernel: this op plays
        // a driver with a stale pointer. `va` is 4-byte aligned (device
        // slots are page-aligned, ID is offset 0) and lies in this task's
        // device window, which the layout reserves for device registers:
        // no Rust object of this task lives there. If the kernel maps the
        // device's registers there now, this is an uncached read of edu's
        // ID register, which has no side effect. If not, the page is not
        // present: the read traps and the kernel faults this task before
        // the instruction completes, so no value is ever made from
        // unmapped memory (the supervisor then restarts the task).
        let id = unsafe { (va as *const u32).read_volatile() };
        defmt::info!("{=str}'s ID register reads {=u32:#010x}", device.name, id);
        Some(id)
    }

    fn now_ms(&self) -> u64 {
        sys_get_timer()
    }

    fn sleep_poll(&mut self) {
        sys_set_timer(
            Some(sys_get_timer() + POLL_MS),
            config::notifications::TIMER,
        );
        sys_recv_notification(config::notifications::TIMER);
    }

    fn irq_bit(&self) -> u32 {
        config::notifications::IRQ
    }

    fn rearm_irq(&mut self) {
        sys_irq_control(config::notifications::IRQ, true);
    }

    fn log(&mut self, event: Event) {
        match event {
            Event::Transfer { report: r, moved } => defmt::info!(
                "DMA from {=u8:02x}:{=u8:02x}.{=u8} to IOVA {=u64:#x}: {=str}{=str}{=str}",
                r.device.bus,
                r.device.device,
                r.device.function,
                r.iova,
                if r.landed {
                    "landed in my buffer"
                } else {
                    "did not land in my buffer"
                },
                if r.rest_untouched {
                    ""
                } else {
                    "; OTHER BYTES CHANGED"
                },
                if moved {
                    " (the device moved away with its registers while it ran)"
                } else {
                    ""
                }
            ),
            Event::Storm {
                device,
                iova,
                started,
                millis,
                taken,
            } => defmt::info!(
                "storm from {=u8:02x}:{=u8:02x}.{=u8} to IOVA {=u64:#x}: {=u32} transfers in {=u32} ms{=str}",
                device.bus,
                device.device,
                device.function,
                iova,
                started,
                millis,
                if taken {
                    " (cut short: the device was taken away with its registers)"
                } else {
                    ""
                }
            ),
            Event::Forged {
                device,
                address,
                data,
            } => defmt::warn!(
                "{=u8:02x}:{=u8:02x}.{=u8} DMA-wrote {=u32:#x} to {=u64:#x} (a forged interrupt message)",
                device.bus,
                device.device,
                device.function,
                data,
                address
            ),
            Event::Interrupt { count } => {
                defmt::info!("device interrupt received ({=u32} so far)", count)
            }
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
    let buffer = Buffer {
        iova_base: iova,
        size,
    };
    let mut w = worker::Endpoint(Worker::new(
        Task,
        domain,
        buffer,
        mem,
        broker::Client::new(t, config::slots::BROKER),
        pci::Client::new(t, config::slots::PCI),
    ));
    sys_irq_control(config::notifications::IRQ, true);
    // The server learns app.toml's caller groups: `touch_registers` is for
    // operators only.
    let mut server = KernelTransport::with_groups(&NAMES, &config::powers::GROUPS);
    idl_runtime::serve(&mut server, &mut w, &mut [0; abi::MAX_MESSAGE])
}
