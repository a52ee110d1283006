//! The broker's books as its clients see them, and transaction status.

use serde::{Deserialize, Serialize};

use crate::context::ContextState;
use crate::faults::DmaDirection;
use crate::ids::{Bdf, DomainId, TaskIndex};
use crate::max_len::{max_len, MaxEncodedLen, ENUM_TAG_LEN};
use crate::wire::Fixed;

/// Rows per page of a listing.
pub const LIST_PAGE: usize = 8;

/// Who holds a device.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 3)]
pub enum Custody {
    /// Owned by a domain.
    Domain(DomainId),
    /// In quarantine: its DMA reaches only a scratch page.
    Quarantined,
    /// Not yet assigned (its context entry is not present).
    Unassigned,
}

impl MaxEncodedLen for Custody {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + DomainId::MAX_ENCODED_LEN;
}

wire_struct! {
    /// One device in the books.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 7)]
    pub struct DeviceEntry {
        /// The device.
        pub device: Bdf,
        /// Who holds it.
        pub custody: Custody,
        /// It has an RMRR.
        pub has_rmrr: bool,
    }
}

wire_struct! {
    /// A page of the device listing.
    pub struct DevicePage {
        /// Rows from the requested start.
        pub entries: heapless::Vec<DeviceEntry, LIST_PAGE>,
        /// Where the next page starts, if there is one.
        pub next: Option<u16>,
    }
}

wire_struct! {
    /// One domain in the books.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 6)]
    pub struct DomainEntry {
        /// The domain.
        pub domain: DomainId,
        /// The task that owns it.
        pub owner: TaskIndex,
        /// How many devices it holds.
        pub devices: u16,
    }
}

wire_struct! {
    /// A page of the domain listing.
    pub struct DomainPage {
        /// Rows from the requested start.
        pub entries: heapless::Vec<DomainEntry, LIST_PAGE>,
        /// Where the next page starts, if there is one.
        pub next: Option<u16>,
    }
}

/// Where the broker's current transaction stands.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 7)]
pub enum TxStatus {
    /// No transaction open; the journal is empty.
    Idle,
    /// Moving `device` to `target`; `steps` forward steps done.
    Running {
        /// The device being moved.
        device: Bdf,
        /// Where it goes.
        target: DomainId,
        /// Forward steps completed so far.
        steps: u8,
    },
    /// Undoing a failed move; `remaining` compensations left.
    RollingBack {
        /// The device being moved back.
        device: Bdf,
        /// Compensations still to run.
        remaining: u8,
    },
}

impl MaxEncodedLen for TxStatus {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len(
            Bdf::MAX_ENCODED_LEN + DomainId::MAX_ENCODED_LEN + u8::MAX_ENCODED_LEN,
            Bdf::MAX_ENCODED_LEN + u8::MAX_ENCODED_LEN,
        );
}

wire_struct! {
    /// What a finished reassignment did.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 11)]
    pub struct ReassignReport {
        /// The context entry the device had before.
        pub previous: ContextState,
        /// The one it has now.
        pub current: ContextState,
        /// Every context write was atomic.
        pub atomic: bool,
    }
}

wire_struct! {
    /// What the broker has done and what it still owes, for the console's
    /// `stats`.
    #[derive(Copy, Default)]
    #[derive(Fixed)]
    #[fixed(size = 22)]
    pub struct BrokerCounters {
        /// Transactions committed.
        pub committed: u32,
        /// Transactions rolled back completely.
        pub rolled_back: u32,
        /// Rollbacks that failed (the device went to quarantine).
        pub rollback_failures: u32,
        /// Unfinished journals replayed at start.
        pub replays: u32,
        /// Cleanups after commit (a DID reference, an RMRR map the source
        /// no longer needs) not done yet: retried until they succeed.
        pub cleanups_pending: u16,
        /// Cleanups that ever failed after their retries.
        pub cleanup_failures: u32,
    }
}

/// Something the broker wants its clients to know.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 14)]
pub enum BrokerEvent {
    /// A device changed custody.
    Moved {
        /// The device.
        device: Bdf,
        /// Where it is now.
        custody: Custody,
    },
    /// A device was quarantined because a compensation failed.
    RollbackFailed {
        /// The device now in quarantine.
        device: Bdf,
    },
    /// A domain's owner died; its devices went to quarantine.
    OwnerDied {
        /// The dead owner's domain.
        domain: DomainId,
    },
    /// The device made a DMA fault, or an interrupt-remapping fault.
    DmaFault {
        /// The device.
        device: Bdf,
        /// The address it tried (for an interrupt-remapping fault, the
        /// remapping entry it named, as the unit records it).
        address: u64,
        /// The VT-d fault reason (0x20 and up: interrupt remapping).
        reason: u8,
        /// Read or write.
        direction: DmaDirection,
    },
    /// The device made more DMA faults within the broker's fault interval
    /// than app.toml's `[broker] fault-budget` allows, and was put in
    /// quarantine for it.
    FaultQuarantined {
        /// The device now in quarantine.
        device: Bdf,
        /// The faults it made in that interval.
        faults: u32,
    },
}

impl MaxEncodedLen for BrokerEvent {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len(
            max_len(
                Bdf::MAX_ENCODED_LEN + Custody::MAX_ENCODED_LEN,
                Bdf::MAX_ENCODED_LEN,
            ),
            max_len(
                DomainId::MAX_ENCODED_LEN,
                max_len(
                    Bdf::MAX_ENCODED_LEN
                        + u64::MAX_ENCODED_LEN
                        + u8::MAX_ENCODED_LEN
                        + DmaDirection::MAX_ENCODED_LEN,
                    Bdf::MAX_ENCODED_LEN + u32::MAX_ENCODED_LEN,
                ),
            ),
        );
}

wire_struct! {
    /// An event and its sequence number (clients pull after the last seen).
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 18)]
    pub struct SequencedEvent {
        /// Increases by one per event.
        pub seq: u32,
        /// The event.
        pub event: BrokerEvent,
    }
}
