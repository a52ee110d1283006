//! Fuzz target `app_toml`: see `custody_fuzz::app_toml::app_toml`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::app_toml::app_toml(data));
