//! Kernel test image: a low-priority task that, when the runner posts it
//! `go`, sends the runner its own name (to test closed receive and sender
//! order), and when posted `notify`, posts the runner back.
#![no_std]
#![no_main]

use abi::TaskId;
use userlib::*;

task_config!();

/// The runner's notification bit a sender posts back.
const RUNNER_PING: u32 = 1 << 0;

#[export_name = "main"]
fn main() -> ! {
    let runner = TaskId::new(config::slots::RUNNER.0, abi::Generation::new(0));
    let mask =
        config::notifications::GO | config::notifications::NOTIFY | config::notifications::CLOBBER;
    loop {
        let bits = sys_recv_notification(mask);
        let runner = sys_refresh_task_id(runner).unwrap_or(runner);
        if bits & config::notifications::NOTIFY != 0 {
            let _ = sys_post(runner, RUNNER_PING);
        }
        if bits & config::notifications::CLOBBER != 0 {
            let v = test_api::FPU_CLOBBER;
            // SAFETY: writes only xmm5, declared clobbered.
            unsafe { core::arch::asm!("movq xmm5, {}", in(reg) v, out("xmm5") _) };
        }
        if bits & config::notifications::GO != 0 {
            sys_send(runner, 1, config::TASK_NAME.as_bytes(), &mut [], &[]);
        }
    }
}
