//! Fuzz target `iommu_server`: see `custody_fuzz::servers::iommu`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::servers::iommu(data));
