//! Fuzz target `supervisor_server`: see `custody_fuzz::servers::supervisor`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::servers::supervisor(data));
