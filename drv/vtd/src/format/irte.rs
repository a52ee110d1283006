//! Interrupt-remapping table entries (128-bit, remapped format, xAPIC
//! destination) and what a message written to the MSI window asks for
//! (pci's `MsiMessage::remappable` writes the remappable format).
//!
//! Low 64 bits: P (0), FPD (1), DM (2), RH (3), TM (4), DLM (7:5), AVAIL
//! (11:8), vector (23:16), destination (63:32; with the xAPIC the APIC ID
//! sits in bits 47:40). High 64 bits: SID (79:64), SQ (81:80), SVT (83:82).

use crate::rid::Rid;

const P: u64 = 1 << 0;
const FPD: u64 = 1 << 1;
const VECTOR_SHIFT: u32 = 16;
const VECTOR_MASK: u64 = 0xff;
/// xAPIC destination ID: bits 47:40 of the entry.
const XAPIC_DEST_SHIFT: u32 = 40;
const XAPIC_DEST_MASK: u64 = 0xff;
/// Bits of the low word this library writes or reads; a present entry with
/// anything else set (x2APIC destination bits, posted format, delivery
/// modes other than fixed) is not one of ours.
const LO_KNOWN: u64 =
    P | FPD | (VECTOR_MASK << VECTOR_SHIFT) | (XAPIC_DEST_MASK << XAPIC_DEST_SHIFT);
const SID_MASK: u64 = 0xffff;
const SQ_SHIFT: u32 = 16;
const SVT_SHIFT: u32 = 18;
const SVT_MASK: u64 = 0b11;
/// SVT: verify the requester ID against SID (with SQ).
const SVT_EXACT: u64 = 0b01;
/// SVT: verify the requester's bus against SID's range [15:8]..=[7:0].
const SVT_BUS_RANGE: u64 = 0b10;
/// Bits of the high word this library writes or reads.
const HI_KNOWN: u64 = SID_MASK | (0b11 << SQ_SHIFT) | (SVT_MASK << SVT_SHIFT);

/// Which requesters may use an entry (the hardware's source-ID check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceCheck {
    /// No check.
    None,
    /// Exactly this requester ID (SVT = 01, SQ = 0).
    Exact(Rid),
    /// A requester on a bus in `first..=last` (SVT = 10): a device behind a
    /// PCIe-to-PCI bridge, whose messages may carry the bridge's alias.
    BusRange { first: u8, last: u8 },
}

impl SourceCheck {
    /// Whether a message from requester `sid` passes the check.
    pub fn admits(&self, sid: u16) -> bool {
        match *self {
            SourceCheck::None => true,
            SourceCheck::Exact(rid) => rid.sid() == sid,
            SourceCheck::BusRange { first, last } => (first..=last).contains(&((sid >> 8) as u8)),
        }
    }

    fn encode(&self) -> u64 {
        match *self {
            SourceCheck::None => 0,
            SourceCheck::Exact(rid) => u64::from(rid.sid()) | (SVT_EXACT << SVT_SHIFT),
            SourceCheck::BusRange { first, last } => {
                ((u64::from(first) << 8) | u64::from(last)) | (SVT_BUS_RANGE << SVT_SHIFT)
            }
        }
    }

    fn decode(hi: u64) -> SourceCheck {
        let sid = (hi & SID_MASK) as u16;
        match (hi >> SVT_SHIFT) & SVT_MASK {
            SVT_EXACT => SourceCheck::Exact(Rid::from_sid(sid)),
            SVT_BUS_RANGE => SourceCheck::BusRange {
                first: (sid >> 8) as u8,
                last: sid as u8,
            },
            _ => SourceCheck::None,
        }
    }
}

/// One interrupt-remapping table entry, as the 128-bit value in memory
/// (low 64 bits are the word at the entry's address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Irte(pub u128);

impl Irte {
    /// Not present: messages naming it are blocked (and fault).
    pub const NOT_PRESENT: Irte = Irte(0);

    /// A present entry delivering `vector` to xAPIC `destination` (fixed
    /// delivery, physical destination, edge), for requesters `source`
    /// admits, faults recorded.
    pub fn remapped(vector: u8, destination: u8, source: SourceCheck) -> Irte {
        let lo =
            P | (u64::from(vector) << VECTOR_SHIFT) | (u64::from(destination) << XAPIC_DEST_SHIFT);
        Irte::from_words(lo, source.encode())
    }

    /// The entry from its two 64-bit words.
    pub const fn from_words(lo: u64, hi: u64) -> Irte {
        Irte(((hi as u128) << 64) | lo as u128)
    }

    /// The low word (at the entry's address).
    pub const fn lo(&self) -> u64 {
        self.0 as u64
    }

    /// The high word.
    pub const fn hi(&self) -> u64 {
        (self.0 >> 64) as u64
    }

    /// The present bit.
    pub const fn present(&self) -> bool {
        self.lo() & P != 0
    }

    /// The vector it delivers.
    pub const fn vector(&self) -> u8 {
        ((self.lo() >> VECTOR_SHIFT) & VECTOR_MASK) as u8
    }

    /// The xAPIC ID it delivers to.
    pub const fn destination(&self) -> u8 {
        ((self.lo() >> XAPIC_DEST_SHIFT) & XAPIC_DEST_MASK) as u8
    }

    /// Its source-ID check.
    pub fn source(&self) -> SourceCheck {
        SourceCheck::decode(self.hi())
    }

    /// The same entry, not present (every other field kept).
    pub const fn blocked(&self) -> Irte {
        Irte(self.0 & !(P as u128))
    }

    /// Whether a present entry uses only what this library writes (a
    /// unit checks the rest: other delivery modes, posted format, x2APIC
    /// destinations).
    pub const fn only_known_fields(&self) -> bool {
        self.lo() & !LO_KNOWN == 0 && self.hi() & !HI_KNOWN == 0
    }
}

/// Address bit 4: the interrupt format (1: remappable).
const MSI_REMAPPABLE: u32 = 1 << 4;
/// Address bit 3: SHV, the data holds a sub-handle.
const MSI_SHV: u32 = 1 << 3;
const HANDLE_LOW_SHIFT: u32 = 5;
const HANDLE_LOW_MASK: u32 = 0x7fff;
const HANDLE_BIT15_SHIFT: u32 = 2;

/// What a message written to the MSI window asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsiRequest {
    /// Compatibility format: `vector` to xAPIC `destination` directly.
    Compatibility { vector: u8, destination: u8 },
    /// Remappable format: entry `index` (handle plus sub-handle).
    Remappable { index: u32 },
}

/// Decodes a message written to the MSI window.
pub const fn decode_msi(address: u32, data: u32) -> MsiRequest {
    if address & MSI_REMAPPABLE == 0 {
        return MsiRequest::Compatibility {
            vector: data as u8,
            destination: (address >> 12) as u8,
        };
    }
    let mut index = ((address >> HANDLE_LOW_SHIFT) & HANDLE_LOW_MASK)
        | (((address >> HANDLE_BIT15_SHIFT) & 1) << 15);
    if address & MSI_SHV != 0 {
        index += data & 0xffff;
    }
    MsiRequest::Remappable { index }
}
