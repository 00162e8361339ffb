//! The interface the recording path plugs into: the owner calls it on the capture effects of a
//! call's state machine, and on nothing else, so no audio can be written outside `Recording`.
//!
//! Capture sources and storage backends arrive as plugins (the plugins issue). Until one is
//! configured, [`NoCapture`] keeps every call's consent and timeline and writes no audio, and
//! says so once in the log.

use crate::calls::Call;
use std::path::Path;

/// Which side of a call a timed source captures: left the user's microphone, right the far
/// side (what the speakers play).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Microphone,
    FarSide,
}

impl Role {
    /// For people and the manifest: `microphone`, `far side`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Microphone => "microphone",
            Role::FarSide => "far side",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What capture did, when it stopped.
#[derive(Debug, Clone, Default)]
pub struct Stopped {
    /// One line for the timeline: frames written, overruns, repairs.
    pub report: String,
    pub files: Vec<SealedFile>,
    /// What happened while stopping, for the timeline before the report (the last gap).
    pub notes: Vec<String>,
    /// The recording path's counts, when it ran in this process.
    pub stats: Option<onrecord_evidence::CaptureStats>,
    /// The call analysis of the far side (holds, live speech), when it ran.
    pub analysis: Option<onrecord_analysis::Summary>,
}

impl Stopped {
    /// How long the recording is, from the audio its first file holds (µs); `None` without
    /// files. This, not the wall clock, is where entries made after the stop sit.
    pub fn duration_us(&self) -> Option<u64> {
        let f = self.files.first()?;
        let bytes_per_sample = if f.sample_format == "f32" { 4 } else { 2 };
        let frame_bytes = u64::from(f.channels) * bytes_per_sample;
        (frame_bytes > 0 && f.rate > 0)
            .then(|| f.pcm_bytes / frame_bytes * 1_000_000 / u64::from(f.rate))
    }
}

/// An audio file and what its hash chain sealed.
#[derive(Debug, Clone)]
pub struct SealedFile {
    pub name: String,
    /// `i16` or `f32`.
    pub sample_format: String,
    pub rate: u32,
    pub channels: u32,
    pub pcm_bytes: u64,
    pub blocks: u64,
    pub head: String,
    /// False after a crash: the journal seals what reached the disk.
    pub complete: bool,
}

/// Where capture tells a call's timeline what happened while it ran (a device lost, a gap):
/// `(call id, text)`.
pub type Notes = std::sync::Arc<dyn Fn(&str, String) + Send + Sync>;

/// Why capture could not start, resume or go on. The kinds are told apart in code: a full disk
/// is a `Write`, a format the storage will not take a `FormatRefused`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// The configured plugin is not loaded (refused, failed its probe, not installed), or no
    /// capture runs for the call.
    #[error("{0}")]
    Unavailable(String),
    /// The capture source did not open or start.
    #[error("{0}")]
    Source(String),
    /// The storage will not take the recording's format (nor a format it could be converted to).
    #[error("{0}")]
    FormatRefused(String),
    /// Writing failed: the disk is full, the file went away, the chain journal could not be
    /// written.
    #[error("{0}")]
    Write(String),
    /// The storage plugin panicked.
    #[error("the storage plugin panicked: {0}")]
    Panicked(String),
}

impl From<crate::recording::JournalError> for CaptureError {
    fn from(e: crate::recording::JournalError) -> Self {
        CaptureError::Write(e.to_string())
    }
}

/// Where capture says that a call's recording failed for good while it ran: `(call id, why)`,
/// once per recording.
pub type Failures = std::sync::Arc<dyn Fn(&str, CaptureError) + Send + Sync>;

/// A hold began or ended, at this offset into the recording (seconds).
#[derive(Debug, Clone, PartialEq)]
pub enum HoldChange {
    Started { at_s: f64 },
    Ended { since_s: f64, at_s: f64 },
}

