#![no_main]
//! See `onrecordd::fuzz::manifest`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| onrecordd::fuzz::manifest(data));
