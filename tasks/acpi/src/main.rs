//! The acpi task: serves `Acpi` over the kernel's IPC. The library's
//! `firmware` module does the work (the fused build shares it): it finds the
//! DMAR in the kernel's snapshot of the ACPI tables, adds the RMRRs app.toml
//! declares, logs what it found, and builds the server.
//!
//! app.toml grants it one region, `acpi-tables` (the kernel's copy of the
//! tables, and of the RSDP in the copy's header), and a slot to the pci
//! task, whose config reads resolve scopes through bridges.
#![no_std]
#![no_main]

use acpi::extra_rmrr::{ExtraRmrr, PciAddress};
use idl_runtime::KernelTransport;
use task_acpi::acpi::Endpoint;
use task_acpi::device_count;
use task_acpi::firmware::{self, pci, PciTaskConfig, RmrrStorage};
use userlib::*;

task_config!();

/// RMRRs and devices app.toml declares (sizes the storage below).
const RMRR_COUNT: usize = config::system::RMRRS.len();
const RMRR_DEVICE_COUNT: usize = device_count(&config::system::RMRRS);

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

#[export_name = "main"]
fn main() -> ! {
    let (virt, size) = (
        config::regions::ACPI_TABLES.vaddr,
        config::regions::ACPI_TABLES.size,
    );
    // SAFETY: the kernel maps the `acpi-tables` region read-only at `virt`
    // for `size` bytes for the task's whole life, and nothing writes it.
    let region: &'static [u8] =
        unsafe { core::slice::from_raw_parts(virt as *const u8, size as usize) };
    let mut addresses = [PciAddress {
        segment: 0,
        bus: 0,
        device: 0,
        function: 0,
    }; RMRR_DEVICE_COUNT];
    let mut extras = [ExtraRmrr {
        base: 0,
        end: 0,
        devices: &[],
    }; RMRR_COUNT];
    let storage = RmrrStorage {
        addresses: &mut addresses,
        extras: &mut extras,
    };
    let transport = KernelTransport::new(&NAMES);
    let config_space = PciTaskConfig::new(pci::Client::new(transport, config::slots::PCI));
    let server = firmware::start(
        region,
        &config::system::RMRRS,
        &config::system::CUSTODY_MEMORY,
        storage,
        config_space,
    );
    let mut endpoint = Endpoint(server);
    let mut transport = KernelTransport::new(&NAMES);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut transport, &mut endpoint, &mut buf)
}
