//! The DID space of one unit, as its capability register defines it.
//!
//! CAP.ND gives 2^(4+2·ND) domain IDs; ND = 7 is reserved by the VT-d spec
//! and refused (Xen a1545fbf45). When CAP.CM (caching mode) is set, the
//! hardware may cache non-present entries tagged with DID 0, so DID 0 is never
//! handed out. The space is split in two halves, as Xen splits it: domains get
//! DIDs from the lower half, quarantined devices get pseudo-DIDs from the upper
//! half, so the two kinds can never collide whatever the allocation order.

use core::fmt;
use core::ops::Range;
use serde::{Deserialize, Serialize};

use crate::ids::Did;

/// CAP.ND value the VT-d specification reserves.
pub const ND_RESERVED: u8 = 7;
/// The largest meaningful CAP.ND (65 536 DIDs).
pub const ND_MAX: u8 = 6;
/// The most DIDs any unit can have (ND = 6).
pub const MAX_DIDS: u32 = 1 << (4 + 2 * ND_MAX as u32);

/// Which half of a unit's DID space a DID comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DidClass {
    /// Lower half: one DID per (unit, domain).
    Domain,
    /// Upper half: one pseudo-DID per quarantined device.
    Pseudo,
}

/// Why a CAP.ND value cannot describe a DID space.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpaceError {
    /// ND = 7 is reserved by the specification.
    ReservedNd,
    /// ND is a 3-bit field; anything above 7 is not a CAP value.
    NdOutOfRange(u8),
}

impl fmt::Display for SpaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpaceError::ReservedNd => f.write_str("CAP.ND = 7 is reserved"),
            SpaceError::NdOutOfRange(nd) => {
                write!(f, "CAP.ND = {nd} does not fit the 3-bit field")
            }
        }
    }
}

/// The DID space of one unit: its size and its two halves.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DidSpace {
    nd: u8,
    cm: bool,
}

impl DidSpace {
    /// The space of a unit whose CAP reads `ND = nd`, `CM = cm`.
    pub const fn new(nd: u8, cm: bool) -> Result<Self, SpaceError> {
        if nd == ND_RESERVED {
            Err(SpaceError::ReservedNd)
        } else if nd > ND_RESERVED {
            Err(SpaceError::NdOutOfRange(nd))
        } else {
            Ok(DidSpace { nd, cm })
        }
    }

    /// CAP.ND.
    pub const fn nd(&self) -> u8 {
        self.nd
    }

    /// CAP.CM: DID 0 is withheld.
    pub const fn caching_mode(&self) -> bool {
        self.cm
    }

    /// Number of DIDs the hardware supports, 2^(4+2·ND).
    pub const fn size(&self) -> u32 {
        1 << (4 + 2 * self.nd as u32)
    }

    /// The DIDs domains may get: the lower half, without DID 0 under CM.
    pub const fn domain_range(&self) -> Range<u32> {
        (self.cm as u32)..(self.size() / 2)
    }

    /// The pseudo-DIDs quarantined devices may get: the upper half.
    pub const fn pseudo_range(&self) -> Range<u32> {
        (self.size() / 2)..self.size()
    }

    /// The range of one class.
    pub const fn range(&self, class: DidClass) -> Range<u32> {
        match class {
            DidClass::Domain => self.domain_range(),
            DidClass::Pseudo => self.pseudo_range(),
        }
    }

    /// How many DIDs of `class` can be handed out.
    pub const fn usable(&self, class: DidClass) -> u32 {
        let r = self.range(class);
        r.end - r.start
    }

    /// The class `did` belongs to, or `None` if it may never be handed out
    /// (beyond the space, or DID 0 under caching mode).
    pub const fn class_of(&self, did: Did) -> Option<DidClass> {
        let d = did.0 as u32;
        let dom = self.domain_range();
        let pseudo = self.pseudo_range();
        if d >= dom.start && d < dom.end {
            Some(DidClass::Domain)
        } else if d >= pseudo.start && d < pseudo.end {
            Some(DidClass::Pseudo)
        } else {
            None
        }
    }
}

impl fmt::Display for DidSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} DIDs (ND={}{})",
            self.size(),
            self.nd,
            if self.cm { ", CM" } else { "" }
        )
    }
}

impl fmt::Display for DidClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DidClass::Domain => f.write_str("domain"),
            DidClass::Pseudo => f.write_str("quarantine pseudo"),
        }
    }
}
