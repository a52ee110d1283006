//! Fuzz target `domid_server`: see `custody_fuzz::servers::domid`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::servers::domid(data));
