//! The ACPI-tables window's header: the layout the kernel writes at the
//! start of the `acpi-tables` region and the acpi task reads.
//!
//! The kernel copies the smallest physical range holding the RSDP's root
//! table and every table it lists into the region, behind this header, which
//! also holds a copy of the RSDP itself (it usually lies far from the
//! tables, in the BIOS area) and the boot memory map (E820), so the acpi
//! task can hold the tables' RMRRs against what the firmware reserved. The
//! task parses with physical addresses: `offset = HEADER + pa - base`, and
//! the RSDP at [`RSDP_COPY_AT`]. It is ABI between the kernel and a task, so
//! it lives here, not in the kernel.

/// "ACPW" in memory.
pub const MAGIC: u32 = 0x5750_4341;
/// Where in the header the RSDP's copy sits.
pub const RSDP_COPY_AT: usize = 32;
/// Bytes of the RSDP copied (an ACPI 2.0 RSDP is 36 bytes).
pub const RSDP_COPY_LEN: usize = 36;
/// Where the memory map's entries start.
pub const MEMORY_MAP_AT: usize = 72;
/// The most memory map entries kept (more are dropped, and counted).
pub const MEMORY_MAP_MAX: usize = 32;
/// Bytes per memory map entry: base, size (u64), kind (u32), padding.
pub const MEMORY_ENTRY_LEN: usize = 24;
/// Bytes before the copied tables.
pub const HEADER: usize = MEMORY_MAP_AT + MEMORY_MAP_MAX * MEMORY_ENTRY_LEN;

/// E820 type of usable RAM.
pub const E820_RAM: u32 = 1;
/// E820 type of memory the firmware reserved.
pub const E820_RESERVED: u32 = 2;
/// E820 type of ACPI tables the OS may reclaim once read.
pub const E820_ACPI: u32 = 3;
/// E820 type of ACPI non-volatile storage.
pub const E820_NVS: u32 = 4;

/// One entry of the boot memory map.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct MemEntry {
    /// First byte.
    pub base: u64,
    /// Bytes.
    pub size: u64,
    /// E820 type.
    pub kind: u32,
}

impl MemEntry {
    /// One past the last byte (saturating: a hostile size cannot wrap).
    pub const fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }

    /// Whether the firmware keeps this memory to itself (reserved, ACPI
    /// tables, ACPI NVS): where tables and RMRRs belong.
    pub const fn is_firmware(&self) -> bool {
        matches!(self.kind, E820_RESERVED | E820_ACPI | E820_NVS)
    }
}

/// Whether every byte of `[base, base + len)` lies in firmware memory
/// (reserved, ACPI or NVS entries of `map`, adjacent ones joined) below
/// `limit`. An empty range is covered; a range that wraps is not.
pub fn firmware_covers(map: &[MemEntry], base: u64, len: u64, limit: u64) -> bool {
    let Some(end) = base.checked_add(len) else {
        return false;
    };
    if end > limit {
        return false;
    }
    let mut at = base;
    // Each step moves `at` to the end of an entry containing it; at most
    // one step per entry.
    for _ in 0..=map.len() {
        if at >= end {
            return true;
        }
        match map
            .iter()
            .filter(|e| e.is_firmware() && e.base <= at && at < e.end())
            .map(MemEntry::end)
            .max()
        {
            Some(next) => at = next,
            None => return false,
        }
    }
    at >= end
}

/// The header at the start of the window.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WindowHeader {
    /// Physical address of the RSDP (0 if the loader gave none).
    pub rsdp: u64,
    /// Physical address of the first copied byte.
    pub base: u64,
    /// Copied bytes (0: the kernel refused or found no tables).
    pub len: u64,
    /// The RSDP's first [`RSDP_COPY_LEN`] bytes.
    pub rsdp_copy: [u8; RSDP_COPY_LEN],
    /// The boot memory map's first `map_len` entries.
    pub memory_map: [MemEntry; MEMORY_MAP_MAX],
    /// How many of `memory_map` are used.
    pub map_len: usize,
}

impl WindowHeader {
    /// The boot memory map as the kernel saw it.
    pub fn memory_map(&self) -> &[MemEntry] {
        self.memory_map
            .get(..self.map_len)
            .unwrap_or(&self.memory_map)
    }

