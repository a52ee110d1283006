//! The common config header: identity, class code, header layout.
//!
//! Read once per function into a [`Header`]; a vendor ID of 0xFFFF means no
//! function answers there (the read of an absent function returns all ones).

use crate::access::ConfigAccess;
use crate::addr::Bdf;
use crate::error::{at, PciError};
use crate::regs;

/// Base class, subclass and programming interface.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClassCode {
    pub base: u8,
    pub sub: u8,
    pub prog_if: u8,
}

impl ClassCode {
    /// From the 24-bit value `base << 16 | sub << 8 | prog_if`.
    pub const fn from_u24(v: u32) -> Self {
        ClassCode {
            base: (v >> 16) as u8,
            sub: (v >> 8) as u8,
            prog_if: v as u8,
        }
    }

    pub const fn is_host_bridge(&self) -> bool {
        self.base == regs::CLASS_BRIDGE && self.sub == regs::SUBCLASS_HOST_BRIDGE
    }

    pub const fn is_pci_bridge(&self) -> bool {
        self.base == regs::CLASS_BRIDGE && self.sub == regs::SUBCLASS_PCI_BRIDGE
    }
}

/// Layout of the rest of the header.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    /// Type 0: an endpoint, six BARs.
    Endpoint,
    /// Type 1: a PCI-to-PCI bridge, two BARs and bus numbers.
    Bridge,
    /// Type 2: CardBus.
    CardBus,
    /// A reserved header type value.
    Other(u8),
}

impl HeaderKind {
    pub const fn from_raw(raw: u8) -> Self {
        match raw & regs::HEADER_TYPE_MASK {
            0 => HeaderKind::Endpoint,
            1 => HeaderKind::Bridge,
            2 => HeaderKind::CardBus,
            other => HeaderKind::Other(other),
        }
    }

    /// How many BARs this layout has.
    pub const fn bars(&self) -> u8 {
        match self {
            HeaderKind::Endpoint => regs::BARS_TYPE0,
            HeaderKind::Bridge => regs::BARS_TYPE1,
            _ => 0,
        }
    }
}

/// The identity of one function.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    pub vendor: u16,
    pub device: u16,
    pub revision: u8,
    pub class: ClassCode,
    pub kind: HeaderKind,
    /// Function 0 says the device has functions 1..7 worth scanning.
    pub multifunction: bool,
}

impl Header {
    /// The header at `bdf`, or `None` if no function answers.
    pub fn read<A: ConfigAccess + ?Sized>(a: &A, bdf: Bdf) -> Result<Option<Header>, PciError> {
        let vendor = at(bdf, a.read16(bdf, regs::VENDOR_ID))?;
        if vendor == regs::VENDOR_NONE {
            return Ok(None);
        }
        let device = at(bdf, a.read16(bdf, regs::DEVICE_ID))?;
        let class_rev = at(bdf, a.read32(bdf, regs::REVISION_ID))?;
        let header_type = at(bdf, a.read8(bdf, regs::HEADER_TYPE))?;
        Ok(Some(Header {
            vendor,
            device,
            revision: class_rev as u8,
            class: ClassCode::from_u24(class_rev >> 8),
            kind: HeaderKind::from_raw(header_type),
            multifunction: header_type & regs::HEADER_MULTIFUNCTION != 0,
        }))
    }

    /// `device << 16 | vendor`, the dword at offset 0 (how quirk tables
    /// list devices).
    pub const fn id(&self) -> u32 {
        ((self.device as u32) << 16) | self.vendor as u32
    }
}
