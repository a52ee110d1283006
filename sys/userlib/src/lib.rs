//! What every custody task links: the syscall wrappers, the task's entry
//! point, its panic handler and defmt logger, and its build-time config.
//!
//! A task is `#![no_std] #![no_main]` and defines
//! `#[export_name = "main"] fn main() -> !`. `userlib::task_config!()` brings
//! in the constants xtask generated for it from app.toml: its task slots
//! (peers' IDs), its regions' addresses and its notification bits.
#![no_std]

pub mod sys;
mod tsc;

#[cfg(feature = "firmware")]
mod runtime;

pub use abi;
pub use config_schema as schema;
pub use sys::*;
pub use tsc::rdtsc;

/// Includes the task's generated configuration (`CUSTODY_TASK_CONFIG`).
#[macro_export]
macro_rules! task_config {
    () => {
        include!(env!("CUSTODY_TASK_CONFIG"));
    };
}
