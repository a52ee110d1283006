//! Command registers: GCMD/GSTS bits, CCMD (register context-cache
//! invalidation), the IOTLB invalidate register and IVA.

/// A GCMD command bit and its GSTS status bit (same position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GstsBit {
    /// Translation enable.
    Te,
    /// Set root table pointer (one-shot).
    Rtps,
    /// Set fault log (one-shot).
    Fls,
    /// Write buffer flush (one-shot; status clears when done).
    Wbfs,
    /// Queued invalidation enable.
    Qies,
    /// Interrupt remapping enable.
    Ires,
    /// Set interrupt remap table pointer (one-shot).
    Irtps,
    /// Compatibility format interrupt.
    Cfis,
}

impl GstsBit {
    /// The bit's mask in GCMD and GSTS.
    pub const fn mask(self) -> u32 {
        1 << match self {
            GstsBit::Te => 31,
            GstsBit::Rtps => 30,
            GstsBit::Fls => 29,
            GstsBit::Wbfs => 27,
            GstsBit::Qies => 26,
            GstsBit::Ires => 25,
            GstsBit::Irtps => 24,
            GstsBit::Cfis => 23,
        }
    }

    /// The GSTS name.
    pub const fn name(self) -> &'static str {
        match self {
            GstsBit::Te => "TES",
            GstsBit::Rtps => "RTPS",
            GstsBit::Fls => "FLS",
            GstsBit::Wbfs => "WBFS",
            GstsBit::Qies => "QIES",
            GstsBit::Ires => "IRES",
            GstsBit::Irtps => "IRTPS",
            GstsBit::Cfis => "CFIS",
        }
    }
}

/// GCMD bits that act once per write: a new GCMD value computed from GSTS
/// must leave them out, or the command repeats.
pub const GCMD_ONE_SHOT: u32 =
    GstsBit::Rtps.mask() | GstsBit::Fls.mask() | GstsBit::Wbfs.mask() | GstsBit::Irtps.mask();

/// Context-cache invalidation granularity (CCMD.CIRG/CAIG, descriptor G).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CcGranularity {
    Global,
    Domain,
    Device,
    /// Encoding 0 (reserved as a request; "not done" as an answer).
    None,
}

impl CcGranularity {
    pub(crate) const fn bits(self) -> u64 {
        match self {
            CcGranularity::None => 0,
            CcGranularity::Global => 1,
            CcGranularity::Domain => 2,
            CcGranularity::Device => 3,
        }
    }

    pub(crate) const fn from_bits(bits: u64) -> CcGranularity {
        match bits & 3 {
            1 => CcGranularity::Global,
            2 => CcGranularity::Domain,
            3 => CcGranularity::Device,
            _ => CcGranularity::None,
        }
    }
}

/// IOTLB invalidation granularity (IOTLB.IIRG/IAIG, descriptor G).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IotlbGranularity {
    Global,
    Domain,
    Page,
    /// Encoding 0 (reserved as a request; "not done" as an answer).
    None,
}

impl IotlbGranularity {
    pub(crate) const fn bits(self) -> u64 {
        match self {
            IotlbGranularity::None => 0,
            IotlbGranularity::Global => 1,
            IotlbGranularity::Domain => 2,
            IotlbGranularity::Page => 3,
        }
    }

    pub(crate) const fn from_bits(bits: u64) -> IotlbGranularity {
        match bits & 3 {
            1 => IotlbGranularity::Global,
            2 => IotlbGranularity::Domain,
            3 => IotlbGranularity::Page,
            _ => IotlbGranularity::None,
        }
    }
}

const CCMD_ICC: u64 = 1 << 63;
const CCMD_CIRG_SHIFT: u32 = 61;
const CCMD_CAIG_SHIFT: u32 = 59;
const CCMD_FM_SHIFT: u32 = 32;
const CCMD_SID_SHIFT: u32 = 16;

