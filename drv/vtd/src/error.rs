//! Every way a VT-d operation can fail, as one enum with a message per cause.
//!
//! Timeouts name the bit or status that never changed, so "the hardware did
//! not answer" is a readable error rather than a hang.

use core::fmt;

use crate::format::GstsBit;
use crate::rid::Rid;

/// A status that the library polls with a bounded number of tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// A GSTS bit that should have become `set`.
    Gsts { bit: GstsBit, set: bool },
    /// CCMD.ICC never cleared after a register-based context invalidation.
    ContextCommand,
    /// IOTLB.IVT never cleared after a register-based IOTLB invalidation.
    IotlbCommand,
    /// The invalidation-wait status word never received `data`.
    QueueWait { data: u32 },
}

impl fmt::Display for WaitFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WaitFor::Gsts { bit, set: true } => write!(f, "GSTS.{} never set", bit.name()),
            WaitFor::Gsts { bit, set: false } => write!(f, "GSTS.{} never cleared", bit.name()),
            WaitFor::ContextCommand => f.write_str("CCMD.ICC never cleared"),
            WaitFor::IotlbCommand => f.write_str("IOTLB.IVT never cleared"),
            WaitFor::QueueWait { data } => {
                write!(f, "invalidation wait status never became {data:#x}")
            }
        }
    }
}

