//! The address of a PCI function: segment, bus, device, function.
//!
//! A requester ID (the source ID VT-d sees) is the 16-bit `bus:devfn`
//! within a segment; `Bdf` carries the segment too so one type addresses
//! config space and names a DMA source.

use core::fmt;

use crate::error::PciError;

/// Devices per bus.
pub const DEVICES_PER_BUS: u8 = 32;
/// Functions per device.
pub const FUNCTIONS_PER_DEVICE: u8 = 8;

/// A PCI function's address; the fields are kept in range by construction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bdf {
    seg: u16,
    bus: u8,
    dev: u8,
    func: u8,
}

impl Bdf {
    /// `seg:bus:dev.func`; refuses `dev >= 32` or `func >= 8`.
    pub const fn new(seg: u16, bus: u8, dev: u8, func: u8) -> Result<Self, PciError> {
        if dev >= DEVICES_PER_BUS || func >= FUNCTIONS_PER_DEVICE {
            Err(PciError::BadAddress { bus, dev, func })
        } else {
            Ok(Bdf {
                seg,
                bus,
                dev,
                func,
            })
        }
    }

    /// The function with requester ID `rid` in segment `seg`.
    pub const fn from_rid(seg: u16, rid: u16) -> Self {
        Bdf {
            seg,
            bus: (rid >> 8) as u8,
            dev: ((rid >> 3) & 0x1f) as u8,
            func: (rid & 0x7) as u8,
        }
    }

    /// The same device's function `func` (masked to 3 bits).
    pub const fn with_func(self, func: u8) -> Self {
        Bdf {
            func: func & 0x7,
            ..self
        }
    }

    pub const fn seg(&self) -> u16 {
        self.seg
    }

    pub const fn bus(&self) -> u8 {
        self.bus
    }

    pub const fn dev(&self) -> u8 {
        self.dev
    }

    pub const fn func(&self) -> u8 {
        self.func
    }

    /// `dev << 3 | func`.
    pub const fn devfn(&self) -> u8 {
        (self.dev << 3) | self.func
    }

    /// The requester (source) ID: `bus << 8 | devfn`.
    pub const fn rid(&self) -> u16 {
        ((self.bus as u16) << 8) | self.devfn() as u16
    }
}

impl fmt::Display for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{}",
            self.seg, self.bus, self.dev, self.func
        )
    }
}
