//! The recording path: a capture plugin's callback pushes frames into a lock-free
//! single-producer ring (rtrb); a writer thread drains it into a storage plugin and makes the
//! file durable at a fixed interval. Nothing in the callback allocates, locks or does I/O;
//! frames that do not fit are counted as overruns, never dropped silently.
//!
//! Two layouts. One untimed source (a file) delivers the whole recording as it is, and the
//! writer stores exactly what it delivered. Timed sources (live devices: your microphone, the
//! far side) are one channel each, on independent clocks: each delivery is timestamped in the
//! callback, and the mixer (`mix.rs`, on `align.rs`) places every frame at its time, so that
//! the channels stay aligned, drift is measured and corrected, and a source that stops gives
//! silence on its channel while the other goes on.
//!
//! The call's state machine decides when this runs: frames are written only between start and
//! stop, and not while paused.

mod align;
mod convert;
mod finish;
use finish::finish;
#[cfg(any(test, feature = "fuzz"))]
mod fuzz;
pub mod hold;
mod journal;
mod mix;
mod pcm;
mod repair;
mod sides;
mod source;
#[cfg(any(test, feature = "fuzz"))]
pub use fuzz::fuzz_sink;
use sides::side_for;
use source::OpenSource;
mod ring;

pub use journal::JournalError;
pub use ring::{deliver_at, mono_ns, source_event};

use crate::calls::Call;
use crate::capture::{
    Capture, CaptureError, Control, Failures, Notes, Role, SealedFile, Started, Stopped,
};
use crate::plugins::Registry;
use mix::MixShared;
use onrecord_plugin::abi::*;
use onrecord_plugin::host::ErrorText;
use ring::{Output, Ring, SinkCtx};
use std::collections::HashMap;
use std::ffi::{CStr, c_void};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The rate of recordings from timed sources.
const TIMED_RATE: u32 = 48_000;

/// `[capture]` of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureConfig {
    /// The capture plugin's id (`capture-file`, `capture-cpal`).
    pub source: String,
    /// Untimed: the one source's configuration (`key=value` lines).
    pub source_config: String,
    /// Timed: one source per channel, left first: (role, configuration). Empty: untimed.
    pub sides: Vec<(crate::capture::Role, String)>,
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
    notes: Option<Notes>,
    holds: Option<crate::capture::HoldEvents>,
    failures: Option<Failures>,
}

impl PluginCapture {
    pub fn new(registry: Arc<Registry>, config: CaptureConfig) -> Self {
        PluginCapture {
            registry,
            config,
            active: HashMap::new(),
            notes: None,
            holds: None,
            failures: None,
        }
    }

    /// What tells the owner that the storage failed while `call` recorded.
    fn failure_hook(&self, call: &Call) -> Option<Box<dyn FnOnce(CaptureError) + Send>> {
        let f = self.failures.clone()?;
        let id = call.id.clone();
        Some(Box::new(move |e| f(&id, e)))
    }
}

/// One call being captured.
struct Recording {
    /// One untimed source, or one timed source per channel.
    sources: Vec<OpenSource>,
    /// Counts what the storage accepted.
    out_ring: Arc<Ring>,
    writer: Option<std::thread::JoinHandle<Result<journal::Sealed, CaptureError>>>,
    /// Timed sources: the recording's clock, shared with the mixer.
    mix: Option<Arc<MixShared>>,
    /// The file's name and stored format, for the manifest.
    name: String,
    stored: AudioFormat,
    /// The rate the position counts at.
    rate: u32,
    /// The far side's analysis, once the writer closed the file.
    analysis: Arc<std::sync::Mutex<Option<onrecord_analysis::Summary>>>,
}

// SAFETY: the raw pointers are plugin handles and our own sink contexts; the capture worker's
// thread alone uses them, so the plugin is called from one thread at a time.
unsafe impl Send for Recording {}

/// A recording's controls, shared with the owner: its clock (timed sources) or its sources'
/// rings (untimed), which pausing closes and which count the position.
struct Controls {
    mix: Option<Arc<MixShared>>,
    rings: Vec<Arc<Ring>>,
    rate: u32,
}

impl Control for Controls {
    fn pause(&self) {
        match &self.mix {
            Some(m) => m.timebase().close(mix::now_s()),
            None => self.rings.iter().for_each(|r| r.set_writing(false)),
        }
    }

