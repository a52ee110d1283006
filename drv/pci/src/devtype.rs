//! What kind of device a function is, as Xen's `pdev_type` tells them
//! apart, because the kind decides which requester IDs its DMA uses.
//!
//! A PCI-to-PCI bridge (class 06/04) is a legacy bridge without a PCI Express
//! capability, else its PCIe device/port type says PCIe-to-PCI bridge,
//! PCI-to-PCIe bridge, or (root port, switch port) a PCIe bridge. A host
//! bridge is class 06/00. Anything else is a PCIe endpoint if it has the
//! PCIe capability and a legacy PCI endpoint if not.

use core::fmt;

use crate::access::ConfigAccess;
use crate::addr::Bdf;
use crate::caps::find_capability;
use crate::error::{at, PciError};
use crate::header::Header;
use crate::regs;

/// The device/port type field of the PCI Express capability.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PciePortType {
    Endpoint,
    LegacyEndpoint,
    RootPort,
    UpstreamSwitchPort,
    DownstreamSwitchPort,
    PcieToPciBridge,
    PciToPcieBridge,
    RootComplexIntegratedEndpoint,
    RootComplexEventCollector,
    Reserved(u8),
}

impl PciePortType {
    pub const fn from_raw(raw: u8) -> Self {
        match raw {
            0x0 => PciePortType::Endpoint,
            0x1 => PciePortType::LegacyEndpoint,
            0x4 => PciePortType::RootPort,
            0x5 => PciePortType::UpstreamSwitchPort,
            0x6 => PciePortType::DownstreamSwitchPort,
            0x7 => PciePortType::PcieToPciBridge,
            0x8 => PciePortType::PciToPcieBridge,
            0x9 => PciePortType::RootComplexIntegratedEndpoint,
            0xa => PciePortType::RootComplexEventCollector,
            other => PciePortType::Reserved(other),
        }
    }
}

/// What the PCI Express capability says about a function.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PcieInfo {
    /// Offset of the capability.
    pub offset: u8,
    pub port_type: PciePortType,
    /// DevCap "Phantom Functions Supported" (0..=3): how many high bits of
    /// the function number the device may use as extra tags.
    pub phantom_bits: u8,
}

impl PcieInfo {
    /// The capability of `bdf`, if it has one.
    pub fn read<A: ConfigAccess + ?Sized>(a: &A, bdf: Bdf) -> Result<Option<Self>, PciError> {
        let Some(offset) = find_capability(a, bdf, regs::CAP_ID_PCIE)? else {
            return Ok(None);
        };
        let flags = at(bdf, a.read16(bdf, offset as u16 + regs::PCIE_FLAGS))?;
        let devcap = at(bdf, a.read32(bdf, offset as u16 + regs::PCIE_DEVCAP))?;
        let raw_type = (flags >> regs::PCIE_FLAGS_TYPE_SHIFT) & regs::PCIE_FLAGS_TYPE_MASK;
        Ok(Some(PcieInfo {
            offset,
            port_type: PciePortType::from_raw(raw_type as u8),
            phantom_bits: ((devcap >> regs::PCIE_DEVCAP_PHANTOM_SHIFT)
                & regs::PCIE_DEVCAP_PHANTOM_MASK) as u8,
        }))
    }

    /// Distance between a function and its phantom functions: 8 >> bits
    /// (4, 2 or 1), or `None` without phantom functions.
    pub const fn phantom_stride(&self) -> Option<u8> {
        match self.phantom_bits {
            0 => None,
            bits => Some(8 >> bits),
        }
    }
}

/// The kinds of device Xen distinguishes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeviceType {
    /// Class 06/00: never mapped.
    HostBridge,
    /// Has the PCIe capability and is not a bridge: DMA carries its own ID.
    PcieEndpoint,
    /// Conventional PCI: behind a bridge its DMA may carry the bridge's ID.
    LegacyEndpoint,
    /// Conventional PCI-to-PCI bridge (no PCIe capability).
    LegacyBridge,
    /// PCIe-to-PCI(-X) bridge: takes ownership of the transactions of the
    /// devices below, tagging them (secondary bus, 0.0) or its own ID.
    PcieToPciBridge,
    /// PCI-to-PCIe (reverse) bridge.
    PciToPcieBridge,
    /// PCIe root port or switch port.
    PcieBridge,
}

impl DeviceType {
    /// Classify a function from its header and PCIe capability.
    pub const fn classify(header: &Header, pcie: Option<&PcieInfo>) -> Self {
        if header.class.is_host_bridge() {
            return DeviceType::HostBridge;
        }
        if header.class.is_pci_bridge() {
            return match pcie {
                None => DeviceType::LegacyBridge,
                Some(p) => match p.port_type {
                    PciePortType::PcieToPciBridge => DeviceType::PcieToPciBridge,
                    PciePortType::PciToPcieBridge => DeviceType::PciToPcieBridge,
                    _ => DeviceType::PcieBridge,
                },
            };
        }
        match pcie {
            Some(_) => DeviceType::PcieEndpoint,
            None => DeviceType::LegacyEndpoint,
        }
    }

    /// Read and classify the function at `bdf`.
    pub fn read<A: ConfigAccess + ?Sized>(a: &A, bdf: Bdf) -> Result<Self, PciError> {
        let header = Header::read(a, bdf)?.ok_or(PciError::NoDevice(bdf))?;
        let pcie = PcieInfo::read(a, bdf)?;
        Ok(Self::classify(&header, pcie.as_ref()))
    }

    /// Bridges whose DMA aliasing replaces the IDs of the devices below.
    pub const fn is_legacy_bridge(&self) -> bool {
        matches!(self, DeviceType::LegacyBridge | DeviceType::PcieToPciBridge)
    }

    /// Endpoints can be assigned to a domain; bridges and host bridges not.
    pub const fn is_assignable(&self) -> bool {
        matches!(self, DeviceType::PcieEndpoint | DeviceType::LegacyEndpoint)
    }
}

impl fmt::Display for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceType::HostBridge => "host bridge",
            DeviceType::PcieEndpoint => "PCIe endpoint",
            DeviceType::LegacyEndpoint => "legacy PCI endpoint",
            DeviceType::LegacyBridge => "legacy PCI-to-PCI bridge",
            DeviceType::PcieToPciBridge => "PCIe-to-PCI bridge",
            DeviceType::PciToPcieBridge => "PCI-to-PCIe bridge",
            DeviceType::PcieBridge => "PCIe root or switch port",
        })
    }
}
