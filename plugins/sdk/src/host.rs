//! The host side of `storage-reader.v1`, for every program that reads recordings (onrecordd,
//! onrecordctl, with or without the daemon): the installed storage plugins are found, checked
//! as the daemon checks them, and a recording is read through the plugin that writes its
//! extension. An extension no plugin reads is "unsupported format", never bytes taken as audio.

use crate::abi::*;
use std::ffi::CStr;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The directory of the running program.
pub fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
}

/// The cargo target directory this program runs from, in a development build (cargo leaves a
/// `.cargo-lock` there); `None` for an installed program.
pub fn dev_build_dir() -> Option<PathBuf> {
    exe_dir().filter(|bin| bin.join(".cargo-lock").exists())
}

/// Where plugins are looked for, first found first: `given`, `$XDG_DATA_HOME/onrecord/plugins`
/// (`~/.local/share/onrecord/plugins`), the installed `<prefix>/lib/onrecord/plugins` beside
/// this program's `bin`, and in a development build the cargo target directory it runs from.
/// The daemon and onrecordctl look in the same places.
pub fn plugin_dirs(given: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs = given.to_vec();
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    dirs.extend(data_home.map(|p| p.join("onrecord/plugins")));
    if let Some(prefix) = exe_dir().as_deref().and_then(Path::parent) {
        dirs.push(prefix.join("lib/onrecord/plugins"));
    }
    dirs.extend(dev_build_dir());
    dirs
}

/// The daemon's virtual-microphone library: in a build tree it sits beside the plugins, but it
/// is none.
pub const NOT_A_PLUGIN: &str = "libonrecord_mic.so";

/// The `*.so` files of `dir`, in name order (none when it cannot be read), but
/// [`NOT_A_PLUGIN`].
pub fn plugin_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "so"))
        .filter(|p| p.file_name().is_none_or(|n| n != NOT_A_PLUGIN))
        .collect();
    files.sort();
    files
}