    fn resume(&self) {
        match &self.mix {
            Some(m) => m.timebase().open(mix::now_s()),
            None => self.rings.iter().for_each(|r| r.set_writing(true)),
        }
    }

    fn position_us(&self) -> Option<u64> {
        let frames = match &self.mix {
            Some(m) => m.timebase().position(mix::now_s()),
            None => self.rings.first()?.pushed(),
        };
        Some(frames * 1_000_000 / self.rate.max(1) as u64)
    }

    fn offset_at_us(&self, at_ns: u64) -> Option<u64> {
        match &self.mix {
            // Timed sides: the recording's own clock places any capture time.
            Some(m) => {
                let frames = m.timebase().position(at_ns as f64 * 1e-9);
                Some(frames * 1_000_000 / self.rate.max(1) as u64)
            }
            None => {
                let now = mono_ns();
                let pos = self.position_us()?;
                Some(pos.saturating_sub(now.saturating_sub(at_ns) / 1000))
            }
        }
    }
}

/// The storage's plugin, format, file and journal for a recording of `format`.
struct Opened {
    out: Output,
    stored: AudioFormat,
    name: String,
}

impl PluginCapture {
    /// The storage plugin id for `call`: a rule's, else `[capture]`'s.
    fn storage_id<'a>(&'a self, call: &'a Call) -> &'a str {
        call.storage.as_deref().unwrap_or(&self.config.storage)
    }

