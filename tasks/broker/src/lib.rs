//! The ownership broker: the books of which domain holds each device, and
//! device moves run as transactions of IPC steps with compensations.
//!
//! A move reads like docs/DESIGN.md §6 ([`Broker::reassign`]): acquire a
//! DID, map the target's RMRRs, switch each requester ID's context entry in
//! Xen's order, commit, clean up the source. Every forward step goes
//! through [`Transaction::step`], which writes the step's undo (the
//! generated `Compensation` variant) to the persistent [`Journal`] *before*
//! the message is sent, so a crash of anyone at any point can be finished
//! or undone. The hardware's context entries are the truth: the books are
//! rebuilt from them after any restart.
//!
//! The library is written against the generated clients of its peers over
//! any [`idl_runtime::Transport`] and a [`JournalStore`]; the firmware binds
//! the kernel's IPC and a `persist` region, the simulator in-process calls.
#![no_std]

#[cfg(test)]
extern crate std;

#[allow(missing_docs, clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/idl.rs"));
}
pub use generated::{acpi, broker as broker_idl, domid, iommu, pci, supervisor};

mod aliases;
mod books;
pub mod cleanup;
mod config;
mod deaths;
mod dma_faults;
mod engine;
mod events;
mod execute;
mod facts;
mod fault_policy;
#[cfg(feature = "firmware")]
pub mod firmware;
mod gather;
mod handover;
pub mod interrupts;
mod journal;
mod memory;
mod peers;
pub mod plan;
mod policy;
pub mod ranges;
mod recovery;
pub mod registers;
mod server;
mod steps;
mod transaction;
mod undo;

pub use books::{Books, DeviceRecord, DomainRecord, RidRecord, MAX_DEVICES, MAX_DOMAINS, MAX_RIDS};
pub use config::{Config, DeviceConfig, DomainConfig, DEFAULT_FAULT_BUDGET};
pub use deaths::{DeathHandled, DeathPollError};
pub use dma_faults::{FaultsPulled, MAX_QUARANTINED_PER_PULL};
pub use engine::{Broker, BrokerStats};
pub use events::{EventRing, EVENT_RING, FAULT_EVENTS};
pub use facts::{classify_rids, DeviceFacts, Direction, Rid, RidRole, MAX_DEVICE_RIDS};
pub use fault_policy::{FaultPolicy, FAULT_INTERVAL_MS, TRACKED_DEVICES};
pub use journal::{
    Journal, JournalEntry, JournalError, JournalStore, Opened, Phase, TxRecord, TxState,
    JOURNAL_BYTES,
};
pub use memory::{DomainMap, MAX_MAPS};
pub use peers::{FailureKind, Peer, PeerFailure, PeerIds, Peers};
pub use policy::Request;
pub use server::BrokerServer;
pub use steps::{
    AcquireDid, AcquireQuarantineDid, MapRmrr, QuarantineRid, SetIrte, Step, SwitchContext,
};
pub use transaction::{roll_back, Knobs, Rollback, StepFailed, Transaction};
pub use undo::{Undo, UNDO_ATTEMPTS};
