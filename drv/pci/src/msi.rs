//! MSI: finding the capability and programming one message.
//!
//! The capability's layout depends on its 64-bit flag (data at +8 or +0xC),
//! so [`MsiCapability`] reads the control word once and computes offsets.
//! custody uses one vector per device: Multiple Message Enable stays 0, and
//! INTx is disabled when MSI is enabled so the device raises only one kind.

use crate::access::ConfigAccess;
use crate::addr::Bdf;
use crate::caps::find_capability;
use crate::error::{at, PciError};
use crate::regs;

/// An address/data pair the device writes to raise its interrupt.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MsiMessage {
    pub address: u64,
    pub data: u16,
}

impl MsiMessage {
    /// The x86 message for `vector` to the local APIC `dest_apic_id`:
    /// physical destination, fixed delivery, edge triggered.
    pub const fn x86(dest_apic_id: u8, vector: u8) -> Self {
        MsiMessage {
            address: regs::X86_MSI_ADDRESS_BASE
                | ((dest_apic_id as u64) << regs::X86_MSI_DEST_SHIFT),
            data: vector as u16,
        }
    }

    /// The remappable-format message that names interrupt-remapping entry
    /// `handle` (no sub-handle, so the data is 0): with interrupt
    /// remapping on, the IOMMU alone decides where it goes, so the device
    /// can be given to another owner without reprogramming it.
    pub const fn remappable(handle: u16) -> Self {
        let low = (handle & regs::X86_MSI_HANDLE_LOW_MASK) as u64;
        let bit15 = (handle >> 15) as u64;
        MsiMessage {
            address: regs::X86_MSI_ADDRESS_BASE
                | regs::X86_MSI_REMAPPABLE
                | (low << regs::X86_MSI_HANDLE_LOW_SHIFT)
                | (bit15 << regs::X86_MSI_HANDLE_BIT15_SHIFT),
            data: 0,
        }
    }
}

/// A located MSI capability.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MsiCapability {
    pub offset: u8,
    pub control: u16,
}

impl MsiCapability {
    /// The MSI capability of `bdf`, if it has one.
    pub fn find<A: ConfigAccess + ?Sized>(a: &A, bdf: Bdf) -> Result<Option<Self>, PciError> {
        let Some(offset) = find_capability(a, bdf, regs::CAP_ID_MSI)? else {
            return Ok(None);
        };
        let control = at(bdf, a.read16(bdf, offset as u16 + regs::MSI_CONTROL))?;
        Ok(Some(MsiCapability { offset, control }))
    }

    pub const fn is_64bit(&self) -> bool {
        self.control & regs::MSI_CONTROL_64BIT != 0
    }

    pub const fn per_vector_masking(&self) -> bool {
        self.control & regs::MSI_CONTROL_PER_VECTOR_MASK != 0
    }

    /// Vectors the device can use (Multiple Message Capable, 1..=32).
    pub const fn vectors(&self) -> u8 {
        // Encodings 6 and 7 are reserved; treat them as the maximum, 32.
        let log2 = (self.control >> regs::MSI_CONTROL_MMC_SHIFT) & 0x7;
        1 << if log2 > 5 { 5 } else { log2 }
    }

    pub const fn is_enabled(&self) -> bool {
        self.control & regs::MSI_CONTROL_ENABLE != 0
    }

    fn reg(&self, offset: u16) -> u16 {
        self.offset as u16 + offset
    }

    fn data_offset(&self) -> u16 {
        self.reg(if self.is_64bit() {
            regs::MSI_DATA_64
        } else {
            regs::MSI_DATA_32
        })
    }

    /// The message currently programmed.
    pub fn read_message<A: ConfigAccess + ?Sized>(
        &self,
        a: &A,
        bdf: Bdf,
    ) -> Result<MsiMessage, PciError> {
        let lo = at(bdf, a.read32(bdf, self.reg(regs::MSI_ADDRESS_LO)))? as u64;
        let hi = if self.is_64bit() {
            at(bdf, a.read32(bdf, self.reg(regs::MSI_ADDRESS_HI)))? as u64
        } else {
            0
        };
        let data = at(bdf, a.read16(bdf, self.data_offset()))?;
        Ok(MsiMessage {
            address: (hi << 32) | lo,
            data,
        })
    }

    /// Program `msg` as the single vector and enable MSI (and disable INTx).
    /// MSI is disabled while the address and data change, so the device
    /// never signals a half-written message.
    pub fn program<A: ConfigAccess + ?Sized>(
        &mut self,
        a: &mut A,
        bdf: Bdf,
        msg: MsiMessage,
    ) -> Result<(), PciError> {
        if !self.is_64bit() && msg.address > u32::MAX as u64 {
            return Err(PciError::MsiAddressTooWide {
                bdf,
                address: msg.address,
            });
        }
        self.disable(a, bdf)?;
        at(
            bdf,
            a.write32(bdf, self.reg(regs::MSI_ADDRESS_LO), msg.address as u32),
        )?;
        if self.is_64bit() {
            let hi = (msg.address >> 32) as u32;
            at(bdf, a.write32(bdf, self.reg(regs::MSI_ADDRESS_HI), hi))?;
        }
        at(bdf, a.write16(bdf, self.data_offset(), msg.data))?;
        let command = at(bdf, a.read16(bdf, regs::COMMAND))?;
        at(
            bdf,
            a.write16(bdf, regs::COMMAND, command | regs::COMMAND_INTX_DISABLE),
        )?;
        let control = (self.control & !regs::MSI_CONTROL_MME_MASK) | regs::MSI_CONTROL_ENABLE;
        at(bdf, a.write16(bdf, self.reg(regs::MSI_CONTROL), control))?;
        self.control = control;
        Ok(())
    }

    /// Clear MSI enable.
    pub fn disable<A: ConfigAccess + ?Sized>(
        &mut self,
        a: &mut A,
        bdf: Bdf,
    ) -> Result<(), PciError> {
        let control = self.control & !regs::MSI_CONTROL_ENABLE;
        at(bdf, a.write16(bdf, self.reg(regs::MSI_CONTROL), control))?;
        self.control = control;
        Ok(())
    }
}

/// The MSI capability of `bdf`, or an error naming the device if it has none.
pub fn require_msi<A: ConfigAccess + ?Sized>(a: &A, bdf: Bdf) -> Result<MsiCapability, PciError> {
    MsiCapability::find(a, bdf)?.ok_or(PciError::NoMsi(bdf))
}
