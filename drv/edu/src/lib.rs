//! Driver for QEMU's `edu` teaching device, the DMA workload of custody's
//! QEMU tests: it reads and writes guest memory through the IOMMU on
//! command, so a test can see where a DMA lands or that it was blocked.
//!
//! Two things a reader must know: edu takes 4-byte accesses only below
//! offset 0x80, and a DMA completes about 100 ms of virtual time after it
//! starts, so every wait here is a bounded number of [`Sleep`] calls that
//! ends in an error, never a hang. Requests QEMU would abort on (a buffer
//! range outside edu's 4 KiB buffer) or silently truncate (an IOVA above
//! edu's 28-bit DMA mask) are refused before anything is written.
#![no_std]

mod bus;
mod driver;
mod error;
pub mod regs;

pub use bus::{EduBus, MmioBus};
pub use driver::{Direction, Edu, Identity, Sleep};
pub use error::EduError;
