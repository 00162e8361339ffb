//! The recording path: a capture plugin's callback pushes frames into a lock-free
//! single-producer ring (rtrb); a writer thread drains it into a storage plugin and makes the
//! file durable at a fixed interval. Nothing in the callback allocates, locks or does I/O;
//! frames that do not fit are counted as overruns, never dropped silently.
//!
//! The call's state machine decides when this runs: frames are written only between start and
//! stop, and dropped (not buffered) while paused.

mod convert;
mod journal;
mod ring;

use crate::calls::Call;
use crate::capture::{Capture, SealedFile, Stopped};
use crate::plugins::Registry;
use onrecord_plugin::abi::*;
use ring::{Ring, SinkCtx};
use std::collections::HashMap;
use std::ffi::{CStr, c_void};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// `[capture]` of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureConfig {
    /// The capture plugin's id (`capture-file`).
    pub source: String,
    /// Its configuration (`key=value` lines).
    pub source_config: String,
    /// The storage plugin's id (`storage-wav`).
    pub storage: String,
    /// How often the file is made durable: at most this much audio is lost to a kill -9.
    pub sync_interval: Duration,
}

/// Capture through plugins.
pub struct PluginCapture {
    registry: Arc<Registry>,
    config: CaptureConfig,
    active: HashMap<String, Recording>,
}

impl PluginCapture {
    pub fn new(registry: Arc<Registry>, config: CaptureConfig) -> Self {
        PluginCapture {
            registry,
            config,
            active: HashMap::new(),
        }
    }
}

/// An error buffer for one plugin call.
struct Err512 {
    buf: [u8; 512],
    raw: ErrorBuf,
}

impl Err512 {
    fn new() -> Box<Err512> {
        let mut e = Box::new(Err512 {
            buf: [0; 512],
            raw: ErrorBuf {
                buf: std::ptr::null_mut(),
                cap: 512,
                len: 0,
            },
        });
        e.raw.buf = e.buf.as_mut_ptr();
        e
    }

    fn ptr(&mut self) -> *mut ErrorBuf {
        &mut self.raw
    }

    fn text(&self, status: i32) -> String {
        let msg = String::from_utf8_lossy(&self.buf[..self.raw.len.min(512)]).into_owned();
        match (status, msg.is_empty()) {
            (STATUS_PANIC, true) => "the plugin panicked".into(),
            (_, true) => format!("the plugin failed (status {status})"),
            (_, false) => msg,
        }
    }
}

/// One call being captured.
struct Recording {
    source: &'static CaptureSourceV1,
    source_handle: *mut c_void,
    ring: Arc<Ring>,
    /// Owned here; the source's callback borrows it until the source is stopped.
    sink: *mut SinkCtx,
    writer: Option<std::thread::JoinHandle<Result<journal::Sealed, String>>>,
    /// The file's name and stored format, for the manifest.
    name: String,
    stored: AudioFormat,
    /// The source's rate: frames in the ring count at this rate.
    source_rate: u32,
}

// SAFETY: the raw pointers are plugin handles and our own sink context; the owner thread alone
// uses them, and the plugin is called from one thread at a time.
unsafe impl Send for Recording {}
unsafe impl Sync for Recording {}

