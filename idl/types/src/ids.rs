//! Identities that cross IPC: devices, domains, hardware domain IDs, units,
//! tasks.
//!
//! A *domain* (`DomainId`) is a software protection domain named by app.toml;
//! a *DID* (`Did`) is the number the IOMMU hardware tags its caches with, one
//! per (unit, domain) pair, handed out by the domid task. Keeping them as
//! distinct types stops one being passed for the other.

use serde::{Deserialize, Serialize};

use crate::max_len::MaxEncodedLen;
use crate::wire::Fixed;

wire_struct! {
    /// A PCI function address on segment 0: what VT-d calls a requester ID.
    #[derive(Copy, Hash, PartialOrd, Ord)]
    #[derive(Fixed)]
    #[fixed(size = 3)]
    pub struct Bdf {
        /// Bus number.
        pub bus: u8,
        /// Device number, 0..=31.
        pub device: u8,
        /// Function number, 0..=7.
        pub function: u8,
    }
}

impl Bdf {
    /// The 16-bit requester ID (`bus << 8 | device << 3 | function`), or
    /// `None` if device or function is out of range.
    pub const fn requester_id(&self) -> Option<u16> {
        if self.device > 31 || self.function > 7 {
            return None;
        }
        Some(((self.bus as u16) << 8) | ((self.device as u16) << 3) | self.function as u16)
    }

    /// The function a requester ID names.
    pub const fn from_requester_id(rid: u16) -> Bdf {
        Bdf {
            bus: (rid >> 8) as u8,
            device: ((rid >> 3) & 0x1f) as u8,
            function: (rid & 0x7) as u8,
        }
    }
}

impl core::fmt::Display for Bdf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

macro_rules! newtype_id {
    ($(#[$meta:meta])* $name:ident($inner:ty), $fmt:literal) => {
        $(#[$meta])*
        #[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(Fixed)]
        #[fixed(size = core::mem::size_of::<$inner>())]
        pub struct $name(pub $inner);

        impl MaxEncodedLen for $name {
            const MAX_ENCODED_LEN: usize = <$inner as MaxEncodedLen>::MAX_ENCODED_LEN;
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, $fmt, self.0)
            }
        }
    };
}

newtype_id!(
    /// A software protection domain, as app.toml names it.
    DomainId(u16),
    "domain {}"
);
newtype_id!(
    /// A hardware domain ID, meaningful only on one IOMMU unit.
    Did(u16),
    "DID {}"
);
newtype_id!(
    /// An IOMMU (DRHD) unit, by its index in the DMAR table.
    UnitId(u8),
    "unit {}"
);
newtype_id!(
    /// A task's index in the image (the part of a TaskId that survives
    /// restarts).
    TaskIndex(u16),
    "task {}"
);
