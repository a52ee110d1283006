//! Fuzz target `acpi_walk`: see `custody_fuzz::acpi::walk`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::acpi::walk(data));
