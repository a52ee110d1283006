//! Which config-space writes a device's owner may make.
//!
//! An owner drives its device, but some registers decide more than the
//! device's own behaviour: the BARs and the command register's decode bits
//! say which physical addresses the device claims (another device's, or
//! RAM), the MSI and MSI-X capabilities where its interrupts go (MSI writes
//! are not translated by DMA remapping), a bridge's bus numbers whose
//! requester IDs the devices below carry, its windows what it forwards.
//! The pci task keeps those; [`check_owner_write`] names the first one a
//! write reaches. Bus mastering is turned on through `enable_bus_master`,
//! not a command write, so the broker's view of it stays the pci task's.
//!
//! The layout comes from the header kind enumeration recorded (a device
//! cannot change it later by presenting another header type), and the
//! capability list is walked at each write (a list that cannot be walked
//! protects everything past the header).

use core::fmt;
use core::ops::Range;

use crate::access::ConfigAccess;
use crate::addr::Bdf;
use crate::caps::capabilities;
use crate::error::{at, PciError};
use crate::header::HeaderKind;
use crate::regs;

/// A register a device's owner may not write (the wire's
/// `ConfigRegister`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Register {
    /// A base address register (its index).
    Bar(u8),
    /// The command register's I/O or memory space decode bits.
    CommandDecode,
    /// The command register's bus-master bit.
    CommandBusMaster,
    /// The capabilities pointer, or a capability's ID and next pointer.
    CapabilityPointer,
    /// The expansion ROM base address.
    ExpansionRom,
    /// The MSI capability.
    Msi,
    /// The MSI-X capability.
    MsiX,
    /// A bridge's bus numbers.
    BridgeBuses,
    /// A bridge's I/O, memory or prefetchable window, or bridge control.
    BridgeWindow,
    /// Past the header, on a function whose capability list cannot be
    /// walked.
    UncheckableCapabilities,
}

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Register::Bar(i) => write!(f, "BAR{i}"),
            Register::CommandDecode => f.write_str("the command register's decode bits"),
            Register::CommandBusMaster => f.write_str("the command register's bus-master bit"),
            Register::CapabilityPointer => f.write_str("a capability pointer"),
            Register::ExpansionRom => f.write_str("the expansion ROM base address"),
            Register::Msi => f.write_str("the MSI capability"),
            Register::MsiX => f.write_str("the MSI-X capability"),
            Register::BridgeBuses => f.write_str("the bridge's bus numbers"),
            Register::BridgeWindow => f.write_str("the bridge's windows"),
            Register::UncheckableCapabilities => {
                f.write_str("a capability list that cannot be walked")
            }
        }
    }
}

/// Refuses a write by a device's owner of `width` bytes of `value` at
/// `offset` that reaches a [`Register`] it may not change; `kind` is the
/// header layout enumeration recorded.
pub fn check_owner_write<A: ConfigAccess + ?Sized>(
    a: &A,
    bdf: Bdf,
    kind: HeaderKind,
    offset: u16,
    width: u8,
    value: u32,
) -> Result<(), PciError> {
    let refuse = |register| PciError::ProtectedRegister {
        bdf,
        offset,
        register,
    };
    let bytes = offset..offset.saturating_add(u16::from(width));
    if let Some(register) = bytes.clone().find_map(|byte| header_register(kind, byte)) {
        return Err(refuse(register));
    }
    if overlaps(&bytes, &(regs::COMMAND..regs::COMMAND + 2)) {
        if let Some(register) = command_change(a, bdf, offset, width, value)? {
            return Err(refuse(register));
        }
    }
    if bytes.end > u16::from(regs::CAP_MIN_OFFSET) {
        if let Some(register) = capability_register(a, bdf, &bytes)? {
            return Err(refuse(register));
        }
    }
    Ok(())
}

