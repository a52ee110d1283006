//! Binds the runner to the image: the broker, pci and iommu clients, the
//! edu devices' registers (BAR0 where app.toml's `bar0` puts it, an mmio
//! region granted to this task) and the two domains' memory (dma regions
//! granted to this task, which owns both domains).
//!
//! The runner drives its devices as any domain owner would: it may write
//! their config space (BAR0, memory decode) and turn bus mastering on only
//! because the broker named it their owner at pci.

use defmt::Display2Format as D;
use edu::{Direction, Edu, MmioBus, Sleep};
use idl_runtime::KernelTransport;
use idl_types::{AccessWidth, Bdf, BrokerEvent, DomainId};
use task_test_broker::{landed, prepare, untouched, LEN, STAGE, TARGET};
pub use test_harness::ensure;
use userlib::*;

use crate::{broker, config, iommu, pci, Outcome};

/// Sleep between two polls of a running edu DMA.
const SLEEP_MS: u64 = 10;
/// Polls of a running DMA (edu takes about 100 ms).
const DMA_POLLS: u32 = 50;
const BAR0: u16 = 0x10;
const COMMAND: u16 = 0x04;
const COMMAND_MEMORY: u32 = 1 << 1;
/// Low BAR bits that are flags, not address.
const BAR_FLAGS: u32 = 0xf;
/// A bridge's memory base/limit dword (type 1 header).
const BRIDGE_MEMORY_WINDOW: u16 = 0x20;

/// The devices of the machine (apps/broker-tests.toml).
pub const EDU0: Bdf = bdf(0, 2, 0);
pub const EDU1: Bdf = bdf(0, 4, 0);
pub const EDU_BRIDGED: Bdf = bdf(1, 1, 0);
/// The pcie-pci-bridge above it, and the alias its DMA carries.
pub const BRIDGE: Bdf = bdf(0, 3, 0);
pub const SECBUS_ALIAS: Bdf = bdf(1, 0, 0);

const fn bdf(bus: u8, device: u8, function: u8) -> Bdf {
    Bdf {
        bus,
        device,
        function,
    }
}

/// Domain `index` of app.toml.
pub const fn domain(index: u16) -> DomainId {
    DomainId(config::system::FIRST_DOMAIN_ID + index)
}

/// Sleeps on the kernel timer.
pub struct TimerSleep;

impl Sleep for TimerSleep {
    fn sleep(&mut self) {
        sleep_ms(SLEEP_MS);
    }
}

pub fn sleep_ms(ms: u64) {
    sys_set_timer(Some(sys_get_timer() + ms), config::notifications::TIMER);
    sys_recv_notification(config::notifications::TIMER);
}

/// One domain's memory as this task sees it.
pub struct DomainMemory {
    pub iova: u64,
    pub bytes: &'static mut [u8],
}

/// Everything the scenarios touch.
pub struct Rig {
    pub broker: broker::Client<KernelTransport>,
    pub pci: pci::Client<KernelTransport>,
    pub iommu: iommu::Client<KernelTransport>,
    pub memory: [DomainMemory; 2],
    /// The last broker event seen.
    pub last_event: u32,
}

/// The virtual base of a granted region by its physical base.
fn region_at(pa: u64) -> Option<(u64, u64)> {
    config::REGIONS
        .iter()
        .find(|r| r.paddr == pa)
        .map(|r| (r.vaddr, r.size))
}

fn domain_memory(index: u16) -> Result<DomainMemory, &'static str> {
    let domain = config::system::DOMAINS
        .get(usize::from(index))
        .ok_or("app.toml has fewer than two domains")?;
    let map = domain.maps.first().ok_or("a domain has no memory map")?;
    let (iova, pa, size) = (map.iova, map.paddr, map.size);
    let (va, granted) = region_at(pa).ok_or("a domain's memory is not granted to the runner")?;
    // SAFETY: the domain's dma region, granted read/write to this task at
    // `va` (`granted` bytes); the runner makes one slice of it, once.
    let bytes =
        unsafe { core::slice::from_raw_parts_mut(va as *mut u8, granted.min(size) as usize) };
    Ok(DomainMemory { iova, bytes })
}

