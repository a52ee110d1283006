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
//! space), [`worker`] (the DMA worker's server on a fake machine),
//! [`console`], [`app_toml`], [`seeds`].

pub mod acpi;
// Not in the library's test build: xtask's modules bring their own tests,
// which need the rest of xtask.
#[cfg(not(test))]
pub mod app_toml;
pub mod console;
pub mod journal;
pub mod pci;
pub mod script;
pub mod seeds;
pub mod servers;
pub mod vtd;
pub mod worker;

// xtask's app.toml checker, compiled from xtask's own sources (xtask is a
// binary crate; these modules depend only on each other, as `crate::`).
#[cfg(not(test))]
#[allow(dead_code, clippy::all)]
#[path = "../../xtask/src/app.rs"]
mod app;
#[cfg(not(test))]
#[allow(dead_code, clippy::all)]
#[path = "../../xtask/src/layout.rs"]
mod layout;
#[cfg(not(test))]
#[allow(dead_code, clippy::all)]
#[path = "../../xtask/src/memory.rs"]
mod memory;
#[cfg(not(test))]
#[allow(dead_code, clippy::all)]
#[path = "../../xtask/src/system.rs"]
mod system;

/// The repository's root.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ is in the repository")
        .to_path_buf()
}
