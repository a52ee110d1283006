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

mod rig;
mod scenarios;

use task_supervisor::protocol;
use userlib::*;

task_config!();

/// What a scenario returns: `Err(why)` fails it.
pub type Outcome = Result<(), &'static str>;

#[export_name = "main"]
fn main() -> ! {
    let mut failures = 0u32;
    match rig::Rig::new() {
        Ok(mut rig) => {
            for (name, f) in scenarios::ALL {
                defmt::info!("TEST {=str} start", name);
                match f(&mut rig) {
                    Ok(()) => defmt::info!("TEST {=str} ok", name),
                    Err(why) => {
                        failures += 1;
                        defmt::error!("TEST {=str} FAIL {=str}", name, why);
                    }
                }
            }
        }
        Err(why) => {
            for (name, _) in scenarios::ALL {
                defmt::info!("TEST {=str} start", name);
                defmt::error!("TEST {=str} FAIL {=str}", name, why);
                failures += 1;
            }
        }
    }
    let verdict = if failures == 0 {
        abi::DEBUG_EXIT_SUCCESS
    } else {
        abi::DEBUG_EXIT_FAILURE
    };
    defmt::info!("{=u32} scenario(s) failed; shutting down", failures);
    let _ = sys_send(
        config::slots::SUPERVISOR,
        protocol::OP_SHUTDOWN,
        &[verdict],
        &mut [],
        &[],
    );
    loop {
        sys_recv_notification(0);
    }
}
