//! The onrecord plugin SDK: implement [`CaptureSource`] or [`StorageBackend`] (or both) and
//! call [`export!`]; the macro writes every `extern "C"` function of the ABI ([`abi`]), each
//! wrapped in `catch_unwind` so that a panic becomes [`STATUS_PANIC`] instead of aborting the
//! daemon. Build the plugin as a `cdylib` with `panic = "unwind"` (the default).
//!
//! ```ignore
//! struct Null;
//! impl onrecord_plugin::StorageBackend for Null { ... }
//! onrecord_plugin::export!(id: "storage-null", description: "Discards audio", storage: Null);
//! ```

pub mod abi;
pub mod append;
#[doc(hidden)]
pub mod ffi;
#[cfg(feature = "host")]
pub mod host;

pub use abi::*;
use std::ffi::CStr;
use std::path::Path;

/// A source of audio frames: a device, a file.
pub trait CaptureSource: Send + Sized + 'static {
    /// Opens the source described by `config` (`key=value` lines). `want` is what the host
    /// would like; return what will actually be delivered to `sink`.
    fn open(config: &str, want: AudioFormat, sink: Sink) -> Result<(Self, AudioFormat), String>;
    /// Starts delivering frames to the sink, from any thread of the source's.
    fn start(&mut self) -> Result<(), String>;
    /// Stops delivering; when this returns, the sink is not called again.
    fn stop(&mut self);
    /// The devices this source can open (`device=` in its configuration). A source without
    /// devices (a file) lists none.
    fn devices() -> Result<Vec<DeviceInfo>, String> {
        Ok(Vec::new())
    }
}

/// What a source's device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// A microphone or other capture device.
    Input,
    /// The monitor of an output: what is played to the speakers (the far side of a softphone
    /// call).
    Monitor,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Input => "input",
            DeviceKind::Monitor => "monitor",
        }
    }
}

/// One device of a capture plugin, as `device-list.v1` carries it: `key=value` lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// What `device=` takes, stable across restarts (`pipewire:alsa_input.usb-...`).
    pub id: String,
    /// A human name (`USB Headset Microphone`).
    pub name: String,
    pub kind: DeviceKind,
    /// Channels the device offers natively.
    pub channels: u32,
    /// Sample rates it can be opened at.
    pub rates: Vec<u32>,
    /// Sample formats it can deliver (`i16`, `f32`).
    pub formats: Vec<String>,
    /// Whether it is the system's default of its kind.
    pub is_default: bool,
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

impl DeviceInfo {
    pub fn to_lines(&self) -> String {
        let join = |v: Vec<String>| v.join(",");
        format!(
            "id={}\nname={}\nkind={}\nchannels={}\nrates={}\nformats={}\ndefault={}\n",
            one_line(&self.id),
            one_line(&self.name),
            self.kind.as_str(),
            self.channels,
            join(self.rates.iter().map(u32::to_string).collect()),
            join(self.formats.iter().map(|f| one_line(f)).collect()),
            self.is_default
        )
    }

    /// Reads what `to_lines` wrote; unknown keys are ignored (later minors may add some).
    pub fn from_lines(text: &str) -> Result<DeviceInfo, String> {
        let mut d = DeviceInfo {
            id: String::new(),
            name: String::new(),
            kind: DeviceKind::Input,
            channels: 0,
            rates: Vec::new(),
            formats: Vec::new(),
            is_default: false,
        };
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("not key=value: {line:?}"))?;
            match k {
                // A stray carriage return inside a value is read as `to_lines` writes it, so
                // the id read is the id written back as `device=` (found by fuzzing).
                "id" => d.id = one_line(v),
                "name" => d.name = one_line(v),
                "kind" => {
                    d.kind = match v {
                        "input" => DeviceKind::Input,
                        "monitor" => DeviceKind::Monitor,
                        _ => return Err(format!("unknown device kind {v:?}")),
                    }
                }
                "channels" => d.channels = v.parse().map_err(|_| format!("bad channels {v:?}"))?,
                "rates" => {
                    d.rates = v
                        .split(',')
                        .filter(|r| !r.is_empty())
                        .map(|r| r.parse().map_err(|_| format!("bad rate {r:?}")))
                        .collect::<Result<_, _>>()?
                }
                "formats" => {
                    d.formats = v
                        .split(',')
                        .filter(|f| !f.is_empty())
                        .map(one_line)
                        .collect()
                }
                "default" => d.is_default = v == "true",
                _ => {}
            }
        }
        if d.id.is_empty() {
            return Err("a device without an id".into());
        }
        Ok(d)
    }
}