    fn storage(&self, id: &str) -> Result<&'static StorageBackendV1, CaptureError> {
        self.registry
            .storage(id)
            .and_then(|p| p.storage)
            .ok_or_else(|| {
                CaptureError::Unavailable(format!(
                    "no storage plugin {id:?} is loaded (see `onrecordctl plugins`)"
                ))
            })
    }

    /// Creates the file for frames of `got`: in that format if the storage accepts it, else in
    /// the nearest it names, converted.
    fn create_output(
        &self,
        call: &Call,
        got: AudioFormat,
        dir: &Path,
        out_ring: Arc<Ring>,
    ) -> Result<Opened, CaptureError> {
        let storage = self.storage(self.storage_id(call))?;
        let mut preferred = got;
        // SAFETY: ABI calls with valid pointers.
        let stored = if unsafe { (storage.accepts)(&got, &mut preferred) } == STATUS_OK {
            got
        } else {
            let mut again = preferred;
            if !preferred.is_valid()
                || unsafe { (storage.accepts)(&preferred, &mut again) } != STATUS_OK
            {
                return Err(CaptureError::FormatRefused(format!(
                    "the storage accepts neither {got:?} nor a format of its own choosing"
                )));
            }
            preferred
        };
        let convert = convert::Convert::new(got, stored)?;
        // SAFETY: the extension is a static NUL-terminated string.
        let ext = unsafe { CStr::from_ptr(storage.extension) }
            .to_string_lossy()
            .into_owned();
        let name = format!("audio.{ext}");
        let path = dir.join(&name);
        let path_str = path.to_string_lossy().into_owned();
        let mut file = std::ptr::null_mut();
        let mut err = ErrorText::new();
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
            let why = format!(
                "the storage did not create {}: {}",
                path.display(),
                err.text(st)
            );
            return Err(match st {
                STATUS_UNSUPPORTED => CaptureError::FormatRefused(why),
                _ => CaptureError::Write(why),
            });
        }
        // One-second blocks of the stored PCM.
        let block_bytes = stored.rate as usize * stored.bytes_per_frame();
        let journal = match journal::Journal::create(
            &dir.join(onrecord_evidence::journal_name(&name)),
            block_bytes,
        ) {
            Ok(j) => j,
            Err(why) => {
                let mut err = ErrorText::new();
                // SAFETY: created above and never written.
                unsafe { (storage.finish)(file, err.ptr()) };
                return Err(why.into());
            }
        };
        tracing::info!(source = ?got, stored = ?stored, file = %path.display(), "recording to");
        Ok(Opened {
            out: Output::new(
                storage,
                file,
                got,
                convert,
                self.config.sync_interval,
                journal,
                out_ring,
            ),
            stored,
            name,
        })
    }

    /// The call analysis of the far side's channel `far` (the near side's `near`), reporting
    /// to the call's holds.
    fn hold_watch(
        &self,
        call: &Call,
        format: AudioFormat,
        far: usize,
        near: Option<usize>,
        done: Arc<std::sync::Mutex<Option<onrecord_analysis::Summary>>>,
    ) -> hold::HoldWatch {
        let id = call.id.clone();
        let events = self.holds.clone();
        let report: hold::HoldReport = Arc::new(move |change| {
            if let Some(e) = &events {
                e(&id, change);
            }
        });
        hold::HoldWatch::new(format, far, near, report, done)
    }

    fn capture_plugin(&self) -> Result<&'static CaptureSourceV1, CaptureError> {
        self.registry
            .capture(&self.config.source)
            .and_then(|p| p.capture)
            .ok_or_else(|| {
                CaptureError::Unavailable(format!(
                    "no capture plugin {:?} is loaded (see `onrecordctl plugins`)",
                    self.config.source
                ))
            })
    }

    /// One untimed source: the file gets exactly what it delivers.
    fn start_untimed(&mut self, call: &Call, dir: &Path) -> Result<Recording, CaptureError> {
        let plugin = self.capture_plugin()?;
        let want = AudioFormat {
            sample_format: SAMPLE_I16,
            rate: 48_000,
            channels: 2,
        };
        let (mut src, failed) = OpenSource::open(plugin, &self.config.source_config, want);
        if let Some(why) = failed {
            return Err(CaptureError::Source(format!("the capture source {why}")));
        }
        let got = src.format;
        let out_ring = src.ring.clone();
        let opened = self.create_output(call, got, dir, out_ring.clone())?;
        // SAFETY: `sink` is ours until the source starts.
        let (consumer, _) = unsafe { (*src.sink).configure(got, false) };
        src.ring.set_writing(true);
        // onrecord's layout: the caller left, the far side right; one channel is the far side.
        let analysis = Arc::default();
        let (far, near) = if got.channels >= 2 {
            (1, Some(0))
        } else {
            (0, None)
        };
        let out = opened
            .out
            .with_hold(self.hold_watch(call, got, far, near, Arc::clone(&analysis)))
            .on_failure(self.failure_hook(call));
        let writer = ring::spawn_writer(src.ring.clone(), consumer, out, &call.id)
            .map_err(CaptureError::Write)?;
        let mut rec = Recording {
            sources: vec![],
            out_ring,
            writer: Some(writer),
            mix: None,
            name: opened.name,
            stored: opened.stored,
            rate: got.rate,
            analysis,
        };
        let started = src.start();
        rec.sources.push(src);
        if let Err(why) = started {
            finish(&mut rec, &call.id);
            return Err(CaptureError::Source(format!("the capture source {why}")));
        }
        Ok(rec)
    }

    /// Timed sources, one channel each. A side that does not open or start is noted and its
    /// channel stays silent; with no side at all, nothing records.
    fn start_timed(&mut self, call: &Call, dir: &Path) -> Result<Recording, CaptureError> {
        let plugin = self.capture_plugin()?;
        let want = AudioFormat {
            sample_format: SAMPLE_I16,
            rate: TIMED_RATE,
            channels: 1,
        };
        let note = |text: String| {
            if let Some(n) = &self.notes {
                n(&call.id, text);
            }
        };
        let mut sources = Vec::new();
        let mut labels = Vec::new();
        let mut problems = Vec::new();
        for (role, config) in &self.config.sides {
            let (config, label) = side_for(call, *role, config, &self.config.source);
            let (src, failed) = OpenSource::open(plugin, &config, want);
            let failed = failed.or_else(|| {
                (src.format.rate > TIMED_RATE + TIMED_RATE / 100).then(|| {
                    format!(
                        "delivers {} Hz, above the {TIMED_RATE} Hz of the recording",
                        src.format.rate
                    )
                })
            });
            if let Some(why) = failed {
                tracing::error!(call = %call.id, "{label} {why}");
                problems.push(format!("{label} {why}"));
                let mut src = src;
                src.close();
                src.format = want;
                sources.push(src);
            } else {
                sources.push(src);
            }
            labels.push(label);
        }
        if sources.iter().all(|s| s.vt.is_none()) {
            return Err(CaptureError::Source(problems.join("; ")));
        }
        let out_format = AudioFormat {
            sample_format: SAMPLE_I16,
            rate: TIMED_RATE,
            channels: sources.len() as u32,
        };
        let out_ring = Arc::new(Ring::default());
        let opened = self.create_output(call, out_format, dir, out_ring.clone())?;
        let shared = Arc::new(MixShared::new(TIMED_RATE));
        let mut sides = Vec::new();
        for (src, label) in sources.iter_mut().zip(&labels) {
            // SAFETY: each `sink` is ours until its source starts.
            let (consumer, marks) = unsafe { (*src.sink).configure(src.format, true) };
            src.ring.set_writing(true);
            sides.push(mix::Side {
                label: label.clone(),
                ring: src.ring.clone(),
                sink: mix::SinkRef(src.sink),
                consumer,
                marks: marks.expect("timed sinks have marks"),
                rate: src.format.rate,
            });
        }
        let call_id = call.id.clone();
        let notes: mix::Notes = match &self.notes {
            Some(n) => {
                let n = n.clone();
                Arc::new(move |text: String| n(&call_id, text))
            }
            None => Arc::new(|_| {}),
        };
        let analysis = Arc::default();
        use crate::capture::Role;
        let roles: Vec<Role> = self.config.sides.iter().map(|(r, _)| *r).collect();
        let mut out = opened.out.on_failure(self.failure_hook(call));
        if let Some(far) = roles.iter().position(|r| *r == Role::FarSide) {
            let near = roles.iter().position(|r| *r == Role::Microphone);
            out =
                out.with_hold(self.hold_watch(call, out_format, far, near, Arc::clone(&analysis)));
        }
        let writer = mix::spawn_mixer(sides, shared.clone(), out, TIMED_RATE, notes, &call.id)
            .map_err(CaptureError::Write)?;
        let mut rec = Recording {
            sources,
            out_ring,
            writer: Some(writer),
            mix: Some(shared.clone()),
            name: opened.name,
            stored: opened.stored,
            rate: TIMED_RATE,
            analysis,
        };
        for (src, label) in rec.sources.iter_mut().zip(&labels) {
            if let Err(why) = src.start() {
                tracing::error!(call = %call.id, "{label} {why}");
                problems.push(format!("{label} {why}"));
                src.close();
            }
        }
        if rec.sources.iter().all(|s| !s.started) {
            shared.timebase().open(mix::now_s());
            finish(&mut rec, &call.id);
            return Err(CaptureError::Source(problems.join("; ")));
        }
        // The recording begins when every side delivers (a live stream's first period comes
        // some tens of milliseconds after it starts), so that no channel begins with silence;
        // a side that takes longer than half a second begins late, and that is noted.
        let deadline = std::time::Instant::now() + Duration::from_millis(500);
        while std::time::Instant::now() < deadline
            && rec
                .sources
                .iter()
                .any(|s| s.started && s.ring.pushed() == 0)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        shared.timebase().open(mix::now_s());
        for p in problems {
            note(format!("{p}; its channel is silent"));
        }
        Ok(rec)
    }
}