/// The context command register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ccmd {
    /// Invalidate context cache: set to start, cleared by hardware when done.
    pub icc: bool,
    /// Requested granularity (CIRG).
    pub request: CcGranularity,
    /// Actual granularity (CAIG), written by hardware.
    pub actual: CcGranularity,
    /// Function mask (device-selective).
    pub fm: u8,
    pub sid: u16,
    pub did: u16,
}

impl Ccmd {
    /// Decodes.
    pub fn decode(raw: u64) -> Ccmd {
        Ccmd {
            icc: raw & CCMD_ICC != 0,
            request: CcGranularity::from_bits(raw >> CCMD_CIRG_SHIFT),
            actual: CcGranularity::from_bits(raw >> CCMD_CAIG_SHIFT),
            fm: ((raw >> CCMD_FM_SHIFT) & 3) as u8,
            sid: (raw >> CCMD_SID_SHIFT) as u16,
            did: raw as u16,
        }
    }

    /// Encodes.
    pub fn encode(&self) -> u64 {
        (if self.icc { CCMD_ICC } else { 0 })
            | (self.request.bits() << CCMD_CIRG_SHIFT)
            | (self.actual.bits() << CCMD_CAIG_SHIFT)
            | ((self.fm as u64 & 3) << CCMD_FM_SHIFT)
            | ((self.sid as u64) << CCMD_SID_SHIFT)
            | self.did as u64
    }
}

const IOTLB_IVT: u64 = 1 << 63;
const IOTLB_IIRG_SHIFT: u32 = 60;
const IOTLB_IAIG_SHIFT: u32 = 57;
const IOTLB_DR: u64 = 1 << 49;
const IOTLB_DW: u64 = 1 << 48;
const IOTLB_DID_SHIFT: u32 = 32;

/// The IOTLB invalidate register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IotlbCmd {
    /// Invalidate IOTLB: set to start, cleared by hardware when done.
    pub ivt: bool,
    /// Requested granularity (IIRG).
    pub request: IotlbGranularity,
    /// Actual granularity (IAIG); `None` means the request failed.
    pub actual: IotlbGranularity,
    /// Drain reads.
    pub dr: bool,
    /// Drain writes.
    pub dw: bool,
    pub did: u16,
}

impl IotlbCmd {
    /// Decodes.
    pub fn decode(raw: u64) -> IotlbCmd {
        IotlbCmd {
            ivt: raw & IOTLB_IVT != 0,
            request: IotlbGranularity::from_bits(raw >> IOTLB_IIRG_SHIFT),
            actual: IotlbGranularity::from_bits(raw >> IOTLB_IAIG_SHIFT),
            dr: raw & IOTLB_DR != 0,
            dw: raw & IOTLB_DW != 0,
            did: (raw >> IOTLB_DID_SHIFT) as u16,
        }
    }

    /// Encodes.
    pub fn encode(&self) -> u64 {
        let flag = |b: bool, bit: u64| if b { bit } else { 0 };
        flag(self.ivt, IOTLB_IVT)
            | (self.request.bits() << IOTLB_IIRG_SHIFT)
            | (self.actual.bits() << IOTLB_IAIG_SHIFT)
            | flag(self.dr, IOTLB_DR)
            | flag(self.dw, IOTLB_DW)
            | ((self.did as u64) << IOTLB_DID_SHIFT)
    }
}

const IVA_IH: u64 = 1 << 6;
const IVA_AM_MASK: u64 = 0x3f;

/// The invalidate address register (page-selective IOTLB invalidation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iva {
    /// Page address (aligned to 2^am pages).
    pub addr: u64,
    /// Invalidation hint: leaf entries only changed.
    pub ih: bool,
    /// Address mask: 2^am pages.
    pub am: u8,
}

impl Iva {
    /// Decodes.
    pub fn decode(raw: u64) -> Iva {
        Iva {
            addr: raw & !0xfff,
            ih: raw & IVA_IH != 0,
            am: (raw & IVA_AM_MASK) as u8,
        }
    }

    /// Encodes.
    pub fn encode(&self) -> u64 {
        (self.addr & !0xfff) | if self.ih { IVA_IH } else { 0 } | (self.am as u64 & IVA_AM_MASK)
    }
}
