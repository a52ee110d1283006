//! The ACPI-tables window the kernel grants the acpi task (app.toml region
//! `kind = "acpi-tables"`), read as physical memory for [`acpi::walk`].
//!
//! The kernel copies the smallest physical range holding the root table and
//! every table it lists behind a [`WindowHeader`]; the byte of physical
//! address `pa` sits at `HEADER + pa - base`. Reads outside the copied
//! range are errors naming the address, never a panic. Tables found here
//! can be borrowed for as long as the window (the region is mapped for the
//! task's whole life), so nothing is copied a second time.
//!
//! The RSDP usually lies far from the tables (on QEMU in the BIOS area at
//! 0xF59D0, the tables near the top of RAM), so the kernel copies it into
//! the window's header; reads of the RSDP are served from that copy.
//! [`AcpiWindow::with_rsdp_area`] can add a real grant of the BIOS area
//! instead, for a kernel that does not copy it.

use core::fmt;

use abi::acpi_window::{WindowHeader, HEADER, RSDP_COPY_AT, RSDP_COPY_LEN};
use acpi::rsdp::RSDP_V1_LEN;
use acpi::walk::{PhysMem, TableLocation};

/// The snapshot of the firmware's tables.
#[derive(Clone, Copy, Debug)]
pub struct AcpiWindow<'w> {
    header: WindowHeader,
    /// The copied tables: physical `header.base` is byte 0.
    tables: &'w [u8],
    /// The kernel's copy of the RSDP, inside the header.
    rsdp_copy: &'w [u8],
    /// Memory holding the RSDP, if granted: (physical base, bytes).
    rsdp_area: Option<(u64, &'w [u8])>,
}

/// Why the region is not a usable window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// The region does not start with the kernel's magic.
    NoHeader,
    /// The loader gave the kernel no RSDP, so nothing was copied.
    NoRsdp,
    /// The kernel copied nothing: the firmware's tables lie outside its
    /// own memory below 4 GiB (the kernel's log says where).
    Refused,
    /// The header claims more bytes than the region holds.
    Truncated {
        /// Copied bytes the header claims.
        claimed: u64,
        /// Bytes the region has after the header.
        available: usize,
    },
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowError::NoHeader => write!(f, "the ACPI window has no kernel header (magic)"),
            WindowError::NoRsdp => {
                write!(
                    f,
                    "the boot loader named no RSDP: no ACPI tables were copied"
                )
            }
            WindowError::Refused => write!(
                f,
                "the kernel refused the firmware's ACPI tables (outside firmware memory below 4 GiB; see its log): no tables"
            ),
            WindowError::Truncated { claimed, available } => write!(
                f,
                "the ACPI window header claims {claimed:#x} bytes, the region holds {available:#x}"
            ),
        }
    }
}

/// A read of the window that fell outside the copied tables (and outside
/// the RSDP area, if one was granted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutsideWindow {
    /// First copied physical address.
    pub base: u64,
    /// Copied bytes.
    pub len: u64,
    /// The RSDP area granted, as (physical base, bytes), if any.
    pub rsdp_area: Option<(u64, u64)>,
}

impl fmt::Display for OutsideWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "outside the copied tables ({:#x}..{:#x})",
            self.base,
            self.base.saturating_add(self.len)
        )?;
        match self.rsdp_area {
            Some((base, len)) => write!(
                f,
                " and the RSDP area ({base:#x}..{:#x})",
                base.saturating_add(len)
            ),
            None => write!(f, " (no RSDP area granted)"),
        }
    }
}

