//! The acpi logic as firmware starts it (feature `firmware`): find the DMAR
//! in the kernel's snapshot of the ACPI tables (RSDP → XSDT → DMAR, and
//! MCFG when present), add the RMRRs app.toml declares, log what it found,
//! and build the server. The acpi task and the fused build (`tasks/fused`)
//! both start it from here.
//!
//! Config space (to resolve device scopes through bridges) is read by
//! calling the pci task, which owns the ports ([`PciTaskConfig`]): pci must
//! sit at a higher priority than the caller in app.toml (calls go uphill).
//! Anything wrong with the tables is logged in words and the task stops
//! with a panic, so the supervisor's back-off paces any retry.

use core::cell::RefCell;

use acpi::extra_rmrr::{ExtraRmrr, PciAddress};
use acpi::mcfg::{Mcfg, MCFG_SIGNATURE};
use acpi::resolve::{resolve_scope, ConfigSpace, Resolved};
use acpi::walk::find_table;
use acpi::Dmar;
use defmt::Display2Format as D;
use idl_runtime::{ClientError, KernelTransport};
use idl_types::{AccessWidth, Bdf, PciError};

use crate::{configured_rmrrs, AcpiServer, AcpiWindow, ConfiguredRmrr, CustodyRange};

/// The whole generated interface; the acpi logic uses only its client's
/// `config_read`.
#[allow(dead_code, missing_docs, clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/pci_client.rs"));
}
pub use generated::pci;

const DMAR_SIGNATURE: [u8; 4] = *b"DMAR";
/// The one segment the pci task serves.
const SEGMENT: u16 = 0;
/// What an absent function reads as on hardware.
const ABSENT: u32 = 0xffff_ffff;

/// The server as firmware runs it.
pub type FirmwareServer<'t> = AcpiServer<'t, PciTaskConfig>;

/// Where the configured RMRRs are unpacked (sized by the caller from its
/// `config::system::RMRRS`, see [`crate::device_count`]).
pub struct RmrrStorage<'t> {
    /// One per device of every configured RMRR.
    pub addresses: &'t mut [PciAddress],
    /// One per configured RMRR.
    pub extras: &'t mut [ExtraRmrr<'t>],
}

/// Logs why the logic cannot serve, then stops the task.
fn fail(what: &str, why: &dyn core::fmt::Display) -> ! {
    defmt::error!("acpi: {=str}: {}", what, D(why));
    panic!("acpi: {}", what)
}

/// Finds the DMAR in `region` (the `acpi-tables` window), logs the units,
/// scopes and RMRRs, and builds the server; panics (after logging why) if
/// the tables or the configuration are unusable.
pub fn start<'t>(
    region: &'t [u8],
    rmrrs: &[ConfiguredRmrr],
    custody: &'t [CustodyRange],
    storage: RmrrStorage<'t>,
    config_space: PciTaskConfig,
) -> FirmwareServer<'t> {
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
    let count = configured_rmrrs(rmrrs, storage.addresses, storage.extras)
        .unwrap_or_else(|e| fail("configured RMRRs", &e));
    let all: &'t [ExtraRmrr<'t>] = storage.extras;
    let extras = all.get(..count).unwrap_or(&[]);
    log_dmar(table, extras, &config_space);
    check_rmrrs(table, extras, custody, window.memory_map(), &config_space);
    // Configured RMRRs are held to the firmware's rules here; the memory
    // custody uses is held against every RMRR per device (`custody`).
    AcpiServer::new(table, extras, &[], config_space)
        .unwrap_or_else(|e| fail("building the server", &e))
        .with_custody_memory(custody)
}

/// Warns of every RMRR that covers custody memory (its device will be
/// refused) or lies outside the memory the firmware reserved.
fn check_rmrrs(
    table: &[u8],
    extras: &[ExtraRmrr<'_>],
    custody: &[CustodyRange],
    map: &[abi::acpi_window::MemEntry],
    config_space: &PciTaskConfig,
) {
    let warn = |base: u64, end: u64, device: &dyn core::fmt::Display| {
        if let Some(c) = crate::custody::overlap(custody, base, end) {
            let (lo, hi, what) = (c.start, c.end, c.what);
            defmt::warn!(
                "acpi: RMRR {=u64:#x}..={=u64:#x} of {} overlaps {=str} ({=u64:#x}..{=u64:#x}): refused; the device stays blocked",
                base,
                end,
                D(device),
                what,
                lo,
                hi
            );
        }
        if crate::custody::outside_reserved(map, base, end) {
            defmt::warn!(
                "acpi: firmware bug: no reserved region of the boot memory map covers RMRR {=u64:#x}..={=u64:#x} of {}; a device may be writing memory others are given",
                base,
                end,
                D(device)
            );
        }
    };
    if let Ok(dmar) = Dmar::parse(table) {
        for rmrr in dmar.rmrrs() {
            for scope in rmrr.scopes().filter_map(Result::ok) {
                match resolve_scope(rmrr.segment(), &scope, config_space) {
                    Ok(Resolved::Device(rid)) => warn(rmrr.base(), rmrr.end(), &rid),
                    _ => warn(rmrr.base(), rmrr.end(), &"an unresolved device scope"),
                }
            }
        }
    }
    for extra in extras {
        for device in extra.devices {
            warn(extra.base, extra.end, device);
        }
    }
}

/// Config-space reads through the pci task's `config_read`.
///
/// [`ConfigSpace`] reads take `&self` while a client call needs `&mut`, so
/// the client sits in a `RefCell` (one thread, no re-entry: a borrow that
/// fails would be a bug, and reads as a failed read, not a panic).
pub struct PciTaskConfig {
    client: RefCell<pci::Client<KernelTransport>>,
}

impl PciTaskConfig {
    /// Reads through `client` (the pci task's slot).
    pub fn new(client: pci::Client<KernelTransport>) -> Self {
        PciTaskConfig {
            client: RefCell::new(client),
        }
    }
}

impl ConfigSpace for PciTaskConfig {
    fn read32(&self, segment: u16, bus: u8, device: u8, function: u8, offset: u16) -> Option<u32> {
        if segment != SEGMENT {
            return None;
        }
        let mut client = self.client.try_borrow_mut().ok()?;
        let bdf = Bdf {
            bus,
            device,
            function,
        };
        match client.config_read(bdf, offset, AccessWidth::Dword) {
            Ok(value) => Some(value),
            // The pci task serves only the functions it enumerated; any
            // other reads as absent, as the hardware would answer.
            Err(ClientError::Op(PciError::NoDevice(_))) => Some(ABSENT),
            Err(_) => None,
        }
    }
}

/// Logs the ECAM windows, if the firmware has an MCFG (config space is
/// still reached through the pci task's ports; this is for the reader).
fn log_mcfg(window: &AcpiWindow<'_>) {
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
