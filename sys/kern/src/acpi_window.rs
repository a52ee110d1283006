//! The ACPI-tables window: a read-only snapshot of the firmware's tables
//! that the kernel copies into a task's region at boot.
//!
//! The PVH start info names the RSDP; the kernel reads the RSDT/XSDT it
//! points to and copies the smallest physical range holding the RSDP's
//! root table and every table it lists, behind a [`WindowHeader`] that also
//! holds a copy of the RSDP itself (it usually lies far from the tables, in
//! the BIOS area). The acpi task then parses with physical addresses:
//! `offset = HEADER + pa - base`, and the RSDP at [`RSDP_COPY_AT`].
//! The kernel does no more ACPI parsing than finding that range; every
//! check of the tables' contents is the acpi task's.

pub use abi::acpi_window::{WindowHeader, HEADER, MAGIC, RSDP_COPY_AT, RSDP_COPY_LEN};

const RSDP_REVISION: usize = 15;
const RSDP_RSDT: usize = 16;
const RSDP_XSDT: usize = 24;
const SDT_LENGTH: usize = 4;
const SDT_HEADER: u64 = 36;
/// The most root-table entries looked at.
const MAX_ENTRIES: u64 = 64;

/// The physical range `[lo, hi)` holding the root table and every table it
/// lists, read through `read(pa, buf)`; `None` if the root table is absent
/// or unreadable. Ranges larger than `cap` are cut at `cap`.
pub fn table_range(
    rsdp: u64,
    cap: u64,
    read: &mut dyn FnMut(u64, &mut [u8]) -> bool,
) -> Option<(u64, u64)> {
    let mut r = [0u8; 36];
    if rsdp == 0 || !read(rsdp, &mut r) {
        return None;
    }
    let (root, entry) = if r[RSDP_REVISION] >= 2 {
        (
            u64::from_le_bytes(r[RSDP_XSDT..RSDP_XSDT + 8].try_into().ok()?),
            8u64,
        )
    } else {
        (
            u32::from_le_bytes(r[RSDP_RSDT..RSDP_RSDT + 4].try_into().ok()?) as u64,
            4u64,
        )
    };
    let mut len = [0u8; 4];
    if root == 0 || !read(root + SDT_LENGTH as u64, &mut len) {
        return None;
    }
    let root_len = u32::from_le_bytes(len) as u64;
    let (mut lo, mut hi) = (root, root.checked_add(root_len)?);
    let entries = root_len.saturating_sub(SDT_HEADER) / entry;
    for i in 0..entries.min(MAX_ENTRIES) {
        let mut e = [0u8; 8];
        if !read(root + SDT_HEADER + i * entry, &mut e[..entry as usize]) {
            break;
        }
        let table = u64::from_le_bytes(e);
        if table == 0 || !read(table + SDT_LENGTH as u64, &mut len) {
            continue;
        }
        let end = table.saturating_add(u32::from_le_bytes(len) as u64);
        lo = lo.min(table);
        hi = hi.max(end);
    }
    Some((lo, hi.min(lo.saturating_add(cap))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> std::vec::Vec<u8> {
        let mut m = std::vec![0u8; 0x4000];
        // RSDP v2 at 0x100 pointing at an XSDT at 0x1000 with two tables.
        m[0x100 + RSDP_REVISION] = 2;
        m[0x100 + RSDP_XSDT..0x100 + RSDP_XSDT + 8].copy_from_slice(&0x1000u64.to_le_bytes());
        m[0x1004..0x1008].copy_from_slice(&(36u32 + 16).to_le_bytes());
        m[0x1024..0x102c].copy_from_slice(&0x2000u64.to_le_bytes());
        m[0x102c..0x1034].copy_from_slice(&0x3000u64.to_le_bytes());
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

    #[test]
    fn window_spans_root_table_and_every_listed_table() {
        let m = image();
        assert_eq!(
            table_range(0x100, 1 << 20, &mut reader(&m)),
            Some((0x1000, 0x3040))
        );
    }

    #[test]
    fn window_is_cut_at_its_capacity() {
        let m = image();
        assert_eq!(
            table_range(0x100, 0x800, &mut reader(&m)),
            Some((0x1000, 0x1800))
        );
    }

    #[test]
    fn missing_rsdp_gives_no_window() {
        let m = image();
        assert_eq!(table_range(0, 1 << 20, &mut reader(&m)), None);
        assert_eq!(table_range(0x9000, 1 << 20, &mut reader(&m)), None);
    }
}
