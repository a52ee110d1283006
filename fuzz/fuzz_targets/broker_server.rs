//! Fuzz target `broker_server`: see `custody_fuzz::servers::broker`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::servers::broker(data));
