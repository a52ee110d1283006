//! Fuzz target `pci_config`: see `custody_fuzz::pci::pci_config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::pci::pci_config(data));
