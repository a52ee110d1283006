//! The bitmap pool: one bit per DID of the largest possible space.
//!
//! At ND = 6 the space has 65 536 DIDs, so the map is 1 024 words = 8 KiB per
//! unit whatever ND the unit reports (no heap: it is sized for the largest).
//! Allocation takes the lowest free DID of the class, as Xen's
//! `find_first_zero_bit` does, so DIDs are reused promptly and stay small.

use crate::ids::Did;
use crate::pool::DidPool;
use crate::space::{DidClass, DidSpace, MAX_DIDS};

const WORD_BITS: u32 = u64::BITS;
/// Words of the bitmap: one bit per DID of the largest space.
pub const BITMAP_WORDS: usize = (MAX_DIDS / WORD_BITS) as usize;

/// A pool backed by a bitmap of every DID.
#[derive(Clone, Debug)]
pub struct BitmapPool {
    words: [u64; BITMAP_WORDS],
    space: Option<DidSpace>,
}

impl BitmapPool {
    fn bit(&self, did: u32) -> bool {
        let (word, mask) = locate(did);
        self.words.get(word).is_some_and(|w| w & mask != 0)
    }

    fn set(&mut self, did: u32, taken: bool) {
        let (word, mask) = locate(did);
        if let Some(w) = self.words.get_mut(word) {
            if taken {
                *w |= mask;
            } else {
                *w &= !mask;
            }
        }
    }

    /// The lowest clear bit in `start..end`, scanning a word at a time.
    fn first_free(&self, start: u32, end: u32) -> Option<u32> {
        let mut did = start;
        while did < end {
            let (word, _) = locate(did);
            let bits = *self.words.get(word)?;
            let offset = did % WORD_BITS;
            // Treat the bits below `did` in this word as taken.
            let free = !bits & (u64::MAX << offset);
            if free != 0 {
                let found = (did - offset) + free.trailing_zeros();
                return (found < end).then_some(found);
            }
            did = did - offset + WORD_BITS;
        }
        None
    }
}

fn locate(did: u32) -> (usize, u64) {
    ((did / WORD_BITS) as usize, 1u64 << (did % WORD_BITS))
}

impl DidPool for BitmapPool {
    const EMPTY: Self = BitmapPool {
        words: [0; BITMAP_WORDS],
        space: None,
    };

    fn reset(&mut self, space: DidSpace) {
        self.words = [0; BITMAP_WORDS];
        self.space = Some(space);
    }

    fn take(&mut self, class: DidClass) -> Option<Did> {
        let range = self.space?.range(class);
        let did = self.first_free(range.start, range.end)?;
        self.set(did, true);
        u16::try_from(did).ok().map(Did)
    }

    fn reserve(&mut self, did: Did) -> bool {
        let fits = self.space.is_some_and(|s| s.class_of(did).is_some());
        if !fits || self.bit(did.0 as u32) {
            return false;
        }
        self.set(did.0 as u32, true);
        true
    }

    fn free(&mut self, did: Did) {
        self.set(did.0 as u32, false);
    }

    fn is_taken(&self, did: Did) -> bool {
        self.bit(did.0 as u32)
    }
}
