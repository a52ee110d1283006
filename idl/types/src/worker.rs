//! What a DMA worker reports: the outcome of one edu transfer, checked
//! against the worker's own memory.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::Bdf;
use crate::max_len::{max_len_of, MaxEncodedLen, ENUM_TAG_LEN};
use crate::wire::Fixed;

wire_struct! {
    /// One transfer: where it was aimed and what the worker found there.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 17)]
    pub struct DmaReport {
        /// The device that moved the data.
        pub device: Bdf,
        /// The IOVA written.
        pub iova: u64,
        /// Whether the pattern is now in the worker's buffer at that IOVA
        /// (false for an IOVA outside the buffer, or a blocked write).
        pub landed: bool,
        /// Whether the worker's buffer is otherwise untouched.
        pub rest_untouched: bool,
        /// Milliseconds the transfer took.
        pub millis: u32,
    }
}

/// Why a worker could not run a transfer.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 9)]
pub enum WorkerError {
    /// The broker's books do not give this device to the worker's domain.
    NotMine(Bdf),
    /// The worker has no register window for the device.
    NoRegisters(Bdf),
    /// The device did not identify as edu.
    NotEdu(Bdf),
    /// The transfer did not finish in time.
    Timeout(Bdf),
    /// A transfer is already running.
    Busy,
    /// No transfer was started.
    NothingRunning,
    /// The IOVA is not one the device can reach (28-bit DMA mask) or not
    /// page-aligned.
    BadIova(u64),
}

impl MaxEncodedLen for WorkerError {
    const MAX_ENCODED_LEN: usize =
        ENUM_TAG_LEN + max_len_of(&[Bdf::MAX_ENCODED_LEN, u64::MAX_ENCODED_LEN]);
}

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerError::NotMine(d) => write!(f, "{d} does not belong to this worker's domain"),
            WorkerError::NoRegisters(d) => write!(f, "no register window for {d}"),
            WorkerError::NotEdu(d) => write!(f, "{d} is not an edu device"),
            WorkerError::Timeout(d) => write!(f, "DMA of {d} did not finish"),
            WorkerError::Busy => write!(f, "a transfer is already running"),
            WorkerError::NothingRunning => write!(f, "no transfer was started"),
            WorkerError::BadIova(i) => write!(f, "IOVA {i:#x} is not page-aligned below 256 MiB"),
        }
    }
}
