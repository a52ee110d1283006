//! The CPU instructions the pool binding needs: CPUID's CX16 bit (from
//! `raw-cpuid`), the 128-bit compare-exchange, and cache-line flushes for
//! units that do not snoop. The last two stay hand-written: the `x86` crate
//! has neither `cmpxchg16b` nor `clflush`.

use core::arch::asm;

/// Cache-line size assumed for flushes (every x86-64 CPU so far).
const CACHE_LINE: u64 = 64;

/// Whether the CPU implements CMPXCHG16B (CPUID.1:ECX bit 13), asked
/// through `raw-cpuid`. CPUID is allowed in ring 3 (custody's kernel never
/// turns CPUID faulting on).
pub fn has_cx16() -> bool {
    raw_cpuid::CpuId::new()
        .get_feature_info()
        .is_some_and(|f| f.has_cmpxchg16b())
}

/// `lock cmpxchg16b` on `ptr`: stores `new` if `*ptr == old`; returns the
/// value that was in memory (equal to `old` exactly when the store happened).
///
/// # Safety
/// `ptr` must be valid for 16-byte reads and writes, 16-byte aligned, and
/// the CPU must have CX16 (else the instruction raises #UD).
pub unsafe fn cmpxchg16b(ptr: *mut u128, old: u128, new: u128) -> u128 {
    let (old_lo, old_hi) = (old as u64, (old >> 64) as u64);
    let (new_lo, new_hi) = (new as u64, (new >> 64) as u64);
    let (found_lo, found_hi): (u64, u64);
    // SAFETY: the caller guarantees the pointer and CX16. RBX is reserved
    // by LLVM, so the new low half travels in a scratch register and is
    // swapped into RBX around the instruction, and RBX restored after.
    unsafe {
        asm!(
            "xchg {new_lo}, rbx",
            "lock cmpxchg16b xmmword ptr [{ptr}]",
            "mov rbx, {new_lo}",
            ptr = in(reg) ptr,
            new_lo = inout(reg) new_lo => _,
            in("rcx") new_hi,
            inout("rax") old_lo => found_lo,
            inout("rdx") old_hi => found_hi,
            options(nostack),
        );
    }
    ((found_hi as u128) << 64) | found_lo as u128
}

/// Writes back and invalidates every cache line of `[ptr, ptr+len)`, then
/// fences, so a unit whose walks do not snoop (ECAP.C = 0) sees the bytes.
///
/// # Safety
/// `[ptr, ptr+len)` must be mapped memory.
pub unsafe fn flush_cache_lines(ptr: *const u8, len: u64) {
    let start = ptr as u64 & !(CACHE_LINE - 1);
    let end = ptr as u64 + len;
    let mut line = start;
    while line < end {
        // SAFETY: the line lies in the caller's mapped range; CLFLUSH is
        // baseline x86-64 (SSE2) and allowed in ring 3.
        unsafe { asm!("clflush [{0}]", in(reg) line, options(nostack, preserves_flags)) };
        line += CACHE_LINE;
    }
    // SAFETY: a fence has no memory operands.
    unsafe { asm!("mfence", options(nostack, preserves_flags)) };
}
