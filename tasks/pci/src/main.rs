//! The pci task: owns the config mechanism #1 ports (0xCF8..=0xCFF, granted
//! in app.toml), enumerates segment 0 once at start and serves `Pci`.
//!
//! It is the only task that touches those ports (their address/data pair
//! is two accesses), so everyone else, the acpi task included, reads config
//! space by calling it. The broker, if the image has one, may write every
//! device; other tasks only the devices the broker names them owner of.
#![no_std]
#![no_main]

use defmt::Display2Format as D;
use idl_runtime::KernelTransport;
use idl_types::TaskIndex;
use pci::port::PortConfig;
use pci::regs::{BAR0, COMMAND, COMMAND_MEMORY_SPACE};
use pci::{Bdf, ConfigAccess};
use task_pci::pci::Endpoint;
use task_pci::PciServer;
use userlib::*;

task_config!();

/// The segment mechanism #1 reaches.
const SEGMENT: u16 = 0;
/// The app.toml name of the task allowed to write any device.
const BROKER: &str = "broker";
/// The app.toml name of the task that reads bridges' config space to
/// resolve the DMAR's scopes (it owns no device; in the fused build that
/// logic runs in the task named `broker`).
const ACPI: &str = "acpi";
/// Readers of every device: the broker, the acpi task and app.toml's
/// operators.
const MAX_READERS: usize = task_pci::MAX_PRIVILEGED;

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// The index of the task app.toml calls `name`, if the image has one.
fn task(name: &str) -> Option<TaskIndex> {
    let index = NAMES.iter().position(|n| *n == name)?;
    u16::try_from(index).ok().map(TaskIndex)
}

/// Who may read every device's config space: the broker (which writes
/// every device, and hosts acpi's logic in the fused build), the acpi task
/// and the operators (`operator = true`); everyone else reads only what it
/// owns.
fn readers() -> heapless::Vec<TaskIndex, MAX_READERS> {
    let mut out = heapless::Vec::new();
    let operators = config::powers::OPERATORS.iter().map(|&i| TaskIndex(i));
    let platform = task(BROKER).into_iter().chain(task(ACPI));
    for reader in platform.chain(operators) {
        if out.push(reader).is_err() {
            defmt::warn!(
                "pci: more readers than {=usize}; the rest read only their own",
                MAX_READERS
            );
            break;
        }
    }
    out
}

/// Logs what enumeration did not trust or had no room for.
fn report<C: ConfigAccess>(server: &PciServer<C>) {
    let topology = server.topology();
    for f in topology.flawed() {
        if let Some(flaw) = f.flaw {
            defmt::warn!("pci: {} is unassignable: {}", D(&f.bdf), D(&flaw));
        }
    }
    if topology.beyond_capacity() > 0 {
        defmt::warn!(
            "pci: {=usize} functions beyond capacity are ignored (app.toml [capacity] functions)",
            topology.beyond_capacity()
        );
    }
    if topology.unreadable_headers() > 0 {
        defmt::warn!(
            "pci: {=usize} functions' headers could not be read",
            topology.unreadable_headers()
        );
    }
}

/// Low bits of a memory BAR that are flags, not address.
const BAR_FLAGS: u32 = 0xF;

/// Places BAR0 of each device whose address app.toml fixes (`bar0`), so
/// the tasks granted its registers as an mmio region find them there, and
/// turns memory decoding on. A BAR already in place is left alone. The
/// address must lie in the upstream bridge's window for a device behind a
/// bridge (app.toml uses the firmware's own window for those).
fn place_bars(cfg: &mut PortConfig) {
    for b in config::system::DEVICE_BARS.iter() {
        let (rid, bar) = (b.rid, b.address);
        let bdf = Bdf::from_rid(SEGMENT, rid);
        let (Ok(current), Ok(command)) = (cfg.read32(bdf, BAR0), cfg.read16(bdf, COMMAND)) else {
            defmt::warn!("pci: {} is not there; its BAR0 stays unplaced", D(&bdf));
            continue;
        };
        if current == u32::MAX {
            defmt::warn!("pci: {} is absent; its BAR0 stays unplaced", D(&bdf));
            continue;
        }
        let placed = (current & !BAR_FLAGS) as u64 == bar;
        if !placed {
            let _ = cfg.write16(bdf, COMMAND, command & !COMMAND_MEMORY_SPACE);
            let _ = cfg.write32(bdf, BAR0, bar as u32 | (current & BAR_FLAGS));
        }
        let _ = cfg.write16(bdf, COMMAND, command | COMMAND_MEMORY_SPACE);
        defmt::info!(
            "pci: {} BAR0 {=str} {=u64:#x}",
            D(&bdf),
            if placed { "already at" } else { "placed at" },
            bar
        );
    }
}

#[export_name = "main"]
fn main() -> ! {
    // SAFETY: app.toml grants this task ports 0xCF8..=0xCFF and nothing else
    // in it uses them; this is the only `PortConfig`.
    let mut ports = unsafe { PortConfig::new() };
    place_bars(&mut ports);
    let broker = task(BROKER);
    let server = PciServer::new(ports, SEGMENT, broker.as_slice(), &readers());
    let functions = server.topology().functions();
    defmt::info!("pci: {=usize} functions on segment 0", functions.len());
    for f in functions {
        defmt::info!(
            "pci: {} {=u16:04x}:{=u16:04x} {}",
            D(&f.bdf),
            f.header.vendor,
            f.header.device,
            D(&f.kind)
        );
    }
    report(&server);
    let mut endpoint = Endpoint(server);
    let mut transport = KernelTransport::new(&NAMES);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut transport, &mut endpoint, &mut buf)
}
