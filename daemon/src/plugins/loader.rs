//! Finding and loading plugins. A file is refused, with a reason a person can act on, when it
//! is writable by group or others or owned by another user, lacks the entry symbol, speaks
//! another ABI major, or offers no interface this daemon knows.
//!
//! Every file is first *probed* in a child process (`onrecordd --probe-plugin FILE`: load,
//! init, check, print the report), so a plugin that crashes while loading cannot take the
//! daemon down, and an idle daemon maps no plugin code. A plugin that passed is loaded into the
//! daemon when first used (a recording, a device listing, a repair) and then never unloaded
//! (`dlclose` while its code may run would crash): its library is leaked on purpose.

use onrecord_interface::{PluginInfo, PluginStatus};
use onrecord_plugin::abi::*;
use std::ffi::{CStr, c_void};
use std::path::{Path, PathBuf};

/// A loaded plugin and its vtables.
pub struct Plugin {
    pub id: String,
    pub path: PathBuf,
    pub capture: Option<&'static CaptureSourceV1>,
    pub storage: Option<&'static StorageBackendV1>,
    /// Since ABI 1.1: the devices a capture plugin can open.
    pub devices: Option<&'static DeviceListV1>,
    /// Since ABI 1.2: a storage plugin's reader of its own files.
    pub reader: Option<&'static StorageReaderV1>,
}

/// What a probe found in one file: the report, and for a storage backend its extension.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct Probed {
    pub report: PluginInfo,
    pub extension: Option<String>,
}

/// A plugin that passed its probe, mapped into this process when first used.
struct Known {
    id: String,
    path: PathBuf,
    interfaces: Vec<String>,
    extension: Option<String>,
    plugin: std::sync::OnceLock<Option<Plugin>>,
}

/// Every plugin found, usable or not, in the order of precedence.
#[derive(Default)]
pub struct Registry {
    known: Vec<Known>,
    pub report: Vec<PluginInfo>,
}

