//! A hostile task and its echo server (one crate, two app.toml roles).
//!
//! `chaos`: on its runner's `go`, makes at least [`chaos::CALLS`] syscalls
//! with seeded random numbers, registers, pointers (its own, other tasks',
//! the kernel's, MMIO, non-canonical), lengths, lease tables, task IDs,
//! generations and notification bits, plus targeted attacks (calls outside
//! its task slots, posts it has no right to, the supervisor's powers, a
//! lease whose base + offset wraps), while the rest of the system runs its
//! scenario. Then a handful of calls meant to fault it (one per life: the
//! supervisor restarts it, and its persist region carries its progress),
//! and finally a report: counts per syscall kind, refusals, and how many
//! answers were not what the kernel promises. The seed is logged first;
//! `CUSTODY_CHAOS_SEED` replays it.
//!
//! `echo`: answers every message (never a reply fault: the chaos task
//! should only die where it means to) and borrows the leases it is sent at
//! the offsets it is told, so hostile lease tables reach the kernel's
//! borrow path.
#![no_std]
#![no_main]

#[cfg(feature = "chaos")]
mod chaos;
#[cfg(feature = "echo")]
mod echo;
mod raw;

userlib::task_config!();

#[cfg(feature = "chaos")]
#[export_name = "main"]
fn main() -> ! {
    chaos::run()
}

#[cfg(all(feature = "echo", not(feature = "chaos")))]
#[export_name = "main"]
fn main() -> ! {
    echo::run()
}
