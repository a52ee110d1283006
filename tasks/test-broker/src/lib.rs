//! The host-testable part of the broker QEMU runner: where in a domain's
//! buffer a transfer is staged and where it must land, and how the runner
//! decides that a transfer landed (and that nothing else changed).
//!
//! The firmware binary (`main.rs`, feature `firmware`) binds these to the
//! broker, pci and iommu clients, the edu registers and the domains' memory.
#![no_std]

use task_test_vtd::pattern;

/// Offset in a domain's buffer of the page edu reads from (through the
/// IOMMU, so it is read from whichever domain holds the device).
pub const STAGE: usize = 0;
/// Offset of the page edu writes to.
pub const TARGET: usize = 0x1000;
/// Bytes each transfer moves.
pub const LEN: usize = 512;

/// Prepares one domain buffer for a transfer: its staging page holds the
/// pattern of `seed`, its target page is cleared. Returns false if the
/// buffer is too small for both pages.
pub fn prepare(buffer: &mut [u8], seed: u8) -> bool {
    if buffer.len() < TARGET + LEN {
        return false;
    }
    if let Some(stage) = buffer.get_mut(STAGE..STAGE + LEN) {
        pattern::fill(seed, stage);
    }
    if let Some(target) = buffer.get_mut(TARGET..TARGET + LEN) {
        target.fill(0);
    }
    true
}

/// Whether the target page holds the pattern of `seed` (the transfer
/// landed here).
pub fn landed(buffer: &[u8], seed: u8) -> bool {
    buffer
        .get(TARGET..TARGET + LEN)
        .is_some_and(|t| pattern::first_mismatch(seed, t).is_none())
}

/// Whether the target page is still cleared (nothing landed here).
pub fn untouched(buffer: &[u8]) -> bool {
    buffer
        .get(TARGET..TARGET + LEN)
        .is_some_and(|t| t.iter().all(|&b| b == 0))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn a_prepared_buffer_is_untouched_until_the_pattern_lands() {
        let mut buf = vec![0xaau8; 0x2000];
        assert!(prepare(&mut buf, 7));
        assert!(untouched(&buf));
        assert!(!landed(&buf, 7));
        let stage = buf[STAGE..STAGE + LEN].to_vec();
        buf[TARGET..TARGET + LEN].copy_from_slice(&stage);
        assert!(landed(&buf, 7));
        assert!(!untouched(&buf));
    }

    #[test]
    fn another_seed_does_not_count_as_landed() {
        let mut buf = vec![0u8; 0x2000];
        assert!(prepare(&mut buf, 3));
        let stage = buf[STAGE..STAGE + LEN].to_vec();
        buf[TARGET..TARGET + LEN].copy_from_slice(&stage);
        assert!(!landed(&buf, 4));
    }

    #[test]
    fn a_buffer_smaller_than_two_pages_is_refused() {
        let mut buf = vec![0u8; TARGET];
        assert!(!prepare(&mut buf, 1));
        assert!(!landed(&buf, 1));
        assert!(!untouched(&buf));
    }
}
