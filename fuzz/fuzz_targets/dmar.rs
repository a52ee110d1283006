//! Fuzz target `dmar`: see `custody_fuzz::acpi::dmar`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::acpi::dmar(data));
