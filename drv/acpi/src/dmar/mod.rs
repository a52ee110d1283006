//! The DMA Remapping table (DMAR): the firmware's description of the VT-d
//! units, the memory they must keep identity-mapped (RMRRs), and which
//! devices each applies to.
//!
//! [`Dmar::parse`] checks the header, the checksum and every structure and
//! scope once, so a `Dmar` that exists is fully readable; its iterators still
//! yield `Result` so they can also be used on their own without that pass.
//! Unknown structure types are skipped by their length and yielded as
//! [`Structure::Unknown`], never rejected: newer firmware adds types.

mod andd;
mod atsr;
mod drhd;
mod rhsa;
mod rmrr;
mod satc;
pub mod scope;
mod structure;

use core::fmt;

use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

pub use andd::Andd;
pub use atsr::Atsr;
pub use drhd::Drhd;
pub use rhsa::Rhsa;
pub use rmrr::Rmrr;
pub use satc::Satc;
pub use scope::{DeviceScope, PathEntry, ScopeType, Scopes};
pub use structure::{Structure, Structures, UnknownStructure};

use crate::bytes::read;
use crate::error::AcpiError;
use crate::sdt::{Sdt, SdtHeader, SDT_HEADER_LEN};

pub const DMAR_SIGNATURE: [u8; 4] = *b"DMAR";
/// Table offset of the first remapping structure.
pub const STRUCTURES_OFFSET: usize = SDT_HEADER_LEN + core::mem::size_of::<RawDmarHeader>();

/// Remapping structure type codes (VT-d specification, chapter 8).
pub mod kind {
    pub const DRHD: u16 = 0;
    pub const RMRR: u16 = 1;
    pub const ATSR: u16 = 2;
    pub const RHSA: u16 = 3;
    pub const ANDD: u16 = 4;
    pub const SATC: u16 = 5;
}

/// Name of a remapping structure type, for messages.
pub fn structure_name(kind: u16) -> &'static str {
    match kind {
        kind::DRHD => "DRHD",
        kind::RMRR => "RMRR",
        kind::ATSR => "ATSR",
        kind::RHSA => "RHSA",
        kind::ANDD => "ANDD",
        kind::SATC => "SATC",
        _ => "unknown",
    }
}

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawDmarHeader {
    host_address_width: u8,
    flags: u8,
    reserved: [u8; 10],
}

/// The DMAR header flags byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmarFlags(pub u8);

impl DmarFlags {
    /// The platform supports interrupt remapping.
    pub const INTR_REMAP: u8 = 1 << 0;
    /// Firmware asks the OS not to enable x2APIC mode.
    pub const X2APIC_OPT_OUT: u8 = 1 << 1;
    /// Firmware set up DMA protection and asks the OS to keep it on.
    pub const DMA_CTRL_PLATFORM_OPT_IN: u8 = 1 << 2;

    pub fn intr_remap(self) -> bool {
        self.0 & Self::INTR_REMAP != 0
    }
    pub fn x2apic_opt_out(self) -> bool {
        self.0 & Self::X2APIC_OPT_OUT != 0
    }
    pub fn dma_ctrl_platform_opt_in(self) -> bool {
        self.0 & Self::DMA_CTRL_PLATFORM_OPT_IN != 0
    }
}

impl fmt::Display for DmarFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#04x}", self.0)?;
        let names = [
            (self.intr_remap(), "INTR_REMAP"),
            (self.x2apic_opt_out(), "X2APIC_OPT_OUT"),
            (self.dma_ctrl_platform_opt_in(), "DMA_CTRL_PLATFORM_OPT_IN"),
        ];
        for (set, name) in names {
            if set {
                write!(f, " {name}")?;
            }
        }
        Ok(())
    }
}

/// A checked DMAR table.
#[derive(Clone, Copy, Debug)]
pub struct Dmar<'a> {
    sdt: Sdt<'a>,
    header: &'a RawDmarHeader,
}

impl<'a> Dmar<'a> {
    /// Checks everything: table header, checksum, DMAR header, and each
    /// remapping structure and device scope. Bytes after the table's length
    /// field are ignored.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, AcpiError> {
        let dmar = Self::parse_header_only(bytes)?;
        dmar.validate()?;
        Ok(dmar)
    }

    /// Checks the table header, checksum and DMAR header only; structures
    /// and scopes are checked as [`Dmar::structures`] reaches them, so the
    /// ones before a malformed structure can still be read.
    pub fn parse_header_only(bytes: &'a [u8]) -> Result<Self, AcpiError> {
        let sdt = Sdt::parse(bytes, &DMAR_SIGNATURE, STRUCTURES_OFFSET)?;
        let header = read(sdt.bytes(), SDT_HEADER_LEN, 0, "DMAR header")?;
        Ok(Dmar { sdt, header })
    }

    /// Walks every structure and scope; the first malformed one is the error.
    fn validate(&self) -> Result<(), AcpiError> {
        for structure in self.structures() {
            for scope in structure?.scopes() {
                scope?;
            }
        }
        Ok(())
    }

    pub fn sdt(&self) -> Sdt<'a> {
        self.sdt
    }

    pub fn header(&self) -> &'a SdtHeader {
        self.sdt.header()
    }

    /// The raw field: the host address width minus one.
    pub fn host_address_width_field(&self) -> u8 {
        self.header.host_address_width
    }

    /// DMA physical addressing width of the platform, in bits.
    pub fn host_address_width(&self) -> u32 {
        u32::from(self.header.host_address_width) + 1
    }

    pub fn flags(&self) -> DmarFlags {
        DmarFlags(self.header.flags)
    }

    /// The remapping structures in table order.
    pub fn structures(&self) -> Structures<'a> {
        Structures::new(
            self.sdt.bytes().get(STRUCTURES_OFFSET..).unwrap_or(&[]),
            STRUCTURES_OFFSET,
        )
    }

    /// The well-formed structures: all of them for a `Dmar` from
    /// [`Dmar::parse`], which rejected any other; those before the first
    /// malformed one after [`Dmar::parse_header_only`].
    pub fn checked_structures(&self) -> impl Iterator<Item = Structure<'a>> + 'a {
        self.structures().filter_map(Result::ok)
    }

    pub fn drhds(&self) -> impl Iterator<Item = Drhd<'a>> + 'a {
        self.checked_structures().filter_map(|s| match s {
            Structure::Drhd(d) => Some(d),
            _ => None,
        })
    }

    pub fn rmrrs(&self) -> impl Iterator<Item = Rmrr<'a>> + 'a {
        self.checked_structures().filter_map(|s| match s {
            Structure::Rmrr(r) => Some(r),
            _ => None,
        })
    }
}
