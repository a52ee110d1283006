//! Byte patterns that DMA carries: distinct per seed and per offset, never
//! all zero, so a landed transfer cannot be mistaken for untouched memory
//! and one scenario's bytes cannot pass for another's.

/// Fills `out` with the pattern of `seed`.
pub fn fill(seed: u8, out: &mut [u8]) {
    for (i, b) in out.iter_mut().enumerate() {
        *b = expected(seed, i);
    }
}

/// Byte `i` of the pattern of `seed`.
pub fn expected(seed: u8, i: usize) -> u8 {
    // Odd multiplier: every residue appears; `| 1` keeps each byte non-zero.
    ((i as u8).wrapping_mul(29) ^ seed.wrapping_mul(101)) | 1
}

/// The first offset where `got` differs from the pattern of `seed`.
pub fn first_mismatch(seed: u8, got: &[u8]) -> Option<usize> {
    got.iter()
        .enumerate()
        .position(|(i, &b)| b != expected(seed, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_has_no_zero_byte() {
        let mut buf = [0u8; 512];
        for seed in 0..=255 {
            fill(seed, &mut buf);
            assert!(buf.iter().all(|&b| b != 0));
        }
    }

    #[test]
    fn patterns_of_different_seeds_differ() {
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        fill(1, &mut a);
        fill(2, &mut b);
        assert_ne!(a, b);
        assert_eq!(first_mismatch(2, &a), Some(0));
        assert_eq!(first_mismatch(1, &a), None);
    }
}