/// Where captured frames go. Calling it never blocks, allocates or locks on the host side.
#[derive(Clone, Copy)]
pub struct Sink(FrameSink);

// SAFETY: the host's sink context is made to be called from the source's threads.
unsafe impl Send for Sink {}
unsafe impl Sync for Sink {}

impl Sink {
    #[doc(hidden)]
    pub fn from_raw(raw: FrameSink) -> Sink {
        Sink(raw)
    }

    /// Hands `frames` interleaved frames (in the negotiated format) to the host.
    pub fn deliver(&self, data: &[u8], frames: usize) {
        // SAFETY: the host guarantees `deliver` and `ctx` stay valid until `stop` returns.
        unsafe { (self.0.deliver)(self.0.ctx, data.as_ptr(), frames) }
    }

    /// `deliver`, with the CLOCK_MONOTONIC time (ns) at which the first frame was captured,
    /// when the source knows it exactly; to a host older than ABI 1.1, plain `deliver`.
    pub fn deliver_at(&self, data: &[u8], frames: usize, captured_ns: u64) {
        // SAFETY: the host guarantees the sink's `ctx` stays valid until `stop` returns.
        if !unsafe { ffi::host_deliver_at(self.0.ctx, data, frames, captured_ns) } {
            self.deliver(data, frames)
        }
    }

    /// Tells the host the device was lost (`SOURCE_LOST`), is back (`SOURCE_BACK`) or moved
    /// (`SOURCE_MOVED`), or that the capture times' clock changed (`SOURCE_CLOCK`). Not from
    /// the real-time callback. A host older than ABI 1.1 is not told.
    pub fn event(&self, kind: u32, msg: &str) {
        // SAFETY: as in `deliver_at`.
        unsafe { ffi::host_source_event(self.0.ctx, kind, msg) }
    }
}

/// A way of storing audio: a file format, later object storage.
pub trait StorageBackend: Send + Sized + 'static {
    /// The file extension, without the dot.
    const EXTENSION: &'static CStr;
    /// `Ok` if `format` can be stored as it is; otherwise the nearest format that can.
    fn accepts(format: AudioFormat) -> Result<(), AudioFormat>;
    fn create(path: &Path, format: AudioFormat) -> Result<Self, String>;
    /// The size of one frame in the format the file was created with.
    fn frame_bytes(&self) -> usize;
    /// Writes `frames` interleaved frames.
    fn write(&mut self, data: &[u8], frames: usize) -> Result<(), String>;
    /// Makes what was written durable.
    fn sync(&mut self) -> Result<(), String>;
    /// Finalizes the file.
    fn finish(self) -> Result<(), String>;
    /// Repairs a file left open by a crash; returns the frames it holds.
    fn repair(path: &Path) -> Result<u64, String>;
}

/// Reading back what a [`StorageBackend`] wrote: the PCM bytes it was handed, in order, a piece
/// at a time. A storage plugin keeps its reader beside its writer, so that one crate knows its
/// format; export both with `export!(..., storage: Writer, reader: Reader)`.
pub trait StorageReader: Send + Sized + 'static {
    /// The extension of the files it reads, without the dot: the storage's own.
    const EXTENSION: &'static CStr;
    /// Opens a file; its format, when the file says it (raw PCM does not).
    fn open(path: &Path) -> Result<(Self, Option<AudioFormat>), String>;
    /// Fills `buf` with the next bytes; 0 at the end.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String>;
}

/// Now on CLOCK_MONOTONIC, in nanoseconds: the clock of the capture times `Sink::deliver_at`
/// takes (and the host's own). glibc's vDSO read: no system call, no lock.
pub fn mono_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux, so the
    // call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Creates a recording file as onrecord keeps them: new (never overwriting), readable and
