//! Xen's mode flags for a context-entry replacement: they choose the
//! no-CX16 fallback and whether it warns.

use core::ops::BitOr;

/// Flags describing the device being (re)assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct MapMode(u8);

impl MapMode {
    /// No flag.
    pub const NONE: MapMode = MapMode(0);
    /// The device has an RMRR: it may DMA at any time, so the entry must
    /// never pass through non-present.
    pub const WITH_RMRR: MapMode = MapMode(1 << 0);
    /// The previous owner is dying: diverting its DMA is intended anyway.
    pub const OWNER_DYING: MapMode = MapMode(1 << 1);
    /// No other device of the previous owner is behind this unit (and no
    /// phantom functions): the old DID serves no one else.
    pub const SINGLE_DEVICE: MapMode = MapMode(1 << 2);

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: MapMode) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    pub const fn intersects(self, other: MapMode) -> bool {
        self.0 & other.0 != 0
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Flags from raw bits; unknown bits are dropped.
    pub const fn from_bits_truncate(bits: u8) -> MapMode {
        MapMode(bits & 0x7)
    }
}

impl BitOr for MapMode {
    type Output = MapMode;
    fn bitor(self, rhs: MapMode) -> MapMode {
        MapMode(self.0 | rhs.0)
    }
}
