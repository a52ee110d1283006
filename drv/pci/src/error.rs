//! Everything this library can refuse, one variant per cause.

use core::fmt;

use crate::access::AccessError;
use crate::addr::Bdf;
use crate::devtype::DeviceType;
use crate::flaw::Flaw;
use crate::mediate::Register;

/// Why a PCI operation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PciError {
    /// Config space could not be reached.
    Access { bdf: Bdf, error: AccessError },
    /// Device or function number out of range.
    BadAddress { bus: u8, dev: u8, func: u8 },
    /// Nothing answers at this address (or it is not in the topology).
    NoDevice(Bdf),
    /// A capability pointer is below the header or not dword aligned.
    BadCapabilityPointer { bdf: Bdf, pointer: u8 },
    /// The capability list does not end: it loops.
    CapabilityLoop { bdf: Bdf },
    /// The BAR index does not exist in this header type.
    BarIndexOutOfRange { bdf: Bdf, index: u8, bars: u8 },
    /// A 64-bit BAR in the last slot has no upper half.
    Bar64InLastSlot { bdf: Bdf, index: u8 },
    /// The function has no MSI capability.
    NoMsi(Bdf),
    /// The MSI capability is 32-bit only and the address needs more.
    MsiAddressTooWide { bdf: Bdf, address: u64 },
    /// A write by a device's owner reaches a register only pci may change.
    ProtectedRegister {
        bdf: Bdf,
        offset: u16,
        register: Register,
    },
    /// Enumeration did not trust the function (or what it sits behind).
    Unassignable { bdf: Bdf, flaw: Flaw },
    /// Host bridges and bridges are never assigned to a domain.
    NotAssignable { bdf: Bdf, kind: DeviceType },
}

impl fmt::Display for PciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PciError::Access { bdf, error } => write!(f, "{bdf}: {error}"),
            PciError::BadAddress { bus, dev, func } => write!(
                f,
                "{bus:02x}:{dev:02x}.{func} is not a PCI address (device < 32, function < 8)"
            ),
            PciError::NoDevice(bdf) => write!(f, "no PCI function at {bdf}"),
            PciError::BadCapabilityPointer { bdf, pointer } => {
                write!(f, "{bdf}: capability pointer {pointer:#04x} is invalid")
            }
            PciError::CapabilityLoop { bdf } => {
                write!(f, "{bdf}: capability list loops")
            }
            PciError::BarIndexOutOfRange { bdf, index, bars } => {
                write!(f, "{bdf}: BAR{index} does not exist (header has {bars})")
            }
            PciError::Bar64InLastSlot { bdf, index } => {
                write!(f, "{bdf}: 64-bit BAR{index} has no upper half")
            }
            PciError::NoMsi(bdf) => write!(f, "{bdf} has no MSI capability"),
            PciError::MsiAddressTooWide { bdf, address } => write!(
                f,
                "{bdf}: MSI address {address:#x} needs 64 bits, capability has 32"
            ),
            PciError::ProtectedRegister {
                bdf,
                offset,
                register,
            } => write!(
                f,
                "{bdf}: the write at config offset {offset:#x} reaches {register}, which only \
                 pci may change"
            ),
            PciError::Unassignable { bdf, flaw } => {
                write!(f, "{bdf} is unassignable: {flaw}")
            }
            PciError::NotAssignable { bdf, kind } => {
                write!(f, "{bdf} is a {kind}; it cannot be assigned")
            }
        }
    }
}

/// Attach the function's address to an access error.
pub(crate) fn at<T>(bdf: Bdf, r: Result<T, AccessError>) -> Result<T, PciError> {
    r.map_err(|error| PciError::Access { bdf, error })
}
