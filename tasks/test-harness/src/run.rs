//! The image side: defmt reports and the supervisor's shutdown.

use abi::TaskId;
use idl_runtime::KernelTransport;
use task_supervisor::supervisor;
use userlib::*;

use crate::{verdict, Scenario};

/// Runs `scenarios` over `ctx` in order, reporting each; returns how many
/// failed.
pub fn run<C>(ctx: &mut C, scenarios: &[Scenario<C>]) -> u32 {
    let mut failures = 0;
    for (name, f) in scenarios {
        defmt::info!("TEST {=str} start", name);
        match f(ctx) {
            Ok(()) => defmt::info!("TEST {=str} ok", name),
            Err(why) => {
                failures += 1;
                defmt::error!("TEST {=str} FAIL {=str}", name, why);
            }
        }
    }
    failures
}

/// Reports every scenario failed for `why` (the runner could not start).
pub fn fail_all<C>(scenarios: &[Scenario<C>], why: &str) -> u32 {
    for (name, _) in scenarios {
        defmt::info!("TEST {=str} start", name);
        defmt::error!("TEST {=str} FAIL {=str}", name, why);
    }
    scenarios.len() as u32
}

/// Asks the supervisor to end the machine with the verdict, then waits
/// (the runner must be one of app.toml's operators).
pub fn finish(supervisor: TaskId, failures: u32) -> ! {
    defmt::info!("{=u32} scenario(s) failed; shutting down", failures);
    let mut s = supervisor::Client::new(KernelTransport::new(&[]), supervisor);
    if let Err(e) = s.shutdown(verdict(failures)) {
        defmt::error!(
            "the supervisor refused the shutdown ({}): is the runner an operator in app.toml?",
            defmt::Debug2Format(&e)
        );
    }
    loop {
        sys_recv_notification(0);
    }
}
