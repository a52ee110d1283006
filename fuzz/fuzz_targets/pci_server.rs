//! Fuzz target `pci_server`: see `custody_fuzz::servers::pci`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::servers::pci(data));
