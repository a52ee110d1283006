//! The ACPI-tables window: a read-only snapshot of the firmware's tables
//! that the kernel copies into a task's region at boot.
//!
//! The PVH start info names the RSDP; the kernel reads the RSDT/XSDT it
//! points to and copies the smallest physical range holding the RSDP's
//! root table and every table it lists, behind a [`WindowHeader`] that also
//! holds a copy of the RSDP itself (it usually lies far from the tables, in
//! the BIOS area) and the boot memory map. The acpi task then parses with
//! physical addresses: `offset = HEADER + pa - base`, and the RSDP at
//! [`RSDP_COPY_AT`].
//!
//! The firmware is not trusted: every byte the kernel reads for this, and
//! the whole window it copies, must lie in memory the boot memory map gives
//! the firmware (reserved, ACPI, NVS) below 4 GiB, the kernel's identity
//! map. A pointer elsewhere (RAM holding the kernel or its frames, MMIO,
//! past 4 GiB) gets the acpi task an empty window and the kernel a
//! [`Refusal`] to log; boot goes on. Beyond finding that range the kernel
//! does no ACPI parsing; every check of the tables' contents is the acpi
//! task's.

use core::fmt;

pub use abi::acpi_window::{
    firmware_covers, MemEntry, WindowHeader, HEADER, MAGIC, MEMORY_MAP_MAX, RSDP_COPY_AT,
    RSDP_COPY_LEN,
};

const RSDP_REVISION: usize = 15;
const RSDP_RSDT: usize = 16;
const RSDP_XSDT: usize = 24;
const SDT_LENGTH: u64 = 4;
const SDT_HEADER: u64 = 36;
/// The most root-table entries looked at.
const MAX_ENTRIES: u64 = 64;
/// The end of the kernel's identity map.
pub const IDENTITY_MAP_END: u64 = 1 << 32;

/// Why the kernel copies no tables.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The boot loader named no RSDP.
    NoRsdp,
    /// The RSDP is not in firmware memory below 4 GiB.
    RsdpOutside(u64),
    /// The root table (XSDT/RSDT) is not in firmware memory below 4 GiB.
    RootOutside(u64),
    /// The tables reach outside firmware memory below 4 GiB.
    WindowOutside {
        /// First byte.
        lo: u64,
        /// One past the last.
        hi: u64,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outside = "is not inside ACPI or reserved memory of the boot memory map below 4 GiB";
        match self {
            Refusal::NoRsdp => write!(f, "the boot loader named no RSDP"),
            Refusal::RsdpOutside(a) => write!(f, "the RSDP at {a:#x} {outside}"),
            Refusal::RootOutside(a) => write!(f, "the root table at {a:#x} {outside}"),
            Refusal::WindowOutside { lo, hi } => write!(f, "the tables {lo:#x}..{hi:#x} reach outside ACPI or reserved memory of the boot memory map below 4 GiB"),
        }
    }
}

