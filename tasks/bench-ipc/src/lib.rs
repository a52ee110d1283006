//! The IPC benchmark's arithmetic: medians of instruction counts.
//!
//! Under QEMU's `-icount shift=0` the guest TSC advances one tick per
//! instruction, so an `rdtsc` delta is a deterministic path length. Each
//! figure is the median of [`SAMPLES`] deltas minus the median of an empty
//! measurement (two back-to-back `rdtsc`s), as sel4bench does.
#![no_std]

/// Samples per figure.
pub const SAMPLES: usize = 1000;
/// Raw IPC operation with an empty message.
pub const RAW_EMPTY: u32 = 100;
/// Raw IPC operation with a 16-byte message and reply.
pub const RAW_16: u32 = 101;

/// The median of `samples` (sorted in place); 0 for none.
pub fn median(samples: &mut [u64]) -> u64 {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_count_is_the_middle() {
        assert_eq!(median(&mut [5, 1, 3]), 3);
    }

    #[test]
    fn median_ignores_outliers() {
        assert_eq!(median(&mut [100, 100, 100, 9999, 1]), 100);
    }

    #[test]
    fn median_of_nothing_is_zero() {
        assert_eq!(median(&mut []), 0);
    }
}
