//! Host-only deterministic simulation of custody: the broker library and
//! the real servers (iommu over one VT-d model per unit, domid, acpi, pci)
//! in one process over the in-process transport, on platforms built from
//! every DMAR fixture, with a fault injector that kills any task before or
//! after any message (or tears any journal write), and invariants checked
//! after every event. Seeded and reproducible.
//!
//! Map: [`fixtures`] (the DMAR tables), [`layout`] and [`platform`] (a
//! machine from a table and a seed), [`hardware`] (models and ledger: the
//! truth), [`servers`] (restartable real servers), [`transport`] (faults and
//! the store-by-store observer), [`machine`] (one running system and its
//! requests), [`invariants`], [`run`] (matrix and random workload), [`inspect`] (any DMAR table,
//! `--dmar`), [`cli`].

pub mod cli;
pub mod fixtures;
pub mod hardware;
pub mod inspect;
pub mod invariants;
pub mod kernel_model;
pub mod layout;
pub mod machine;
pub mod platform;
pub mod rng;
pub mod run;
pub mod servers;
pub mod transport;

pub use cli::cli;
pub use machine::{with_machine, Machine, Op, Outcome};
pub use platform::Platform;
pub use run::{run_matrix, run_random, run_seed};
pub use transport::Fault;

#[cfg(test)]
mod tests;
