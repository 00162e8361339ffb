//! A plugin built for plugin ABI 99: the daemon must refuse it without calling into it.

use onrecord_plugin::abi::{HostV1, PluginEntry};
use std::ffi::{c_char, c_void};

unsafe extern "C" fn init(_: *const HostV1) -> i32 {
    panic!("the host must not call init of a plugin of another ABI major")
}
unsafe extern "C" fn deinit() {}
unsafe extern "C" fn get_interface(_: *const c_char) -> *const c_void {
    std::ptr::null()
}

static ENTRY: PluginEntry = PluginEntry {
    abi_major: 99,
    abi_minor: 0,
    id: c"abi-mismatch".as_ptr(),
    version: c"0.0.0".as_ptr(),
    description: c"built for another plugin ABI".as_ptr(),
    init,
    deinit,
    get_interface,
};

#[unsafe(no_mangle)]
pub extern "C" fn onrecord_plugin_entry() -> *const PluginEntry {
    &ENTRY
}