/// The physical range `[lo, hi)` holding the root table and every table it
/// lists, reading physical memory through `read(pa, buf)` only where
/// `map` gives it to the firmware below 4 GiB; ranges larger than `cap` are
/// cut at `cap`. `root` replaces the RSDP's root pointer when given (a
/// test image's hostile firmware).
pub fn table_range(
    map: &[MemEntry],
    rsdp: u64,
    cap: u64,
    root: Option<u64>,
    read: &mut dyn FnMut(u64, &mut [u8]) -> bool,
) -> Result<(u64, u64), Refusal> {
    let mut guarded = |pa: u64, buf: &mut [u8]| {
        firmware_covers(map, pa, buf.len() as u64, IDENTITY_MAP_END) && read(pa, buf)
    };
    if rsdp == 0 {
        return Err(Refusal::NoRsdp);
    }
    let mut r = [0u8; 36];
    if !guarded(rsdp, &mut r) {
        return Err(Refusal::RsdpOutside(rsdp));
    }
    let (named, entry) = if r[RSDP_REVISION] >= 2 {
        let mut x = [0u8; 8];
        x.copy_from_slice(&r[RSDP_XSDT..RSDP_XSDT + 8]);
        (u64::from_le_bytes(x), 8u64)
    } else {
        let mut x = [0u8; 4];
        x.copy_from_slice(&r[RSDP_RSDT..RSDP_RSDT + 4]);
        (u64::from(u32::from_le_bytes(x)), 4u64)
    };
    let root = root.unwrap_or(named);
    let mut len = [0u8; 4];
    let length_at = root.checked_add(SDT_LENGTH);
    if root == 0 || !length_at.is_some_and(|at| guarded(at, &mut len)) {
        return Err(Refusal::RootOutside(root));
    }
    let root_len = u64::from(u32::from_le_bytes(len));
    let (mut lo, mut hi) = (root, root.saturating_add(root_len));
    let entries = root_len.saturating_sub(SDT_HEADER) / entry;
    for i in 0..entries.min(MAX_ENTRIES) {
        let mut e = [0u8; 8];
        let at = root.saturating_add(SDT_HEADER + i * entry);
        if !guarded(at, &mut e[..entry as usize]) {
            break;
        }
        let table = u64::from_le_bytes(e);
        // A table outside firmware memory is not read (and not copied);
        // the acpi task reports the entry it cannot follow.
        let readable = table
            .checked_add(SDT_LENGTH)
            .is_some_and(|at| guarded(at, &mut len));
        if table == 0 || !readable {
            continue;
        }
        lo = lo.min(table);
        hi = hi.max(table.saturating_add(u64::from(u32::from_le_bytes(len))));
    }
    let hi = hi.min(lo.saturating_add(cap));
    if !firmware_covers(map, lo, hi - lo, IDENTITY_MAP_END) {
        return Err(Refusal::WindowOutside { lo, hi });
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::acpi_window::{E820_RAM, E820_RESERVED};

    const MAP: [MemEntry; 3] = [
        MemEntry {
            base: 0,
            size: 0x1000,
            kind: E820_RAM,
        },
        MemEntry {
            base: 0x1000,
            size: 0x3000,
            kind: E820_RESERVED,
        },
        MemEntry {
            base: 0x4000,
            size: 0x4000,
            kind: E820_RAM,
        },
    ];

    fn image() -> std::vec::Vec<u8> {
        let mut m = std::vec![0u8; 0x8000];
        // RSDP v2 at 0x1100 pointing at an XSDT at 0x1800 with two tables.
        let rsdp = 0x1100;
        m[rsdp + RSDP_REVISION] = 2;
        m[rsdp + RSDP_XSDT..rsdp + RSDP_XSDT + 8].copy_from_slice(&0x1800u64.to_le_bytes());
        m[0x1804..0x1808].copy_from_slice(&(36u32 + 16).to_le_bytes());
        m[0x1824..0x182c].copy_from_slice(&0x2000u64.to_le_bytes());
        m[0x182c..0x1834].copy_from_slice(&0x3000u64.to_le_bytes());
        m[0x2004..0x2008].copy_from_slice(&0x80u32.to_le_bytes());
        m[0x3004..0x3008].copy_from_slice(&0x40u32.to_le_bytes());
        m
    }

    fn reader(m: &[u8]) -> impl FnMut(u64, &mut [u8]) -> bool + '_ {
        move |pa, buf| match m.get(pa as usize..pa as usize + buf.len()) {
            Some(src) => {
                buf.copy_from_slice(src);
                true
            }
            None => false,
        }
    }

    fn range(m: &[u8], cap: u64, root: Option<u64>) -> Result<(u64, u64), Refusal> {
        table_range(&MAP, 0x1100, cap, root, &mut reader(m))
    }

    #[test]
    fn window_spans_root_table_and_every_listed_table() {
        assert_eq!(range(&image(), 1 << 20, None), Ok((0x1800, 0x3040)));
    }

    #[test]
    fn window_is_cut_at_its_capacity() {
        assert_eq!(range(&image(), 0x800, None), Ok((0x1800, 0x2000)));
    }

    #[test]
    fn missing_rsdp_gives_no_window() {
        let m = image();
        assert_eq!(
            table_range(&MAP, 0, 1 << 20, None, &mut reader(&m)),
            Err(Refusal::NoRsdp)
        );
    }

    #[test]
    fn an_rsdp_outside_firmware_memory_is_not_read() {
        let m = image();
        let mut reads = 0;
        let mut counting = |pa: u64, buf: &mut [u8]| {
            reads += 1;
            reader(&m)(pa, buf)
        };
        assert_eq!(
            table_range(&MAP, 0x4100, 1 << 20, None, &mut counting),
            Err(Refusal::RsdpOutside(0x4100))
        );
        assert_eq!(reads, 0);
    }

    #[test]
    fn a_root_table_in_ram_such_as_the_kernel_image_is_refused() {
        assert_eq!(
            range(&image(), 1 << 20, Some(0x4000)),
            Err(Refusal::RootOutside(0x4000))
        );
    }

    #[test]
    fn a_root_table_near_4gib_is_refused_not_read_past_the_identity_map() {
        assert_eq!(
            range(&image(), 1 << 20, Some(0xffff_ffe0)),
            Err(Refusal::RootOutside(0xffff_ffe0))
        );
        assert_eq!(
            range(&image(), 1 << 20, Some(u64::MAX - 2)),
            Err(Refusal::RootOutside(u64::MAX - 2))
        );
    }

    #[test]
    fn tables_reaching_into_ram_are_refused_whole() {
        let mut m = image();
        // The second table claims to run into the RAM at 0x4000.
        m[0x3004..0x3008].copy_from_slice(&0x1800u32.to_le_bytes());
        assert_eq!(
            range(&m, 1 << 20, None),
            Err(Refusal::WindowOutside {
                lo: 0x1800,
                hi: 0x4800
            })
        );
    }

    #[test]
    fn a_listed_table_in_ram_is_left_out_of_the_window() {
        let mut m = image();
        m[0x182c..0x1834].copy_from_slice(&0x5000u64.to_le_bytes());
        assert_eq!(range(&m, 1 << 20, None), Ok((0x1800, 0x2080)));
    }

    #[test]
    fn a_root_length_that_wraps_is_refused() {
        let mut m = image();
        m[0x1804..0x1808].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            range(&m, u64::MAX, None),
            Err(Refusal::WindowOutside { .. })
        ));
    }
}
