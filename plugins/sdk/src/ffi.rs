//! The `extern "C"` side of the SDK, instantiated per plugin type by [`crate::export!`]. Every
//! function catches panics: one that crossed `extern "C"` would abort the daemon, and the host
//! cannot catch a plugin's panic (each cdylib has its own standard library).

use crate::abi::*;
use crate::{CaptureSource, Sink, StorageBackend, StorageReader};
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicPtr, Ordering};

static HOST: AtomicPtr<HostV1> = AtomicPtr::new(std::ptr::null_mut());

pub fn host_log(level: u32, msg: &str) {
    let host = HOST.load(Ordering::Acquire);
    if !host.is_null() {
        // SAFETY: the host keeps its HostV1 alive from init to deinit.
        unsafe { ((*host).log)((*host).ctx, level, msg.as_ptr(), msg.len()) }
    }
}

/// # Safety
/// `sink_ctx` is the `ctx` of a `FrameSink` the host gave, before the source's `stop` returned.
pub unsafe fn host_source_event(sink_ctx: *mut c_void, kind: u32, msg: &str) {
    let host = HOST.load(Ordering::Acquire);
    // SAFETY: as in `host_log`; `source_event` exists from ABI 1.1 on.
    unsafe {
        if !host.is_null() && (*host).abi_major == ABI_MAJOR && (*host).abi_minor >= 1 {
            ((*host).source_event)(sink_ctx, kind, msg.as_ptr(), msg.len())
        }
    }
}

/// False when the host has no `deliver_at` (older than ABI 1.1). Real-time safe: an atomic
/// load and the host's call.
///
/// # Safety
/// As `host_source_event`.
pub unsafe fn host_deliver_at(
    sink_ctx: *mut c_void,
    data: &[u8],
    frames: usize,
    captured_ns: u64,
) -> bool {
    let host = HOST.load(Ordering::Acquire);
    // SAFETY: as in `host_log`; `deliver_at` exists from ABI 1.1 on.
    unsafe {
        if host.is_null() || (*host).abi_major != ABI_MAJOR || (*host).abi_minor < 1 {
            return false;
        }
        ((*host).deliver_at)(sink_ctx, data.as_ptr(), frames, captured_ns);
    }
    true
}

pub unsafe extern "C" fn init(host: *const HostV1) -> i32 {
    HOST.store(host as *mut HostV1, Ordering::Release);
    STATUS_OK
}

pub unsafe extern "C" fn deinit() {
    HOST.store(std::ptr::null_mut(), Ordering::Release);
}

/// Writes `msg` into the host's error buffer (truncated to its capacity).
fn set_error(err: *mut ErrorBuf, msg: &str) {
    if err.is_null() {
        return;
    }
    // SAFETY: the host passes a valid buffer of `cap` bytes.
    unsafe {
        let e = &mut *err;
        if e.buf.is_null() {
            return;
        }
        let n = msg.len().min(e.cap);
        std::ptr::copy_nonoverlapping(msg.as_ptr(), e.buf, n);
        e.len = n;
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Runs `f`, turning an `Err` into `STATUS_ERROR` and a panic into `STATUS_PANIC`, with the
/// message in `err`.
pub fn guard(err: *mut ErrorBuf, f: impl FnOnce() -> Result<i32, String>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(status)) => status,
        Ok(Err(msg)) => {
            set_error(err, &msg);
            STATUS_ERROR
        }
        Err(p) => {
            set_error(
                err,
                &format!("the plugin panicked: {}", panic_text(p.as_ref())),
            );
            STATUS_PANIC
        }
    }
}

/// `guard` for functions that return a pointer: a panic gives null.
pub fn guard_ptr(f: impl FnOnce() -> *const c_void) -> *const c_void {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(std::ptr::null())
}

/// # Safety
/// `ptr..ptr+len` must be readable (or `len` 0).
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

fn utf8(b: &[u8], what: &str) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

// capture-source.v1

