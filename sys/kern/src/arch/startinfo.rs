//! `hvm_start_info`, the PVH loader's hand-off: where RAM is (E820) and where
//! the ACPI RSDP is.

/// The structure's magic number.
pub const MAGIC: u32 = 0x336E_C578;
const OFF_RSDP: usize = 32;
const OFF_MEMMAP: usize = 40;
const OFF_MEMMAP_ENTRIES: usize = 48;
pub use abi::acpi_window::{MemEntry, E820_RAM};
const E820_ENTRY_SIZE: u64 = 24;
/// The most E820 entries we look at.
const MAX_ENTRIES: u32 = 128;

/// What the kernel takes from the start info.
pub struct StartInfo {
    ptr: u64,
}

impl StartInfo {
    /// Checks the magic; `None` if the loader gave us something else.
    pub fn new(ptr: u64) -> Option<Self> {
        // SAFETY: the PVH loader passes an identity-mapped structure below
        // 4 GiB; we read its first word only after a null check.
        (ptr != 0 && unsafe { (ptr as *const u32).read_unaligned() } == MAGIC)
            .then_some(StartInfo { ptr })
    }

    fn read<T: Copy>(&self, off: usize) -> T {
        // SAFETY: offsets are those of the documented structure, which the
        // magic check says is there.
        unsafe { ((self.ptr as usize + off) as *const T).read_unaligned() }
    }

    /// The RSDP's physical address (0 if none).
    pub fn rsdp(&self) -> u64 {
        self.read(OFF_RSDP)
    }

    /// The memory map.
    pub fn memory_map(&self) -> impl Iterator<Item = MemEntry> + '_ {
        let base: u64 = self.read(OFF_MEMMAP);
        let count: u32 = self.read(OFF_MEMMAP_ENTRIES);
        (0..count.min(MAX_ENTRIES) as u64).map(move |i| {
            // `i * E820_ENTRY_SIZE` is small; the loader's `base` is not
            // trusted to leave room above it.
            let e = base.wrapping_add(i * E820_ENTRY_SIZE);
            // SAFETY: the loader's E820 table, identity-mapped; `count` came
            // with it and is capped.
            unsafe {
                MemEntry {
                    base: (e as *const u64).read_unaligned(),
                    size: ((e + 8) as *const u64).read_unaligned(),
                    kind: ((e + 16) as *const u32).read_unaligned(),
                }
            }
        })
    }
}
