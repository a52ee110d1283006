//! custody's fuzz targets, as functions: each takes libFuzzer's bytes and
//! panics only on a bug (a crash of the code under test, or a broken
//! property it asserts). The binaries in `fuzz_targets/` are one line
//! each; `cargo xtask fuzz` builds and runs them with cargo-fuzz on the
//! stable toolchain (`--sanitizer none`), and `seeds` writes each target's
//! seed corpus from real inputs (fixture tables, messages the real
//! clients encode).
//!
//! Map: [`script`] (a server input: calls and leases), [`servers`] (every
//! IDL server's dispatch), [`acpi`] (DMAR, the ACPI walk), [`journal`]
//! (the broker's journal), [`vtd`] (`Unit::resume`), [`pci`] (config
//! space), [`console`], [`app_toml`], [`seeds`].

pub mod acpi;
pub mod app_toml;
pub mod console;
pub mod journal;
pub mod pci;
pub mod script;
pub mod seeds;
pub mod servers;
pub mod vtd;

// xtask's app.toml checker, compiled from xtask's own sources (xtask is a
// binary crate; these modules depend only on each other, as `crate::`).
#[allow(dead_code, clippy::all)]
#[path = "../../xtask/src/app.rs"]
mod app;
#[allow(dead_code, clippy::all)]
#[path = "../../xtask/src/layout.rs"]
mod layout;
#[allow(dead_code, clippy::all)]
#[path = "../../xtask/src/memory.rs"]
mod memory;
#[allow(dead_code, clippy::all)]
#[path = "../../xtask/src/system.rs"]
mod system;

/// Every target: its name and its function.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("dmar", acpi::dmar),
    ("acpi_walk", acpi::walk),
    ("acpi_server", servers::acpi),
    ("iommu_server", servers::iommu),
    ("domid_server", servers::domid),
    ("pci_server", servers::pci),
    ("supervisor_server", servers::supervisor),
    ("broker_server", servers::broker),
    ("journal", journal::journal),
    ("vtd_resume", vtd::resume),
    ("pci_config", pci::pci_config),
    ("console", console::console),
    ("app_toml", app_toml::app_toml),
];
