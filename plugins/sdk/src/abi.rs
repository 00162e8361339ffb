//! The C ABI between onrecordd and its plugins, modelled on CLAP: one exported entry function
//! returning a static [`PluginEntry`] with the ABI version, `init`, `deinit` and
//! `get_interface(id)`, which returns a versioned vtable. Only plain data, opaque handles and
//! host callbacks cross. The ABI version is not the daemon's version.
//!
//! Every function that returns `i32` returns one of the `STATUS_*` codes. Where an `ErrorBuf`
//! is passed, a plugin may write a UTF-8 message into it on failure.

use std::ffi::{c_char, c_void};

/// Bumped on any incompatible change: the host refuses a plugin of another major.
pub const ABI_MAJOR: u32 = 1;
/// Bumped when something is added compatibly. 1.1 added `HostV1::source_event`,
/// `HostV1::deliver_at` and the `device-list.v1` interface.
pub const ABI_MINOR: u32 = 2;

/// The symbol every plugin exports: `extern "C" fn() -> *const PluginEntry`.
pub const ENTRY_SYMBOL: &[u8] = b"onrecord_plugin_entry\0";
pub type EntryFn = unsafe extern "C" fn() -> *const PluginEntry;

/// Interface ids for `get_interface`.
pub const CAPTURE_SOURCE_V1: &std::ffi::CStr = c"capture-source.v1";
pub const STORAGE_BACKEND_V1: &std::ffi::CStr = c"storage-backend.v1";
/// Since ABI 1.1: the devices a capture plugin can open.
pub const DEVICE_LIST_V1: &std::ffi::CStr = c"device-list.v1";
/// Reading back what a storage backend wrote (ABI 1.2): [`StorageReaderV1`].
pub const STORAGE_READER_V1: &std::ffi::CStr = c"storage-reader.v1";

/// `HostV1::source_event` kinds: the source's device went away (unplugged, server restarted);
/// frames stop until it comes back.
pub const SOURCE_LOST: u32 = 1;
/// The device is back and frames flow again.
pub const SOURCE_BACK: u32 = 2;
/// The source follows something (the default device, what an application reads) that moved:
/// frames flow on from the new device the message names.
pub const SOURCE_MOVED: u32 = 3;
/// The clock the source's capture times come from changed (a host that does not know this kind
/// notes it as a device event; a sound server moved the
/// capture to another driver, as PipeWire does when the device that drove its graph leaves
/// it): frames flow on, and their times step by the pause the message gives. The host keeps
/// the pause as silence at its time, as a gap.
pub const SOURCE_CLOCK: u32 = 4;

pub const STATUS_OK: i32 = 0;
/// A failure the plugin reported (see the `ErrorBuf`).
pub const STATUS_ERROR: i32 = -1;
/// The request is not supported (a format, an option).
pub const STATUS_UNSUPPORTED: i32 = -2;
/// The plugin panicked; it caught the panic at the boundary.
pub const STATUS_PANIC: i32 = -3;

pub const SAMPLE_I16: u32 = 1;
pub const SAMPLE_F32: u32 = 2;

/// Interleaved audio: `channels` samples per frame, each `sample_format`.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AudioFormat {
    pub sample_format: u32,
    pub rate: u32,
    pub channels: u32,
}

impl AudioFormat {
    pub fn bytes_per_sample(&self) -> usize {
        match self.sample_format {
            SAMPLE_I16 => 2,
            SAMPLE_F32 => 4,
            _ => 0,
        }
    }

    pub fn bytes_per_frame(&self) -> usize {
        self.bytes_per_sample() * self.channels as usize
    }

    pub fn is_valid(&self) -> bool {
        self.bytes_per_sample() > 0
            && (1..=8).contains(&self.channels)
            && (1000..=384_000).contains(&self.rate)
    }
}

/// What the host gives a plugin at `init`.
#[repr(C)]
pub struct HostV1 {
    pub abi_major: u32,
    pub abi_minor: u32,
    pub ctx: *mut c_void,
    /// Logs one UTF-8 message; `level` 1 error .. 5 trace. Safe from any thread, but not
    /// from a real-time audio callback.
    pub log: unsafe extern "C" fn(ctx: *mut c_void, level: u32, msg: *const u8, len: usize),
    /// Since ABI 1.1 (read it only when `abi_minor >= 1`): a capture source tells the host
    /// about its device (`SOURCE_LOST`, `SOURCE_BACK`) with a UTF-8 message. `sink_ctx` is the
    /// `ctx` of the source's `FrameSink`. Not from a real-time audio callback (the host may
    /// lock); safe from any other thread of the source's, until `stop` returns.
    pub source_event:
        unsafe extern "C" fn(sink_ctx: *mut c_void, kind: u32, msg: *const u8, len: usize),
    /// Since ABI 1.1: `FrameSink::deliver` with the time (CLOCK_MONOTONIC, ns) at which the
    /// first of the frames was captured, for a source that knows it exactly (a sound server's
    /// graph clock); the host then aligns on it instead of on when the callback ran. Real-time
    /// safe, like `deliver`.
    pub deliver_at: unsafe extern "C" fn(
        sink_ctx: *mut c_void,
        data: *const u8,
        frames: usize,
        captured_ns: u64,
    ),
}

