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
use task_pci::pci::Endpoint;
use task_pci::PciServer;
use userlib::*;

task_config!();

/// The segment mechanism #1 reaches.
const SEGMENT: u16 = 0;
/// The app.toml name of the task allowed to write any device.
const BROKER: &str = "broker";

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// The broker's task index, if the image has a broker.
fn privileged() -> Option<TaskIndex> {
    let index = NAMES.iter().position(|name| *name == BROKER)?;
    u16::try_from(index).ok().map(TaskIndex)
}

#[export_name = "main"]
fn main() -> ! {
    // SAFETY: app.toml grants this task ports 0xCF8..=0xCFF and nothing else
    // in it uses them; this is the only `PortConfig`.
    let ports = unsafe { PortConfig::new() };
    let broker = privileged();
    let server = match PciServer::new(ports, SEGMENT, broker.as_slice()) {
        Ok(server) => server,
        // Without a topology there is nothing to serve; the supervisor's
        // restart (with back-off) is the only sensible retry.
        Err(e) => panic!("pci: enumerating segment 0 failed: {e}"),
    };
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
    let mut endpoint = Endpoint(server);
    let mut transport = KernelTransport::new(&NAMES);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut transport, &mut endpoint, &mut buf)
}
