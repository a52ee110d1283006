//! The DIDs the present context entries of one unit use: for each, the
//! table root its entries point at and how many entries there are.
//!
//! This is the server's answer to Xen's `did_is_known` question and
//! what keeps one DID on one set of tables (IOTLB entries are tagged by DID,
//! so two roots under one DID would see each other's translations). It is
//! rebuilt from the hardware when a unit is added and kept in step with
//! every context change afterwards.

use heapless::Vec;

/// One DID in use.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct DidUse {
    pub did: u16,
    pub root: u64,
    /// Present entries carrying the DID.
    pub entries: u16,
    /// Entries found with this DID point at different roots (only possible
    /// in tables this server did not write): the DID is not trusted.
    pub conflicted: bool,
}

/// The DIDs of one unit, at most `N`.
#[derive(Clone, Debug, Default)]
pub(crate) struct DidMap<const N: usize> {
    uses: Vec<DidUse, N>,
}

/// The map is full.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct DidMapFull;

impl<const N: usize> DidMap<N> {
    pub(crate) fn get(&self, did: u16) -> Option<&DidUse> {
        self.uses.iter().find(|u| u.did == did)
    }

    /// The DID whose entries point at `root`, if any.
    pub(crate) fn did_of_root(&self, root: u64) -> Option<u16> {
        self.uses.iter().find(|u| u.root == root).map(|u| u.did)
    }

    /// Present entries pointing at `root`.
    pub(crate) fn entries_on(&self, root: u64) -> u16 {
        self.uses
            .iter()
            .filter(|u| u.root == root)
            .map(|u| u.entries)
            .sum()
    }

    /// One more present entry with `did` on `root`.
    pub(crate) fn add(&mut self, did: u16, root: u64) -> Result<(), DidMapFull> {
        if let Some(u) = self.uses.iter_mut().find(|u| u.did == did) {
            u.entries = u.entries.saturating_add(1);
            u.conflicted |= u.root != root;
            return Ok(());
        }
        self.uses
            .push(DidUse {
                did,
                root,
                entries: 1,
                conflicted: false,
            })
            .map_err(|_| DidMapFull)
    }

    /// One present entry with `did` fewer.
    pub(crate) fn remove(&mut self, did: u16) {
        if let Some(i) = self.uses.iter().position(|u| u.did == did) {
            let left = self.uses.get(i).map_or(0, |u| u.entries.saturating_sub(1));
            if left == 0 {
                self.uses.swap_remove(i);
            } else if let Some(u) = self.uses.get_mut(i) {
                u.entries = left;
            }
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.uses.is_full()
    }

    pub(crate) fn clear(&mut self) {
        self.uses.clear();
    }
}
