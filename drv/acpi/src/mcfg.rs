//! MCFG: where PCI Express configuration space (ECAM) lives, per segment and
//! bus range. The pci task uses it to reach config space by memory accesses.
//!
//! Each allocation's base address is where bus 0 would be even when the range
//! starts at a higher bus (the ECAM window for bus B is `base + (B << 20)`).

use zerocopy::little_endian::{U16, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::bytes::read;
use crate::error::AcpiError;
use crate::root::check_whole_entries;
use crate::sdt::{Sdt, SDT_HEADER_LEN};

pub const MCFG_SIGNATURE: [u8; 4] = *b"MCFG";
/// The 8 reserved bytes between the header and the first allocation.
const MCFG_RESERVED_LEN: usize = 8;
const ALLOCATION_LEN: usize = core::mem::size_of::<RawAllocation>();

#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
struct RawAllocation {
    base_address: U64,
    segment: U16,
    start_bus: u8,
    end_bus: u8,
    reserved: [u8; 4],
}

/// One ECAM window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcamAllocation {
    pub base_address: u64,
    pub segment: u16,
    pub start_bus: u8,
    pub end_bus: u8,
}

impl EcamAllocation {
    /// Physical address of (bus, device, function)'s 4 KiB of config space,
    /// or `None` if the bus is outside this window or device/function are out
    /// of range.
    pub fn config_address(&self, bus: u8, device: u8, function: u8) -> Option<u64> {
        if bus < self.start_bus || bus > self.end_bus || device > 31 || function > 7 {
            return None;
        }
        let offset =
            (u64::from(bus) << 20) | (u64::from(device) << 15) | (u64::from(function) << 12);
        self.base_address.checked_add(offset)
    }
}

/// A checked MCFG.
#[derive(Clone, Copy, Debug)]
pub struct Mcfg<'a> {
    sdt: Sdt<'a>,
}

impl<'a> Mcfg<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, AcpiError> {
        let sdt = Sdt::parse(bytes, &MCFG_SIGNATURE, SDT_HEADER_LEN + MCFG_RESERVED_LEN)?;
        let allocations = sdt.body().len().saturating_sub(MCFG_RESERVED_LEN);
        check_whole_entries(
            allocations,
            SDT_HEADER_LEN + MCFG_RESERVED_LEN,
            &MCFG_SIGNATURE,
            ALLOCATION_LEN,
        )?;
        Ok(Mcfg { sdt })
    }

    pub fn sdt(&self) -> Sdt<'a> {
        self.sdt
    }

    pub fn allocations(&self) -> impl Iterator<Item = EcamAllocation> + 'a {
        let list = self.sdt.body().get(MCFG_RESERVED_LEN..).unwrap_or(&[]);
        let base = SDT_HEADER_LEN + MCFG_RESERVED_LEN;
        (0..list.len() / ALLOCATION_LEN).filter_map(move |i| {
            let raw: &RawAllocation =
                read(list, i * ALLOCATION_LEN, base, "MCFG allocation").ok()?;
            Some(EcamAllocation {
                base_address: raw.base_address.get(),
                segment: raw.segment.get(),
                start_bus: raw.start_bus,
                end_bus: raw.end_bus,
            })
        })
    }
}
