//! Platform test image: runs the acpi, pci and domid scenarios against the
//! real tasks, through their generated clients only, logging
//! `TEST <name> start` then `TEST <name> ok` or `TEST <name> FAIL <why>`
//! (xtask scores these), and asks the supervisor to end the machine with
//! the overall verdict.
//!
//! The task is named `broker` in its app.toml: domid's acquire, release,
//! rebuild and configure ops admit only the broker, whose role it plays here.
#![no_std]
#![no_main]

mod scenarios;

use idl_runtime::KernelTransport;
use task_test_platform::{acpi, domid, pci, Holdings};
pub use test_harness::ensure;
use userlib::*;

task_config!();

/// What a scenario returns: `Err(why)` fails it.
pub type Outcome = Result<(), &'static str>;

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// The servers under test, and what the runner holds of domid's DIDs.
pub struct Peers {
    pub acpi: acpi::Client<KernelTransport>,
    pub pci: pci::Client<KernelTransport>,
    pub domid: domid::Client<KernelTransport>,
    pub holdings: Holdings,
}

/// Waits `ms` milliseconds on the runner's timer notification.
pub fn sleep(ms: u64) {
    let bit = config::notifications::TIMER;
    sys_set_timer(Some(sys_get_timer() + ms), bit);
    sys_recv_notification(bit);
}

/// The notification that makes domid (built with `fault-injection`) crash.
pub fn domid_crash_notification() -> Option<(abi::TaskId, u32)> {
    config::NOTIFY.first().map(|n| (n.task, n.bits))
}

#[export_name = "main"]
fn main() -> ! {
    let transport = KernelTransport::new(&NAMES);
    let mut peers = Peers {
        acpi: acpi::Client::new(transport, config::slots::ACPI),
        pci: pci::Client::new(transport, config::slots::PCI),
        domid: domid::Client::new(transport, config::slots::DOMID),
        holdings: Holdings::new(),
    };
    let failures = test_harness::run(&mut peers, scenarios::ALL);
    test_harness::finish(config::slots::SUPERVISOR, failures)
}
