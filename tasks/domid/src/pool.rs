//! The strategy that picks DID numbers, apart from the books that say who
//! holds them.
//!
//! A pool only knows which numbers of a unit's space are taken; the owner of
//! each is kept by the allocator's tables. Splitting the two lets a different
//! number-picking strategy (bitmap scan, free list) be swapped in without
//! touching the reference counting, and lets one test suite cover both.

use crate::ids::Did;
use crate::space::{DidClass, DidSpace};

/// Picks and returns DID numbers within one unit's space.
pub trait DidPool: Sized {
    /// A pool with no space yet; `reset` gives it one.
    const EMPTY: Self;

    /// Forget every DID and take `space` as the unit's space.
    fn reset(&mut self, space: DidSpace);

    /// A free DID of `class`, now marked taken, or `None` if the class is
    /// exhausted.
    fn take(&mut self, class: DidClass) -> Option<Did>;

    /// Mark a specific DID taken (rebuilding from the hardware). `false` if
    /// it was already taken or lies outside both classes.
    fn reserve(&mut self, did: Did) -> bool;

    /// Return a taken DID; returning a free one changes nothing.
    fn free(&mut self, did: Did);

    /// Whether `did` is taken.
    fn is_taken(&self, did: Did) -> bool;
}