/// Errors of the VT-d library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// CAP.ND = 7 is reserved (Xen a1545fbf45 refuses such a unit).
    ReservedDomainCount,
    /// CAP.SAGAW supports neither 3-level (39-bit) nor 4-level (48-bit) tables.
    NoSupportedLevels { sagaw: u8 },
    /// A status did not change within the poll budget.
    Timeout { what: WaitFor, polls: u32 },
    /// The IOTLB register reported IAIG = 0: the invalidation was not done.
    IotlbInvalidationRejected { did: u16 },
    /// FSTS.IQE: the unit rejected a descriptor of the invalidation queue.
    QueueError { head: u64 },
    /// The invalidation queue has no room (hardware stopped consuming).
    QueueFull { head: u64, tail: u64 },
    /// The invalidation queue was required (forced) but ECAP.QI is clear.
    QueueUnsupported,
    /// An operation needing the root table ran before `bring_up`.
    NotBroughtUp,
    /// The page allocator is exhausted.
    OutOfMemory,
    /// An address or length is not 4 KiB aligned, or the length is zero.
    Misaligned { iova: u64, phys: u64, len: u64 },
    /// The range goes beyond the address width of the tables.
    BeyondAddressWidth { iova: u64, len: u64, width: u8 },
    /// The physical address does not fit an entry's address field.
    PhysTooLarge { phys: u64 },
    /// A mapping asked for neither read nor write.
    NoAccess { iova: u64 },
    /// Part of the range to map is already mapped.
    Overlap { iova: u64 },
    /// Part of the range to unmap is not mapped.
    NotMapped { iova: u64 },
    /// Unmapping would split a 2 MiB page.
    SplitsLargePage { iova: u64 },
    /// The context entry changed between read and compare-exchange (EILSEQ).
    EntryChanged {
        rid: Rid,
        expected: u128,
        actual: u128,
    },
    /// The entry is present with a DID the caller does not know (ESRCH).
    UnknownOwner { rid: Rid, did: u16 },
    /// Policy requires CMPXCHG16B and the CPU lacks it.
    Cx16Required { rid: Rid },
    /// The table memory could not do the 128-bit compare-exchange (no
    /// CMPXCHG16B after all, or the entry's address is misaligned or
    /// outside it); nothing was written.
    Cmpxchg16bRefused { rid: Rid },
    /// The DID is beyond what CAP.ND supports.
    DidOutOfRange { did: u16, count: u32 },
    /// DID 0 is reserved when CAP.CM is set.
    DidZeroWithCachingMode,
    /// Pass-through asked for but ECAP.PT is clear.
    PassThroughUnsupported,
    /// The tables have a level count CAP.SAGAW does not support.
    LevelsUnsupported { levels: u8 },
    /// ECAP.IR is clear: the unit cannot remap interrupts.
    InterruptRemappingUnsupported,
    /// Interrupt remapping needs queued invalidation (its cache has no
    /// register invalidation), and the unit runs register invalidation.
    InterruptRemappingNeedsQueue,
    /// An interrupt-remapping entry was asked for before remapping is on.
    InterruptRemappingOff,
    /// A table size that is not a power of two in 2..=256.
    IrtSize { entries: u16 },
    /// The entry is beyond the table.
    IrteIndex { index: u16, entries: u16 },
    /// The entry changed between read and compare-exchange.
    IrteChanged {
        index: u16,
        expected: u128,
        actual: u128,
    },
    /// The table memory could not do the 128-bit compare-exchange.
    IrteCmpxchgRefused { index: u16 },
    /// Policy requires CMPXCHG16B and the CPU lacks it.
    IrteCx16Required { index: u16 },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::ReservedDomainCount => f.write_str("CAP.ND is 7, a reserved value"),
            Error::NoSupportedLevels { sagaw } => write!(
                f,
                "CAP.SAGAW {sagaw:#x} supports neither 3- nor 4-level tables"
            ),
            Error::Timeout { what, polls } => write!(f, "{what} after {polls} polls"),
            Error::IotlbInvalidationRejected { did } => {
                write!(f, "IOTLB invalidation for DID {did} reported IAIG=0")
            }
            Error::QueueError { head } => {
                write!(f, "invalidation queue error at descriptor offset {head:#x}")
            }
            Error::QueueFull { head, tail } => write!(
                f,
                "invalidation queue full (head {head:#x}, tail {tail:#x})"
            ),
            Error::QueueUnsupported => {
                f.write_str("queued invalidation forced but ECAP.QI is clear")
            }
            Error::NotBroughtUp => f.write_str("unit not brought up (no root table)"),
            Error::OutOfMemory => f.write_str("no page left for IOMMU tables"),
            Error::Misaligned { iova, phys, len } => write!(
                f,
                "iova {iova:#x}, phys {phys:#x}, len {len:#x}: not 4 KiB aligned or empty"
            ),
            Error::BeyondAddressWidth { iova, len, width } => write!(
                f,
                "iova {iova:#x} + {len:#x} is beyond the {width}-bit address width"
            ),
            Error::PhysTooLarge { phys } => write!(f, "phys {phys:#x} beyond 52 bits"),
            Error::NoAccess { iova } => {
                write!(f, "mapping at {iova:#x} grants neither read nor write")
            }
            Error::Overlap { iova } => write!(f, "iova {iova:#x} is already mapped"),
            Error::NotMapped { iova } => write!(f, "iova {iova:#x} is not mapped"),
            Error::SplitsLargePage { iova } => {
                write!(f, "unmap would split the 2 MiB page holding {iova:#x}")
            }
            Error::EntryChanged {
                rid,
                expected,
                actual,
            } => write!(
                f,
                "{rid}: unexpected context entry {actual:#034x} (expected {expected:#034x})"
            ),
            Error::UnknownOwner { rid, did } => {
                write!(f, "{rid}: context entry present with unknown DID {did}")
            }
            Error::Cx16Required { rid } => write!(
                f,
                "{rid}: policy requires CMPXCHG16B for context updates and the CPU lacks it"
            ),
            Error::Cmpxchg16bRefused { rid } => write!(
                f,
                "{rid}: the table memory could not do the 128-bit compare-exchange; nothing written"
            ),
            Error::DidOutOfRange { did, count } => {
                write!(f, "DID {did} beyond the unit's {count} domains")
            }
            Error::DidZeroWithCachingMode => f.write_str("DID 0 is reserved with CAP.CM=1"),
            Error::PassThroughUnsupported => {
                f.write_str("pass-through requested but ECAP.PT is clear")
            }
            Error::LevelsUnsupported { levels } => {
                write!(f, "{levels}-level tables not supported by CAP.SAGAW")
            }
            Error::InterruptRemappingUnsupported => {
                f.write_str("ECAP.IR is clear: the unit cannot remap interrupts")
            }
            Error::InterruptRemappingNeedsQueue => f.write_str(
                "interrupt remapping needs queued invalidation, and the unit uses registers",
            ),
            Error::InterruptRemappingOff => f.write_str("interrupt remapping is not on"),
            Error::IrtSize { entries } => write!(
                f,
                "{entries} remapping entries: not a power of two in 2..=256"
            ),
            Error::IrteIndex { index, entries } => write!(
                f,
                "remapping entry {index} is beyond the table's {entries}"
            ),
            Error::IrteChanged {
                index,
                expected,
                actual,
            } => write!(
                f,
                "remapping entry {index} changed underneath: expected {expected:#034x}, found {actual:#034x}"
            ),
            Error::IrteCmpxchgRefused { index } => write!(
                f,
                "the 128-bit exchange of remapping entry {index} was refused; nothing written"
            ),
            Error::IrteCx16Required { index } => write!(
                f,
                "remapping entry {index}: policy requires CMPXCHG16B and the CPU lacks it"
            ),
        }
    }
}

