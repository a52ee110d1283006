//! What an unmap leaves for after its IOTLB flush: table pages detached
//! from a domain's tree (freed only once the unit has forgotten every walk
//! through them, Xen's order: nothing reused before it is flushed), and
//! the DIDs whose flush failed (retried before the next unmap, so a range
//! already unmapped is not reported done while its translations may still
//! be cached).

/// Detached table pages kept waiting for a flush; more are never freed
/// (a leak is safe, a page reused too early is not).
pub const MAX_DETACHED: usize = 64;
/// DIDs whose flush can be owed at once.
pub const MAX_OWED: usize = 16;

/// The pending work of one unit.
#[derive(Debug, Clone)]
pub struct Deferred {
    pages: [u64; MAX_DETACHED],
    pages_len: usize,
    owed: [u16; MAX_OWED],
    owed_len: usize,
    /// Pages that did not fit the list and are never freed.
    pub leaked: u64,
    /// Whether a DID did not fit the owed list: then a global flush is owed.
    pub owe_all: bool,
}

impl Default for Deferred {
    fn default() -> Self {
        Deferred {
            pages: [0; MAX_DETACHED],
            pages_len: 0,
            owed: [0; MAX_OWED],
            owed_len: 0,
            leaked: 0,
            owe_all: false,
        }
    }
}

impl Deferred {
    /// Keeps `page` until the next successful flush.
    pub fn detach(&mut self, page: u64) {
        match self.pages.get_mut(self.pages_len) {
            Some(slot) => {
                *slot = page;
                self.pages_len += 1;
            }
            None => self.leaked += 1,
        }
    }

    /// Takes every page kept (to free them after a flush).
    pub fn take_pages(&mut self, mut free: impl FnMut(u64)) {
        for &page in self.pages.get(..self.pages_len).unwrap_or(&[]) {
            free(page);
        }
        self.pages_len = 0;
    }

    /// Records that `did`'s flush failed.
    pub fn owe(&mut self, did: u16) {
        if self.owed().contains(&did) {
            return;
        }
        match self.owed.get_mut(self.owed_len) {
            Some(slot) => {
                *slot = did;
                self.owed_len += 1;
            }
            None => self.owe_all = true,
        }
    }

    /// The DIDs whose flush is owed.
    pub fn owed(&self) -> &[u16] {
        self.owed.get(..self.owed_len).unwrap_or(&[])
    }

    /// Forgets the first owed DID (its flush succeeded).
    pub fn settled_first(&mut self) {
        if self.owed_len > 0 {
            self.owed.copy_within(1..self.owed_len, 0);
            self.owed_len -= 1;
        }
    }

    /// Whether nothing is owed.
    pub fn is_settled(&self) -> bool {
        self.owed_len == 0 && !self.owe_all
    }

    /// Pages waiting for a flush.
    pub fn pages_waiting(&self) -> usize {
        self.pages_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_beyond_the_list_leak_rather_than_being_freed_early() {
        let mut d = Deferred::default();
        for page in 0..(MAX_DETACHED as u64 + 3) {
            d.detach(page << 12);
        }
        assert_eq!(d.leaked, 3);
        let mut freed = 0;
        d.take_pages(|_| freed += 1);
        assert_eq!(freed, MAX_DETACHED);
        assert_eq!(d.pages_waiting(), 0);
    }

    #[test]
    fn owed_dids_are_kept_once_and_too_many_owe_a_global_flush() {
        let mut d = Deferred::default();
        d.owe(3);
        d.owe(3);
        assert_eq!(d.owed(), [3]);
        d.settled_first();
        assert!(d.is_settled());
        for did in 0..=MAX_OWED as u16 {
            d.owe(did);
        }
        assert!(d.owe_all);
    }
}