    /// Encodes as stored.
    pub fn encode(&self) -> [u8; HEADER] {
        let mut out = [0u8; HEADER];
        out[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        let count = self.map_len.min(MEMORY_MAP_MAX) as u32;
        out[4..8].copy_from_slice(&count.to_le_bytes());
        out[8..16].copy_from_slice(&self.rsdp.to_le_bytes());
        out[16..24].copy_from_slice(&self.base.to_le_bytes());
        out[24..32].copy_from_slice(&self.len.to_le_bytes());
        out[RSDP_COPY_AT..RSDP_COPY_AT + RSDP_COPY_LEN].copy_from_slice(&self.rsdp_copy);
        for (e, slot) in self
            .memory_map()
            .iter()
            .zip(out[MEMORY_MAP_AT..].chunks_exact_mut(MEMORY_ENTRY_LEN))
        {
            slot[0..8].copy_from_slice(&e.base.to_le_bytes());
            slot[8..16].copy_from_slice(&e.size.to_le_bytes());
            slot[16..20].copy_from_slice(&e.kind.to_le_bytes());
        }
        out
    }

    /// Decodes; `None` without the magic or with a malformed map count.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let u64_at = |i: usize| Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?));
        let u32_at = |i: usize| Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?));
        (b.get(0..4)? == MAGIC.to_le_bytes()).then_some(())?;
        let map_len = usize::try_from(u32_at(4)?).ok()?;
        if map_len > MEMORY_MAP_MAX {
            return None;
        }
        let mut memory_map = [MemEntry::default(); MEMORY_MAP_MAX];
        for (i, e) in memory_map.iter_mut().enumerate().take(map_len) {
            let at = MEMORY_MAP_AT + i * MEMORY_ENTRY_LEN;
            *e = MemEntry {
                base: u64_at(at)?,
                size: u64_at(at + 8)?,
                kind: u32_at(at + 16)?,
            };
        }
        Some(WindowHeader {
            rsdp: u64_at(8)?,
            base: u64_at(16)?,
            len: u64_at(24)?,
            rsdp_copy: b
                .get(RSDP_COPY_AT..RSDP_COPY_AT + RSDP_COPY_LEN)?
                .try_into()
                .ok()?,
            memory_map,
            map_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(base: u64, size: u64, kind: u32) -> MemEntry {
        MemEntry { base, size, kind }
    }

    #[test]
    fn header_round_trips_and_needs_its_magic() {
        let mut memory_map = [MemEntry::default(); MEMORY_MAP_MAX];
        memory_map[0] = e(0, 0x9fc00, E820_RAM);
        memory_map[1] = e(0xf0000, 0x10000, E820_RESERVED);
        let h = WindowHeader {
            rsdp: 1,
            base: 2,
            len: 3,
            rsdp_copy: [7; RSDP_COPY_LEN],
            memory_map,
            map_len: 2,
        };
        let decoded = WindowHeader::decode(&h.encode()).unwrap();
        assert_eq!(decoded, h);
        assert_eq!(decoded.memory_map().len(), 2);
        assert_eq!(WindowHeader::decode(&[0u8; HEADER]), None);
    }

    #[test]
    fn a_map_count_past_the_capacity_is_refused() {
        let mut b = WindowHeader {
            rsdp: 0,
            base: 0,
            len: 0,
            rsdp_copy: [0; RSDP_COPY_LEN],
            memory_map: [MemEntry::default(); MEMORY_MAP_MAX],
            map_len: 0,
        }
        .encode();
        b[4..8].copy_from_slice(&(MEMORY_MAP_MAX as u32 + 1).to_le_bytes());
        assert_eq!(WindowHeader::decode(&b), None);
    }

    /// QEMU q35 with SeaBIOS and 256 MiB, as the kernel logs it.
    const QEMU: [MemEntry; 6] = [
        MemEntry {
            base: 0,
            size: 0x9fc00,
            kind: E820_RAM,
        },
        MemEntry {
            base: 0x9fc00,
            size: 0x400,
            kind: E820_RESERVED,
        },
        MemEntry {
            base: 0xf0000,
            size: 0x10000,
            kind: E820_RESERVED,
        },
        MemEntry {
            base: 0x100000,
            size: 0xfedf000,
            kind: E820_RAM,
        },
        MemEntry {
            base: 0xffdf000,
            size: 0x21000,
            kind: E820_RESERVED,
        },
        MemEntry {
            base: 0xfffc0000,
            size: 0x40000,
            kind: E820_RESERVED,
        },
    ];
    const FOUR_GIB: u64 = 1 << 32;

    #[test]
    fn tables_in_reserved_memory_below_4gib_are_covered() {
        assert!(firmware_covers(&QEMU, 0xffe2d47, 0x2c4, FOUR_GIB));
        assert!(firmware_covers(&QEMU, 0xf59d0, 36, FOUR_GIB));
    }

    #[test]
    fn ram_the_kernel_image_and_unlisted_memory_are_not_covered() {
        assert!(!firmware_covers(&QEMU, 0x100000, 0x1000, FOUR_GIB));
        assert!(
            !firmware_covers(&QEMU, 0xffde000, 0x2000, FOUR_GIB),
            "straddles RAM"
        );
        assert!(!firmware_covers(&QEMU, 0xc000_0000, 16, FOUR_GIB), "a hole");
    }

    #[test]
    fn a_range_crossing_4gib_or_wrapping_is_not_covered() {
        assert!(firmware_covers(&QEMU, 0xffff_ffe0, 0x20, FOUR_GIB));
        assert!(!firmware_covers(&QEMU, 0xffff_ffe0, 0x21, FOUR_GIB));
        assert!(!firmware_covers(&QEMU, u64::MAX - 4, 16, u64::MAX));
    }

    #[test]
    fn adjacent_firmware_entries_join() {
        let map = [e(0x1000, 0x1000, E820_ACPI), e(0x2000, 0x1000, E820_NVS)];
        assert!(firmware_covers(&map, 0x1800, 0x1000, FOUR_GIB));
        assert!(!firmware_covers(&map, 0x1800, 0x2000, FOUR_GIB));
    }

    #[test]
    fn a_huge_entry_size_cannot_wrap_into_coverage() {
        let map = [e(0x1000, u64::MAX, E820_RESERVED)];
        assert!(firmware_covers(&map, 0x2000, 0x10, FOUR_GIB));
        assert!(!firmware_covers(&map, 0x10, 0x10, FOUR_GIB));
    }
}