impl Capture for PluginCapture {
    fn set_notes(&mut self, notes: Notes) {
        self.notes = Some(notes);
    }

    fn set_hold_events(&mut self, events: crate::capture::HoldEvents) {
        self.holds = Some(events);
    }

    fn set_failures(&mut self, failures: Failures) {
        self.failures = Some(failures);
    }

    fn start(&mut self, call: &Call, dir: &Path) -> Result<Started, CaptureError> {
        // Both plugins are mapped in before any source opens: loading one (at the first
        // recording) takes time that the sources' clocks must not see between open and write.
        self.capture_plugin()?;
        self.storage(self.storage_id(call))?;
        let rec = if self.config.sides.is_empty() {
            self.start_untimed(call, dir)?
        } else {
            self.start_timed(call, dir)?
        };
        tracing::info!(call = %call.id, file = %rec.name, sources = rec.sources.len(), "capturing");
        let started = Started {
            files: vec![rec.name.clone()],
            control: Arc::new(Controls {
                mix: rec.mix.clone(),
                rings: rec.sources.iter().map(|s| s.ring.clone()).collect(),
                rate: rec.rate,
            }),
        };
        self.active.insert(call.id.clone(), rec);
        Ok(started)
    }

    fn stop(&mut self, call: &Call, dir: &Path) -> Option<Stopped> {
        match self.active.remove(&call.id) {
            Some(mut rec) => {
                let stopped = finish(&mut rec, &call.id);
                drop(rec);
                crate::memory::give_back();
                Some(stopped)
            }
            // Not running in this process: a recording left open by a crash.
            None => self.repair(call, dir),
        }
    }
}