/// An interface's id as the ABI spells it, for the listing.
const fn id(c: &'static CStr) -> &'static str {
    match c.to_str() {
        Ok(s) => s,
        Err(_) => panic!("interface ids are ASCII"),
    }
}
const CAPTURE: &str = id(CAPTURE_SOURCE_V1);
const STORAGE: &str = id(STORAGE_BACKEND_V1);
const DEVICES: &str = id(DEVICE_LIST_V1);
const READER: &str = id(STORAGE_READER_V1);

impl Registry {
    /// The plugin in this process, loading it on first use. A plugin that passed its probe but
    /// fails now (the file changed since) is logged and is `None` from then on.
    fn get<'a>(&'a self, k: &'a Known) -> Option<&'a Plugin> {
        k.plugin
            .get_or_init(|| match load(&k.path) {
                Ok((p, _)) if p.id == k.id => {
                    tracing::info!(plugin = %p.id, path = %k.path.display(), "plugin loaded");
                    Some(p)
                }
                Ok((p, _)) => {
                    tracing::error!(path = %k.path.display(), "plugin {} is now {}: changed since the start; not used", k.id, p.id);
                    None
                }
                Err(r) => {
                    tracing::error!(path = %k.path.display(), "plugin {} passed its probe but now {}: {}", k.id, r.status, r.detail);
                    None
                }
            })
            .as_ref()
    }

    fn find(&self, id: &str, interface: &str) -> Option<&Known> {
        self.known
            .iter()
            .find(|k| k.id == id && k.interfaces.iter().any(|i| i == interface))
    }

    /// Whether a usable plugin `id` offers capture (without loading it).
    pub fn offers_capture(&self, id: &str) -> bool {
        self.find(id, CAPTURE).is_some()
    }

    /// Whether a usable plugin `id` offers storage (without loading it).
    pub fn offers_storage(&self, id: &str) -> bool {
        self.find(id, STORAGE).is_some()
    }

    pub fn storage(&self, id: &str) -> Option<&Plugin> {
        self.get(self.find(id, STORAGE)?)
            .filter(|p| p.storage.is_some())
    }

    pub fn capture(&self, id: &str) -> Option<&Plugin> {
        self.get(self.find(id, CAPTURE)?)
            .filter(|p| p.capture.is_some())
    }

    /// The storage backend that writes files ending in `.ext`, preferring `id` (the
    /// configured one) when several do: a recording is repaired by the kind that wrote it,
    /// whatever the configuration says now.
    pub fn storage_for_extension(&self, ext: &str, id: &str) -> Option<&'static StorageBackendV1> {
        let writes: Vec<&Known> = self
            .known
            .iter()
            .filter(|k| k.extension.as_deref() == Some(ext))
            .collect();
        let k = writes.iter().find(|k| k.id == id).or(writes.first())?;
        self.get(k)?.storage
    }
    /// The readers of every storage plugin that has one, the configured storage `id` first:
    /// what reads a recording back (a repair's format, the call analysis of a file).
    pub fn readers(&self, id: &str) -> onrecord_plugin::host::Readers {
        let mut storages: Vec<&Known> = self
            .known
            .iter()
            .filter(|k| k.interfaces.iter().any(|i| i == READER))
            .collect();
        storages.sort_by_key(|k| k.id != id);
        onrecord_plugin::host::Readers::from_vtables(
            storages.into_iter().filter_map(|k| self.get(k)?.reader),
        )
    }

    /// Every device of every capture plugin that lists them, with the plugin's id; a plugin
    /// that fails to list is reported as `Err` with its id.
    pub fn devices(&self) -> Vec<Result<(String, onrecord_plugin::DeviceInfo), String>> {
        let mut out = Vec::new();
        for k in self
            .known
            .iter()
            .filter(|k| k.interfaces.iter().any(|i| i == DEVICES))
        {
            let Some(p) = self.get(k) else {
                out.push(Err(format!("{}: could not be loaded (see the log)", k.id)));
                continue;
            };
            let Some(list) = p.devices else { continue };
            let mut found: Vec<Result<onrecord_plugin::DeviceInfo, String>> = Vec::new();
            let mut err = onrecord_plugin::host::ErrorText::new();
            // SAFETY: ABI call; `emit` gets `found` back as its context during this call only.
            let st = unsafe {
                (list.list)(
                    emit_device,
                    &mut found as *mut Vec<Result<onrecord_plugin::DeviceInfo, String>>
                        as *mut c_void,
                    err.ptr(),
                )
            };
            if st != STATUS_OK {
                let why = err.text(st);
                out.push(Err(format!("{}: cannot list devices: {why}", p.id)));
                continue;
            }
            for d in found {
                out.push(
                    d.map(|d| (p.id.clone(), d))
                        .map_err(|e| format!("{}: a device the host cannot read: {e}", p.id)),
                );
            }
        }
        out
    }
}

unsafe extern "C" fn emit_device(ctx: *mut c_void, lines: *const u8, len: usize) {
    // SAFETY: `ctx` is the vector passed to `list` above; `lines..len` is readable per the ABI.
    let found = unsafe { &mut *(ctx as *mut Vec<Result<onrecord_plugin::DeviceInfo, String>>) };
    let text =
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(lines, len.min(65536)) });
    found.push(onrecord_plugin::DeviceInfo::from_lines(&text));
}

unsafe extern "C" fn host_log(ctx: *mut c_void, level: u32, msg: *const u8, len: usize) {
    // SAFETY: `ctx` is the leaked id string of the plugin; `msg..len` is readable per the ABI.
    let id = unsafe { &*(ctx as *const String) };
    let text = String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(msg, len.min(4096)) });
    match level {
        1 => tracing::error!(plugin = %id, "{text}"),
        2 => tracing::warn!(plugin = %id, "{text}"),
        3 => tracing::info!(plugin = %id, "{text}"),
        _ => tracing::debug!(plugin = %id, "{text}"),
    }
}

fn info(path: &Path, status: PluginStatus, detail: String) -> PluginInfo {
    PluginInfo {
        id: String::new(),
        version: String::new(),
        description: String::new(),
        path: path.display().to_string(),
        interfaces: vec![],
        status,
        detail,
    }
}

/// A NUL-terminated string from a plugin, bounded and UTF-8.
fn text(p: *const std::ffi::c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the ABI promises a NUL-terminated static string.
    let s = unsafe { CStr::from_ptr(p) };
    (s.count_bytes() <= 256)
        .then(|| s.to_str().ok().map(str::to_owned))
        .flatten()
}

