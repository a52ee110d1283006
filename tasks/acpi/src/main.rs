//! The acpi task: finds the DMAR in the kernel's snapshot of the ACPI
//! tables (RSDP → XSDT → DMAR, and MCFG when present), adds the RMRRs
//! app.toml declares, logs what it found, and serves `Acpi`.
//!
//! app.toml grants it one region: `acpi-tables`, the kernel's copy of the
//! tables (and of the RSDP, in the copy's header).
//!
//! It reads config space (to resolve device scopes through bridges) by
//! calling the pci task, which owns the ports; pci must therefore sit at a
//! higher priority in app.toml (calls go uphill). Anything wrong with the
//! tables is logged in words and the task stops with a panic, so the
//! supervisor's back-off paces any retry.
#![no_std]
#![no_main]

mod pci_peer;

use acpi::extra_rmrr::{ExtraRmrr, PciAddress};
use acpi::mcfg::{Mcfg, MCFG_SIGNATURE};
use acpi::resolve::{resolve_scope, Resolved};
use acpi::walk::find_table;
use acpi::Dmar;
use defmt::Display2Format as D;
use idl_runtime::KernelTransport;
use task_acpi::acpi::Endpoint;
use task_acpi::{configured_rmrrs, device_count, AcpiServer, AcpiWindow};
use userlib::*;

use pci_peer::{pci, PciTaskConfig};

task_config!();

const DMAR_SIGNATURE: [u8; 4] = *b"DMAR";
/// RMRRs and devices app.toml declares (sizes the storage below).
const RMRR_COUNT: usize = config::system::RMRRS.len();
const RMRR_DEVICE_COUNT: usize = device_count(&config::system::RMRRS);

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// Logs why the task cannot serve, then stops it.
fn fail(what: &str, why: &dyn core::fmt::Display) -> ! {
    defmt::error!("acpi: {=str}: {}", what, D(why));
    panic!("acpi: {}", what)
}

#[export_name = "main"]
fn main() -> ! {
    let (virt, _, size) = config::regions::ACPI_TABLES;
    // SAFETY: the kernel maps the `acpi-tables` region read-only at `virt`
    // for `size` bytes for the task's whole life, and nothing writes it.
    let region: &'static [u8] =
        unsafe { core::slice::from_raw_parts(virt as *const u8, size as usize) };
    let window = AcpiWindow::new(region).unwrap_or_else(|e| fail("ACPI window", &e));
    let (base, len) = window.range();
    defmt::info!(
        "acpi: tables {=u64:#x}..{=u64:#x}, RSDP at {=u64:#x}",
        base,
        base.saturating_add(len),
        window.rsdp()
    );

    let dmar = find_table(&window, window.rsdp(), &DMAR_SIGNATURE)
        .unwrap_or_else(|e| fail("finding the DMAR", &e));
    let table = window
        .table(&dmar)
        .unwrap_or_else(|| fail("reading the DMAR", &"it lies outside the window"));
    log_mcfg(&window);

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
    configured_rmrrs(&config::system::RMRRS, &mut addresses, &mut extras)
        .unwrap_or_else(|e| fail("configured RMRRs", &e));

    let transport = KernelTransport::new(&NAMES);
    let config_space = PciTaskConfig::new(pci::Client::new(transport, config::slots::PCI));
    log_dmar(table, &extras, &config_space);
    // The kernel tells no task where RAM is, so configured RMRRs are not
    // checked against it here (xtask checks their shape at build time).
    let server = AcpiServer::new(table, &extras, &[], config_space)
        .unwrap_or_else(|e| fail("building the server", &e));

    let mut endpoint = Endpoint(server);
    let mut transport = KernelTransport::new(&NAMES);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut transport, &mut endpoint, &mut buf)
}

/// Logs the ECAM windows, if the firmware has an MCFG (config space is
/// still reached through the pci task's ports; this is for the reader).
fn log_mcfg(window: &AcpiWindow<'static>) {
    let Ok(location) = find_table(window, window.rsdp(), &MCFG_SIGNATURE) else {
        defmt::info!("acpi: no MCFG");
        return;
    };
    match window.table(&location).map(Mcfg::parse) {
        Some(Ok(mcfg)) => {
            for a in mcfg.allocations() {
                defmt::info!(
                    "acpi: MCFG: segment {=u16} buses {=u8}..={=u8} ECAM at {=u64:#x}",
                    a.segment,
                    a.start_bus,
                    a.end_bus,
                    a.base_address
                );
            }
        }
        Some(Err(e)) => defmt::warn!("acpi: MCFG unreadable: {}", D(&e)),
        None => defmt::warn!("acpi: MCFG lies outside the window"),
    }
}

/// Logs the units (with their scopes as resolved now, through the pci
/// task) and the RMRRs the server will answer with.
fn log_dmar(table: &[u8], extras: &[ExtraRmrr<'_>], config_space: &PciTaskConfig) {
    // A table that does not parse is reported by the server's construction.
    let Ok(dmar) = Dmar::parse(table) else {
        return;
    };
    for (index, unit) in dmar.drhds().enumerate() {
        defmt::info!(
            "acpi: unit {=usize}: registers at {=u64:#x}, segment {=u16}, {=str}, {=usize} device scopes",
            index,
            unit.register_base(),
            unit.segment(),
            if unit.include_pci_all() {
                "covers every device of its segment"
            } else {
                "covers the devices its scopes name"
            },
            unit.scopes().count()
        );
        for scope in unit.scopes().filter_map(Result::ok) {
            let kind = scope.kind().name();
            match resolve_scope(unit.segment(), &scope, config_space) {
                Ok(Resolved::Device(rid)) => {
                    defmt::info!("acpi:   {=str} {}", kind, D(&rid));
                }
                Ok(Resolved::Hierarchy {
                    bridge,
                    secondary,
                    subordinate,
                }) => defmt::info!(
                    "acpi:   {=str} {} with buses {=u8}..={=u8} behind it",
                    kind,
                    D(&bridge),
                    secondary,
                    subordinate
                ),
                Err(e) => defmt::warn!("acpi:   {=str} scope unresolved: {}", kind, D(&e)),
            }
        }
    }
    for rmrr in dmar.rmrrs() {
        defmt::info!(
            "acpi: firmware RMRR {=u64:#x}..={=u64:#x} on segment {=u16}",
            rmrr.base(),
            rmrr.end(),
            rmrr.segment()
        );
    }
    if dmar.rmrrs().next().is_none() {
        defmt::info!("acpi: the firmware declares no RMRR");
    }
    for extra in extras {
        for device in extra.devices {
            defmt::info!(
                "acpi: configured RMRR {=u64:#x}..={=u64:#x} for {}",
                extra.base,
                extra.end,
                D(device)
            );
        }
    }
}
