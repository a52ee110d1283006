//! Fault recording register contents and fault reasons in words.

use core::fmt;

/// Fault addresses keep every bit above the page offset.
const LO_ADDR_MASK: u64 = !0xfff;

const HI_SID_MASK: u64 = 0xffff;
const HI_FR_SHIFT: u32 = 32;
const HI_FR_MASK: u64 = 0xff;
const HI_T: u64 = 1 << 62;
const HI_F: u64 = 1 << 63;

/// The first fault reason of interrupt remapping (VT-d 7.1.3, table 26).
const IR_REASONS_FROM: u8 = 0x20;

/// Why a DMA request (legacy-mode reason codes 1..0xD) or an interrupt
/// request (0x20..0x27) was blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultReason {
    RootNotPresent,
    ContextNotPresent,
    InvalidContext,
    BeyondMgaw,
    NoWrite,
    NoRead,
    BadNextLevelPointer,
    RootTablePointerInvalid,
    ContextTablePointerInvalid,
    ReservedInRoot,
    ReservedInContext,
    ReservedInPte,
    BlockedByTranslationType,
    /// Interrupt: a reserved field of the request was set.
    IrReservedRequest,
    /// Interrupt: the handle is beyond the remapping table's size.
    IrIndexBeyondTable,
    /// Interrupt: the remapping entry is not present.
    IrEntryNotPresent,
    /// Interrupt: the remapping table could not be read.
    IrTableUnreadable,
    /// Interrupt: reserved bits set in the remapping entry.
    IrReservedEntry,
    /// Interrupt: a compatibility-format request while CFIS is clear.
    IrCompatibilityBlocked,
    /// Interrupt: the request's source failed the entry's source-ID check.
    IrSourceRefused,
    /// Interrupt: a posted-format entry without posting support.
    IrPostedUnsupported,
    /// A code this library does not name.
    Other(u8),
}

impl FaultReason {
    /// The reason of a code.
    pub const fn from_code(code: u8) -> FaultReason {
        match code {
            0x1 => FaultReason::RootNotPresent,
            0x2 => FaultReason::ContextNotPresent,
            0x3 => FaultReason::InvalidContext,
            0x4 => FaultReason::BeyondMgaw,
            0x5 => FaultReason::NoWrite,
            0x6 => FaultReason::NoRead,
            0x7 => FaultReason::BadNextLevelPointer,
            0x8 => FaultReason::RootTablePointerInvalid,
            0x9 => FaultReason::ContextTablePointerInvalid,
            0xA => FaultReason::ReservedInRoot,
            0xB => FaultReason::ReservedInContext,
            0xC => FaultReason::ReservedInPte,
            0xD => FaultReason::BlockedByTranslationType,
            0x20 => FaultReason::IrReservedRequest,
            0x21 => FaultReason::IrIndexBeyondTable,
            0x22 => FaultReason::IrEntryNotPresent,
            0x23 => FaultReason::IrTableUnreadable,
            0x24 => FaultReason::IrReservedEntry,
            0x25 => FaultReason::IrCompatibilityBlocked,
            0x26 => FaultReason::IrSourceRefused,
            0x27 => FaultReason::IrPostedUnsupported,
            other => FaultReason::Other(other),
        }
    }

    /// The code of a reason.
    /// Whether the fault is interrupt remapping's (reasons 0x20 and up),
    /// not a DMA translation's.
    pub const fn is_interrupt_remapping(self) -> bool {
        self.code() >= IR_REASONS_FROM
    }