/// Whether the file may be loaded at all: a regular file of this user's, or root's (a
/// system-wide install), that nobody else can write.
pub fn check_file(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc_geteuid() };
    if meta.uid() != me && meta.uid() != 0 {
        return Err(format!(
            "owned by user {}, neither this user ({me}) nor root: refusing to run another user's code",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "writable by group or others (mode {:o}): anyone could change the code; `chmod go-w` it",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// The readers of the storage plugins found, by extension; the first found wins.
#[derive(Default)]
pub struct Readers {
    readers: Vec<(String, &'static StorageReaderV1)>,
}

/// A recording being read: its PCM bytes, through its storage plugin.
pub struct Recording {
    vt: &'static StorageReaderV1,
    handle: *mut std::ffi::c_void,
    format: Option<AudioFormat>,
}

// SAFETY: the handle is the plugin's reader, used from one thread at a time through `&mut`.
unsafe impl Send for Recording {}

impl Readers {
    /// Every `*.so` in `dirs`, in order, that offers `storage-reader.v1`. A file that is not
    /// safe to load or is no plugin of this ABI is passed over. Libraries stay loaded for the
    /// life of the process (unloading code that may still run would crash).
    pub fn discover(dirs: &[PathBuf]) -> Readers {
        let mut found = Readers::default();
        for path in dirs.iter().flat_map(|d| plugin_files(d)) {
            if let Some(vt) = load_reader(&path) {
                found.add(vt);
            }
        }
        found
    }

    /// Readers the caller already has (the daemon's loaded plugins).
    pub fn from_vtables(vts: impl IntoIterator<Item = &'static StorageReaderV1>) -> Readers {
        let mut found = Readers::default();
        for vt in vts {
            found.add(vt);
        }
        found
    }

    fn add(&mut self, vt: &'static StorageReaderV1) {
        if vt.extension.is_null() {
            return;
        }
        // SAFETY: the extension is a static NUL-terminated string of the plugin's.
        let ext = unsafe { CStr::from_ptr(vt.extension) }
            .to_string_lossy()
            .into_owned();
        if !self.readers.iter().any(|(e, _)| *e == ext) {
            self.readers.push((ext, vt));
        }
    }

    /// The extensions these readers read.
    pub fn extensions(&self) -> Vec<&str> {
        self.readers.iter().map(|(e, _)| e.as_str()).collect()
    }

    /// Opens `path` with the reader of its extension.
    pub fn open(&self, path: &Path) -> Result<Recording, String> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let Some((_, vt)) = self.readers.iter().find(|(e, _)| e == ext) else {
            return Err(format!(
                "{}: unsupported format {ext:?}: no storage plugin installed reads it (these read {})",
                path.display(),
                match self.extensions().join(", ") {
                    s if s.is_empty() => "nothing".to_owned(),
                    s => s,
                }
            ));
        };
        let p = path.to_string_lossy();
        let mut format = AudioFormat {
            sample_format: 0,
            rate: 0,
            channels: 0,
        };
        let mut handle = std::ptr::null_mut();
        let mut err = ErrorText::new();
        // SAFETY: ABI call with valid pointers.
        let st = unsafe { (vt.open)(p.as_ptr(), p.len(), &mut format, &mut handle, err.ptr()) };
        if st != STATUS_OK {
            return Err(format!("{}: {}", path.display(), err.text(st)));
        }
        Ok(Recording {
            vt,
            handle,
            format: format.is_valid().then_some(format),
        })
    }
}

impl Recording {
    /// The format the file says it holds; `None` for raw PCM.
    pub fn format(&self) -> Option<AudioFormat> {
        self.format
    }
}

impl Read for Recording {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut got = 0usize;
        let mut err = ErrorText::new();
        // SAFETY: ABI call on our handle with a writable buffer of `buf.len()` bytes.
        let st = unsafe {
            (self.vt.read)(
                self.handle,
                buf.as_mut_ptr(),
                buf.len(),
                &mut got,
                err.ptr(),
            )
        };
        if st != STATUS_OK {
            return Err(std::io::Error::other(err.text(st)));
        }
        Ok(got.min(buf.len()))
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        // SAFETY: opened by `open`, closed once.
        unsafe { (self.vt.close)(self.handle) };
    }
}

/// An error buffer for one plugin call: pass `ptr()` as the call's `ErrorBuf`, then `text`
/// of the status it returned says what went wrong.
pub struct ErrorText {
    buf: Box<[u8; 512]>,
    raw: ErrorBuf,
}

impl Default for ErrorText {
    fn default() -> Self {
        Self::new()
    }
}

impl ErrorText {
    pub fn new() -> ErrorText {
        let mut buf = Box::new([0u8; 512]);
        let raw = ErrorBuf {
            buf: buf.as_mut_ptr(),
            cap: 512,
            len: 0,
        };
        ErrorText { buf, raw }
    }

    pub fn ptr(&mut self) -> *mut ErrorBuf {
        &mut self.raw
    }

    /// What the plugin wrote, or what the status says when it wrote nothing.
    pub fn text(&self, status: i32) -> String {
        let msg = String::from_utf8_lossy(&self.buf[..self.raw.len.min(512)]).into_owned();
        match (status, msg.is_empty()) {
            (STATUS_PANIC, true) => "the plugin panicked".into(),
            (_, true) => format!("the plugin failed (status {status})"),
            (_, false) => msg,
        }
    }
}

/// The reader of one plugin file, if it is safe to load and offers one.
fn load_reader(path: &Path) -> Option<&'static StorageReaderV1> {
    check_file(path).ok()?;
    // SAFETY: loading runs the library's initializers; the file passed the ownership and
    // permission checks, and a plugin is trusted code like any program the user runs.
    let lib = unsafe { libloading::Library::new(path) }.ok()?;
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    // SAFETY: the entry symbol has the ABI's type.
    let entry_fn = unsafe { lib.get::<EntryFn>(ENTRY_SYMBOL) }.ok()?;
    // SAFETY: the entry returns a static struct or null.
    let entry = unsafe { entry_fn().as_ref() }?;
    if entry.abi_major != ABI_MAJOR {
        return None;
    }
    // SAFETY: NUL-terminated id; a null or unknown interface is null.
    let vt = unsafe { (entry.get_interface)(STORAGE_READER_V1.as_ptr()) } as *const StorageReaderV1;
    // SAFETY: a non-null `storage-reader.v1` is a static vtable of the plugin's.
    unsafe { vt.as_ref() }
}
