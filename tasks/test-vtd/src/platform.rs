//! Binds the test to the machine: config space through ports 0xCF8/0xCFC,
//! the timer for sleeps, and the regions app.toml grants (the VT-d register
//! page, the DMA pool, both edus' BAR0).
//!
//! The BARs are placed at the granted addresses here (and the bridge's
//! window opened over the second edu's), so the test does not depend on
//! where firmware put them; bus mastering is enabled on both edus and on the
//! bridge, which forwards its devices' DMA only with it.

use core::arch::asm;

use defmt::Display2Format as D;

use edu::{Edu, MmioBus};
use pci::{regs as pcir, AccessError, Bdf, ConfigAccess};
use task_test_vtd::{bridge, portcfg};
use userlib::*;
use vtd::mmio::{MmioRegisters, PoolAllocator, PoolMemory, PoolWindow};
use vtd::{Config, InvalidationChoice, SpinDelay, Unit};

use crate::config;

/// The IOMMU as the scenarios drive it.
pub type Iommu = Unit<MmioRegisters, PoolMemory, PoolAllocator, SpinDelay>;

/// edu on the root bus (`edu,addr=2`).
pub const EDU: Bdf = bdf(0, 2, 0);
/// The pcie-pci-bridge (`addr=3`) and the edu behind it (`bus=br0,addr=1`).
pub const BRIDGE: Bdf = bdf(0, 3, 0);
pub const EDU_BRIDGED: Bdf = bdf(1, 1, 0);

/// Sleep between two polls of a running edu DMA.
const SLEEP_MS: u64 = 10;

const fn bdf(bus: u8, dev: u8, func: u8) -> Bdf {
    match Bdf::new(0, bus, dev, func) {
        Ok(b) => b,
        Err(_) => panic!("constant BDF out of range"),
    }
}

/// Config space through ports 0xCF8/0xCFC (granted in app.toml).
pub struct PortConfig;

fn outl(port: u16, v: u32) {
    // SAFETY: 0xCF8..0xCFF are granted to this task (TSS I/O bitmap).
    unsafe { asm!("out dx, eax", in("dx") port, in("eax") v, options(nomem, nostack)) }
}
fn inl(port: u16) -> u32 {
    let v: u32;
    // SAFETY: as `outl`.
    unsafe { asm!("in eax, dx", in("dx") port, out("eax") v, options(nomem, nostack)) }
    v
}
fn outw(port: u16, v: u16) {
    // SAFETY: as `outl`.
    unsafe { asm!("out dx, ax", in("dx") port, in("ax") v, options(nomem, nostack)) }
}
fn inw(port: u16) -> u16 {
    let v: u16;
    // SAFETY: as `outl`.
    unsafe { asm!("in ax, dx", in("dx") port, out("ax") v, options(nomem, nostack)) }
    v
}
fn outb(port: u16, v: u8) {
    // SAFETY: as `outl`.
    unsafe { asm!("out dx, al", in("dx") port, in("al") v, options(nomem, nostack)) }
}
fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: as `outl`.
    unsafe { asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack)) }
    v
}

impl PortConfig {
    fn select(&self, bdf: Bdf, offset: u16, width: u8) -> Result<u16, AccessError> {
        if bdf.seg() != 0 {
            return Err(AccessError::NoSuchSegment { seg: bdf.seg() });
        }
        pci::check_access(offset, width, portcfg::CONFIG_SPACE)?;
        outl(portcfg::CONFIG_ADDRESS, portcfg::address(bdf, offset));
        Ok(portcfg::data_port(offset))
    }
}

impl ConfigAccess for PortConfig {
    fn read8(&self, bdf: Bdf, offset: u16) -> Result<u8, AccessError> {
        Ok(inb(self.select(bdf, offset, 1)?))
    }
    fn read16(&self, bdf: Bdf, offset: u16) -> Result<u16, AccessError> {
        Ok(inw(self.select(bdf, offset, 2)?))
    }
    fn read32(&self, bdf: Bdf, offset: u16) -> Result<u32, AccessError> {
        Ok(inl(self.select(bdf, offset, 4)?))
    }
    fn write8(&mut self, bdf: Bdf, offset: u16, value: u8) -> Result<(), AccessError> {
        outb(self.select(bdf, offset, 1)?, value);
        Ok(())
    }
    fn write16(&mut self, bdf: Bdf, offset: u16, value: u16) -> Result<(), AccessError> {
        outw(self.select(bdf, offset, 2)?, value);
        Ok(())
    }
    fn write32(&mut self, bdf: Bdf, offset: u16, value: u32) -> Result<(), AccessError> {
        outl(self.select(bdf, offset, 4)?, value);
        Ok(())
    }
}

/// Sleeps on the kernel timer between DMA polls.
pub struct TimerSleep;

impl edu::Sleep for TimerSleep {
    fn sleep(&mut self) {
        sys_set_timer(
            Some(sys_get_timer() + SLEEP_MS),
            config::notifications::TIMER,
        );
        sys_recv_notification(config::notifications::TIMER);
    }
}

