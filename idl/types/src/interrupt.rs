//! What a device's interrupt-remapping entry (IRTE) holds, in the terms the
//! broker and the iommu speak.
//!
//! As with context entries, `InterruptRoute` is both what `set_irte` asks
//! for and what it reports was there before, so the undo of an interrupt
//! move is "set it back". `Blocked` is the entry not present: the device's
//! MSIs are then refused by the remapping hardware and reported as faults.

use serde::{Deserialize, Serialize};

use crate::ids::Bdf;
use crate::max_len::{max_len_of, MaxEncodedLen, ENUM_TAG_LEN};
use crate::wire::Fixed;

/// Which requesters may use an interrupt-remapping entry: the hardware's
/// source-ID verification.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Hash, Fixed)]
#[fixed(size = 4)]
pub enum MsiSource {
    /// No check (only for an entry nobody's device uses).
    Any,
    /// Exactly this requester ID.
    Exact(Bdf),
    /// Any requester ID whose bus lies in `first..=last`: what a device
    /// behind a PCIe-to-PCI bridge needs, since the bridge may tag its
    /// MSIs with the bridge's alias or the secondary bus.
    BusRange {
        /// The first bus.
        first: u8,
        /// The last bus.
        last: u8,
    },
}

impl MaxEncodedLen for MsiSource {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + max_len_of(&[Bdf::MAX_ENCODED_LEN, 2]);
}

impl core::fmt::Display for MsiSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MsiSource::Any => write!(f, "any source"),
            MsiSource::Exact(b) => write!(f, "source {b}"),
            MsiSource::BusRange { first, last } => {
                write!(f, "sources on buses {first:02x}..={last:02x}")
            }
        }
    }
}

/// Where an interrupt-remapping entry sends a device's MSIs.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Hash, Fixed)]
#[fixed(size = 7)]
pub enum InterruptRoute {
    /// Not present: the device's MSIs are blocked and fault.
    Blocked,
    /// Delivered as `vector` to the local APIC `destination`, for
    /// requesters `source` admits.
    Deliver {
        /// The vector (the kernel routes it to one task's notification).
        vector: u8,
        /// The xAPIC ID of the CPU that takes it.
        destination: u8,
        /// The source-ID check.
        source: MsiSource,
    },
}

impl MaxEncodedLen for InterruptRoute {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + 2 + MsiSource::MAX_ENCODED_LEN;
}

impl core::fmt::Display for InterruptRoute {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InterruptRoute::Blocked => write!(f, "blocked"),
            InterruptRoute::Deliver {
                vector,
                destination,
                source,
            } => write!(f, "vector {vector} to APIC {destination} from {source}"),
        }
    }
}

wire_struct! {
    /// What `set_irte` did: the entry's previous route, and whether the new
    /// one went in with one 128-bit exchange (else blocked first, then
    /// rewritten).
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 8)]
    pub struct InterruptChange {
        /// What the entry held.
        pub previous: InterruptRoute,
        /// One `cmpxchg16b` (true), or the blocked-first fallback (false).
        pub atomic: bool,
    }
}
