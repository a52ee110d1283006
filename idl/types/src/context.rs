//! What a device's context entry holds, and the flags of a reassignment.
//!
//! `ContextState` is both what `set_context` asks for and what it reports was
//! there before, so the undo of a context change is simply "set it back to
//! the previous state" (clearing it if it was not present).

use serde::{Deserialize, Serialize};

use crate::ids::{Did, DomainId};
use crate::max_len::{max_len, MaxEncodedLen, ENUM_TAG_LEN};
use crate::wire::Fixed;

/// The translation a requester ID's context entry selects.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 5)]
pub enum ContextState {
    /// No entry: the device's DMA is blocked and faults.
    NotPresent,
    /// Translated through `domain`'s page tables, tagged with `did`.
    Domain {
        /// The owning domain.
        domain: DomainId,
        /// Its hardware domain ID on the device's unit.
        did: Did,
    },
    /// Translated through the device's quarantine tables (everything lands on
    /// one scratch page), tagged with a pseudo-DID.
    Quarantine {
        /// The pseudo-DID of the device's quarantine tables.
        did: Did,
    },
}

impl MaxEncodedLen for ContextState {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len(
            DomainId::MAX_ENCODED_LEN + Did::MAX_ENCODED_LEN,
            Did::MAX_ENCODED_LEN,
        );
}

impl ContextState {
    /// The DID the entry is tagged with, if present: the one whose IOTLB
    /// entries must be flushed after the entry changes.
    pub const fn did(&self) -> Option<Did> {
        match self {
            ContextState::NotPresent => None,
            ContextState::Domain { did, .. } | ContextState::Quarantine { did } => Some(*did),
        }
    }
}

impl core::fmt::Display for ContextState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ContextState::NotPresent => write!(f, "no translation"),
            ContextState::Domain { domain, did } => write!(f, "{domain} ({did})"),
            ContextState::Quarantine { did } => write!(f, "quarantine ({did})"),
        }
    }
}

/// Flags of one context replacement, from Xen's fix: they choose how
/// the IOMMU may write the entry when it cannot do it atomically.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Fixed)]
#[fixed(size = 1)]
pub struct ReassignMode(pub u8);

impl ReassignMode {
    /// The device has an RMRR: it must never lose translation.
    pub const WITH_RMRR: ReassignMode = ReassignMode(1 << 0);
    /// The previous owner's task is dead.
    pub const OWNER_DYING: ReassignMode = ReassignMode(1 << 1);
    /// No other device of the previous owner sits behind the same unit.
    pub const SINGLE_DEVICE: ReassignMode = ReassignMode(1 << 2);
    /// Every defined flag.
    pub const ALL: ReassignMode = ReassignMode(0b111);

    /// Whether every flag of `other` is set here.
    pub const fn contains(self, other: ReassignMode) -> bool {
        self.0 & other.0 == other.0
    }
    /// Both sets of flags.
    pub const fn union(self, other: ReassignMode) -> ReassignMode {
        ReassignMode(self.0 | other.0)
    }
    /// Whether only defined flags are set.
    pub const fn is_valid(self) -> bool {
        self.0 & !Self::ALL.0 == 0
    }
}

impl MaxEncodedLen for ReassignMode {
    const MAX_ENCODED_LEN: usize = u8::MAX_ENCODED_LEN;
}

wire_struct! {
    /// What a context change reports.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 6)]
    pub struct ContextChange {
        /// The entry before the change.
        pub previous: ContextState,
        /// Whether the write was a single atomic 128-bit exchange (else the
        /// Xen's fallback order was used).
        pub atomic: bool,
    }
}

/// Access a mapping grants to the device.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 1)]
pub enum Access {
    /// DMA reads only.
    Read,
    /// DMA writes only.
    Write,
    /// Both.
    ReadWrite,
}

impl MaxEncodedLen for Access {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN;
}

wire_struct! {
    /// A range of I/O virtual addresses, in 4 KiB pages.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 12)]
    pub struct PageRange {
        /// First I/O virtual address (4 KiB aligned).
        pub iova: u64,
        /// Number of pages.
        pub pages: u32,
    }
}