/// Loads one file. The refusal report is large, but this runs once per file at start.
#[allow(clippy::result_large_err)]
fn load(path: &Path) -> Result<(Plugin, PluginInfo), PluginInfo> {
    onrecord_plugin::host::check_file(path)
        .map_err(|why| info(path, PluginStatus::Refused, why))?;
    // SAFETY: loading runs the library's initializers. The file passed the ownership and
    // permission checks; beyond that a plugin is trusted code, like any program the user runs.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| info(path, PluginStatus::Failed, format!("cannot load: {e}")))?;
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    // SAFETY: the symbol's type is fixed by the ABI.
    let entry_fn = unsafe { lib.get::<EntryFn>(ENTRY_SYMBOL) }.map_err(|_| {
        info(
            path,
            PluginStatus::Refused,
            "no onrecord_plugin_entry symbol: not an onrecord plugin".into(),
        )
    })?;
    // SAFETY: the entry function only returns a pointer to static data.
    let entry = unsafe { entry_fn() };
    if entry.is_null() {
        return Err(info(
            path,
            PluginStatus::Refused,
            "its entry returned nothing".into(),
        ));
    }
    // SAFETY: non-null, static per the ABI.
    let entry: &'static PluginEntry = unsafe { &*entry };
    if entry.abi_major != ABI_MAJOR {
        return Err(info(
            path,
            PluginStatus::Refused,
            format!(
                "built for plugin ABI {}.{}; this onrecordd speaks {ABI_MAJOR}.{ABI_MINOR}: rebuild it against onrecord-plugin {ABI_MAJOR}.x",
                entry.abi_major, entry.abi_minor
            ),
        ));
    }
    let id = text(entry.id).filter(|s| !s.is_empty()).ok_or_else(|| {
        info(
            path,
            PluginStatus::Refused,
            "its id is missing or not UTF-8".into(),
        )
    })?;
    let mut report = info(path, PluginStatus::Loaded, String::new());
    report.id = id.clone();
    report.version = text(entry.version).unwrap_or_default();
    report.description = text(entry.description).unwrap_or_default();
    let fail = |mut r: PluginInfo, status: PluginStatus, detail: String| {
        r.status = status;
        r.detail = detail;
        r
    };
    let id_box: &'static String = Box::leak(Box::new(id.clone()));
    let host: &'static HostV1 = Box::leak(Box::new(HostV1 {
        abi_major: ABI_MAJOR,
        abi_minor: ABI_MINOR,
        ctx: id_box as *const String as *mut c_void,
        log: host_log,
        source_event: crate::recording::source_event,
        deliver_at: crate::recording::deliver_at,
    }));
    // SAFETY: ABI calls with valid arguments; the SDK catches panics inside them.
    let status = unsafe { (entry.init)(host) };
    if status != STATUS_OK {
        return Err(fail(
            report,
            PluginStatus::Failed,
            format!("init failed (status {status})"),
        ));
    }
    let capture =
        unsafe { (entry.get_interface)(CAPTURE_SOURCE_V1.as_ptr()) } as *const CaptureSourceV1;
    let storage =
        unsafe { (entry.get_interface)(STORAGE_BACKEND_V1.as_ptr()) } as *const StorageBackendV1;
    // `device-list.v1` exists from ABI 1.1 on; an older plugin is not asked.
    let devices = if entry.abi_minor >= 1 {
        (unsafe { (entry.get_interface)(DEVICE_LIST_V1.as_ptr()) }) as *const DeviceListV1
    } else {
        std::ptr::null()
    };
    // `storage-reader.v1` exists from ABI 1.2 on.
    let reader = if entry.abi_minor >= 2 {
        (unsafe { (entry.get_interface)(STORAGE_READER_V1.as_ptr()) }) as *const StorageReaderV1
    } else {
        std::ptr::null()
    };
    // SAFETY: non-null vtables are static per the ABI.
    let (capture, storage, devices, reader) = unsafe {
        (
            capture.as_ref(),
            storage.as_ref(),
            devices.as_ref(),
            reader.as_ref(),
        )
    };
    if capture.is_none() && storage.is_none() {
        unsafe { (entry.deinit)() };
        return Err(fail(
            report,
            PluginStatus::Refused,
            "offers neither capture-source.v1 nor storage-backend.v1".into(),
        ));
    }
    if capture.is_some() {
        report.interfaces.push(CAPTURE.into());
    }
    if devices.is_some() {
        report.interfaces.push(DEVICES.into());
    }
    if let Some(s) = storage {
        report.interfaces.push(STORAGE.into());
        // A first call into the plugin: a broken backend is found now, not during a call.
        let probe = AudioFormat {
            sample_format: SAMPLE_I16,
            rate: 48_000,
            channels: 2,
        };
        let mut preferred = probe;
        let st = unsafe { (s.accepts)(&probe, &mut preferred) };
        if st != STATUS_OK && st != STATUS_UNSUPPORTED {
            unsafe { (entry.deinit)() };
            let what = if st == STATUS_PANIC {
                "panicked"
            } else {
                "failed"
            };
            return Err(fail(
                report,
                PluginStatus::Failed,
                format!("storage {what} when asked which formats it accepts (status {st})"),
            ));
        }
    }
    if reader.is_some() {
        report.interfaces.push(READER.into());
    }
    Ok((
        Plugin {
            id,
            path: path.to_owned(),
            capture,
            storage,
            devices,
            reader,
        },
        report,
    ))
}