impl<'w> AcpiWindow<'w> {
    /// Reads the header at the start of `region` (the whole granted region).
    pub fn new(region: &'w [u8]) -> Result<Self, WindowError> {
        let header = WindowHeader::decode(region).ok_or(WindowError::NoHeader)?;
        if header.rsdp == 0 {
            return Err(WindowError::NoRsdp);
        }
        if header.len == 0 {
            return Err(WindowError::Refused);
        }
        let body = region.get(HEADER..).unwrap_or(&[]);
        let tables = usize::try_from(header.len)
            .ok()
            .and_then(|len| body.get(..len))
            .ok_or(WindowError::Truncated {
                claimed: header.len,
                available: body.len(),
            })?;
        let rsdp_copy = region
            .get(RSDP_COPY_AT..RSDP_COPY_AT + RSDP_COPY_LEN)
            .unwrap_or(&[]);
        Ok(AcpiWindow {
            header,
            tables,
            rsdp_copy,
            rsdp_area: None,
        })
    }

    /// Also reads `area` (real memory at physical `base`, e.g. the BIOS
    /// area) where the copied tables do not reach: the RSDP lives there.
    pub fn with_rsdp_area(self, base: u64, area: &'w [u8]) -> Self {
        AcpiWindow {
            rsdp_area: Some((base, area)),
            ..self
        }
    }

    /// Whether the RSDP can be read (copied, or in the granted area).
    pub fn rsdp_readable(&self) -> bool {
        self.readable(self.header.rsdp, RSDP_V1_LEN).is_some()
    }

    /// The bytes of `[address, address + len)` from the copied tables or,
    /// failing that, the RSDP area.
    fn readable(&self, address: u64, len: usize) -> Option<&'w [u8]> {
        self.bytes(address, len)
            .or_else(|| {
                let start = usize::try_from(address.checked_sub(self.header.rsdp)?).ok()?;
                self.rsdp_copy.get(start..start.checked_add(len)?)
            })
            .or_else(|| {
                let (base, area) = self.rsdp_area?;
                let start = usize::try_from(address.checked_sub(base)?).ok()?;
                area.get(start..start.checked_add(len)?)
            })
    }

    /// The boot memory map, as the kernel saw it.
    pub fn memory_map(&self) -> &[abi::acpi_window::MemEntry] {
        self.header.memory_map()
    }

    /// The RSDP's physical address, as the boot loader gave it.
    pub fn rsdp(&self) -> u64 {
        self.header.rsdp
    }

    /// The copied physical range `(base, len)`.
    pub fn range(&self) -> (u64, u64) {
        (self.header.base, self.header.len)
    }

    /// The bytes of `[address, address + len)`, if all were copied.
    pub fn bytes(&self, address: u64, len: usize) -> Option<&'w [u8]> {
        let start = usize::try_from(address.checked_sub(self.header.base)?).ok()?;
        self.tables.get(start..start.checked_add(len)?)
    }

    /// A table the walk found, borrowed from the window.
    pub fn table(&self, location: &TableLocation) -> Option<&'w [u8]> {
        self.bytes(location.address, usize::try_from(location.length).ok()?)
    }
}

