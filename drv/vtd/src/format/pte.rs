//! Second-level page-table entry, the same format at every level: a pointer
//! to the next table, or (at level 1, or with PS at levels 2 and 3) a leaf.

use super::ADDR_MASK;

const R: u64 = 1 << 0;
const W: u64 = 1 << 1;
const PS: u64 = 1 << 7;
const SNP: u64 = 1 << 11;

/// A 64-bit second-level PTE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlPte {
    pub read: bool,
    pub write: bool,
    /// Leaf at level 2 (2 MiB) or 3 (1 GiB).
    pub superpage: bool,
    /// Snoop behaviour (needs ECAP.SC).
    pub snoop: bool,
    /// Next-level table or page frame.
    pub addr: u64,
}

impl SlPte {
    /// An entry is present when it grants any access.
    pub const fn present(&self) -> bool {
        self.read || self.write
    }

    /// Decodes.
    pub fn decode(raw: u64) -> SlPte {
        SlPte {
            read: raw & R != 0,
            write: raw & W != 0,
            superpage: raw & PS != 0,
            snoop: raw & SNP != 0,
            addr: raw & ADDR_MASK,
        }
    }

    /// Encodes.
    pub fn encode(&self) -> u64 {
        let flag = |b: bool, bit: u64| if b { bit } else { 0 };
        flag(self.read, R)
            | flag(self.write, W)
            | flag(self.superpage, PS)
            | flag(self.snoop, SNP)
            | (self.addr & ADDR_MASK)
    }

    /// A pointer to a next-level table; access is the AND of every level, so
    /// pointers grant both.
    pub fn table(addr: u64) -> SlPte {
        SlPte {
            read: true,
            write: true,
            superpage: false,
            snoop: false,
            addr,
        }
    }
}
