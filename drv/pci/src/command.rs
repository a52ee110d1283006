//! The command register switches: bus mastering and decode.
//!
//! A device can only DMA with bus-master enable set, so the pci task sets it
//! for the driver that owns a device and clears it when the device goes to
//! quarantine. Only the 16-bit command register is written (never the
//! status register beside it, whose error bits are write-1-to-clear).

use crate::access::ConfigAccess;
use crate::addr::Bdf;
use crate::error::{at, PciError};
use crate::regs;

fn update<A: ConfigAccess + ?Sized>(
    a: &mut A,
    bdf: Bdf,
    bits: u16,
    on: bool,
) -> Result<u16, PciError> {
    let old = at(bdf, a.read16(bdf, regs::COMMAND))?;
    if old == u16::MAX {
        return Err(PciError::NoDevice(bdf));
    }
    let new = if on { old | bits } else { old & !bits };
    if new != old {
        at(bdf, a.write16(bdf, regs::COMMAND, new))?;
    }
    Ok(old)
}

/// Set or clear bus-master enable; returns the previous command register.
pub fn set_bus_master<A: ConfigAccess + ?Sized>(
    a: &mut A,
    bdf: Bdf,
    on: bool,
) -> Result<u16, PciError> {
    update(a, bdf, regs::COMMAND_BUS_MASTER, on)
}

/// Set or clear memory-space decode; returns the previous command register.
pub fn set_memory_space<A: ConfigAccess + ?Sized>(
    a: &mut A,
    bdf: Bdf,
    on: bool,
) -> Result<u16, PciError> {
    update(a, bdf, regs::COMMAND_MEMORY_SPACE, on)
}

/// Whether bus-master enable is set.
pub fn is_bus_master<A: ConfigAccess + ?Sized>(a: &A, bdf: Bdf) -> Result<bool, PciError> {
    let cmd = at(bdf, a.read16(bdf, regs::COMMAND))?;
    Ok(cmd != u16::MAX && cmd & regs::COMMAND_BUS_MASTER != 0)
}
