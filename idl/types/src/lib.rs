//! Types shared by the IDL interfaces: identities, context states, platform
//! facts, listings and one error enum per interface.
//!
//! A type of fixed size also declares its fixed wire layout
//! (`#[derive(Fixed)]`, see [`wire`]): operations whose arguments, reply and
//! error all have one travel in it, checked in place. Every type also
//! derives serde and states its worst-case postcard size through
//! [`MaxEncodedLen`], for the operations with variable-length data and for
//! journals; the IDL compiler finds the types by name in
//! [`registry::NAMED_TYPES`].
#![no_std]

// `#[derive(Fixed)]` names this crate `::idl_types`, here as elsewhere.
extern crate self as idl_types;

#[macro_use]
mod max_len;

mod bench;
mod broker;
mod context;
mod domid;
mod errors;
mod faults;
mod hardware;
mod ids;
mod interrupt;
mod pci;
mod platform;
pub mod registry;
mod supervisor;
pub mod wire;
mod worker;

pub use bench::BenchRecord;
pub use broker::{
    BrokerCounters, BrokerEvent, Custody, DeviceEntry, DevicePage, DomainEntry, DomainPage,
    ReassignReport, SequencedEvent, TxStatus, LIST_PAGE,
};
pub use context::{Access, ContextChange, ContextState, PageRange, ReassignMode};
pub use domid::{
    DidGrant, DidHolder, DidRelease, RebuildDecodeError, RebuildOwner, RebuildRecord,
    REBUILD_RECORDS_MAX,
};
pub use errors::{
    AcpiError, BrokerError, DomidError, IommuError, NoError, PciError, RebuildFault,
    SupervisorError, UnitFault,
};
pub use faults::{DmaDirection, FaultBatch, FaultRecord, FAULTS_PER_BATCH};
pub use hardware::{
    ContextPage, EntryOwner, HardwareContext, InvalidationCounts, IommuCounters, UnitCaps,
    CONTEXTS_PER_PAGE,
};
pub use ids::{Bdf, Did, DomainId, TaskIndex, UnitId};
pub use interrupt::{InterruptChange, InterruptRoute, MsiSource};
pub use max_len::{max_len, max_len_of, varint_max, MaxEncodedLen, ENUM_TAG_LEN};
pub use pci::{
    AccessWidth, AliasOrder, ConfigRegister, DeviceFlaw, DeviceInfo, DeviceKind, RequesterIdList,
    MAX_REQUESTER_IDS,
};
pub use platform::{
    MemRange, ResolvedScope, RmrrList, ScopeInfo, ScopeKind, UnitInfo, MAX_RMRRS_PER_DEVICE,
};
pub use supervisor::{DeathCause, DeathRecord, TaskActivity, TaskReport};
pub use wire::{Fixed, FixedError, WireError};
pub use worker::{DmaReport, WorkerError};

#[cfg(test)]
mod tests;
