//! Single instructions the kernel needs, each wrapped once, from the card's
//! `x86` crate: port I/O, MSRs, CR2/CR3, the TSC. Each wrapper states why
//! its use is sound here, so the rest of the kernel calls safe functions.
//! Three stay hand-written:
//! - `sti; hlt; cli`: the crate has the instructions apart, and `sti; hlt`
//!   must be adjacent (the CPU takes no interrupt between them), which
//!   separate calls cannot promise;
//! - `mov cr3` and `rdtsc`: they are on the IPC fast path (every address-space
//!   switch, the kernel's own timing), and the crate's `cr3_write` and
//!   `rdtsc` are not `#[inline]`, so each costs a cross-crate call there.
//!   `cargo xtask bench` showed it: with the crate's `cr3_write` the
//!   kernel's address-space switch took 15 instructions instead of 12.

use core::arch::asm;

/// Model-specific registers we program (the `x86` crate's names).
pub mod msr {
    /// Extended features (LME, NXE, SCE).
    pub const EFER: u32 = x86::msr::IA32_EFER;
    /// `syscall`/`sysret` segment selectors.
    pub const STAR: u32 = x86::msr::IA32_STAR;
    /// `syscall` entry point.
    pub const LSTAR: u32 = x86::msr::IA32_LSTAR;
    /// RFLAGS bits cleared on `syscall`.
    pub const FMASK: u32 = x86::msr::IA32_FMASK;
    /// The local APIC's base.
    pub const APIC_BASE: u32 = x86::msr::IA32_APIC_BASE;
}

/// Writes an I/O port byte.
pub fn outb(port: u16, value: u8) {
    // SAFETY: port I/O has no memory effects visible to Rust; the kernel owns
    // every port it touches (serial, PIT, debug-exit).
    unsafe { x86::io::outb(port, value) }
}

/// Reads an I/O port byte.
pub fn inb(port: u16) -> u8 {
    // SAFETY: as for `outb`.
    unsafe { x86::io::inb(port) }
}

/// Writes an MSR.
///
/// # Safety
/// The MSR and value must be valid for this CPU and not break the kernel's
/// assumptions.
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: delegated to the caller.
    unsafe { x86::msr::wrmsr(msr, value) }
}

/// Reads an MSR.
pub fn rdmsr(msr: u32) -> u64 {
    // SAFETY: reading the architectural MSRs named in [`msr`] has no side
    // effects.
    unsafe { x86::msr::rdmsr(msr) }
}

/// Loads CR3 (switches address space, flushes non-global TLB entries).
///
/// # Safety
/// `pml4` must be a valid top-level table that maps the kernel.
#[inline(always)]
pub unsafe fn write_cr3(pml4: u64) {
    // SAFETY: delegated to the caller.
    unsafe { asm!("mov cr3, {}", in(reg) pml4, options(nostack, preserves_flags)) }
}

/// Flushes every non-global TLB entry (reloads CR3): after a page-table
/// entry is cleared, no access can go through its old translation.
pub fn flush_tlb() {
    // SAFETY: reloading CR3 with its own value changes no mapping.
    unsafe { x86::tlb::flush_all() }
}

/// Reads the time-stamp counter (counts from reset; under QEMU's
/// `-icount shift=0` it advances once per guest instruction).
#[inline(always)]
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads the counter.
    unsafe {
        asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Reads CR2 (the faulting address of the last page fault).
pub fn read_cr2() -> u64 {
    // SAFETY: reading CR2 has no side effects.
    unsafe { x86::controlregs::cr2() as u64 }
}

/// Waits for an interrupt with interrupts enabled, then masks them again.
pub fn idle_until_interrupt() {
    // SAFETY: the only place the kernel enables interrupts; the handlers
    // entered from here run on this same kernel stack (the kernel is built
    // without a red zone) and return here.
    unsafe { asm!("sti", "hlt", "cli", options(nostack)) }
}
