//! Conversions between the wire's device addresses and kinds and the pci
//! library's, and the one mapping of library errors to wire errors.

use idl_types::{Bdf, ConfigRegister, DeviceFlaw, DeviceKind, PciError};
use pci::{AccessError, DeviceType, Flaw, Register, Unreadable};

/// The library's address of `device` on `seg`.
pub(crate) fn bdf(seg: u16, device: Bdf) -> Result<pci::Bdf, PciError> {
    pci::Bdf::new(seg, device.bus, device.device, device.function)
        .map_err(|_| PciError::NoDevice(device))
}

/// The wire's name of a function (segments are implied by the server).
pub(crate) fn wire(b: pci::Bdf) -> Bdf {
    Bdf {
        bus: b.bus(),
        device: b.dev(),
        function: b.func(),
    }
}

/// The wire's coarser kind.
pub(crate) fn kind(t: DeviceType) -> DeviceKind {
    match t {
        DeviceType::PcieEndpoint => DeviceKind::Endpoint,
        DeviceType::LegacyEndpoint => DeviceKind::LegacyEndpoint,
        DeviceType::PcieToPciBridge => DeviceKind::PcieToPciBridge,
        DeviceType::LegacyBridge | DeviceType::PciToPcieBridge | DeviceType::PcieBridge => {
            DeviceKind::Bridge
        }
        DeviceType::HostBridge => DeviceKind::HostBridge,
    }
}

/// What a client is told when config space refuses an access.
pub(crate) fn access(device: Bdf, e: AccessError) -> PciError {
    match e {
        AccessError::Misaligned { offset, width }
        | AccessError::OffsetOutOfRange { offset, width, .. } => {
            PciError::BadOffset { offset, width }
        }
        AccessError::NoSuchSegment { .. } => PciError::AccessFailed(device),
    }
}

/// What a client is told when the library fails for `device`.
pub(crate) fn error(device: Bdf, e: pci::PciError) -> PciError {
    match e {
        pci::PciError::Access { error, .. } => access(device, error),
        pci::PciError::NotAssignable { .. } => PciError::NotAssignable(device),
        pci::PciError::NoMsi(_) => PciError::NoMsi(device),
        pci::PciError::ProtectedRegister {
            offset, register, ..
        } => PciError::ProtectedRegister {
            device,
            offset,
            register: self::register(register),
        },
        pci::PciError::Unassignable { flaw, .. } => PciError::Unassignable {
            device,
            flaw: self::flaw(flaw),
        },
        _ => PciError::NoDevice(device),
    }
}

/// The wire's name of why enumeration did not trust a function.
pub(crate) fn flaw(f: Flaw) -> DeviceFlaw {
    match f {
        Flaw::Unreadable(Unreadable::CapabilityLoop) => DeviceFlaw::CapabilityLoop,
        Flaw::Unreadable(Unreadable::BadCapabilityPointer(p)) => {
            DeviceFlaw::BadCapabilityPointer(p)
        }
        Flaw::Unreadable(Unreadable::Access(_) | Unreadable::Malformed) => {
            DeviceFlaw::ConfigUnreadable
        }
        Flaw::ForeignPrimaryBus { bus, primary } => DeviceFlaw::ForeignPrimaryBus { bus, primary },
        Flaw::BusRangeOutsideParent {
            secondary,
            subordinate,
            first,
            last,
        } => DeviceFlaw::BusRangeOutsideParent {
            secondary,
            subordinate,
            first,
            last,
        },
        Flaw::BusClaimedTwice { bus, other } => DeviceFlaw::BusClaimedTwice {
            bus,
            other: wire(other),
        },
        Flaw::BehindDisputedBus { bus, claimants } => DeviceFlaw::BehindDisputedBus {
            bus,
            first: wire(claimants.0),
            second: wire(claimants.1),
        },
        Flaw::BehindUnreadableBridge { bridge } => DeviceFlaw::BehindUnreadableBridge(wire(bridge)),
    }
}

/// The wire's name of a register an owner may not write.
pub(crate) fn register(r: Register) -> ConfigRegister {
    match r {
        Register::Bar(i) => ConfigRegister::Bar(i),
        Register::CommandDecode => ConfigRegister::CommandDecode,
        Register::CommandBusMaster => ConfigRegister::CommandBusMaster,
        Register::CapabilityPointer => ConfigRegister::CapabilityPointer,
        Register::ExpansionRom => ConfigRegister::ExpansionRom,
        Register::Msi => ConfigRegister::Msi,
        Register::MsiX => ConfigRegister::MsiX,
        Register::BridgeBuses => ConfigRegister::BridgeBuses,
        Register::BridgeWindow => ConfigRegister::BridgeWindow,
        Register::UncheckableCapabilities => ConfigRegister::UncheckableCapabilities,
    }
}
