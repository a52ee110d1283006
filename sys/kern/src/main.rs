//! The custody kernel image.
//!
//! Boot (PVH) → descriptor tables → `syscall` → the APIC clock → every
//! task's address space built from the generated task table → the first
//! task. From then on the kernel only runs on a syscall, a trap or an
//! interrupt, on its own stack, with interrupts masked.
#![no_std]
#![no_main]

mod arch;
mod config;
mod fastpath;
mod ipc;
mod kernel;
mod kipc;
mod log;
mod outcome;
mod ready;
mod registers;
mod setup;
mod syscalls;
mod task;
mod traps;

use core::fmt::Write as _;

use arch::serial::{self, Console};

extern crate rt;

extern "C" {
    fn return_to_user() -> !;
}

/// The Rust entry point, called by the boot code with the PVH start info.
#[no_mangle]
extern "C" fn kmain(start_info: u32) -> ! {
    let entry_tsc = arch::cpu::rdtsc();
    serial::init(serial::COM1);
    serial::init(serial::COM2);
    let _ = writeln!(
        Console,
        "custody kernel: booting {} ({} tasks)",
        config::APP.name,
        config::TASK_COUNT
    );
    let Some(info) = arch::startinfo::StartInfo::new(start_info as u64) else {
        fatal(format_args!(
            "no PVH start info (booted by something else?)"
        ));
    };
    arch::gdt::init();
    arch::idt::init();
    setup::syscall_msrs();
    let clock = arch::lapic::init();
    defmt::info!(
        "APIC timer: {=u32} counts per ms, TSC {=u64} ticks per ms",
        clock.apic_per_ms,
        clock.tsc_per_ms
    );
    if let Err(e) = setup::tasks(&info) {
        fatal(format_args!("cannot build task memory: {e}"));
    }
    ready::start(entry_tsc, clock.tsc_per_ms);
    kernel::schedule();
    // SAFETY: `schedule` made a task current and pointed CURRENT_REGS at
    // its save area; `return_to_user` restores it and enters ring 3.
    unsafe { return_to_user() }
}

/// Prints a fatal kernel error on the console and stops the machine with
/// the failure status.
pub fn fatal(args: core::fmt::Arguments) -> ! {
    let _ = writeln!(Console, "custody kernel: FATAL: {args}");
    arch::exit(abi::DEBUG_EXIT_FAILURE)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fatal(format_args!("kernel panic: {info}"))
}
