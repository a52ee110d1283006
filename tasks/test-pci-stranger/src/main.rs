//! Platform test image: a task that owns no device and is no operator.
//! pci must refuse it any read of a device's config space (a register read
//! can have side effects, and config space says where a device decodes and
//! where its interrupts go), while the runner (an operator) and the acpi
//! task read freely. It runs above the runner, so it reports before the
//! runner ends the machine, then waits.
#![no_std]
#![no_main]

use idl_runtime::{ClientError, KernelTransport};
use idl_types::{AccessWidth, Bdf, PciError};
use task_pci::pci::Client;
use test_harness::ensure;
use userlib::*;

task_config!();

type Outcome = Result<(), &'static str>;

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// QEMU's first edu, which nobody owns while this runs.
const EDU: Bdf = Bdf {
    bus: 0,
    device: 2,
    function: 0,
};
/// Bytes asked of a dump.
const DUMP: usize = 64;

fn non_owner_read(pci: &mut Client<KernelTransport>) -> Outcome {
    let refused = Err(ClientError::Op(PciError::NotOwner(EDU)));
    ensure(
        pci.config_read(EDU, 0, AccessWidth::Dword) == refused,
        "a config read of a device the caller does not own was not refused as NotOwner",
    )?;
    let mut out = [0u8; DUMP];
    ensure(
        pci.config_dump(EDU, 0, &mut out) == refused.map(|_| 0),
        "a config dump of a device the caller does not own was not refused as NotOwner",
    )?;
    ensure(
        out.iter().all(|&b| b == 0),
        "a refused dump still copied config bytes",
    )
}

#[export_name = "main"]
fn main() -> ! {
    let mut pci = Client::new(KernelTransport::new(&NAMES), config::slots::PCI);
    test_harness::run(
        &mut pci,
        &[("a_non_owners_config_read_is_refused", non_owner_read)],
    );
    loop {
        sys_recv_notification(0);
    }
}
