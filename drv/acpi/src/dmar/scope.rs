//! Device scopes: the list after a DRHD, RMRR, ATSR or SATC that names the
//! devices the structure applies to, each as a start bus and a path of
//! (device, function) hops through bridges.
//!
//! A path is only meaningful with the bridges' bus numbers of the running
//! machine: [`crate::resolve`] turns it into requester IDs. Here a scope is
//! just checked to fit its structure and to hold a whole number of hops.

use core::fmt;

use zerocopy::little_endian::U16;
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::bytes::read;
use crate::error::AcpiError;

/// Bytes of a scope before its path.
pub const SCOPE_HEADER_LEN: usize = core::mem::size_of::<RawScopeHeader>();
/// A scope needs its header and at least one path entry.
pub const SCOPE_MIN_LEN: usize = SCOPE_HEADER_LEN + core::mem::size_of::<PathEntry>();

/// Scope type codes (VT-d specification, "Device Scope Structure").
pub mod code {
    pub const PCI_ENDPOINT: u8 = 1;
    pub const PCI_SUB_HIERARCHY: u8 = 2;
    pub const IOAPIC: u8 = 3;
    pub const HPET: u8 = 4;
    pub const ACPI_NAMESPACE: u8 = 5;
}

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawScopeHeader {
    kind: u8,
    length: u8,
    flags: U16,
    enumeration_id: u8,
    start_bus: u8,
}

/// One hop of a scope's path.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct PathEntry {
    pub device: u8,
    pub function: u8,
}

/// What a scope names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeType {
    /// One PCI function.
    PciEndpoint,
    /// A bridge and everything below it.
    PciSubHierarchy,
    /// An I/O APIC; the enumeration ID is its APIC ID.
    IoApic,
    /// An MSI-capable HPET; the enumeration ID is its HPET number.
    Hpet,
    /// An ACPI namespace device declared by an ANDD with this enumeration ID.
    AcpiNamespace,
    /// A code this parser does not know (kept, not rejected).
    Unknown(u8),
}

impl ScopeType {
    pub fn from_code(code: u8) -> Self {
        match code {
            code::PCI_ENDPOINT => ScopeType::PciEndpoint,
            code::PCI_SUB_HIERARCHY => ScopeType::PciSubHierarchy,
            code::IOAPIC => ScopeType::IoApic,
            code::HPET => ScopeType::Hpet,
            code::ACPI_NAMESPACE => ScopeType::AcpiNamespace,
            other => ScopeType::Unknown(other),
        }
    }

    /// Short lower-case name used by the reports.
    pub fn name(&self) -> &'static str {
        match self {
            ScopeType::PciEndpoint => "endpoint",
            ScopeType::PciSubHierarchy => "bridge",
            ScopeType::IoApic => "ioapic",
            ScopeType::Hpet => "hpet",
            ScopeType::AcpiNamespace => "acpi-namespace",
            ScopeType::Unknown(_) => "unknown",
        }
    }

    /// Whether the scope names PCI functions (the two kinds a requester ID
    /// of a DMA-capable PCI device can come from).
    pub fn is_pci(&self) -> bool {
        matches!(self, ScopeType::PciEndpoint | ScopeType::PciSubHierarchy)
    }
}

/// A checked device scope, borrowed from the table.
#[derive(Clone, Copy, Debug)]
pub struct DeviceScope<'a> {
    offset: usize,
    header: &'a RawScopeHeader,
    path: &'a [PathEntry],
}

impl<'a> DeviceScope<'a> {
    /// Byte offset of the scope in the table.
    pub fn offset(&self) -> usize {
        self.offset
    }
    pub fn kind(&self) -> ScopeType {
        ScopeType::from_code(self.header.kind)
    }
    pub fn kind_code(&self) -> u8 {
        self.header.kind
    }
    pub fn length(&self) -> u8 {
        self.header.length
    }
    /// The two bytes after the length (reserved, or flags in recent specs).
    pub fn flags(&self) -> u16 {
        self.header.flags.get()
    }
    pub fn enumeration_id(&self) -> u8 {
        self.header.enumeration_id
    }
    pub fn start_bus(&self) -> u8 {
        self.header.start_bus
    }
    /// The whole path, first hop first (never empty).
    pub fn path(&self) -> &'a [PathEntry] {
        self.path
    }
    /// Same device named the same way (type, start bus and path), wherever
    /// in the table the scope sits.
    pub fn same_target(&self, other: &DeviceScope<'_>) -> bool {
        self.header.kind == other.header.kind
            && self.header.start_bus == other.header.start_bus
            && self.path == other.path
    }
}

/// Shows the scope as "BB:DD.F" for a one-hop path, or
/// "BB:DD.F/DD.F/..." with one hop per bridge crossed.
impl fmt::Display for DeviceScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}", self.start_bus())?;
        for (i, hop) in self.path.iter().enumerate() {
            let sep = if i == 0 { ":" } else { "/" };
            write!(f, "{sep}{:02x}.{:x}", hop.device, hop.function)?;
        }
        Ok(())
    }
}

/// Iterator over the scopes of one structure. Yields an error for the first
/// malformed scope and stops there.
#[derive(Clone, Debug)]
pub struct Scopes<'a> {
    bytes: &'a [u8],
    /// Table offset of `bytes[0]`.
    offset: usize,
    failed: bool,
}

impl<'a> Scopes<'a> {
    pub(crate) fn new(bytes: &'a [u8], offset: usize) -> Self {
        Scopes {
            bytes,
            offset,
            failed: false,
        }
    }

    pub(crate) fn empty() -> Self {
        Scopes::new(&[], 0)
    }

    fn parse_one(&self) -> Result<(DeviceScope<'a>, usize), AcpiError> {
        let remaining = self.bytes.len();
        let length_byte: &[u8; 2] =
            read(self.bytes, 0, self.offset, "device scope type and length")?;
        let length = length_byte[1];
        if usize::from(length) < SCOPE_MIN_LEN {
            return Err(AcpiError::ScopeTooShort {
                offset: self.offset,
                length,
            });
        }
        let scope = self
            .bytes
            .get(..usize::from(length))
            .ok_or(AcpiError::ScopePastStructure {
                offset: self.offset,
                length,
                remaining,
            })?;
        let header: &RawScopeHeader = read(scope, 0, self.offset, "device scope header")?;
        let path_bytes = scope.get(SCOPE_HEADER_LEN..).unwrap_or(&[]);
        let path =
            <[PathEntry]>::ref_from_bytes(path_bytes).map_err(|_| AcpiError::ScopePathOdd {
                offset: self.offset,
                length,
            })?;
        let scope = DeviceScope {
            offset: self.offset,
            header,
            path,
        };
        Ok((scope, usize::from(length)))
    }
}

impl<'a> Iterator for Scopes<'a> {
    type Item = Result<DeviceScope<'a>, AcpiError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.bytes.is_empty() {
            return None;
        }
        match self.parse_one() {
            Ok((scope, length)) => {
                self.bytes = self.bytes.get(length..).unwrap_or(&[]);
                self.offset += length;
                Some(Ok(scope))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}