impl Rig {
    pub fn new() -> Result<Rig, &'static str> {
        static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;
        let t = KernelTransport::new(&NAMES);
        let mut rig = Rig {
            broker: broker::Client::new(t, config::slots::BROKER),
            pci: pci::Client::new(t, config::slots::PCI),
            iommu: iommu::Client::new(t, config::slots::IOMMU),
            memory: [domain_memory(0)?, domain_memory(1)?],
            last_event: 0,
        };
        rig.log_bridge_window();
        for dev in [EDU0, EDU1, EDU_BRIDGED] {
            rig.enable(dev)?;
        }
        Ok(rig)
    }

    fn log_bridge_window(&mut self) {
        if let Ok(w) = self
            .pci
            .config_read(BRIDGE, BRIDGE_MEMORY_WINDOW, AccessWidth::Dword)
        {
            let base = u64::from(w & 0xfff0) << 16;
            let limit = (u64::from(w >> 16 & 0xfff0) << 16) | 0xf_ffff;
            defmt::info!(
                "bridge {} memory window {=u64:#x}..={=u64:#x}",
                D(&BRIDGE),
                base,
                limit
            );
        }
    }

    /// Puts BAR0 where app.toml says, turns memory decode and bus
    /// mastering on (through pci, as the device's owner), checks it is edu.
    fn enable(&mut self, dev: Bdf) -> Outcome {
        let bar = bar_of(dev).ok_or("a device has no bar0 in app.toml")?;
        let fail = |what: &'static str| {
            move |e| {
                defmt::error!("{}: {=str}: {}", D(&dev), what, defmt::Debug2Format(&e));
                what
            }
        };
        let now = self
            .pci
            .config_read(dev, BAR0, AccessWidth::Dword)
            .map_err(fail("BAR0 read failed"))?;
        let command = self
            .pci
            .config_read(dev, COMMAND, AccessWidth::Word)
            .map_err(fail("command read failed"))?;
        if u64::from(now & !BAR_FLAGS) != bar {
            defmt::info!(
                "{}: BAR0 {=u32:#x} -> {=u64:#x}",
                D(&dev),
                now & !BAR_FLAGS,
                bar
            );
            self.pci
                .config_write(dev, COMMAND, AccessWidth::Word, command & !COMMAND_MEMORY)
                .map_err(fail("config write refused (is the runner its owner?)"))?;
            self.pci
                .config_write(dev, BAR0, AccessWidth::Dword, bar as u32)
                .map_err(fail("BAR0 write refused"))?;
        }
        self.pci
            .config_write(dev, COMMAND, AccessWidth::Word, command | COMMAND_MEMORY)
            .map_err(fail("memory decode refused"))?;
        self.pci
            .enable_bus_master(dev, true)
            .map_err(fail("bus mastering refused"))?;
        let mut edu = edu_at(dev).ok_or("the device's BAR0 is not granted to the runner")?;
        edu.identify().map_err(|e| {
            defmt::error!("{}: {}", D(&dev), D(&e));
            "no edu answers at the device's BAR0"
        })?;
        Ok(())
    }

    /// Has `dev` copy the staging page to the target page of whichever
    /// domain holds it; `seeds` are written to the domains' staging pages
    /// (distinct, so the landed bytes say which domain served the read).
    pub fn transfer(&mut self, dev: Bdf, seeds: [u8; 2]) -> Outcome {
        for (m, seed) in self.memory.iter_mut().zip(seeds) {
            ensure(prepare(m.bytes, seed), "a domain buffer is too small")?;
        }
        let iova = self.memory[0].iova;
        ensure(
            self.memory.iter().all(|m| m.iova == iova),
            "the domains' memory must sit at the same IOVA",
        )?;
        let mut edu = edu_at(dev).ok_or("no registers for the device")?;
        let run = |edu: &mut Edu<MmioBus>, dir, at: usize| {
            edu.dma(
                dir,
                iova + at as u64,
                0,
                LEN as u32,
                &mut TimerSleep,
                DMA_POLLS,
            )
            .map(|_| ())
            .map_err(|e| {
                defmt::error!("{}: edu DMA: {}", D(&dev), D(&e));
                "edu DMA did not complete"
            })
        };
        run(&mut edu, Direction::ToDevice, STAGE)?;
        run(&mut edu, Direction::ToRam, TARGET)
    }

    /// The transfer of `dev` landed in domain `index` only.
    pub fn landed_in(&self, index: usize, seeds: [u8; 2]) -> Outcome {
        let (mine, other) = match index {
            0 => (&self.memory[0], &self.memory[1]),
            _ => (&self.memory[1], &self.memory[0]),
        };
        ensure(
            landed(mine.bytes, seeds[index.min(1)]),
            "the DMA did not land in the owner domain's buffer",
        )?;
        ensure(
            untouched(other.bytes),
            "the DMA changed the other domain's buffer",
        )
    }

    /// Has `dev` write to `iova` (which its domain does not map); both
    /// domains' target pages must stay untouched.
    pub fn stray_write(&mut self, dev: Bdf, iova: u64) -> Outcome {
        for m in self.memory.iter_mut() {
            ensure(prepare(m.bytes, 0x5a), "a domain buffer is too small")?;
        }
        let mut edu = edu_at(dev).ok_or("no registers for the device")?;
        edu.dma(
            Direction::ToRam,
            iova,
            0,
            LEN as u32,
            &mut TimerSleep,
            DMA_POLLS,
        )
        .map_err(|_| "edu DMA did not complete")?;
        ensure(
            self.memory.iter().all(|m| untouched(m.bytes)),
            "a blocked DMA changed a domain's buffer",
        )
    }

    /// The next broker events until one satisfies `want` (bounded).
    pub fn wait_event(&mut self, want: impl Fn(&BrokerEvent) -> bool) -> bool {
        for _ in 0..20 {
            while let Ok(Some(e)) = self.broker.event_after(self.last_event) {
                self.last_event = e.seq;
                defmt::info!(
                    "broker event {=u32}: {}",
                    e.seq,
                    defmt::Debug2Format(&e.event)
                );
                if want(&e.event) {
                    return true;
                }
            }
            sleep_ms(SLEEP_MS);
        }
        false
    }
}

/// BAR0 of a device as app.toml places it.
fn bar_of(dev: Bdf) -> Option<u64> {
    let rid = dev.requester_id()?;
    config::system::DEVICE_BARS
        .iter()
        .find(|b| b.rid == rid)
        .map(|b| b.address)
}

/// The edu at `dev`, through its granted BAR0 region.
pub fn edu_at(dev: Bdf) -> Option<Edu<MmioBus>> {
    let (va, _) = region_at(bar_of(dev)?)?;
    // SAFETY: `va` maps the device's BAR0 (app.toml grants the region,
    // uncached, to this task alone, and `Rig::enable` placed BAR0 there).
    Some(Edu::new(unsafe { MmioBus::new(va as *mut u8) }))
}
