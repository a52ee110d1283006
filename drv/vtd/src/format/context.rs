//! Context entry (legacy mode): one per requester ID, giving the domain ID,
//! translation type and second-level table root a device's DMA uses.
//!
//! Bits the type does not name are kept in `lo_other`/`hi_other`, so an
//! entry computed "from the old one" (as Xen does) keeps them.

use super::ADDR_MASK;

const LO_P: u64 = 1 << 0;
const LO_FPD: u64 = 1 << 1;
const LO_TT_SHIFT: u32 = 2;
const LO_TT_MASK: u64 = 0x3;
const HI_AW_MASK: u64 = 0x7;
const HI_DID_SHIFT: u32 = 8;
const HI_DID_MASK: u64 = 0xffff;

/// The context entry's translation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TranslationType {
    /// Untranslated requests go through the second-level tables.
    MultiLevel,
    /// As multi-level, and ATS translation requests are allowed.
    DeviceIotlb,
    /// Untranslated requests pass through untranslated (needs ECAP.PT).
    PassThrough,
    /// Encoding 3, reserved.
    Reserved,
}

impl TranslationType {
    const fn bits(self) -> u64 {
        match self {
            TranslationType::MultiLevel => 0,
            TranslationType::DeviceIotlb => 1,
            TranslationType::PassThrough => 2,
            TranslationType::Reserved => 3,
        }
    }

    const fn from_bits(bits: u64) -> TranslationType {
        match bits & LO_TT_MASK {
            0 => TranslationType::MultiLevel,
            1 => TranslationType::DeviceIotlb,
            2 => TranslationType::PassThrough,
            _ => TranslationType::Reserved,
        }
    }
}

/// A 128-bit context entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContextEntry {
    pub present: bool,
    /// Fault processing disable.
    pub fpd: bool,
    pub tt: TranslationType,
    /// Second-level page-table root.
    pub slptptr: u64,
    /// Address width field (1 = 3-level, 2 = 4-level).
    pub aw: u8,
    pub did: u16,
    /// Unnamed bits of the low half.
    pub lo_other: u64,
    /// Unnamed bits of the high half.
    pub hi_other: u64,
}

impl ContextEntry {
    const LO_KNOWN: u64 = LO_P | LO_FPD | (LO_TT_MASK << LO_TT_SHIFT) | ADDR_MASK;
    const HI_KNOWN: u64 = HI_AW_MASK | (HI_DID_MASK << HI_DID_SHIFT);

    /// The all-zero (non-present) entry.
    pub const fn empty() -> ContextEntry {
        ContextEntry {
            present: false,
            fpd: false,
            tt: TranslationType::MultiLevel,
            slptptr: 0,
            aw: 0,
            did: 0,
            lo_other: 0,
            hi_other: 0,
        }
    }

    /// Decodes the two halves.
    pub fn decode(lo: u64, hi: u64) -> ContextEntry {
        ContextEntry {
            present: lo & LO_P != 0,
            fpd: lo & LO_FPD != 0,
            tt: TranslationType::from_bits(lo >> LO_TT_SHIFT),
            slptptr: lo & ADDR_MASK,
            aw: (hi & HI_AW_MASK) as u8,
            did: ((hi >> HI_DID_SHIFT) & HI_DID_MASK) as u16,
            lo_other: lo & !Self::LO_KNOWN,
            hi_other: hi & !Self::HI_KNOWN,
        }
    }

    /// Encodes into `(lo, hi)`.
    pub fn encode(&self) -> (u64, u64) {
        let lo = (self.lo_other & !Self::LO_KNOWN)
            | if self.present { LO_P } else { 0 }
            | if self.fpd { LO_FPD } else { 0 }
            | (self.tt.bits() << LO_TT_SHIFT)
            | (self.slptptr & ADDR_MASK);
        let hi = (self.hi_other & !Self::HI_KNOWN)
            | (self.aw as u64 & HI_AW_MASK)
            | ((self.did as u64) << HI_DID_SHIFT);
        (lo, hi)
    }

    /// Decodes a 128-bit value (low half in the low 64 bits, as in memory).
    pub fn from_u128(v: u128) -> ContextEntry {
        ContextEntry::decode(v as u64, (v >> 64) as u64)
    }

    /// The 128-bit value.
    pub fn to_u128(&self) -> u128 {
        let (lo, hi) = self.encode();
        (lo as u128) | ((hi as u128) << 64)
    }
}

impl Default for ContextEntry {
    fn default() -> Self {
        ContextEntry::empty()
    }
}
