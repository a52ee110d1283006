//! Fuzz target `console`: see `custody_fuzz::console::console`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::console::console(data));
