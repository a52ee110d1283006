//! The free-list pool: a high-water mark plus a stack of returned DIDs.
//!
//! DIDs below the mark have been handed out at least once; those given back
//! sit on a stack and are reused first (O(1)); only when the stack is empty
//! does the mark advance. Its memory follows the number of DIDs in use, not
//! the size of the space: every DID below the mark is either in use or on
//! the stack, and the mark only advances when the stack is empty, so the
//! stack never holds more than the class's table capacity (`N`). DIDs taken
//! out of order by a rebuild sit on a sorted "reserved above the mark" list
//! that the mark skips when it reaches them.

use heapless::Vec;

use crate::ids::Did;
use crate::pool::DidPool;
use crate::space::{DidClass, DidSpace};

/// One class's numbers: `start..end` with the mark in between.
#[derive(Clone, Debug)]
struct Lane<const N: usize> {
    start: u32,
    end: u32,
    mark: u32,
    returned: Vec<u16, N>,
    /// Taken DIDs at or above the mark, sorted descending (smallest last).
    reserved: Vec<u16, N>,
}

impl<const N: usize> Lane<N> {
    const EMPTY: Self = Lane {
        start: 0,
        end: 0,
        mark: 0,
        returned: Vec::new(),
        reserved: Vec::new(),
    };

    fn reset(&mut self, start: u32, end: u32) {
        *self = Self::EMPTY;
        self.start = start;
        self.end = end;
        self.mark = start;
    }

    fn take(&mut self) -> Option<u16> {
        if let Some(did) = self.returned.pop() {
            return Some(did);
        }
        while self.mark < self.end {
            let did = u16::try_from(self.mark).ok()?;
            self.mark += 1;
            if self.reserved.last() == Some(&did) {
                // Taken by a rebuild: now simply "in use below the mark".
                self.reserved.pop();
                continue;
            }
            return Some(did);
        }
        None
    }

    fn contains(&self, did: u16) -> bool {
        (self.start..self.end).contains(&(did as u32))
    }

    fn is_taken(&self, did: u16) -> bool {
        if (did as u32) < self.mark {
            !self.returned.contains(&did)
        } else {
            self.reserved.contains(&did)
        }
    }

    fn reserve(&mut self, did: u16) -> bool {
        if (did as u32) < self.mark {
            match self.returned.iter().position(|&d| d == did) {
                Some(i) => {
                    self.returned.swap_remove(i);
                    true
                }
                None => false,
            }
        } else {
            let at = self.reserved.iter().position(|&d| d < did);
            match at {
                _ if self.reserved.contains(&did) => false,
                Some(i) => self.reserved.insert(i, did).is_ok(),
                None => self.reserved.push(did).is_ok(),
            }
        }
    }

    fn free(&mut self, did: u16) {
        if !self.is_taken(did) {
            return;
        }
        if (did as u32) < self.mark {
            // Cannot overflow: see the module doc. If it ever did, the DID
            // would stay "taken" (a leak), never be handed out twice.
            let _ = self.returned.push(did);
        } else if let Some(i) = self.reserved.iter().position(|&d| d == did) {
            self.reserved.remove(i);
        }
    }
}

/// A pool backed by free lists: `DOMAINS` and `PSEUDO` bound the DIDs of
/// each class in use at once (the allocator's table capacities).
#[derive(Clone, Debug)]
pub struct FreeListPool<const DOMAINS: usize, const PSEUDO: usize> {
    domain: Lane<DOMAINS>,
    pseudo: Lane<PSEUDO>,
    space: Option<DidSpace>,
}

impl<const DOMAINS: usize, const PSEUDO: usize> FreeListPool<DOMAINS, PSEUDO> {
    fn class_of(&self, did: Did) -> Option<DidClass> {
        self.space?.class_of(did)
    }
}

impl<const DOMAINS: usize, const PSEUDO: usize> DidPool for FreeListPool<DOMAINS, PSEUDO> {
    const EMPTY: Self = FreeListPool {
        domain: Lane::EMPTY,
        pseudo: Lane::EMPTY,
        space: None,
    };

    fn reset(&mut self, space: DidSpace) {
        let d = space.domain_range();
        let p = space.pseudo_range();
        self.domain.reset(d.start, d.end);
        self.pseudo.reset(p.start, p.end);
        self.space = Some(space);
    }

    fn take(&mut self, class: DidClass) -> Option<Did> {
        self.space?;
        match class {
            DidClass::Domain => self.domain.take(),
            DidClass::Pseudo => self.pseudo.take(),
        }
        .map(Did)
    }

    fn reserve(&mut self, did: Did) -> bool {
        match self.class_of(did) {
            Some(DidClass::Domain) => self.domain.reserve(did.0),
            Some(DidClass::Pseudo) => self.pseudo.reserve(did.0),
            None => false,
        }
    }

    fn free(&mut self, did: Did) {
        match self.class_of(did) {
            Some(DidClass::Domain) => self.domain.free(did.0),
            Some(DidClass::Pseudo) => self.pseudo.free(did.0),
            None => {}
        }
    }

    fn is_taken(&self, did: Did) -> bool {
        match self.class_of(did) {
            Some(DidClass::Domain) => self.domain.contains(did.0) && self.domain.is_taken(did.0),
            Some(DidClass::Pseudo) => self.pseudo.contains(did.0) && self.pseudo.is_taken(did.0),
            None => false,
        }
    }
}
