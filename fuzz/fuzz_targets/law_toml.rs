#![no_main]
//! See `onrecordd::fuzz::law_toml`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| onrecordd::fuzz::law_toml(data));
