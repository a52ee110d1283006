//! RMRRs held against the memory custody uses and the memory the firmware
//! reserved.
//!
//! An RMRR is memory a device must reach by identity mapping, so an RMRR
//! over the kernel image, its frame pool or any app.toml region would let
//! that device DMA into it. Such an RMRR is refused: `rmrrs_of` answers its
//! device with [`AcpiError::RmrrOverCustodyMemory`], so the broker never
//! assigns the device and it stays blocked (no context entry) instead of
//! getting that map. xtask refuses such RMRRs in app.toml before building;
//! this catches the firmware's. An RMRR outside the memory the boot memory
//! map reserves is only suspicious (Linux's `arch_rmrr_sanity_check` and
//! Xen warn the same way): it is logged, and still honoured.

use abi::acpi_window::{firmware_covers, MemEntry};
use idl_types::{AcpiError, Bdf};

/// Memory custody uses, from xtask (`config::system::CUSTODY_MEMORY`).
pub use config_schema::system::CustodyRange;

/// The custody memory `[base, end]` (inclusive) overlaps, if any.
pub fn overlap(custody: &[CustodyRange], base: u64, end: u64) -> Option<CustodyRange> {
    custody
        .iter()
        .find(|c| base < c.end && c.start <= end)
        .copied()
}

/// Whether `[base, end]` lies outside what the boot memory map reserves
/// for the firmware (an empty map says nothing: no warning).
pub fn outside_reserved(map: &[MemEntry], base: u64, end: u64) -> bool {
    let len = end.wrapping_sub(base).saturating_add(1);
    !map.is_empty() && (end < base || !firmware_covers(map, base, len, u64::MAX))
}

/// `Ok` unless `[base, end]`, an RMRR of `device`, covers custody memory.
pub fn admit(custody: &[CustodyRange], device: Bdf, base: u64, end: u64) -> Result<(), AcpiError> {
    match overlap(custody, base, end) {
        Some(_) => Err(AcpiError::RmrrOverCustodyMemory { device, base, end }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::acpi_window::{E820_RAM, E820_RESERVED};

    const CUSTODY: [CustodyRange; 2] = [
        CustodyRange {
            start: 0x10_0000,
            end: 0x200_0000,
            what: "the kernel image and its frame pool",
        },
        CustodyRange {
            start: 0xfed9_0000,
            end: 0xfed9_1000,
            what: "region vtd",
        },
    ];
    const DEV: Bdf = Bdf {
        bus: 0,
        device: 5,
        function: 0,
    };

    #[test]
    fn an_rmrr_over_the_kernel_is_refused_naming_device_and_range() {
        assert_eq!(
            admit(&CUSTODY, DEV, 0x10_0000, 0x10_0fff),
            Err(AcpiError::RmrrOverCustodyMemory {
                device: DEV,
                base: 0x10_0000,
                end: 0x10_0fff
            })
        );
        assert_eq!(
            overlap(&CUSTODY, 0xf_f000, 0x10_0000).map(|c| c.what),
            Some("the kernel image and its frame pool")
        );
    }

    #[test]
    fn an_rmrr_over_iommu_registers_is_refused() {
        assert!(admit(&CUSTODY, DEV, 0xfed9_0000, 0xfed9_0fff).is_err());
    }

    #[test]
    fn an_rmrr_beside_custody_memory_is_admitted() {
        assert_eq!(admit(&CUSTODY, DEV, 0x200_0000, 0x200_0fff), Ok(()));
        assert_eq!(admit(&CUSTODY, DEV, 0x7f0_0000, 0x7f0_0fff), Ok(()));
    }

    #[test]
    fn an_rmrr_in_ram_is_outside_reserved_memory() {
        let map = [
            MemEntry {
                base: 0x10_0000,
                size: 0xfe0_0000,
                kind: E820_RAM,
            },
            MemEntry {
                base: 0xfee_0000,
                size: 0x2_0000,
                kind: E820_RESERVED,
            },
        ];
        assert!(outside_reserved(&map, 0x7f0_0000, 0x7f0_0fff));
        assert!(!outside_reserved(&map, 0xfee_0000, 0xfee_0fff));
        assert!(
            outside_reserved(&map, 0xfee_0000, 0xff0_0fff),
            "runs past it"
        );
        assert!(
            !outside_reserved(&[], 0x7f0_0000, 0x7f0_0fff),
            "no map, no verdict"
        );
    }
}