    pub const fn code(self) -> u8 {
        match self {
            FaultReason::RootNotPresent => 0x1,
            FaultReason::ContextNotPresent => 0x2,
            FaultReason::InvalidContext => 0x3,
            FaultReason::BeyondMgaw => 0x4,
            FaultReason::NoWrite => 0x5,
            FaultReason::NoRead => 0x6,
            FaultReason::BadNextLevelPointer => 0x7,
            FaultReason::RootTablePointerInvalid => 0x8,
            FaultReason::ContextTablePointerInvalid => 0x9,
            FaultReason::ReservedInRoot => 0xA,
            FaultReason::ReservedInContext => 0xB,
            FaultReason::ReservedInPte => 0xC,
            FaultReason::BlockedByTranslationType => 0xD,
            FaultReason::IrReservedRequest => 0x20,
            FaultReason::IrIndexBeyondTable => 0x21,
            FaultReason::IrEntryNotPresent => 0x22,
            FaultReason::IrTableUnreadable => 0x23,
            FaultReason::IrReservedEntry => 0x24,
            FaultReason::IrCompatibilityBlocked => 0x25,
            FaultReason::IrSourceRefused => 0x26,
            FaultReason::IrPostedUnsupported => 0x27,
            FaultReason::Other(code) => code,
        }
    }
}

impl fmt::Display for FaultReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = match self {
            FaultReason::RootNotPresent => "root entry not present",
            FaultReason::ContextNotPresent => "context entry not present",
            FaultReason::InvalidContext => "invalid context entry",
            FaultReason::BeyondMgaw => "address beyond the maximum guest address width",
            FaultReason::NoWrite => "write to a page without write permission",
            FaultReason::NoRead => "read from a page without read permission",
            FaultReason::BadNextLevelPointer => "next-level table pointer invalid",
            FaultReason::RootTablePointerInvalid => "root table pointer invalid",
            FaultReason::ContextTablePointerInvalid => "context table pointer invalid",
            FaultReason::ReservedInRoot => "reserved bits set in a root entry",
            FaultReason::ReservedInContext => "reserved bits set in a context entry",
            FaultReason::ReservedInPte => "reserved bits set in a page-table entry",
            FaultReason::BlockedByTranslationType => "request blocked by the translation type",
            FaultReason::IrReservedRequest => "interrupt request with reserved fields set",
            FaultReason::IrIndexBeyondTable => {
                "interrupt request naming an entry beyond the remapping table"
            }
            FaultReason::IrEntryNotPresent => {
                "interrupt request naming a remapping entry that is not present"
            }
            FaultReason::IrTableUnreadable => "interrupt remapping table unreadable",
            FaultReason::IrReservedEntry => "reserved bits set in an interrupt remapping entry",
            FaultReason::IrCompatibilityBlocked => {
                "compatibility-format interrupt blocked (remapping on)"
            }
            FaultReason::IrSourceRefused => {
                "interrupt request from a source its remapping entry does not admit"
            }
            FaultReason::IrPostedUnsupported => "posted-interrupt entry without posting support",
            FaultReason::Other(code) => return write!(f, "fault reason {code:#x}"),
        };
        f.write_str(words)
    }
}

/// One 128-bit fault record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultRecord {
    /// Page address of the faulting request.
    pub address: u64,
    /// Source ID (requester).
    pub sid: u16,
    pub reason: FaultReason,
    /// T = 1: a read request; 0: a write.
    pub read: bool,
    /// F: the record holds a fault (write 1 to clear).
    pub fault: bool,
}

impl FaultRecord {
    /// Decodes the two halves.
    pub fn decode(lo: u64, hi: u64) -> FaultRecord {
        FaultRecord {
            address: lo & LO_ADDR_MASK,
            sid: (hi & HI_SID_MASK) as u16,
            reason: FaultReason::from_code(((hi >> HI_FR_SHIFT) & HI_FR_MASK) as u8),
            read: hi & HI_T != 0,
            fault: hi & HI_F != 0,
        }
    }

    /// Encodes into `(lo, hi)`.
    pub fn encode(&self) -> (u64, u64) {
        let hi = self.sid as u64
            | ((self.reason.code() as u64) << HI_FR_SHIFT)
            | if self.read { HI_T } else { 0 }
            | if self.fault { HI_F } else { 0 };
        (self.address & LO_ADDR_MASK, hi)
    }
}
