//! Single instructions the kernel needs, each wrapped once.

use core::arch::asm;

/// Model-specific registers we program.
pub mod msr {
    /// Extended features (LME, NXE, SCE).
    pub const EFER: u32 = 0xC000_0080;
    /// `syscall`/`sysret` segment selectors.
    pub const STAR: u32 = 0xC000_0081;
    /// `syscall` entry point.
    pub const LSTAR: u32 = 0xC000_0082;
    /// RFLAGS bits cleared on `syscall`.
    pub const FMASK: u32 = 0xC000_0084;
    /// The local APIC's base.
    pub const APIC_BASE: u32 = 0x1B;
}

/// Writes an I/O port byte.
pub fn outb(port: u16, value: u8) {
    // SAFETY: port I/O has no memory effects visible to Rust; the kernel owns
    // every port it touches (serial, PIT, debug-exit).
    unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack)) }
}

/// Reads an I/O port byte.
pub fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: as for `outb`.
    unsafe { asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack)) }
    v
}

/// Writes an MSR.
///
/// # Safety
/// The MSR and value must be valid for this CPU and not break the kernel's
/// assumptions.
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: delegated to the caller.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nostack))
    }
}

/// Reads an MSR.
pub fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: reading the architectural MSRs named in [`msr`] has no side
    // effects.
    unsafe { asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack)) }
    ((hi as u64) << 32) | lo as u64
}

/// Loads CR3 (switches address space, flushes non-global TLB entries).
///
/// # Safety
/// `pml4` must be a valid top-level table that maps the kernel.
pub unsafe fn write_cr3(pml4: u64) {
    // SAFETY: delegated to the caller.
    unsafe { asm!("mov cr3, {}", in(reg) pml4, options(nostack)) }
}

/// Reads the time-stamp counter (counts from reset; under QEMU's
/// `-icount shift=0` it advances once per guest instruction).
#[inline(always)]
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads the counter.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    ((hi as u64) << 32) | lo as u64
}

/// Reads CR2 (the faulting address of the last page fault).
pub fn read_cr2() -> u64 {
    let v: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) v, options(nomem, nostack)) }
    v
}

/// Waits for an interrupt with interrupts enabled, then masks them again.
pub fn idle_until_interrupt() {
    // SAFETY: the only place the kernel enables interrupts; the handlers
    // entered from here run on this same kernel stack (the kernel is built
    // without a red zone) and return here.
    unsafe { asm!("sti", "hlt", "cli", options(nostack)) }
}
