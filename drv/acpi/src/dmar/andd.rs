//! ANDD, ACPI Name-space Device Declaration: gives an ACPI device (an I2C or
//! UART controller without a PCI function) a number that device scopes of
//! type "ACPI namespace" refer to by enumeration ID.
//!
//! The name is a NUL-terminated ASCII path such as `\_SB.PCI0.I2C0`; the
//! structure is often padded past the NUL, and the name stops at the first
//! NUL (or at the end of the structure if there is none).

use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::structure::RawStructureHeader;
use crate::bytes::read;
use crate::error::AcpiError;

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawAndd {
    header: RawStructureHeader,
    reserved: [u8; 3],
    device_number: u8,
}

const RAW_LEN: usize = core::mem::size_of::<RawAndd>();

/// An ACPI namespace device declaration.
#[derive(Clone, Copy, Debug)]
pub struct Andd<'a> {
    offset: usize,
    raw: &'a RawAndd,
    name: &'a [u8],
}

impl<'a> Andd<'a> {
    /// The fixed part and at least one byte of name.
    pub const MIN_LEN: usize = RAW_LEN + 1;

    pub(super) fn parse(bytes: &'a [u8], offset: usize) -> Result<Self, AcpiError> {
        let raw: &RawAndd = read(bytes, 0, offset, "ANDD")?;
        let field = bytes.get(RAW_LEN..).unwrap_or(&[]);
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        let name = field.get(..end).unwrap_or(field);
        Ok(Andd { offset, raw, name })
    }

    pub fn offset(&self) -> usize {
        self.offset
    }
    pub fn length(&self) -> u16 {
        self.raw.header.length.get()
    }
    /// The number ACPI-namespace device scopes use as enumeration ID.
    pub fn device_number(&self) -> u8 {
        self.raw.device_number
    }
    /// The namespace path, without its NUL.
    pub fn name(&self) -> &'a [u8] {
        self.name
    }
    /// The namespace path as text, if it is valid UTF-8 (ACPI names are
    /// ASCII; show anything else with [`crate::error::Ascii`]).
    pub fn name_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.name).ok()
    }
}
