//! A DMA worker's checks, independent of the device: where a transfer must
//! land in the worker's buffer, and whether it landed there and nowhere
//! else.
//!
//! The buffer is the worker's `dma` region, mapped into its domain at
//! `iova_base`. Its first page is the *staging* page: the pattern is DMAed
//! from there into edu (edu's own buffer is reachable only by DMA), then
//! from edu to the target IOVA. Before a transfer the target page is filled
//! with [`CANARY`] and the rest of the buffer is fingerprinted, so the
//! report says both "it landed" and "nothing else changed".
//!
//! The server itself ([`server::Worker`]) is here too, over a
//! [`server::Machine`], so it is host-built and fuzzed (`worker_server`).
#![no_std]

pub mod server;

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

/// Bytes moved by one transfer: half a page (QEMU's edu refuses a transfer
/// that reaches the last byte of its 4 KiB buffer).
pub const TRANSFER: usize = 2048;
/// What a target page holds before the transfer.
pub const CANARY: u8 = 0xCC;
/// edu masks DMA addresses to 28 bits.
pub const DMA_LIMIT: u64 = 1 << 28;
const PAGE: u64 = 4096;

/// The worker's buffer as the device sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// The IOVA of the buffer's first byte.
    pub iova_base: u64,
    /// Its size in bytes.
    pub size: u64,
}

impl Buffer {
    /// The IOVA of the staging page.
    pub fn staging(&self) -> u64 {
        self.iova_base
    }

    /// The default target of transfer `n` (pages after the staging page,
    /// wrapping).
    pub fn target(&self, n: u64) -> u64 {
        let pages = (self.size / PAGE).saturating_sub(1).max(1);
        self.iova_base + PAGE * (1 + n % pages)
    }

    /// The byte offset of `iova` in the buffer, if a whole transfer there
    /// lies inside it and does not overlap the staging page.
    pub fn offset_of(&self, iova: u64) -> Option<usize> {
        let off = iova.checked_sub(self.iova_base)?;
        (off >= PAGE && off.is_multiple_of(PAGE) && off + PAGE <= self.size).then_some(off as usize)
    }

    /// Whether edu can be pointed at `iova` at all.
    pub fn reachable(iova: u64) -> bool {
        iova.is_multiple_of(PAGE) && iova + TRANSFER as u64 <= DMA_LIMIT
    }
}

/// A cheap fingerprint of bytes (FNV-1a), to tell "untouched" from "changed".
pub fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Fingerprint of the buffer outside the staging page and `target`.
pub fn fingerprint_rest(mem: &[u8], target: Option<usize>) -> u64 {
    let staging = PAGE as usize;
    let mut h = 0u64;
    let mut at = staging.min(mem.len());
    while at < mem.len() {
        let end = (at + PAGE as usize).min(mem.len());
        if Some(at) != target {
            h = h.rotate_left(7) ^ fingerprint(&mem[at..end]);
        }
        at = end;
    }
    h
}

/// Prepares a transfer of `pattern` to `target` (an offset from
/// [`Buffer::offset_of`], or `None` for an IOVA outside the buffer):
/// fills the staging page with the pattern and the target with the canary;
/// returns the fingerprint of the rest.
pub fn prepare(mem: &mut [u8], target: Option<usize>, pattern: u8) -> u64 {
    if let Some(stage) = mem.get_mut(..TRANSFER) {
        stage.fill(pattern);
    }
    if let Some(t) = target.and_then(|t| mem.get_mut(t..t + PAGE as usize)) {
        t.fill(CANARY);
    }
    fingerprint_rest(mem, target)
}

/// After the transfer: did the pattern land at `target` (and exactly the
/// transfer's length of it), and is the rest as it was?
pub fn check(mem: &[u8], target: Option<usize>, pattern: u8, before: u64) -> (bool, bool) {
    let page = target.and_then(|t| mem.get(t..t + PAGE as usize));
    let landed = page.is_some_and(|p| {
        p[..TRANSFER].iter().all(|b| *b == pattern) && p[TRANSFER..].iter().all(|b| *b == CANARY)
    });
    let tail_kept = page.is_none_or(|p| p[TRANSFER..].iter().all(|b| *b == CANARY));
    (landed, fingerprint_rest(mem, target) == before && tail_kept)
}

/// Whether the transfer-sized start of the page at `target` is all
/// `pattern`.
pub fn holds(mem: &[u8], target: Option<usize>, pattern: u8) -> bool {
    target
        .and_then(|t| mem.get(t..t + TRANSFER))
        .is_some_and(|p| p.iter().all(|b| *b == pattern))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    const BUF: Buffer = Buffer {
        iova_base: 0x10_0000,
        size: 0x4000,
    };

    #[test]
    fn targets_skip_the_staging_page_and_wrap() {
        assert_eq!(BUF.target(0), 0x10_1000);
        assert_eq!(BUF.target(2), 0x10_3000);
        assert_eq!(BUF.target(3), 0x10_1000);
    }

    #[test]
    fn offsets_inside_the_buffer_only() {
        assert_eq!(BUF.offset_of(0x10_2000), Some(0x2000));
        assert_eq!(BUF.offset_of(0x10_0000), None, "staging page");
        assert_eq!(BUF.offset_of(0x10_4000), None, "past the end");
        assert_eq!(BUF.offset_of(0x10_2800), None, "not a page");
        assert_eq!(BUF.offset_of(0x0f_f000), None, "below");
    }

    #[test]
    fn reachable_means_aligned_below_the_dma_mask() {
        assert!(Buffer::reachable(0x10_0000));
        assert!(!Buffer::reachable(0x10_0001));
        assert!(!Buffer::reachable(DMA_LIMIT));
    }

    #[test]
    fn a_landed_transfer_is_seen_and_the_rest_untouched() {
        let mut mem = vec![0u8; 0x4000];
        let t = BUF.offset_of(0x10_2000);
        let before = prepare(&mut mem, t, 0x5A);
        assert!(mem[..TRANSFER].iter().all(|b| *b == 0x5A));
        assert!(mem[0x2000..0x3000].iter().all(|b| *b == CANARY));
        mem[0x2000..0x2000 + TRANSFER].fill(0x5A);
        assert_eq!(check(&mem, t, 0x5A, before), (true, true));
    }

    #[test]
    fn holds_sees_a_transfer_only_where_it_landed() {
        let mut mem = vec![0u8; 0x4000];
        mem[0x2000..0x2000 + TRANSFER].fill(0xA7);
        assert!(holds(&mem, BUF.offset_of(0x10_2000), 0xA7));
        assert!(!holds(&mem, BUF.offset_of(0x10_3000), 0xA7));
        assert!(!holds(&mem, None, 0xA7));
    }

    #[test]
    fn a_blocked_transfer_leaves_the_canary() {
        let mut mem = vec![0u8; 0x4000];
        let t = BUF.offset_of(0x10_1000);
        let before = prepare(&mut mem, t, 0x5A);
        assert_eq!(check(&mem, t, 0x5A, before), (false, true));
    }

    #[test]
    fn a_stray_write_elsewhere_is_detected() {
        let mut mem = vec![0u8; 0x4000];
        let before = prepare(&mut mem, None, 0x5A);
        mem[0x3000] = 1;
        assert_eq!(check(&mem, None, 0x5A, before), (false, false));
    }
}