/// Probes one file here, in this process: what the child of `--probe-plugin` does and prints.
pub fn probe_here(path: &Path) -> Probed {
    match load(path) {
        Ok((plugin, report)) => Probed {
            report,
            // SAFETY: the ABI promises a static NUL-terminated string.
            extension: plugin.storage.and_then(|s| {
                (!s.extension.is_null())
                    .then(|| unsafe { CStr::from_ptr(s.extension) }.to_str().ok())
                    .flatten()
                    .map(str::to_owned)
            }),
        },
        Err(report) => Probed {
            report,
            extension: None,
        },
    }
}

/// How long a probe may take. Loading a plugin takes milliseconds; one that has not answered
/// by then hangs (waiting on a server that never answers, a deadlock in its initializer).
pub const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Probes `path` in a child process, `exe --probe-plugin PATH`, which prints one JSON line: a
/// plugin that crashes or hangs while loading fails its probe instead of the daemon.
pub fn probe_in_child(exe: &Path, path: &Path) -> Probed {
    use std::io::Read;
    let failed = |detail: String| Probed {
        report: info(path, PluginStatus::Failed, detail),
        extension: None,
    };
    let mut child = match std::process::Command::new(exe)
        .arg("--probe-plugin")
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot start the probe: {e}")),
    };
    // The report is read on a thread of its own, so a plugin that fills the pipe cannot stall
    // the wait below.
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let deadline = std::time::Instant::now() + PROBE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return failed(format!(
                    "loading it did not finish within {} s: the plugin hangs",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
        }
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        use std::os::unix::process::ExitStatusExt;
        return failed(match status.signal() {
            Some(sig) => format!("loading it crashed the probe (signal {sig})"),
            None => format!("the probe exited with {status}"),
        });
    }
    // The report is the last line: a plugin may have printed before it.
    let text = String::from_utf8_lossy(&text);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(last)
        .unwrap_or_else(|e| failed(format!("the probe's answer is unreadable: {e}")))
}

/// Probes every `*.so` in `dirs`, in order, with `probe`; a plugin id found again later is
/// shadowed. Nothing is loaded into this process until it is used.
pub fn discover(dirs: &[PathBuf], probe: impl Fn(&Path) -> Probed) -> Registry {
    let mut reg = Registry::default();
    for dir in dirs {
        for path in onrecord_plugin::host::plugin_files(dir) {
            let Probed {
                mut report,
                extension,
            } = probe(&path);
            if report.status != PluginStatus::Loaded {
                tracing::warn!(path = %path.display(), "plugin {}: {}", report.status, report.detail);
            } else if reg.known.iter().any(|k| k.id == report.id) {
                report.status = PluginStatus::Shadowed;
                report.detail = "a plugin with this id was found first".into();
            } else {
                tracing::info!(plugin = %report.id, path = %path.display(), "plugin found");
                reg.known.push(Known {
                    id: report.id.clone(),
                    path: path.clone(),
                    interfaces: report.interfaces.clone(),
                    extension,
                    plugin: std::sync::OnceLock::new(),
                });
            }
            reg.report.push(report);
        }
    }
    reg
}
