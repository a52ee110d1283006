//! Why enumeration does not trust a function: the reason it is recorded as
//! unassignable.
//!
//! Config space is the device's to present, so a function can claim to be
//! a bridge to any bus, or hand out a capability list that loops. The walk
//! never fails for that: it records the function with a [`Flaw`], goes on,
//! and derives no requester ID from a flawed function or from anything it
//! claims. A flaw is carried down: every function reached through a flawed
//! bridge (or on a bus two bridges claim) is flawed too, naming the cause.

use core::fmt;

use crate::access::AccessError;
use crate::addr::Bdf;
use crate::error::PciError;

/// Why a function's own config space could not be read.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Unreadable {
    /// Its capability list loops.
    CapabilityLoop,
    /// A capability pointer is below the header or not dword aligned.
    BadCapabilityPointer(u8),
    /// A config access failed.
    Access(AccessError),
    /// Reading it failed in another way.
    Malformed,
}

impl Unreadable {
    /// The cause of a failed read of a function's own config space.
    pub(crate) const fn from_error(e: PciError) -> Self {
        match e {
            PciError::CapabilityLoop { .. } => Unreadable::CapabilityLoop,
            PciError::BadCapabilityPointer { pointer, .. } => {
                Unreadable::BadCapabilityPointer(pointer)
            }
            PciError::Access { error, .. } => Unreadable::Access(error),
            _ => Unreadable::Malformed,
        }
    }
}

/// Why a function is unassignable (and a bridge's claim refused).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Flaw {
    /// The function's config space could not be read.
    Unreadable(Unreadable),
    /// A bridge whose primary bus is not the bus it sits on.
    ForeignPrimaryBus {
        /// The bus it sits on.
        bus: u8,
        /// The primary bus it claims.
        primary: u8,
    },
    /// A bridge whose secondary..=subordinate range is not strictly below
    /// its own bus and inside the range of the bus it sits on.
    BusRangeOutsideParent {
        secondary: u8,
        subordinate: u8,
        /// The range of the bus it sits on.
        first: u8,
        last: u8,
    },
    /// A bridge claiming bus `bus`, which another bridge on its bus claims
    /// too: neither gets it.
    BusClaimedTwice { bus: u8, other: Bdf },
    /// A function on (or below) a bus two bridges claim: which of them
    /// tags its DMA cannot be known.
    BehindDisputedBus { bus: u8, claimants: (Bdf, Bdf) },
    /// A function below a bridge whose config space could not be read (so
    /// its kind, and the IDs it puts on its devices' DMA, are unknown).
    BehindUnreadableBridge { bridge: Bdf },
}

impl Flaw {
    /// The flaw a function inherits from the bridge `bridge` (flawed with
    /// `self`) that the walk reached it through.
    pub(crate) const fn inherited(self, bridge: Bdf) -> Flaw {
        match self {
            Flaw::BusClaimedTwice { bus, other } => Flaw::BehindDisputedBus {
                bus,
                claimants: (bridge, other),
            },
            Flaw::BehindDisputedBus { .. } | Flaw::BehindUnreadableBridge { .. } => self,
            Flaw::Unreadable(_)
            | Flaw::ForeignPrimaryBus { .. }
            | Flaw::BusRangeOutsideParent { .. } => Flaw::BehindUnreadableBridge { bridge },
        }
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::CapabilityLoop => f.write_str("its capability list loops"),
            Unreadable::BadCapabilityPointer(p) => {
                write!(f, "its capability pointer {p:#04x} is invalid")
            }
            Unreadable::Access(e) => write!(f, "its config space cannot be read: {e}"),
            Unreadable::Malformed => f.write_str("its config space is malformed"),
        }
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flaw::Unreadable(why) => write!(f, "{why}"),
            Flaw::ForeignPrimaryBus { bus, primary } => write!(
                f,
                "bridge on bus {bus:02x} claims primary bus {primary:02x}; its claim is refused"
            ),
            Flaw::BusRangeOutsideParent {
                secondary,
                subordinate,
                first,
                last,
            } => write!(
                f,
                "bridge claims buses {secondary:02x}..={subordinate:02x}, outside its bus's \
                 range {first:02x}..={last:02x}; its claim is refused"
            ),
            Flaw::BusClaimedTwice { bus, other } => write!(
                f,
                "bridge claims bus {bus:02x}, which {other} claims too; neither gets it"
            ),
            Flaw::BehindDisputedBus { bus, claimants } => write!(
                f,
                "behind bus {bus:02x}, which both {} and {} claim; its requester IDs cannot be \
                 known",
                claimants.0, claimants.1
            ),
            Flaw::BehindUnreadableBridge { bridge } => write!(
                f,
                "behind bridge {bridge}, whose config space cannot be read; its requester IDs \
                 cannot be known"
            ),
        }
    }
}
