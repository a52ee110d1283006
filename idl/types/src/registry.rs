//! The names the IDL may use for types of this crate, with their sizes and,
//! for fixed-size types, their fixed layouts.
//!
//! The IDL compiler links this crate on the host and looks names up here, so
//! an `.idl` file naming a type that does not exist fails with the file's
//! line and column, an operation's worst-case message size is known before
//! any Rust is generated, and the compiler knows which operations can travel
//! in fixed layouts (all of whose types are listed as `fixed` here) and the
//! layouts' fingerprints. The numbers come from the types' `MaxEncodedLen`
//! and `Fixed` implementations, so this table cannot disagree with them; a
//! type listed as fixed that has no layout does not build.

use crate::max_len::MaxEncodedLen;
use crate::wire::Fixed;
use crate::*;

/// A type's fixed layout, as the IDL compiler needs it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FixedLayout {
    /// Bytes of the layout (`Fixed::SIZE`).
    pub size: usize,
    /// Its fingerprint (`Fixed::LAYOUT`).
    pub fingerprint: u32,
}

/// One type an `.idl` file may name.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NamedType {
    /// Its name, as written in `.idl` files and Rust.
    pub name: &'static str,
    /// Its largest postcard encoding.
    pub max_encoded_len: usize,
    /// Its fixed layout, if it has one (it has no variable-length part).
    pub fixed: Option<FixedLayout>,
}

macro_rules! named {
    (fixed: [$($f:ident),* $(,)?], variable: [$($v:ident),* $(,)?] $(,)?) => {
        /// Every type an `.idl` file may name.
        pub const NAMED_TYPES: &[NamedType] = &[
            $(NamedType {
                name: stringify!($f),
                max_encoded_len: <$f as MaxEncodedLen>::MAX_ENCODED_LEN,
                fixed: Some(FixedLayout {
                    size: <$f as Fixed>::SIZE,
                    fingerprint: <$f as Fixed>::LAYOUT,
                }),
            },)*
            $(NamedType {
                name: stringify!($v),
                max_encoded_len: <$v as MaxEncodedLen>::MAX_ENCODED_LEN,
                fixed: None,
            },)*
        ];
    };
}

named! {
    fixed: [
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
        MsiSource,
        InterruptRoute,
        InterruptChange,
        Access,
        PageRange,
        UnitInfo,
        MemRange,
        DmaDirection,
        FaultRecord,
        AccessWidth,
        DeviceKind,
        DeviceInfo,
        Custody,
        DeviceEntry,
        DomainEntry,
        TxStatus,
        ReassignReport,
        BrokerCounters,
        BrokerEvent,
        SequencedEvent,
        DeathCause,
        DeathRecord,
        TaskActivity,
        TaskReport,
        SupervisorError,
        AcpiError,
        IommuError,
        DomidError,
        BrokerError,
        PciError,
        EntryOwner,
        HardwareContext,
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
        DeviceFlaw,
        ConfigRegister,
        ScopeKind,
        ResolvedScope,
        ScopeInfo,
    ],
    // Lists (heapless::Vec) have no fixed size; `NoError` has no values,
    // so there is nothing to lay out (an operation without an error never
    // sends one).
    variable: [
        RmrrList,
        FaultBatch,
        DevicePage,
        DomainPage,
        ContextPage,
        RequesterIdList,
        NoError,
    ],
}

/// The type called `name`, if this crate has it.
pub fn named(name: &str) -> Option<&'static NamedType> {
    NAMED_TYPES.iter().find(|t| t.name == name)
}

/// The largest encoding of the type called `name`, if this crate has it.
pub fn max_encoded_len_of(name: &str) -> Option<usize> {
    named(name).map(|t| t.max_encoded_len)
}

/// The fixed layout of the type called `name`, if it has one.
pub fn fixed_layout_of(name: &str) -> Option<FixedLayout> {
    named(name).and_then(|t| t.fixed)
}
