//! Fuzz target `vtd_resume`: see `custody_fuzz::vtd::resume`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::vtd::resume(data));