impl PhysMem for AcpiWindow<'_> {
    type Error = OutsideWindow;

    fn read(&self, address: u64, buf: &mut [u8]) -> Result<(), OutsideWindow> {
        let bytes = self.readable(address, buf.len()).ok_or(OutsideWindow {
            base: self.header.base,
            len: self.header.len,
            rsdp_area: self.rsdp_area.map(|(base, area)| (base, area.len() as u64)),
        })?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    fn region(rsdp: u64, base: u64, tables: &[u8], claimed: u64) -> Vec<u8> {
        let mut rsdp_copy = [0u8; RSDP_COPY_LEN];
        rsdp_copy[..8].copy_from_slice(b"RSD PTR ");
        let header = WindowHeader {
            rsdp,
            base,
            len: claimed,
            rsdp_copy,
            memory_map: [Default::default(); abi::acpi_window::MEMORY_MAP_MAX],
            map_len: 0,
        };
        let mut r = header.encode().to_vec();
        r.extend_from_slice(tables);
        r
    }

    #[test]
    fn rsdp_is_read_from_the_header_copy() {
        let r = region(0xf59d0, 0x7000, &[1, 2, 3], 3);
        let w = AcpiWindow::new(&r).unwrap();
        assert!(w.rsdp_readable());
        let mut sig = [0u8; 8];
        w.read(0xf59d0, &mut sig).unwrap();
        assert_eq!(&sig, b"RSD PTR ");
    }

    #[test]
    fn physical_address_reads_the_byte_copied_for_it() {
        let r = region(0xf0000, 0x7000, &[1, 2, 3, 4, 5], 5);
        let w = AcpiWindow::new(&r).unwrap();
        let mut buf = [0u8; 3];
        w.read(0x7002, &mut buf).unwrap();
        assert_eq!(buf, [3, 4, 5]);
        assert_eq!(w.rsdp(), 0xf0000);
        assert_eq!(w.range(), (0x7000, 5));
    }

    #[test]
    fn read_past_the_copied_range_is_an_error_naming_it() {
        let r = region(0xf0000, 0x7000, &[1, 2, 3, 4, 5], 5);
        let w = AcpiWindow::new(&r).unwrap();
        let outside = OutsideWindow {
            base: 0x7000,
            len: 5,
            rsdp_area: None,
        };
        assert_eq!(w.read(0x7003, &mut [0u8; 3]), Err(outside));
        assert_eq!(w.read(0x6fff, &mut [0u8; 1]), Err(outside));
        assert_eq!(w.read(u64::MAX, &mut [0u8; 2]), Err(outside));
        assert_eq!(
            std::format!("{outside}"),
            "outside the copied tables (0x7000..0x7005) (no RSDP area granted)"
        );
    }

    #[test]
    fn bytes_beyond_the_rsdp_copy_are_read_from_the_granted_area() {
        let r = region(0xf0010, 0x7000, &[1, 2, 3, 4, 5], 5);
        let w = AcpiWindow::new(&r).unwrap();
        assert!(w.read(0xf0038, &mut [0u8; 4]).is_err());
        let area = [0xAAu8; 64];
        let w = w.with_rsdp_area(0xf0000, &area);
        let mut buf = [0u8; 4];
        w.read(0xf0038, &mut buf).unwrap();
        assert_eq!(buf, [0xAA; 4]);
        // The copied tables still come from the copy.
        w.read(0x7000, &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3, 4]);
        let err = w.read(0xf0040, &mut buf).unwrap_err();
        assert_eq!(err.rsdp_area, Some((0xf0000, 64)));
        assert_eq!(
            std::format!("{err}"),
            "outside the copied tables (0x7000..0x7005) and the RSDP area (0xf0000..0xf0040)"
        );
    }

    #[test]
    fn found_table_is_borrowed_from_the_window() {
        let r = region(0xf0000, 0x7000, &[9, 8, 7, 6], 4);
        let w = AcpiWindow::new(&r).unwrap();
        let location = TableLocation {
            address: 0x7001,
            signature: *b"DMAR",
            length: 2,
        };
        assert_eq!(w.table(&location), Some(&[8u8, 7][..]));
        let beyond = TableLocation {
            length: 4,
            ..location
        };
        assert_eq!(w.table(&beyond), None);
    }

    #[test]
    fn region_without_the_magic_is_refused() {
        let mut r = region(0xf0000, 0x7000, &[1], 1);
        r[0] ^= 0xff;
        assert_eq!(AcpiWindow::new(&r).unwrap_err(), WindowError::NoHeader);
        assert_eq!(AcpiWindow::new(&[]).unwrap_err(), WindowError::NoHeader);
    }

    #[test]
    fn window_without_an_rsdp_is_refused() {
        let r = region(0, 0, &[], 0);
        assert_eq!(AcpiWindow::new(&r).unwrap_err(), WindowError::NoRsdp);
    }

    #[test]
    fn header_claiming_more_than_the_region_is_refused() {
        let r = region(0xf0000, 0x7000, &[1, 2], 3);
        assert_eq!(
            AcpiWindow::new(&r).unwrap_err(),
            WindowError::Truncated {
                claimed: 3,
                available: 2
            }
        );
    }
}
