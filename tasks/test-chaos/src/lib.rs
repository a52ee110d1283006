//! The chaos task's portable half: its random numbers (seeded, so a run
//! replays), the echo protocol it shares with its server, and the tally of
//! what it did.
//!
//! The random numbers are an xorshift64* generator (Vigna): small, fast and
//! good enough to pick syscalls and arguments; the state lives in a persist
//! region, so the sequence goes on across the chaos task's own restarts.
#![no_std]

/// Echo server: reply with the message itself.
pub const ECHO: u32 = 1;
/// Echo server: `[u64 offset, u32 len, u8 write]`: borrow every lease at
/// `offset` for `len` bytes (read, or write if `write != 0`) and reply with
/// one `u32` kernel response code per lease.
pub const BORROW: u32 = 2;
/// Length of a [`BORROW`] request.
pub const BORROW_REQUEST: usize = 13;

/// The random number generator.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rng(pub u64);

impl Rng {
    /// A generator from `seed` (0 is mapped away: xorshift needs a bit).
    pub const fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 if `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64().checked_rem(n).unwrap_or(0)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items` (`None` if empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.get(self.below(items.len() as u64) as usize).copied()
    }
}

/// The syscalls the chaos task makes, by `abi::Sysnum`; `KINDS` counters.
pub const KINDS: usize = 16;

/// How many of each syscall were made and how many the kernel (or the
/// server) refused, indexed by syscall number; the last slot counts
/// numbers no syscall has.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Tally {
    /// Made.
    pub calls: [u32; KINDS],
    /// Answered with an error code (or, for the last phase, a fault).
    pub refused: [u32; KINDS],
}

impl Tally {
    /// Counts one call of `kind`, refused or not.
    pub fn count(&mut self, kind: usize, refused: bool) {
        let k = kind.min(KINDS - 1);
        self.calls[k] = self.calls[k].saturating_add(1);
        if refused {
            self.refused[k] = self.refused[k].saturating_add(1);
        }
    }

    /// All calls made.
    pub fn total(&self) -> u32 {
        self.calls.iter().fold(0u32, |a, &c| a.saturating_add(c))
    }

    /// All refusals.
    pub fn total_refused(&self) -> u32 {
        self.refused.iter().fold(0u32, |a, &c| a.saturating_add(c))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn the_same_seed_replays_the_same_numbers() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(42).next_u64(), Rng::new(43).next_u64());
    }

    #[test]
    fn below_stays_below_and_covers_the_range() {
        let mut r = Rng::new(7);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let v = r.below(10);
            assert!(v < 10);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn a_zero_seed_still_generates() {
        let mut r = Rng::new(0);
        assert_ne!(r.next_u64(), 0);
    }

    #[test]
    fn the_tally_counts_calls_and_refusals_per_kind() {
        let mut t = Tally::default();
        t.count(0, true);
        t.count(0, false);
        t.count(99, true);
        assert_eq!((t.calls[0], t.refused[0]), (2, 1));
        assert_eq!(t.calls[KINDS - 1], 1);
        assert_eq!((t.total(), t.total_refused()), (3, 2));
    }
}