impl Capture for PluginCapture {
    fn start(&mut self, call: &Call, dir: &Path) -> Result<Vec<String>, String> {
        let source = self
            .registry
            .capture(&self.config.source)
            .and_then(|p| p.capture)
            .ok_or_else(|| {
                format!(
                    "no capture plugin {:?} is loaded (see `onrecordctl plugins`)",
                    self.config.source
                )
            })?;
        let storage = self
            .registry
            .storage(&self.config.storage)
            .and_then(|p| p.storage)
            .ok_or_else(|| {
                format!(
                    "no storage plugin {:?} is loaded (see `onrecordctl plugins`)",
                    self.config.storage
                )
            })?;
        let want = AudioFormat {
            sample_format: SAMPLE_I16,
            rate: 48_000,
            channels: 2,
        };
        let ring = Arc::new(Ring::default());
        let sink = Box::into_raw(Box::new(SinkCtx::new(ring.clone())));
        let mut got = want;
        let mut handle = std::ptr::null_mut();
        let mut err = Err512::new();
        let cfg = self.config.source_config.as_bytes();
        // SAFETY: ABI call with valid pointers; `sink` lives until after `stop` returns.
        let st = unsafe {
            (source.open)(
                cfg.as_ptr(),
                cfg.len(),
                &want,
                &mut got,
                ring::frame_sink(sink),
                &mut handle,
                err.ptr(),
            )
        };
        if st != STATUS_OK {
            // SAFETY: the source never started, so nothing else holds `sink`.
            drop(unsafe { Box::from_raw(sink) });
            return Err(format!("the capture source did not open: {}", err.text(st)));
        }
        let close_source = |why: String| {
            // SAFETY: opened above and not started.
            unsafe { (source.close)(handle) };
            drop(unsafe { Box::from_raw(sink) });
            Err(why)
        };
        if !got.is_valid() {
            return close_source(format!(
                "the capture source offers an invalid format {got:?}"
            ));
        }
        // The storage gets a format it supports: the source's, or the nearest it names.
        let mut preferred = got;
        // SAFETY: ABI calls with valid pointers.
        let stored = if unsafe { (storage.accepts)(&got, &mut preferred) } == STATUS_OK {
            got
        } else {
            let mut again = preferred;
            if !preferred.is_valid()
                || unsafe { (storage.accepts)(&preferred, &mut again) } != STATUS_OK
            {
                return close_source(format!(
                    "the storage accepts neither {got:?} nor a format of its own choosing"
                ));
            }
            preferred
        };
        let convert = match convert::Convert::new(got, stored) {
            Ok(c) => c,
            Err(why) => return close_source(why),
        };
        // SAFETY: the extension is a static NUL-terminated string.
        let ext = unsafe { CStr::from_ptr(storage.extension) }
            .to_string_lossy()
            .into_owned();
        let name = format!("audio.{ext}");
        let path = dir.join(&name);
        let path_str = path.to_string_lossy().into_owned();
        let mut file = std::ptr::null_mut();
        let mut err = Err512::new();
        // SAFETY: ABI call with valid pointers.
        let st = unsafe {
            (storage.create)(
                path_str.as_ptr(),
                path_str.len(),
                &stored,
                &mut file,
                err.ptr(),
            )
        };
        if st != STATUS_OK {
            return close_source(format!(
                "the storage did not create {}: {}",
                path.display(),
                err.text(st)
            ));
        }
        // SAFETY: `sink` is ours until the source stops.
        let consumer = unsafe { (*sink).configure(got.bytes_per_frame()) };
        ring.set_writing(true);
        // One-second blocks of the stored PCM.
        let block_bytes = stored.rate as usize * stored.bytes_per_frame();
        let journal = match journal::Journal::create(
            &dir.join(onrecord_evidence::journal_name(&name)),
            block_bytes,
        ) {
            Ok(j) => j,
            Err(why) => {
                let mut err = Err512::new();
                // SAFETY: created above and never written.
                unsafe { (storage.finish)(file, err.ptr()) };
                return close_source(why);
            }
        };
        let writer = ring::spawn_writer(ring::Writer {
            ring: ring.clone(),
            consumer,
            storage,
            file,
            format: got,
            convert,
            interval: self.config.sync_interval,
            call_id: call.id.clone(),
            journal,
        });
        // Without a writer nothing can be recorded. (The storage handle went with the thread
        // that never started: the empty file is left as it is.)
        let writer = match writer {
            Ok(w) => w,
            Err(why) => return close_source(why),
        };
        let mut err = Err512::new();
        // SAFETY: ABI call on the handle opened above.
        let st = unsafe { (source.start)(handle, err.ptr()) };
        let mut rec = Recording {
            source,
            source_handle: handle,
            ring,
            sink,
            writer: Some(writer),
            name: name.clone(),
            stored,
            source_rate: got.rate,
        };
        if st != STATUS_OK {
            let why = err.text(st);
            finish(&mut rec, &call.id);
            return Err(format!("the capture source did not start: {why}"));
        }
        tracing::info!(call = %call.id, source = ?got, stored = ?stored, file = %path.display(), "capturing");
        self.active.insert(call.id.clone(), rec);
        Ok(vec![name])
    }

    fn position_us(&self, call_id: &str) -> Option<u64> {
        let r = self.active.get(call_id)?;
        Some(r.ring.pushed() * 1_000_000 / r.source_rate.max(1) as u64)
    }

    fn pause(&mut self, call_id: &str) {
        if let Some(r) = self.active.get(call_id) {
            r.ring.set_writing(false);
        }
    }

