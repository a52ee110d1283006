//! CAP and ECAP: what a unit can do, decoded once into named fields.
//!
//! Decoding refuses what the library cannot drive (CAP.ND = 7, a SAGAW with
//! neither 39- nor 48-bit support) so that every later step can trust
//! `levels()` and `domain_count()`.

use crate::error::Error;

/// Page-table depth. VT-d AW field: 1 = 3-level (39-bit), 2 = 4-level (48-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Levels {
    Three,
    Four,
}

impl Levels {
    /// Number of levels.
    pub const fn count(self) -> u8 {
        match self {
            Levels::Three => 3,
            Levels::Four => 4,
        }
    }

    /// Input address width covered by the tables.
    pub const fn width(self) -> u8 {
        match self {
            Levels::Three => 39,
            Levels::Four => 48,
        }
    }

    /// The context entry's AW value for these tables.
    pub const fn aw(self) -> u8 {
        match self {
            Levels::Three => 1,
            Levels::Four => 2,
        }
    }

    /// Levels of a context entry's AW value.
    pub const fn from_aw(aw: u8) -> Option<Levels> {
        match aw {
            1 => Some(Levels::Three),
            2 => Some(Levels::Four),
            _ => None,
        }
    }

    /// The SAGAW bit announcing support for these tables.
    const fn sagaw_bit(self) -> u8 {
        1 << self.aw()
    }
}

const CAP_ND_MASK: u64 = 0x7;
const CAP_RWBF: u64 = 1 << 4;
const CAP_CM: u64 = 1 << 7;
const CAP_SAGAW_SHIFT: u32 = 8;
const CAP_SAGAW_MASK: u64 = 0x1f;
const CAP_MGAW_SHIFT: u32 = 16;
const CAP_MGAW_MASK: u64 = 0x3f;
const CAP_FRO_SHIFT: u32 = 24;
const CAP_FRO_MASK: u64 = 0x3ff;
const CAP_SP_2M: u64 = 1 << 34;
const CAP_SP_1G: u64 = 1 << 35;
const CAP_PSI: u64 = 1 << 39;
const CAP_NFR_SHIFT: u32 = 40;
const CAP_NFR_MASK: u64 = 0xff;
const CAP_MAMV_SHIFT: u32 = 48;
const CAP_MAMV_MASK: u64 = 0x3f;
const CAP_DWD: u64 = 1 << 54;
const CAP_DRD: u64 = 1 << 55;
/// CAP.ND value that the specification reserves.
const ND_RESERVED: u8 = 7;

/// The capability register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    /// Number-of-domains field: 2^(4+2·nd) domain IDs.
    pub nd: u8,
    /// Required write-buffer flushing.
    pub rwbf: bool,
    /// Caching mode: non-present entries may be cached (needs flush, DID 0
    /// reserved).
    pub cm: bool,
    /// Supported adjusted guest address widths (bit 1: 39-bit, bit 2: 48-bit).
    pub sagaw: u8,
    /// Maximum guest address width in bits (field + 1).
    pub mgaw: u8,
    /// Fault recording registers' offset in units of 16 bytes.
    pub fro: u16,
    /// 2 MiB second-level pages.
    pub sp_2m: bool,
    /// 1 GiB second-level pages.
    pub sp_1g: bool,
    /// Page-selective IOTLB invalidation.
    pub psi: bool,
    /// Number of fault recording registers (field + 1).
    pub nfr: u16,
    /// Maximum address mask value for page-selective invalidation.
    pub mamv: u8,
    /// Write draining.
    pub dwd: bool,
    /// Read draining.
    pub drd: bool,
}

impl Cap {
    /// Decodes the register, refusing ND = 7 and a SAGAW without 3- or
    /// 4-level support.
    pub fn decode(raw: u64) -> Result<Cap, Error> {
        let cap = Cap::decode_unchecked(raw);
        if cap.nd == ND_RESERVED {
            return Err(Error::ReservedDomainCount);
        }
        cap.levels()?;
        Ok(cap)
    }

    /// Decodes the fields without refusing anything (the model presents
    /// whatever CAP a test gives it, ND = 7 included).
    pub fn decode_unchecked(raw: u64) -> Cap {
        let field = |shift: u32, mask: u64| (raw >> shift) & mask;
        Cap {
            nd: (raw & CAP_ND_MASK) as u8,
            rwbf: raw & CAP_RWBF != 0,
            cm: raw & CAP_CM != 0,
            sagaw: field(CAP_SAGAW_SHIFT, CAP_SAGAW_MASK) as u8,
            mgaw: field(CAP_MGAW_SHIFT, CAP_MGAW_MASK) as u8 + 1,
            fro: field(CAP_FRO_SHIFT, CAP_FRO_MASK) as u16,
            sp_2m: raw & CAP_SP_2M != 0,
            sp_1g: raw & CAP_SP_1G != 0,
            psi: raw & CAP_PSI != 0,
            nfr: field(CAP_NFR_SHIFT, CAP_NFR_MASK) as u16 + 1,
            mamv: field(CAP_MAMV_SHIFT, CAP_MAMV_MASK) as u8,
            dwd: raw & CAP_DWD != 0,
            drd: raw & CAP_DRD != 0,
        }
    }

