//! The broker QEMU test runner: moves real edu devices between two DMA
//! domains through the broker (it is the broker's operator and both
//! domains' owner), drives their DMA itself, and checks where it landed.
//! Logs `TEST <name> start` then `TEST <name> ok` or `TEST <name> FAIL
//! <why>` per scenario (xtask scores these), then asks the supervisor to end
//! the machine.
#![no_std]
#![no_main]

#[allow(dead_code, clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/idl.rs"));
}
use generated::{broker, iommu, pci};

#[cfg(feature = "hostile")]
mod hostile;
mod rig;
mod scenarios;

use userlib::*;

task_config!();

/// What a scenario returns: `Err(why)` fails it.
pub use test_harness::Outcome;

#[export_name = "main"]
fn main() -> ! {
    #[cfg(feature = "hostile")]
    let hostile = hostile::ALL;
    #[cfg(not(feature = "hostile"))]
    let hostile: &[test_harness::Scenario<rig::Rig>] = &[];
    let failures = match rig::Rig::new() {
        Ok(mut rig) => {
            test_harness::run(&mut rig, &scenarios::ALL) + test_harness::run(&mut rig, hostile)
        }
        Err(why) => {
            test_harness::fail_all(&scenarios::ALL, why) + test_harness::fail_all(hostile, why)
        }
    };
    test_harness::finish(config::slots::SUPERVISOR, failures)
}
