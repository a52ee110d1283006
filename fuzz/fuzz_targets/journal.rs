//! Fuzz target `journal`: see `custody_fuzz::journal::journal`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::journal::journal(data));
