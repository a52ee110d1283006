//! Fuzz target `worker_server`: see `custody_fuzz::worker`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::worker::worker(data));
