//! Stack high-water marks: how deep each task's stack has ever been used.
//!
//! A task's stack is painted with [`PAINT`] when the task starts (at boot
//! and at every restart); the lowest byte that no longer holds the paint is
//! as deep as the stack went. At shutdown the kernel logs every task's
//! mark (`stack: NAME used N of M bytes`), and `cargo xtask test` fails an
//! image whose task used more than its share (a stack overflow is a guard
//! page fault, but only on the run that overflows; the mark shows how close
//! every other run came).
//!
//! The mark can under-count by the few bytes of a deepest frame that
//! happened to store the paint value itself; it never over-counts.

/// The byte a fresh stack is filled with: not 0, so zeroed locals count.
pub const PAINT: u8 = 0xA5;

/// Bytes of `stack` (lowest address first) below the deepest use: the
/// untouched paint at its bottom.
pub fn untouched(stack: &[u8]) -> usize {
    stack
        .iter()
        .position(|&b| b != PAINT)
        .unwrap_or(stack.len())
}

/// Bytes of `stack` used, from its top down to the deepest byte touched.
pub fn used(stack: &[u8]) -> usize {
    stack.len() - untouched(stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_stack_used_nothing() {
        assert_eq!(used(&[PAINT; 64]), 0);
    }

    #[test]
    fn the_deepest_touched_byte_sets_the_mark_even_if_it_wrote_zero() {
        let mut s = [PAINT; 64];
        s[40] = 0;
        s[60] = 7;
        assert_eq!(used(&s), 24);
    }

    #[test]
    fn an_overflowed_stack_counts_as_all_used() {
        assert_eq!(used(&[0u8; 16]), 16);
    }
}