/// Everything the scenarios touch.
pub struct Bench {
    pub pci: PortConfig,
    pub pool: PoolWindow,
    /// Built by the bring-up scenario.
    pub unit: Option<Iommu>,
    pub edu: Edu<MmioBus>,
    pub edu_bridged: Edu<MmioBus>,
}

impl Bench {
    /// Places the BARs and opens the bridge window, or says why not.
    pub fn new() -> Result<Bench, &'static str> {
        let userlib::schema::task::Region {
            vaddr: va,
            paddr: pa,
            size,
            ..
        } = config::regions::DMA_POOL;
        // SAFETY: app.toml grants this task the DMA pool at `va`, backed by
        // `[pa, pa+size)`; nothing else in the task uses it.
        let pool = unsafe { PoolWindow::new(va as usize, pa, size) }
            .map_err(|_| "the DMA pool region is not page aligned")?;
        let mut pci = PortConfig;
        place_bars(&mut pci)?;
        // SAFETY: the edu regions are granted (uncached) to this task alone,
        // and `place_bars` just put the BARs exactly there.
        let (edu, edu_bridged) = unsafe {
            (
                Edu::new(MmioBus::new(config::regions::EDU.vaddr as *mut u8)),
                Edu::new(MmioBus::new(config::regions::EDU_BRIDGED.vaddr as *mut u8)),
            )
        };
        Ok(Bench {
            pci,
            pool,
            unit: None,
            edu,
            edu_bridged,
        })
    }

    /// Builds the unit over the register page and the pool (CAP/ECAP read,
    /// nothing written).
    pub fn build_unit(&mut self) -> Result<&mut Iommu, vtd::Error> {
        let alloc = PoolAllocator::new(self.pool);
        self.build_unit_with(alloc)
    }

    /// Replaces the driver of the running unit by a new one that takes it
    /// over with `resume`, as a restarted task does: only the allocator
    /// (its books of which pool pages are tables) moves over.
    pub fn take_over(&mut self) -> Result<vtd::Resumed, &'static str> {
        let old = self.unit.as_mut().ok_or("the unit was not brought up")?;
        let books = core::mem::replace(old.tables().1, PoolAllocator::new(self.pool));
        let unit = self.build_unit_with(books).map_err(|e| {
            defmt::error!("VT-d unit: {}", D(&e));
            "CAP/ECAP refused"
        })?;
        match unit.resume() {
            Ok(found) => Ok(found),
            Err(e) => {
                defmt::error!("resume: {}", D(&e));
                Err("resume refused the running unit")
            }
        }
    }

    fn build_unit_with(&mut self, alloc: PoolAllocator) -> Result<&mut Iommu, vtd::Error> {
        let invalidation = if cfg!(feature = "queue") {
            InvalidationChoice::Queue
        } else {
            InvalidationChoice::Registers
        };
        let cfg = Config {
            invalidation,
            ..Config::default()
        };
        // SAFETY: app.toml grants this task the VT-d register page
        // (uncached) and no other task programs the unit.
        let regs = unsafe { MmioRegisters::new(config::regions::VTD.vaddr as *mut u8) };
        let unit = Unit::new(regs, PoolMemory::new(self.pool), alloc, SpinDelay, cfg)?;
        Ok(self.unit.insert(unit))
    }
}

fn place_bars(pci: &mut PortConfig) -> Result<(), &'static str> {
    for dev in [EDU, EDU_BRIDGED] {
        let id = pci
            .read32(dev, pcir::VENDOR_ID)
            .map_err(|_| "config read failed")?;
        if id != (edu::regs::DEVICE_ID as u32) << 16 | edu::regs::VENDOR_ID as u32 {
            defmt::error!(
                "{=u8:02x}:{=u8:02x}.{=u8}: id {=u32:#x} is not an edu",
                dev.bus(),
                dev.dev(),
                dev.func(),
                id
            );
            return Err("an edu is missing (00:02.0 or 01:01.0)");
        }
    }
    let (base, limit) = bridge::memory_window(
        config::regions::EDU_BRIDGED.paddr,
        config::regions::EDU_BRIDGED.size,
    )
    .ok_or("the edu-bridged region cannot be a bridge window")?;
    let step = |r: Result<(), AccessError>| r.map_err(|_| "config write failed");
    step(pci.write16(BRIDGE, bridge::MEMORY_BASE, base))?;
    step(pci.write16(BRIDGE, bridge::MEMORY_LIMIT, limit))?;
    enable(pci, BRIDGE)?;
    place_bar(pci, EDU, config::regions::EDU.paddr)?;
    place_bar(pci, EDU_BRIDGED, config::regions::EDU_BRIDGED.paddr)
}

fn place_bar(pci: &mut PortConfig, dev: Bdf, addr: u64) -> Result<(), &'static str> {
    pci::set_memory_space(pci, dev, false).map_err(|_| "cannot disable decode")?;
    pci.write32(dev, pcir::BAR0, addr as u32)
        .map_err(|_| "config write failed")?;
    enable(pci, dev)
}

fn enable(pci: &mut PortConfig, dev: Bdf) -> Result<(), &'static str> {
    pci::set_memory_space(pci, dev, true).map_err(|_| "cannot enable decode")?;
    pci::set_bus_master(pci, dev, true).map_err(|_| "cannot enable bus mastering")?;
    Ok(())
}