/// Where capture reports a call's holds as it records: `(call id, change)`.
pub type HoldEvents = std::sync::Arc<dyn Fn(&str, HoldChange) + Send + Sync>;

/// What the owner keeps of a running recording: controls that act at once from any thread,
/// without waiting for the capture worker (which may be opening another call's devices).
pub trait Control: Send + Sync {
    /// Stops writing at once; nothing is buffered for later (no pre-roll).
    fn pause(&self);
    fn resume(&self);
    /// How much audio of the call has been captured (accepted into the recording), from its
    /// frame count, in microseconds; `None` when this capture does not count.
    fn position_us(&self) -> Option<u64>;
    /// Where audio captured at `mono_ns` (CLOCK_MONOTONIC) lies in the recording, in
    /// microseconds; `None` when this capture does not count. By default, the position now
    /// less the time since.
    fn offset_at_us(&self, mono_ns: u64) -> Option<u64> {
        let now = crate::recording::mono_ns();
        let pos = self.position_us()?;
        Some(pos.saturating_sub(now.saturating_sub(mono_ns) / 1000))
    }
}

/// A recording that began: the files it writes, and its controls.
pub struct Started {
    pub files: Vec<String>,
    pub control: std::sync::Arc<dyn Control>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

/// Capture runs on a worker thread of its own (the owner's `CaptureWorker`): opening devices
/// and finishing files may wait, and only that thread calls these.
pub trait Capture: Send {
    /// Gives capture a way to note events in calls' timelines while they record.
    fn set_notes(&mut self, _notes: Notes) {}
    /// Gives capture a way to report holds found on the far side while calls record.
    fn set_hold_events(&mut self, _events: HoldEvents) {}
    /// Gives capture a way to say that a call's recording failed for good while it ran (the
    /// storage refused a write: a full disk): `(call id, error)`, once per recording.
    fn set_failures(&mut self, _failures: Failures) {}
    /// Begins writing the call's audio into `dir` (waiting for its devices to open); returns
    /// the files it writes and the recording's controls.
    fn start(&mut self, call: &Call, dir: &Path) -> Result<Started, CaptureError>;
    /// Finalizes the files; for a call not captured by this process (the daemon died while it
    /// recorded), repairs the files it left. Returns what happened (for the call's timeline and
    /// its manifest), or nothing when no audio was captured.
    fn stop(&mut self, call: &Call, dir: &Path) -> Option<Stopped>;
}

/// The controls of a recording that writes nothing.
struct Nothing;

impl Control for Nothing {
    fn pause(&self) {}
    fn resume(&self) {}
    fn position_us(&self) -> Option<u64> {
        None
    }
}

/// No capture source configured: nothing is written.
#[derive(Default)]
pub struct NoCapture {
    told: bool,
}

impl Capture for NoCapture {
    fn start(&mut self, call: &Call, _dir: &Path) -> Result<Started, CaptureError> {
        if !self.told {
            tracing::info!(call = %call.id, "no capture source is configured yet: calls keep their consent timeline, without audio");
            self.told = true;
        }
        Ok(Started {
            files: Vec::new(),
            control: std::sync::Arc::new(Nothing),
        })
    }
    fn stop(&mut self, _call: &Call, _dir: &Path) -> Option<Stopped> {
        None
    }
}

/// The configured capture cannot run (its plugin was refused or failed its probe): the daemon
/// serves everything else, and starting a recording is refused with the reason.
pub struct Unavailable {
    pub why: String,
}

impl Capture for Unavailable {
    fn start(&mut self, _call: &Call, _dir: &Path) -> Result<Started, CaptureError> {
        Err(CaptureError::Unavailable(self.why.clone()))
    }
    fn stop(&mut self, call: &Call, _dir: &Path) -> Option<Stopped> {
        if !call.recording_files.is_empty() {
            tracing::warn!(call = %call.id, "{}: its recording is left to be repaired when capture is back", self.why);
        }
        None
    }
}
