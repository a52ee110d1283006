//! VT-d QEMU test image: drives QEMU's intel-iommu with drv/vtd and makes
//! edu devices DMA through it, logging `TEST <name> start` and then
//! `TEST <name> ok` or `TEST <name> FAIL <why>` for each scenario (xtask
//! scores these), then asks the supervisor to end the machine.
#![no_std]
#![no_main]

mod platform;
mod scenarios;
mod steps;

use userlib::*;

task_config!();

/// What a scenario returns: `Err(why)` fails it.
pub use test_harness::Outcome;

#[export_name = "main"]
fn main() -> ! {
    let failures = match platform::Bench::new() {
        Ok(mut bench) => test_harness::run(&mut bench, scenarios::ALL),
        Err(why) => test_harness::fail_all(scenarios::ALL, why),
    };
    test_harness::finish(config::slots::SUPERVISOR, failures)
}