    fn resume(&mut self, call_id: &str) -> Result<(), String> {
        match self.active.get(call_id) {
            Some(r) => {
                r.ring.set_writing(true);
                Ok(())
            }
            None => Err("no capture is running for this call".into()),
        }
    }

    fn stop(&mut self, call: &Call, dir: &Path) -> Option<Stopped> {
        match self.active.remove(&call.id) {
            Some(mut rec) => Some(finish(&mut rec, &call.id)),
            // Not running in this process: a recording left open by a crash.
            None => self.repair(call, dir),
        }
    }
}

impl PluginCapture {
    fn repair(&self, call: &Call, dir: &Path) -> Option<Stopped> {
        let storage = self
            .registry
            .storage(&self.config.storage)
            .and_then(|p| p.storage)?;
        let mut said = Vec::new();
        let mut files = Vec::new();
        for name in &call.recording_files {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            let p = path.to_string_lossy().into_owned();
            let mut frames = 0u64;
            let mut err = Err512::new();
            // SAFETY: ABI call with valid pointers.
            let st = unsafe { (storage.repair)(p.as_ptr(), p.len(), &mut frames, err.ptr()) };
            if st == STATUS_OK {
                tracing::warn!(call = %call.id, file = %path.display(), frames, "recording repaired after a crash");
                said.push(format!(
                    "{name} repaired after a crash: {frames} frames kept"
                ));
                let bytes = std::fs::read(&path).unwrap_or_default();
                let sealed = journal::read_sealed(&dir.join(onrecord_evidence::journal_name(name)));
                if let (Some((sample_format, rate, channels)), Some(sealed)) = (
                    onrecord_evidence::verify::probe_format(name, &bytes),
                    sealed,
                ) {
                    files.push(SealedFile {
                        name: name.clone(),
                        sample_format,
                        rate,
                        channels,
                        pcm_bytes: sealed.pcm_bytes,
                        blocks: sealed.blocks,
                        head: sealed.head,
                        complete: false,
                    });
                }
            } else {
                let why = err.text(st);
                tracing::error!(call = %call.id, file = %path.display(), "cannot repair the recording: {why}");
                said.push(format!("{name} could not be repaired: {why}"));
            }
        }
        (!said.is_empty()).then(|| Stopped {
            report: said.join("; "),
            files,
            stats: None,
        })
    }
}

/// Stops the source, drains the ring into the file, finalizes it, and frees everything; says
/// what was captured.
fn finish(rec: &mut Recording, call_id: &str) -> Stopped {
    rec.ring.set_writing(false);
    // SAFETY: ABI calls on the handle opened in `start`; after `stop` returns the source no
    // longer calls the sink, so the sink context can be freed.
    unsafe {
        (rec.source.stop)(rec.source_handle);
        (rec.source.close)(rec.source_handle);
        drop(Box::from_raw(rec.sink));
    }
    rec.ring.finish();
    let mut problem = String::new();
    let mut files = Vec::new();
    if let Some(w) = rec.writer.take() {
        match w.join() {
            Ok(Ok(sealed)) => files.push(SealedFile {
                name: rec.name.clone(),
                sample_format: if rec.stored.sample_format == SAMPLE_F32 {
                    "f32"
                } else {
                    "i16"
                }
                .into(),
                rate: rec.stored.rate,
                channels: rec.stored.channels,
                pcm_bytes: sealed.pcm_bytes,
                blocks: sealed.blocks,
                head: sealed.head,
                complete: true,
            }),
            Ok(Err(e)) => {
                tracing::error!(call = %call_id, "the recording did not finish cleanly: {e}");
                problem = format!("; the file did not finish cleanly: {e}");
            }
            Err(_) => {
                tracing::error!(call = %call_id, "the writer thread panicked");
                problem = "; the writer failed".into();
            }
        }
    }
    let (written, overruns, paused) = rec.ring.counts();
    tracing::info!(call = %call_id, frames = written, overruns, dropped_while_paused = paused, "capture stopped");
    Stopped {
        report: format!(
            "{written} frames written, {overruns} lost to overruns, {paused} not written while paused{problem}"
        ),
        files,
        stats: Some(onrecord_evidence::CaptureStats {
            frames_written: written,
            overruns,
            not_written_while_paused: paused,
        }),
    }
}
