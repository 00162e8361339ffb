#![no_main]
//! See `onrecordd::fuzz::pipewire_wire`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| onrecordd::fuzz::pipewire_wire(data));
