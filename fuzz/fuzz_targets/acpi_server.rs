//! Fuzz target `acpi_server`: see `custody_fuzz::servers::acpi`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::servers::acpi(data));
