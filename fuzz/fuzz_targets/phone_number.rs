#![no_main]
//! See `onrecordd::fuzz::phone_number`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| onrecordd::fuzz::phone_number(data));
