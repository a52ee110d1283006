//! Invalidation queue descriptors (128-bit): context-cache, IOTLB and wait.
//!
//! A wait descriptor must never carry both SW and IF: QEMU aborts on it. The
//! library only builds SW waits.

use super::command::{CcGranularity, IotlbGranularity};

/// Descriptor type of a context-cache invalidation.
pub const DESC_CONTEXT: u8 = 1;
/// Descriptor type of an IOTLB invalidation.
pub const DESC_IOTLB: u8 = 2;
/// Descriptor type of an interrupt-entry-cache invalidation.
pub const DESC_IEC: u8 = 4;
/// Descriptor type of an invalidation wait.
pub const DESC_WAIT: u8 = 5;

const TYPE_MASK: u64 = 0xf;
const G_SHIFT: u32 = 4;
const DID_SHIFT: u32 = 16;
const CC_SID_SHIFT: u32 = 32;
const CC_FM_SHIFT: u32 = 48;
const IOTLB_DW: u64 = 1 << 6;
const IOTLB_DR: u64 = 1 << 7;
const IOTLB_HI_IH: u64 = 1 << 6;
const IOTLB_HI_AM_MASK: u64 = 0x3f;
const WAIT_IF: u64 = 1 << 4;
const WAIT_SW: u64 = 1 << 5;
const WAIT_FN: u64 = 1 << 6;
const WAIT_DATA_SHIFT: u32 = 32;
const WAIT_ADDR_MASK: u64 = !0x3;
/// IEC descriptor: G (bit 4) set = index-selective.
const IEC_INDEX_SELECTIVE: u64 = 1 << 4;
const IEC_IM_SHIFT: u32 = 27;
const IEC_IM_MASK: u64 = 0x1f;
const IEC_INDEX_SHIFT: u32 = 32;

/// One invalidation descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Descriptor {
    ContextCache {
        granularity: CcGranularity,
        did: u16,
        sid: u16,
        fm: u8,
    },
    Iotlb {
        granularity: IotlbGranularity,
        drain_reads: bool,
        drain_writes: bool,
        did: u16,
        addr: u64,
        ih: bool,
        am: u8,
    },
    Wait {
        /// IF: raise the invalidation completion interrupt / set ICS.IWC.
        interrupt: bool,
        /// SW: write `status_data` to `status_addr`.
        status_write: bool,
        /// FN: later descriptors wait for this one.
        fence: bool,
        status_data: u32,
        status_addr: u64,
    },
    /// Interrupt entry cache: every entry (`None`), or the 2^`im` entries
    /// from `index`.
    InterruptEntryCache { index: Option<(u16, u8)> },
    /// A type this library does not build.
    Other { kind: u8, lo: u64, hi: u64 },
}

impl Descriptor {
    /// Encodes into `(lo, hi)`.
    pub fn encode(&self) -> (u64, u64) {
        let flag = |b: bool, bit: u64| if b { bit } else { 0 };
        match *self {
            Descriptor::ContextCache {
                granularity,
                did,
                sid,
                fm,
            } => (
                DESC_CONTEXT as u64
                    | (granularity.bits() << G_SHIFT)
                    | ((did as u64) << DID_SHIFT)
                    | ((sid as u64) << CC_SID_SHIFT)
                    | ((fm as u64 & 3) << CC_FM_SHIFT),
                0,
            ),
            Descriptor::Iotlb {
                granularity,
                drain_reads,
                drain_writes,
                did,
                addr,
                ih,
                am,
            } => (
                DESC_IOTLB as u64
                    | (granularity.bits() << G_SHIFT)
                    | flag(drain_writes, IOTLB_DW)
                    | flag(drain_reads, IOTLB_DR)
                    | ((did as u64) << DID_SHIFT),
                (addr & !0xfff) | flag(ih, IOTLB_HI_IH) | (am as u64 & IOTLB_HI_AM_MASK),
            ),
            Descriptor::Wait {
                interrupt,
                status_write,
                fence,
                status_data,
                status_addr,
            } => (
                DESC_WAIT as u64
                    | flag(interrupt, WAIT_IF)
                    | flag(status_write, WAIT_SW)
                    | flag(fence, WAIT_FN)
                    | ((status_data as u64) << WAIT_DATA_SHIFT),
                status_addr & WAIT_ADDR_MASK,
            ),
            Descriptor::InterruptEntryCache { index: None } => (DESC_IEC as u64, 0),
            Descriptor::InterruptEntryCache {
                index: Some((index, im)),
            } => (
                DESC_IEC as u64
                    | IEC_INDEX_SELECTIVE
                    | ((im as u64 & IEC_IM_MASK) << IEC_IM_SHIFT)
                    | ((index as u64) << IEC_INDEX_SHIFT),
                0,
            ),
            Descriptor::Other { lo, hi, .. } => (lo, hi),
        }
    }

    /// Decodes.
    pub fn decode(lo: u64, hi: u64) -> Descriptor {
        let kind = (lo & TYPE_MASK) as u8;
        match kind {
            DESC_CONTEXT => Descriptor::ContextCache {
                granularity: CcGranularity::from_bits(lo >> G_SHIFT),
                did: (lo >> DID_SHIFT) as u16,
                sid: (lo >> CC_SID_SHIFT) as u16,
                fm: ((lo >> CC_FM_SHIFT) & 3) as u8,
            },
            DESC_IOTLB => Descriptor::Iotlb {
                granularity: IotlbGranularity::from_bits(lo >> G_SHIFT),
                drain_reads: lo & IOTLB_DR != 0,
                drain_writes: lo & IOTLB_DW != 0,
                did: (lo >> DID_SHIFT) as u16,
                addr: hi & !0xfff,
                ih: hi & IOTLB_HI_IH != 0,
                am: (hi & IOTLB_HI_AM_MASK) as u8,
            },
            DESC_WAIT => Descriptor::Wait {
                interrupt: lo & WAIT_IF != 0,
                status_write: lo & WAIT_SW != 0,
                fence: lo & WAIT_FN != 0,
                status_data: (lo >> WAIT_DATA_SHIFT) as u32,
                status_addr: hi & WAIT_ADDR_MASK,
            },
            DESC_IEC => Descriptor::InterruptEntryCache {
                index: (lo & IEC_INDEX_SELECTIVE != 0).then_some((
                    (lo >> IEC_INDEX_SHIFT) as u16,
                    ((lo >> IEC_IM_SHIFT) & IEC_IM_MASK) as u8,
                )),
            },
            kind => Descriptor::Other { kind, lo, hi },
        }
    }
}
