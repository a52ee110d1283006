//! The time-stamp counter, readable in ring 3 (the kernel leaves CR4.TSD
//! clear). Under QEMU's `-icount shift=0`, as `cargo xtask bench` boots its
//! images, it advances once per guest instruction, so a difference of two
//! readings is a deterministic path length.

/// Reads the time-stamp counter (inlined, so a measurement costs only the
/// instruction itself).
#[inline(always)]
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc has no side effects and is allowed in ring 3.
    unsafe { core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    ((hi as u64) << 32) | lo as u64
}
