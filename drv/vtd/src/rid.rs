//! A PCI requester ID (bus, device, function), the key of context entries
//! and the source ID of faults and invalidations.

use core::fmt;

/// Requester ID: bus and devfn (device << 3 | function).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rid {
    pub bus: u8,
    pub devfn: u8,
}

impl Rid {
    /// Builds a RID from bus, device (0..32) and function (0..8); extra bits
    /// of `dev` and `func` are dropped.
    pub const fn new(bus: u8, dev: u8, func: u8) -> Rid {
        Rid {
            bus,
            devfn: ((dev & 0x1f) << 3) | (func & 7),
        }
    }

    /// The 16-bit source ID (bus << 8 | devfn).
    pub const fn sid(self) -> u16 {
        ((self.bus as u16) << 8) | self.devfn as u16
    }

    /// The RID of a 16-bit source ID.
    pub const fn from_sid(sid: u16) -> Rid {
        Rid {
            bus: (sid >> 8) as u8,
            devfn: sid as u8,
        }
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}:{:02x}.{}",
            self.bus,
            self.devfn >> 3,
            self.devfn & 7
        )
    }
}