/// writable by the user only (0600).
pub fn create_private_file(path: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Logs through the host (not from a real-time callback: it may allocate).
pub fn log(level: u32, msg: &str) {
    ffi::host_log(level, msg)
}

/// Exports a plugin: `export!(id: "capture-file", description: "...", capture: Type,
/// storage: Type)`, with `capture` and `storage` each optional.
#[macro_export]
macro_rules! export {
    (id: $id:literal, description: $desc:literal $(, capture: $cap:ty)? $(, storage: $sto:ty)? $(, reader: $rd:ty)? $(,)?) => {
        $(
            static __ONRECORD_CAPTURE: $crate::CaptureSourceV1 = $crate::ffi::capture_vtable::<$cap>();
            static __ONRECORD_DEVICES: $crate::DeviceListV1 = $crate::ffi::device_list_vtable::<$cap>();
        )?
        $(
            static __ONRECORD_STORAGE: $crate::StorageBackendV1 = $crate::ffi::storage_vtable::<$sto>();
        )?
        $(
            static __ONRECORD_READER: $crate::StorageReaderV1 = $crate::ffi::reader_vtable::<$rd>();
        )?

        unsafe extern "C" fn __onrecord_get_interface(id: *const ::std::ffi::c_char) -> *const ::std::ffi::c_void {
            $crate::ffi::guard_ptr(|| {
                if id.is_null() {
                    return ::std::ptr::null();
                }
                // SAFETY: the host passes a NUL-terminated string.
                let id = unsafe { ::std::ffi::CStr::from_ptr(id) };
                $(
                    if id == $crate::CAPTURE_SOURCE_V1 {
                        let _: ::std::marker::PhantomData<$cap>;
                        return &__ONRECORD_CAPTURE as *const $crate::CaptureSourceV1 as *const ::std::ffi::c_void;
                    }
                    if id == $crate::DEVICE_LIST_V1 {
                        return &__ONRECORD_DEVICES as *const $crate::DeviceListV1 as *const ::std::ffi::c_void;
                    }
                )?
                $(
                    if id == $crate::STORAGE_BACKEND_V1 {
                        let _: ::std::marker::PhantomData<$sto>;
                        return &__ONRECORD_STORAGE as *const $crate::StorageBackendV1 as *const ::std::ffi::c_void;
                    }
                )?
                $(
                    if id == $crate::STORAGE_READER_V1 {
                        let _: ::std::marker::PhantomData<$rd>;
                        return &__ONRECORD_READER as *const $crate::StorageReaderV1 as *const ::std::ffi::c_void;
                    }
                )?
                let _ = id;
                ::std::ptr::null()
            })
        }

        static __ONRECORD_ENTRY: $crate::PluginEntry = $crate::PluginEntry {
            abi_major: $crate::ABI_MAJOR,
            abi_minor: $crate::ABI_MINOR,
            id: concat!($id, "\0").as_ptr() as *const ::std::ffi::c_char,
            version: concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const ::std::ffi::c_char,
            description: concat!($desc, "\0").as_ptr() as *const ::std::ffi::c_char,
            init: $crate::ffi::init,
            deinit: $crate::ffi::deinit,
            get_interface: __onrecord_get_interface,
        };

        /// The plugin's entry point.
        #[unsafe(no_mangle)]
        pub extern "C" fn onrecord_plugin_entry() -> *const $crate::PluginEntry {
            &__ONRECORD_ENTRY
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capture_clock_advances_with_time_and_never_back() {
        let a = mono_ns();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = mono_ns();
        let c = mono_ns();
        assert!(b - a >= 20_000_000, "{a} then {b}");
        assert!(b - a < 5_000_000_000, "{a} then {b}");
        assert!(c >= b, "{b} then {c}");
    }

    #[test]
    fn device_info_round_trips_and_stays_one_line_per_key() {
        let d = DeviceInfo {
            id: "pipewire:far_side".into(),
            name: "Far\nside".into(),
            kind: DeviceKind::Monitor,
            channels: 2,
            rates: vec![44_100, 48_000],
            formats: vec!["i16".into(), "f32".into()],
            is_default: true,
        };
        let back = DeviceInfo::from_lines(&d.to_lines()).unwrap();
        assert_eq!(back.name, "Far side");
        assert_eq!(
            back,
            DeviceInfo {
                name: "Far side".into(),
                ..d
            }
        );
        assert!(DeviceInfo::from_lines("name=x\n").is_err());
        assert!(DeviceInfo::from_lines("id=x\nkind=speaker\n").is_err());
    }
}