unsafe extern "C" fn capture_open<T: CaptureSource>(
    config: *const u8,
    config_len: usize,
    want: *const AudioFormat,
    got: *mut AudioFormat,
    sink: FrameSink,
    handle: *mut *mut c_void,
    err: *mut ErrorBuf,
) -> i32 {
    guard(err, || {
        // SAFETY: the host passes valid pointers, per the ABI.
        let config = utf8(unsafe { bytes(config, config_len) }, "the configuration")?;
        let want = unsafe { *want };
        let (source, format) = T::open(&config, want, Sink::from_raw(sink))?;
        unsafe {
            *got = format;
            *handle = Box::into_raw(Box::new(source)) as *mut c_void;
        }
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn capture_start<T: CaptureSource>(
    handle: *mut c_void,
    err: *mut ErrorBuf,
) -> i32 {
    // SAFETY: `handle` came from `capture_open::<T>`.
    guard(err, || {
        unsafe { &mut *(handle as *mut T) }
            .start()
            .map(|()| STATUS_OK)
    })
}

unsafe extern "C" fn capture_stop<T: CaptureSource>(handle: *mut c_void) -> i32 {
    guard(std::ptr::null_mut(), || {
        // SAFETY: `handle` came from `capture_open::<T>`.
        unsafe { &mut *(handle as *mut T) }.stop();
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn capture_close<T: CaptureSource>(handle: *mut c_void) {
    // SAFETY: `handle` came from `capture_open::<T>` and is closed once.
    let _ = guard(std::ptr::null_mut(), || {
        drop(unsafe { Box::from_raw(handle as *mut T) });
        Ok(STATUS_OK)
    });
}

pub const fn capture_vtable<T: CaptureSource>() -> CaptureSourceV1 {
    CaptureSourceV1 {
        open: capture_open::<T>,
        start: capture_start::<T>,
        stop: capture_stop::<T>,
        close: capture_close::<T>,
    }
}

// device-list.v1

unsafe extern "C" fn device_list<T: CaptureSource>(
    emit: EmitFn,
    ctx: *mut c_void,
    err: *mut ErrorBuf,
) -> i32 {
    guard(err, || {
        for d in T::devices()? {
            let lines = d.to_lines();
            // SAFETY: the host's callback, valid for this call.
            unsafe { emit(ctx, lines.as_ptr(), lines.len()) };
        }
        Ok(STATUS_OK)
    })
}

pub const fn device_list_vtable<T: CaptureSource>() -> DeviceListV1 {
    DeviceListV1 {
        list: device_list::<T>,
    }
}

// storage-backend.v1

unsafe extern "C" fn storage_accepts<T: StorageBackend>(
    format: *const AudioFormat,
    preferred: *mut AudioFormat,
) -> i32 {
    guard(std::ptr::null_mut(), || {
        // SAFETY: valid pointers per the ABI.
        match T::accepts(unsafe { *format }) {
            Ok(()) => Ok(STATUS_OK),
            Err(p) => {
                unsafe { *preferred = p };
                Ok(STATUS_UNSUPPORTED)
            }
        }
    })
}

unsafe extern "C" fn storage_create<T: StorageBackend>(
    path: *const u8,
    path_len: usize,
    format: *const AudioFormat,
    handle: *mut *mut c_void,
    err: *mut ErrorBuf,
) -> i32 {
    guard(err, || {
        // SAFETY: valid pointers per the ABI.
        let path = utf8(unsafe { bytes(path, path_len) }, "the path")?;
        let backend = T::create(Path::new(&path), unsafe { *format })?;
        unsafe { *handle = Box::into_raw(Box::new(backend)) as *mut c_void };
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn storage_write<T: StorageBackend>(
    handle: *mut c_void,
    data: *const u8,
    frames: usize,
    err: *mut ErrorBuf,
) -> i32 {
    guard(err, || {
        // SAFETY: `handle` came from `storage_create::<T>`; `data` holds `frames` frames of the
        // format it was created with.
        let b = unsafe { &mut *(handle as *mut T) };
        let len = frames
            .checked_mul(b.frame_bytes())
            .ok_or("too many frames")?;
        b.write(unsafe { bytes(data, len) }, frames)
            .map(|()| STATUS_OK)
    })
}

unsafe extern "C" fn storage_sync<T: StorageBackend>(
    handle: *mut c_void,
    err: *mut ErrorBuf,
) -> i32 {
    // SAFETY: `handle` came from `storage_create::<T>`.
    guard(err, || {
        unsafe { &mut *(handle as *mut T) }
            .sync()
            .map(|()| STATUS_OK)
    })
}

unsafe extern "C" fn storage_finish<T: StorageBackend>(
    handle: *mut c_void,
    err: *mut ErrorBuf,
) -> i32 {
    // SAFETY: `handle` came from `storage_create::<T>` and is finished once.
    guard(err, || {
        unsafe { Box::from_raw(handle as *mut T) }
            .finish()
            .map(|()| STATUS_OK)
    })
}

unsafe extern "C" fn storage_repair<T: StorageBackend>(
    path: *const u8,
    path_len: usize,
    frames: *mut u64,
    err: *mut ErrorBuf,
) -> i32 {
    guard(err, || {
        // SAFETY: valid pointers per the ABI.
        let path = utf8(unsafe { bytes(path, path_len) }, "the path")?;
        let n = T::repair(Path::new(&path))?;
        unsafe { *frames = n };
        Ok(STATUS_OK)
    })
}

pub const fn storage_vtable<T: StorageBackend>() -> StorageBackendV1 {
    StorageBackendV1 {
        extension: T::EXTENSION.as_ptr(),
        accepts: storage_accepts::<T>,
        create: storage_create::<T>,
        write: storage_write::<T>,
        sync: storage_sync::<T>,
        finish: storage_finish::<T>,
        repair: storage_repair::<T>,
    }
}

// storage-reader.v1

unsafe extern "C" fn reader_open<T: StorageReader>(
    path: *const u8,
    path_len: usize,
    format: *mut AudioFormat,
    handle: *mut *mut c_void,
    err: *mut ErrorBuf,
) -> i32 {
    guard(err, || {
        // SAFETY: valid pointers per the ABI.
        let path = utf8(unsafe { bytes(path, path_len) }, "the path")?;
        let (reader, f) = T::open(Path::new(&path))?;
        let none = AudioFormat {
            sample_format: 0,
            rate: 0,
            channels: 0,
        };
        unsafe {
            *format = f.unwrap_or(none);
            *handle = Box::into_raw(Box::new(reader)) as *mut c_void;
        }
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn reader_read<T: StorageReader>(
    handle: *mut c_void,
    buf: *mut u8,
    len: usize,
    got: *mut usize,
    err: *mut ErrorBuf,
) -> i32 {
    guard(err, || {
        // SAFETY: `handle` came from `reader_open::<T>`; `buf` holds `len` writable bytes.
        let r = unsafe { &mut *(handle as *mut T) };
        let out: &mut [u8] = if len == 0 || buf.is_null() {
            &mut []
        } else {
            unsafe { std::slice::from_raw_parts_mut(buf, len) }
        };
        let n = r.read(out)?.min(len);
        unsafe { *got = n };
        Ok(STATUS_OK)
    })
}

unsafe extern "C" fn reader_close<T: StorageReader>(handle: *mut c_void) {
    if handle.is_null() {
        return;
    }
    // SAFETY: `handle` came from `reader_open::<T>` and is closed once.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        drop(unsafe { Box::from_raw(handle as *mut T) })
    }));
}

pub const fn reader_vtable<T: StorageReader>() -> StorageReaderV1 {
    StorageReaderV1 {
        extension: T::EXTENSION.as_ptr(),
        open: reader_open::<T>,
        read: reader_read::<T>,
        close: reader_close::<T>,
    }
}