/// Why [`crate::Unit::resume`] would not adopt a running unit: what it read
/// did not match what this driver leaves behind. Nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeError {
    /// This `Unit` was already brought up or resumed.
    AlreadyStarted,
    /// GSTS.TES is clear: there is nothing running to adopt.
    TranslationOff { gsts: u32 },
    /// RTADDR selects a root-table mode other than legacy (TTM ≠ 0).
    RootTableMode { rtaddr: u64 },
    /// The root table is not a page the allocator handed out.
    RootNotInPool { root: u64 },
    /// The policy forbids the queue but the unit runs it (QIES set).
    QueueRunning,
    /// The policy requires the queue but the unit does not run it.
    QueueNotRunning,
    /// IQA asks for another queue size or descriptor width than one page
    /// of 128-bit descriptors.
    QueueFormat { iqa: u64 },
    /// The queue page is not a page the allocator handed out.
    QueueNotInPool { base: u64 },
    /// IQH or IQT is unaligned or beyond the queue.
    QueuePointers { head: u64, tail: u64 },
    /// FSTS.IQE: the unit stopped at a descriptor it refused.
    QueueHalted { head: u64 },
    /// The unit did not consume the queue up to IQT within the poll budget.
    QueueNotDrained { head: u64, tail: u64, polls: u32 },
    /// The descriptor before IQT is not a status-write wait, so the queue
    /// was not filled by this driver (type `kind` at byte `offset`).
    NoWaitBeforeTail { offset: u64, kind: u8 },
    /// The wait's status word is unaligned, outside the allocator's pages,
    /// or on the root-table or queue page.
    StatusMisplaced { status: u64 },
    /// IRTA asks for a table this driver never builds (x2APIC mode, more
    /// than one page, reserved bits).
    InterruptTableFormat { irta: u64 },
    /// The interrupt-remapping table is not a page the allocator handed out.
    InterruptTableNotInPool { base: u64 },
    /// A register invalidation of the previous life never finished.
    Hardware(Error),
}

impl fmt::Display for ResumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ResumeError::InterruptTableFormat { irta } => write!(
                f,
                "IRTA {irta:#x} is not one page of xAPIC remapping entries"
            ),
            ResumeError::InterruptTableNotInPool { base } => write!(
                f,
                "interrupt-remapping table {base:#x} is not a page of the table pool"
            ),
            ResumeError::AlreadyStarted => f.write_str("unit already brought up or resumed"),
            ResumeError::TranslationOff { gsts } => {
                write!(
                    f,
                    "translation is off (GSTS {gsts:#010x}): nothing to resume"
                )
            }
            ResumeError::RootTableMode { rtaddr } => {
                write!(f, "RTADDR {rtaddr:#x} selects a non-legacy root table")
            }
            ResumeError::RootNotInPool { root } => {
                write!(f, "root table {root:#x} is not a page of the table pool")
            }
            ResumeError::QueueRunning => {
                f.write_str("unit runs queued invalidation but the policy forbids it")
            }
            ResumeError::QueueNotRunning => {
                f.write_str("policy requires queued invalidation but the unit does not run it")
            }
            ResumeError::QueueFormat { iqa } => write!(
                f,
                "IQA {iqa:#x} is not one page of 128-bit descriptors (QS 0, DW 0)"
            ),
            ResumeError::QueueNotInPool { base } => {
                write!(
                    f,
                    "invalidation queue {base:#x} is not a page of the table pool"
                )
            }
            ResumeError::QueuePointers { head, tail } => write!(
                f,
                "invalidation queue head {head:#x} / tail {tail:#x} unaligned or beyond the queue"
            ),
            ResumeError::QueueHalted { head } => write!(
                f,
                "invalidation queue halted (FSTS.IQE) at descriptor offset {head:#x}"
            ),
            ResumeError::QueueNotDrained { head, tail, polls } => write!(
                f,
                "invalidation queue head {head:#x} did not reach tail {tail:#x} after {polls} polls"
            ),
            ResumeError::NoWaitBeforeTail { offset, kind } => write!(
                f,
                "descriptor at queue offset {offset:#x} (type {kind}) is not a status-write wait"
            ),
            ResumeError::StatusMisplaced { status } => write!(
                f,
                "wait status word {status:#x} is unaligned or not on a pool page of its own"
            ),
            ResumeError::Hardware(e) => write!(f, "{e}"),
        }
    }
}