    /// Encodes the fields back into a register value (the model uses it to
    /// present a capability).
    pub fn encode(&self) -> u64 {
        let flag = |b: bool, bit: u64| if b { bit } else { 0 };
        (self.nd as u64 & CAP_ND_MASK)
            | flag(self.rwbf, CAP_RWBF)
            | flag(self.cm, CAP_CM)
            | ((self.sagaw as u64 & CAP_SAGAW_MASK) << CAP_SAGAW_SHIFT)
            | ((self.mgaw.saturating_sub(1) as u64 & CAP_MGAW_MASK) << CAP_MGAW_SHIFT)
            | ((self.fro as u64 & CAP_FRO_MASK) << CAP_FRO_SHIFT)
            | flag(self.sp_2m, CAP_SP_2M)
            | flag(self.sp_1g, CAP_SP_1G)
            | flag(self.psi, CAP_PSI)
            | ((self.nfr.saturating_sub(1) as u64 & CAP_NFR_MASK) << CAP_NFR_SHIFT)
            | ((self.mamv as u64 & CAP_MAMV_MASK) << CAP_MAMV_SHIFT)
            | flag(self.dwd, CAP_DWD)
            | flag(self.drd, CAP_DRD)
    }

    /// The deepest table layout the unit supports (Xen 474fc7d3c6: the
    /// highest supported of SAGAW bits 1..2).
    pub fn levels(&self) -> Result<Levels, Error> {
        if self.supports(Levels::Four) {
            Ok(Levels::Four)
        } else if self.supports(Levels::Three) {
            Ok(Levels::Three)
        } else {
            Err(Error::NoSupportedLevels { sagaw: self.sagaw })
        }
    }

    /// Whether SAGAW announces `levels`.
    pub fn supports(&self, levels: Levels) -> bool {
        self.sagaw & levels.sagaw_bit() != 0
    }

    /// Number of domain IDs: 2^(4+2·ND). ND = 7 is refused.
    pub fn domain_count(&self) -> Result<u32, Error> {
        if self.nd >= ND_RESERVED {
            return Err(Error::ReservedDomainCount);
        }
        Ok(1u32 << (4 + 2 * self.nd as u32))
    }

    /// Byte offset of the first fault recording register.
    pub fn fault_record_offset(&self) -> usize {
        self.fro as usize * crate::regs::FRCD_SIZE
    }
}

const ECAP_C: u64 = 1 << 0;
const ECAP_QI: u64 = 1 << 1;
const ECAP_DT: u64 = 1 << 2;
const ECAP_IR: u64 = 1 << 3;
const ECAP_EIM: u64 = 1 << 4;
const ECAP_PT: u64 = 1 << 6;
const ECAP_SC: u64 = 1 << 7;
const ECAP_IRO_SHIFT: u32 = 8;
const ECAP_IRO_MASK: u64 = 0x3ff;

/// The extended capability register (only the legacy-mode fields the library
/// uses; the rest are kept in `other` so encode round-trips).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ecap {
    /// Page walks snoop CPU caches (no flush of table writes needed).
    pub coherent: bool,
    /// Queued invalidation.
    pub qi: bool,
    /// Device-IOTLB (ATS) translation type.
    pub dt: bool,
    /// Interrupt remapping.
    pub ir: bool,
    /// Extended interrupt mode.
    pub eim: bool,
    /// Pass-through translation type.
    pub pt: bool,
    /// Snoop control.
    pub sc: bool,
    /// IOTLB registers' offset in units of 16 bytes.
    pub iro: u16,
    /// Every other bit, untouched.
    pub other: u64,
}

impl Ecap {
    const KNOWN: u64 = ECAP_C
        | ECAP_QI
        | ECAP_DT
        | ECAP_IR
        | ECAP_EIM
        | ECAP_PT
        | ECAP_SC
        | (ECAP_IRO_MASK << ECAP_IRO_SHIFT);

    /// Decodes the register.
    pub fn decode(raw: u64) -> Ecap {
        Ecap {
            coherent: raw & ECAP_C != 0,
            qi: raw & ECAP_QI != 0,
            dt: raw & ECAP_DT != 0,
            ir: raw & ECAP_IR != 0,
            eim: raw & ECAP_EIM != 0,
            pt: raw & ECAP_PT != 0,
            sc: raw & ECAP_SC != 0,
            iro: ((raw >> ECAP_IRO_SHIFT) & ECAP_IRO_MASK) as u16,
            other: raw & !Self::KNOWN,
        }
    }

    /// Encodes the register.
    pub fn encode(&self) -> u64 {
        let flag = |b: bool, bit: u64| if b { bit } else { 0 };
        flag(self.coherent, ECAP_C)
            | flag(self.qi, ECAP_QI)
            | flag(self.dt, ECAP_DT)
            | flag(self.ir, ECAP_IR)
            | flag(self.eim, ECAP_EIM)
            | flag(self.pt, ECAP_PT)
            | flag(self.sc, ECAP_SC)
            | ((self.iro as u64 & ECAP_IRO_MASK) << ECAP_IRO_SHIFT)
            | (self.other & !Self::KNOWN)
    }

    /// Offset of the invalidate-address register (IVA).
    pub fn iva_offset(&self) -> usize {
        self.iro as usize * 16
    }

    /// Offset of the IOTLB invalidate register.
    pub fn iotlb_offset(&self) -> usize {
        self.iro as usize * 16 + 8
    }
}