fn overlaps(a: &Range<u16>, b: &Range<u16>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The protected header register holding config byte `byte`, by layout
/// (a CardBus or unknown layout is held to both).
fn header_register(kind: HeaderKind, byte: u16) -> Option<Register> {
    match kind {
        HeaderKind::Endpoint => endpoint_register(byte),
        HeaderKind::Bridge => bridge_register(byte),
        HeaderKind::CardBus | HeaderKind::Other(_) => {
            endpoint_register(byte).or_else(|| bridge_register(byte))
        }
    }
}

fn bar(byte: u16, bars: u8) -> Option<Register> {
    let end = regs::BAR0 + 4 * u16::from(bars);
    (regs::BAR0..end)
        .contains(&byte)
        .then(|| Register::Bar(((byte - regs::BAR0) / 4) as u8))
}

fn endpoint_register(byte: u16) -> Option<Register> {
    if let Some(b) = bar(byte, regs::BARS_TYPE0) {
        return Some(b);
    }
    match byte {
        regs::EXPANSION_ROM_TYPE0..regs::CAPABILITIES_POINTER => Some(Register::ExpansionRom),
        regs::CAPABILITIES_POINTER => Some(Register::CapabilityPointer),
        _ => None,
    }
}

fn bridge_register(byte: u16) -> Option<Register> {
    if let Some(b) = bar(byte, regs::BARS_TYPE1) {
        return Some(b);
    }
    match byte {
        regs::PRIMARY_BUS..=regs::SUBORDINATE_BUS => Some(Register::BridgeBuses),
        regs::IO_BASE..regs::SECONDARY_STATUS => Some(Register::BridgeWindow),
        regs::MEMORY_BASE..regs::CAPABILITIES_POINTER => Some(Register::BridgeWindow),
        regs::CAPABILITIES_POINTER => Some(Register::CapabilityPointer),
        regs::EXPANSION_ROM_TYPE1..regs::INTERRUPT_LINE => Some(Register::ExpansionRom),
        regs::BRIDGE_CONTROL..regs::HEADER_END => Some(Register::BridgeWindow),
        _ => None,
    }
}

/// Whether a write covering the command register changes its decode or
/// bus-master bits (the others, INTx disable among them, are the owner's).
fn command_change<A: ConfigAccess + ?Sized>(
    a: &A,
    bdf: Bdf,
    offset: u16,
    width: u8,
    value: u32,
) -> Result<Option<Register>, PciError> {
    let now = at(bdf, a.read16(bdf, regs::COMMAND))?;
    let mut new = now;
    for i in 0..u16::from(width) {
        let byte = offset + i;
        if (regs::COMMAND..regs::COMMAND + 2).contains(&byte) {
            let shift = 8 * (byte - regs::COMMAND);
            let written = ((value >> (8 * i)) & 0xff) as u16;
            new = (new & !(0xff << shift)) | (written << shift);
        }
    }
    let changed = now ^ new;
    Ok(
        if changed & (regs::COMMAND_IO_SPACE | regs::COMMAND_MEMORY_SPACE) != 0 {
            Some(Register::CommandDecode)
        } else if changed & regs::COMMAND_BUS_MASTER != 0 {
            Some(Register::CommandBusMaster)
        } else {
            None
        },
    )
}

/// The protected part of the capability list `bytes` reach: a capability's
/// ID and next pointer, and all of MSI and MSI-X.
fn capability_register<A: ConfigAccess + ?Sized>(
    a: &A,
    bdf: Bdf,
    bytes: &Range<u16>,
) -> Result<Option<Register>, PciError> {
    let Ok(list) = capabilities(a, bdf) else {
        return Ok(Some(Register::UncheckableCapabilities));
    };
    for &(id, cap) in &list {
        let cap = u16::from(cap);
        let (len, register) = match id {
            regs::CAP_ID_MSI => {
                let control = at(bdf, a.read16(bdf, cap + regs::MSI_CONTROL))?;
                (msi_len(control), Register::Msi)
            }
            regs::CAP_ID_MSIX => (regs::MSIX_CAP_LEN, Register::MsiX),
            _ => (regs::CAP_HEADER_LEN, Register::CapabilityPointer),
        };
        if overlaps(bytes, &(cap..cap + len)) {
            return Ok(Some(register));
        }
    }
    Ok(None)
}

/// Bytes of an MSI capability with control word `control`.
const fn msi_len(control: u16) -> u16 {
    let wide = control & regs::MSI_CONTROL_64BIT != 0;
    let masked = control & regs::MSI_CONTROL_PER_VECTOR_MASK != 0;
    match (wide, masked) {
        (false, false) => regs::MSI_CAP_LEN_32,
        (true, false) => regs::MSI_CAP_LEN_64,
        (false, true) => regs::MSI_CAP_LEN_32_MASKED,
        (true, true) => regs::MSI_CAP_LEN_64_MASKED,
    }
}
