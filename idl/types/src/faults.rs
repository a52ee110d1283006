//! DMA fault records as the iommu task reports them.

use serde::{Deserialize, Serialize};

use crate::ids::{Bdf, UnitId};
use crate::max_len::{MaxEncodedLen, ENUM_TAG_LEN};
use crate::wire::Fixed;

/// Whether a faulting DMA was a read or a write.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 1)]
pub enum DmaDirection {
    /// The device read memory.
    Read,
    /// The device wrote memory.
    Write,
}

impl MaxEncodedLen for DmaDirection {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN;
}

impl DmaDirection {
    /// The direction in words, as logs and the console say it.
    pub const fn words(self) -> &'static str {
        match self {
            DmaDirection::Read => "read",
            DmaDirection::Write => "write",
        }
    }
}

wire_struct! {
    /// One fault the hardware recorded.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 14)]
    pub struct FaultRecord {
        /// The unit that recorded it.
        pub unit: UnitId,
        /// The requester that faulted.
        pub source: Bdf,
        /// The I/O virtual address it tried (page-aligned by the hardware).
        pub address: u64,
        /// The VT-d fault reason code.
        pub reason: u8,
        /// Read or write.
        pub direction: DmaDirection,
    }
}

/// How many fault records one reply carries.
pub const FAULTS_PER_BATCH: usize = 8;

wire_struct! {
    /// Fault records drained since the last pull.
    pub struct FaultBatch {
        /// The records, oldest first.
        pub records: heapless::Vec<FaultRecord, FAULTS_PER_BATCH>,
        /// Records still waiting after these (pull again).
        pub pending: u32,
        /// Records the hardware or the task dropped because nobody pulled.
        pub lost: u32,
    }
}
