//! RMRRs declared by configuration (Xen's `rmrr=` boot option; here from
//! app.toml), for platforms whose firmware omits one (QEMU emits none), and
//! the "SSSS:BB:DD.F" device addresses they name.
//!
//! A configured RMRR is held to the same rules as a firmware one (aligned,
//! end not below base, lists devices, no RAM), and must not overlap the
//! firmware's RMRRs or the other configured ones. Each broken rule is a
//! [`Warning`] naming `RmrrOrigin::Config { index }`; a build or boot that
//! takes configuration seriously treats any of them as fatal.

use core::fmt;
use core::str::FromStr;

use crate::dmar::Dmar;
use crate::quirks::{check_rmrr_range, firmware_rmrrs, MemRange, RmrrOrigin, Warning};
use crate::resolve::RequesterId;

const MAX_DEVICE: u8 = 31;
const MAX_FUNCTION: u8 = 7;

/// A PCI function's address: segment, bus, device, function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddress {
    pub segment: u16,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl PciAddress {
    /// Parses "SSSS:BB:DD.F" or "BB:DD.F" (segment 0), hexadecimal, with at
    /// most 4, 2, 2 and 1 digits.
    pub fn parse(text: &str) -> Result<Self, DeviceStringError> {
        if text.is_empty() {
            return Err(DeviceStringError::Empty);
        }
        let mut parts = text.split(':');
        let (segment, bus, rest) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(bus), Some(rest), None, None) => ("0", bus, rest),
            (Some(segment), Some(bus), Some(rest), None) => (segment, bus, rest),
            _ => return Err(DeviceStringError::Shape),
        };
        let (device, function) = rest.split_once('.').ok_or(DeviceStringError::Shape)?;
        let address = PciAddress {
            segment: hex_field(segment, "segment", 4)? as u16,
            bus: hex_field(bus, "bus", 2)? as u8,
            device: hex_field(device, "device", 2)? as u8,
            function: hex_field(function, "function", 1)? as u8,
        };
        if address.device > MAX_DEVICE {
            return Err(DeviceStringError::DeviceOutOfRange {
                device: address.device,
            });
        }
        if address.function > MAX_FUNCTION {
            return Err(DeviceStringError::FunctionOutOfRange {
                function: address.function,
            });
        }
        Ok(address)
    }

    /// Device and function within their 5 and 3 bits.
    pub fn is_valid(&self) -> bool {
        self.device <= MAX_DEVICE && self.function <= MAX_FUNCTION
    }

    pub fn requester_id(&self) -> RequesterId {
        RequesterId::new(self.bus, self.device, self.function)
    }
}

fn hex_field(text: &str, field: &'static str, max_digits: usize) -> Result<u32, DeviceStringError> {
    if text.is_empty() {
        return Err(DeviceStringError::EmptyField { field });
    }
    if text.len() > max_digits {
        return Err(DeviceStringError::TooManyDigits { field, max_digits });
    }
    text.chars().try_fold(0u32, |value, c| {
        c.to_digit(16)
            .map(|digit| value * 16 + digit)
            .ok_or(DeviceStringError::NotHex { field, found: c })
    })
}

impl FromStr for PciAddress {
    type Err = DeviceStringError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PciAddress::parse(text)
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.segment, self.bus, self.device, self.function
        )
    }
}

/// Why a device string is not an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStringError {
    Empty,
    /// Not "SSSS:BB:DD.F" nor "BB:DD.F".
    Shape,
    EmptyField {
        field: &'static str,
    },
    TooManyDigits {
        field: &'static str,
        max_digits: usize,
    },
    NotHex {
        field: &'static str,
        found: char,
    },
    DeviceOutOfRange {
        device: u8,
    },
    FunctionOutOfRange {
        function: u8,
    },
}

impl fmt::Display for DeviceStringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceStringError::Empty => {
                write!(f, "empty device address (expected SSSS:BB:DD.F or BB:DD.F)")
            }
            DeviceStringError::Shape => write!(f, "device address must be SSSS:BB:DD.F or BB:DD.F"),
            DeviceStringError::EmptyField { field } => {
                write!(f, "device address has an empty {field}")
            }
            DeviceStringError::TooManyDigits { field, max_digits } => {
                write!(
                    f,
                    "device address {field} has more than {max_digits} hex digits"
                )
            }
            DeviceStringError::NotHex { field, found } => {
                write!(f, "device address {field} has {found:?}, not a hex digit")
            }
            DeviceStringError::DeviceOutOfRange { device } => {
                write!(f, "device {device:#x} is above 0x1f")
            }
            DeviceStringError::FunctionOutOfRange { function } => {
                write!(f, "function {function:#x} is above 7")
            }
        }
    }
}

/// An RMRR from configuration: `end` inclusive, like a firmware RMRR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtraRmrr<'d> {
    pub base: u64,
    pub end: u64,
    pub devices: &'d [PciAddress],
}

impl ExtraRmrr<'_> {
    pub fn range(&self) -> MemRange {
        MemRange {
            base: self.base,
            end: self.end,
        }
    }
}

/// Checks configured RMRR number `index` on its own and against the
/// firmware's RMRRs (if a DMAR is given) and RAM. Returns how many warnings
/// it passed to `sink`: zero means the RMRR is sound.
pub fn validate_extra_rmrr<'a>(
    index: usize,
    extra: &ExtraRmrr<'_>,
    firmware: Option<&Dmar<'a>>,
    ram: &[MemRange],
    sink: &mut dyn FnMut(Warning<'a>),
) -> usize {
    let mut count = 0;
    let mut counted = |w: Warning<'a>| {
        count += 1;
        sink(w);
    };
    let origin = RmrrOrigin::Config { index };
    let range = extra.range();
    check_rmrr_range(origin, range, extra.devices.len(), ram, &mut counted);
    for device in extra.devices.iter().filter(|d| !d.is_valid()) {
        counted(Warning::ExtraRmrrBadDevice {
            index,
            device: *device,
        });
    }
    if let Some(dmar) = firmware {
        for (theirs, their_range) in firmware_rmrrs(dmar).filter(|(_, r)| r.overlaps(&range)) {
            counted(Warning::RmrrOverlap {
                first: theirs,
                first_range: their_range,
                second: origin,
                second_range: range,
            });
        }
    }
    count
}

/// Checks every configured RMRR ([`validate_extra_rmrr`]) and each pair of
/// them for overlap. Returns the number of warnings.
pub fn validate_extra_rmrrs<'a>(
    extras: &[ExtraRmrr<'_>],
    firmware: Option<&Dmar<'a>>,
    ram: &[MemRange],
    sink: &mut dyn FnMut(Warning<'a>),
) -> usize {
    let mut count = 0;
    for (index, extra) in extras.iter().enumerate() {
        count += validate_extra_rmrr(index, extra, firmware, ram, sink);
        for (later, other) in extras.iter().enumerate().skip(index + 1) {
            if extra.range().overlaps(&other.range()) {
                count += 1;
                sink(Warning::RmrrOverlap {
                    first: RmrrOrigin::Config { index },
                    first_range: extra.range(),
                    second: RmrrOrigin::Config { index: later },
                    second_range: other.range(),
                });
            }
        }
    }
    count
}