/// The plugin's description and entry points, in static memory.
#[repr(C)]
pub struct PluginEntry {
    pub abi_major: u32,
    pub abi_minor: u32,
    /// NUL-terminated UTF-8: a stable id (`storage-wav`), a version, a description.
    pub id: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub init: unsafe extern "C" fn(host: *const HostV1) -> i32,
    pub deinit: unsafe extern "C" fn(),
    /// A vtable for `id` (`capture-source.v1`, ...), or null.
    pub get_interface: unsafe extern "C" fn(id: *const c_char) -> *const c_void,
}

// SAFETY: an entry is immutable static data: pointers to static strings and functions.
unsafe impl Sync for PluginEntry {}

/// A buffer for an error message, owned by the host.
#[repr(C)]
pub struct ErrorBuf {
    pub buf: *mut u8,
    pub cap: usize,
    pub len: usize,
}

/// Where a capture source delivers frames. `deliver` is real-time safe on the host side (it
/// pushes into a lock-free ring); a source calls it from its audio thread.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FrameSink {
    pub ctx: *mut c_void,
    /// `data` holds `frames` interleaved frames in the negotiated format.
    pub deliver: unsafe extern "C" fn(ctx: *mut c_void, data: *const u8, frames: usize),
}

/// `capture-source.v1`.
#[repr(C)]
pub struct CaptureSourceV1 {
    /// Opens a source from its configuration (UTF-8, `key=value` lines). `want` is the format
    /// the host would like; `got` receives what the source will deliver.
    pub open: unsafe extern "C" fn(
        config: *const u8,
        config_len: usize,
        want: *const AudioFormat,
        got: *mut AudioFormat,
        sink: FrameSink,
        handle: *mut *mut c_void,
        err: *mut ErrorBuf,
    ) -> i32,
    pub start: unsafe extern "C" fn(handle: *mut c_void, err: *mut ErrorBuf) -> i32,
    /// After `stop` returns, `deliver` is not called again.
    pub stop: unsafe extern "C" fn(handle: *mut c_void) -> i32,
    pub close: unsafe extern "C" fn(handle: *mut c_void),
}

/// `storage-backend.v1`.
#[repr(C)]
pub struct StorageBackendV1 {
    /// The file extension, NUL-terminated (`wav`).
    pub extension: *const c_char,
    /// `STATUS_OK` if `format` can be stored as it is; otherwise `STATUS_UNSUPPORTED` with the
    /// nearest format it can store in `preferred`.
    pub accepts:
        unsafe extern "C" fn(format: *const AudioFormat, preferred: *mut AudioFormat) -> i32,
    pub create: unsafe extern "C" fn(
        path: *const u8,
        path_len: usize,
        format: *const AudioFormat,
        handle: *mut *mut c_void,
        err: *mut ErrorBuf,
    ) -> i32,
    pub write: unsafe extern "C" fn(
        handle: *mut c_void,
        data: *const u8,
        frames: usize,
        err: *mut ErrorBuf,
    ) -> i32,
    /// Makes what was written durable (a WAV rewrites its header sizes and fsyncs).
    pub sync: unsafe extern "C" fn(handle: *mut c_void, err: *mut ErrorBuf) -> i32,
    /// Finalizes the file and frees the handle, whatever the status.
    pub finish: unsafe extern "C" fn(handle: *mut c_void, err: *mut ErrorBuf) -> i32,
    /// Repairs a file left open by a crash; `frames` receives how many frames it holds.
    pub repair: unsafe extern "C" fn(
        path: *const u8,
        path_len: usize,
        frames: *mut u64,
        err: *mut ErrorBuf,
    ) -> i32,
}

/// Receives one device as UTF-8 `key=value` lines (see `DeviceInfo`).
pub type EmitFn = unsafe extern "C" fn(ctx: *mut c_void, lines: *const u8, len: usize);

/// `device-list.v1`: the devices a capture plugin can open, each given to `emit` once, from
/// the calling thread, before `list` returns.
#[repr(C)]
pub struct DeviceListV1 {
    pub list: unsafe extern "C" fn(emit: EmitFn, ctx: *mut c_void, err: *mut ErrorBuf) -> i32,
}

/// `storage-reader.v1` (ABI 1.2): a storage plugin reads back the files it writes, as the PCM
/// bytes it was handed, a piece at a time. The verifier, the export and the analysis read
/// recordings through it, with or without the daemon.
#[repr(C)]
pub struct StorageReaderV1 {
    /// The extension of the files it reads, without the dot: the storage's own (NUL-terminated).
    pub extension: *const c_char,
    /// Opens `path` (UTF-8, `path_len` bytes). `format` gets the recording's format, or all
    /// zeros when the file does not say (raw PCM).
    pub open: unsafe extern "C" fn(
        path: *const u8,
        path_len: usize,
        format: *mut AudioFormat,
        handle: *mut *mut c_void,
        err: *mut ErrorBuf,
    ) -> i32,
    /// Reads the next bytes into `buf` (`len` bytes); `got` is how many, 0 at the end.
    pub read: unsafe extern "C" fn(
        handle: *mut c_void,
        buf: *mut u8,
        len: usize,
        got: *mut usize,
        err: *mut ErrorBuf,
    ) -> i32,
    /// Closes what `open` opened.
    pub close: unsafe extern "C" fn(handle: *mut c_void),
}

// SAFETY: vtables are immutable static data.
unsafe impl Sync for StorageReaderV1 {}
unsafe impl Sync for DeviceListV1 {}
unsafe impl Sync for CaptureSourceV1 {}
unsafe impl Sync for StorageBackendV1 {}
