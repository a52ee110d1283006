//! The iommu task's server: the `Iommu` IDL interface over one or more
//! [`vtd::Unit`]s.
//!
//! [`IommuServer`] owns the units (a unit's index is its `UnitId`), every
//! domain's page tables (one tree per unit, built by `create_domain`), the
//! per-device quarantine tables, and per unit the DIDs that present context
//! entries use. Context entries are replaced through
//! [`vtd::Unit::set_context`], Xen's algorithm, and every change
//! reports the previous state so its undo is "set it back".
//!
//! Two things a reader must know:
//! - **The hardware is the truth.** Which domain a table root belongs to is
//!   kept in a [`Ledger`] that survives a restart of the task (a `persist`
//!   region in the image; see [`LedgerStore`]); everything else (which DIDs
//!   are in use, by whom) is rebuilt from the context entries when a unit is
//!   added, and a restarted server takes over running units without
//!   touching their tables or allocating a page ([`start`]).
//! - **Unknown is refused.** An entry whose DID or tables the server cannot
//!   attribute is never overwritten or cleared (Xen's ESRCH), because
//!   its previous state could not be restored.
#![no_std]

mod adopt;
mod contexts;
mod convert;
mod dids;
mod domains;
mod endpoint;
mod fault_budget;
mod faults;
#[cfg(feature = "firmware")]
pub mod firmware;
mod interrupts;
mod ledger;
mod region_ledger;
mod region_pages;
mod server;
pub mod start;

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

pub use fault_budget::{
    IntervalSummary, SourceSummary, FAULT_BUDGET, FAULT_INTERVAL_MS, SUMMARY_SOURCES,
};
pub use interrupts::IRT_ENTRIES;
pub use ledger::{
    DomainRecord, Ledger, LedgerStore, QuarantineRecord, SharedLedger, VolatileLedger, MAX_DOMAINS,
    MAX_QUARANTINED, MAX_UNITS,
};
pub use region_ledger::{RegionLedger, RegionTooSmall, LEDGER_REGION_BYTES};
pub use region_pages::{pages_region_bytes, PagesError, RegionPages};
pub use server::{BestEffortUpdate, IommuServer, ServerUnit, MAX_DIDS_PER_UNIT};
pub use start::{StartError, Started};
