//! Intel VT-d programming and a software model of the hardware.
//!
//! The library drives a unit through traits ([`Registers`], [`TableMemory`],
//! [`PageAllocator`], [`Delay`]): bring-up or the take-over of a running
//! unit ([`Unit::resume`]), register or queued invalidation,
//! root/context tables, second-level page tables, per-device quarantine
//! tables, fault draining, context-entry replacement as Xen's fix for
//! CVE-2022-26359 does it (one compare-exchange, or Xen's fallback), and
//! interrupt remapping with entries replaced the same way.
//!
//! With the `model` feature (host only) [`model`] provides a software VT-d
//! with QEMU's caching behaviour and a DMA observer that counts the windows
//! in which a device is disconnected or runs new tables under an old DID.
#![cfg_attr(not(feature = "std"), no_std)]

mod cap;
mod context;
mod counters;
mod deferred;
mod error;
mod fault;
pub mod format;
mod hw;
mod interrupt;
mod invalidate;
mod mapping;
mod mode;
mod pagetable;
mod quarantine;
pub mod regs;
mod resume;
mod rid;
mod unit;

#[cfg(feature = "model")]
pub mod model;

#[cfg(feature = "mmio")]
pub mod mmio;

pub use cap::{Cap, Ecap, Levels};
pub use context::{Assignment, DomainTables, Previous, SetContext, StorePath, Warning};
pub use counters::{ByGranularity, Counters};
pub use error::{Error, ResumeError, WaitFor};
pub use fault::{DrainSummary, Fault};
pub use format::{ContextEntry, FaultReason, GstsBit, TranslationType};
pub use hw::{Cmpxchg16bError, Delay, PageAllocator, Registers, SpinDelay, TableMemory};
pub use interrupt::{IrTable, IRTE_SIZE, MAX_IRT_ENTRIES};
pub use invalidate::RangeFlush;
pub use mode::MapMode;
pub use pagetable::{PageTable, Perm, Stats, Translation, LARGE_PAGE};
pub use quarantine::Quarantine;
pub use resume::{Resumed, ResumedQueue};
pub use rid::Rid;
pub use unit::{Config, InvalidationChoice, Unit};
