//! The string instructions behind `memcpy` and `memset`, in inline
//! assembly so the compiler cannot turn them back into calls to themselves.
//! Compiled on the host too (under other names), so their tests run there.
//!
//! Whole words first (`rep movsq`/`rep stosq`), then the tail bytes: each
//! repetition is one instruction to QEMU's `-icount` (the benchmarks' unit)
//! and one store instead of eight where `rep movsb` is not fast.

use core::arch::asm;

/// Bytes per word of the string instructions' bulk pass.
const WORD: usize = 8;
/// The bytes left over after whole words.
const WORD_MASK: usize = WORD - 1;
/// 0x01 in each byte lane: times a byte, that byte in every lane.
const BYTE_LANES: u64 = 0x0101_0101_0101_0101;

/// Copies `n` bytes forward from `src` to `dst`.
///
/// # Safety
/// `dst` and `src` are valid for `n` bytes and do not overlap.
pub unsafe fn copy_forward(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller guarantees both ranges; the direction flag is
    // clear (the ABI guarantees it), so both passes copy forward.
    unsafe {
        asm!("rep movsq", "mov rcx, {tail}", "rep movsb",
             tail = in(reg) n & WORD_MASK,
             inout("rcx") n / WORD => _, inout("rdi") dst => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
}

/// Sets `n` bytes at `dst` to `byte`.
///
/// # Safety
/// `dst` is valid for `n` bytes.
pub unsafe fn fill(dst: *mut u8, byte: u8, n: usize) {
    // `rep stosb` stores the low byte of the same register.
    let pattern = u64::from(byte) * BYTE_LANES;
    // SAFETY: the caller guarantees `dst` for `n` bytes; forward as above.
    unsafe {
        asm!("rep stosq", "mov rcx, {tail}", "rep stosb",
             tail = in(reg) n & WORD_MASK,
             inout("rcx") n / WORD => _, inout("rdi") dst => _, in("rax") pattern,
             options(nostack, preserves_flags));
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    #[test]
    fn copies_every_length_and_alignment_exactly_and_nothing_beyond() {
        let src: Vec<u8> = (0..64u8)
            .map(|b| b.wrapping_mul(7).wrapping_add(1))
            .collect();
        for offset in 0..8 {
            for n in 0..40 {
                let mut dst = [0xEEu8; 64];
                // SAFETY: both ranges lie inside their 64-byte buffers.
                unsafe { copy_forward(dst.as_mut_ptr().add(offset), src.as_ptr().add(offset), n) };
                assert_eq!(&dst[offset..offset + n], &src[offset..offset + n]);
                assert!(dst[..offset].iter().all(|&b| b == 0xEE), "before, n {n}");
                assert!(dst[offset + n..].iter().all(|&b| b == 0xEE), "after, n {n}");
            }
        }
    }

    #[test]
    fn fills_every_length_and_alignment_exactly_and_nothing_beyond() {
        for offset in 0..8 {
            for n in 0..40 {
                let mut dst = [0u8; 64];
                // SAFETY: the range lies inside the 64-byte buffer.
                unsafe { fill(dst.as_mut_ptr().add(offset), 0xA5, n) };
                assert!(dst[offset..offset + n].iter().all(|&b| b == 0xA5));
                assert!(dst[..offset].iter().all(|&b| b == 0), "before, n {n}");
                assert!(dst[offset + n..].iter().all(|&b| b == 0), "after, n {n}");
            }
        }
    }
}
