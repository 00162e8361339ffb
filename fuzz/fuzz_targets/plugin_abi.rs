#![no_main]
//! See `onrecordd::fuzz::plugin_abi`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| onrecordd::fuzz::plugin_abi(data));
