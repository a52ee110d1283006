//! The names the IDL may use for types of this crate, with their sizes.
//!
//! The IDL compiler links this crate on the host and looks names up here, so
//! an `.idl` file naming a type that does not exist fails with the file's
//! line and column, and an operation's worst-case message size is known
//! before any Rust is generated. The sizes come from the types'
//! `MaxEncodedLen` constants, so this table cannot disagree with them.

use crate::max_len::MaxEncodedLen;
use crate::*;

macro_rules! named {
    ($($t:ident),* $(,)?) => {
        /// Every type an `.idl` file may name, with its largest encoding.
        pub const NAMED_TYPES: &[(&str, usize)] = &[
            $((stringify!($t), <$t as MaxEncodedLen>::MAX_ENCODED_LEN)),*
        ];
    };
}

named![
    BenchRecord,
    DmaReport,
    WorkerError,
    Bdf,
    DomainId,
    Did,
    UnitId,
    TaskIndex,
    ContextState,
    ReassignMode,
    ContextChange,
    Access,
    PageRange,
    UnitInfo,
    MemRange,
    RmrrList,
    DmaDirection,
    FaultRecord,
    FaultBatch,
    AccessWidth,
    DeviceKind,
    DeviceInfo,
    Custody,
    DeviceEntry,
    DevicePage,
    DomainEntry,
    DomainPage,
    TxStatus,
    ReassignReport,
    BrokerCounters,
    BrokerEvent,
    SequencedEvent,
    DeathCause,
    DeathRecord,
    TaskReport,
    SupervisorError,
    NoError,
    AcpiError,
    IommuError,
    DomidError,
    BrokerError,
    PciError,
    EntryOwner,
    HardwareContext,
    ContextPage,
    UnitCaps,
    InvalidationCounts,
    IommuCounters,
    UnitFault,
    DidGrant,
    DidRelease,
    DidHolder,
    RebuildOwner,
    RebuildFault,
    RebuildDecodeError,
    AliasOrder,
    RequesterIdList,
    ScopeKind,
    ResolvedScope,
    ScopeInfo,
];

/// The largest encoding of the type called `name`, if this crate has it.
pub fn max_encoded_len_of(name: &str) -> Option<usize> {
    NAMED_TYPES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, len)| *len)
}
