//! The sealed manifest of a call (schema in docs/manifest.md).

use serde::{Deserialize, Serialize};

/// 2: the analysis's hold time leaves out the menu (docs/manifest.md).
pub const SCHEMA: u32 = 2;

#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Manifest {
    pub schema: u32,
    /// When the manifest was sealed, µs since the epoch (UTC).
    pub sealed_utc_us: u64,
    /// The Ed25519 public key that signs `manifest.sig`, hex.
    pub public_key: String,
    /// The call's record as the daemon keeps it: id, label, parties, decision, timeline.
    pub call: CallRecord,
    pub files: Vec<FileEntry>,
    /// What the recording path counted; absent when the daemon died before it could count.
    #[serde(default)]
    pub capture: Option<CaptureStats>,
    /// The call analysis of the far side: first live agent, holds, transfers, talk time, and
    /// its timeline of live speech, music, silence, tones and announcements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<onrecord_analysis::Summary>,
}

/// The call's record as sealed. What the evidence reads is typed (a renamed field fails to
/// compile or to parse, never blanks a report); the rest of the daemon's record is kept as it
/// was written.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct CallRecord {
    pub id: String,
    pub label: String,
    pub state: onrecord_interface::CallState,
    pub decision: onrecord_interface::Decision,
    pub parties: Vec<onrecord_interface::CallParty>,
    pub timeline: Vec<onrecord_interface::TimelineEntry>,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

/// Counts of the recording path, for the record: nothing lost silently.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct CaptureStats {
    pub frames_written: u64,
    /// Frames the writer could not take in time (the ring was full).
    pub overruns: u64,
    /// Frames delivered while the recording was paused or held, and dropped by design (with
    /// timed sources: frames of time not recorded).
    pub not_written_while_paused: u64,
    /// With timed sources (live devices, one per channel): what each delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceStats>,
}

/// One timed source of a recording: its channel's left (first) to right order.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct SourceStats {
    /// Its role and device: `microphone (pipewire:input_default)`.
    pub source: String,
    pub frames_received: u64,
    /// Its nominal rate.
    pub rate: u32,
    /// Its clock against the system's monotonic clock, in parts per million (positive: fast),
    /// once measured (after two seconds of continuous audio).
    pub drift_ppm: Option<f64>,
    /// Times its frames stopped matching its clock (frames lost, the device reopened).
    pub discontinuities: u32,
    /// Frames missing at those discontinuities, at the nominal rate.
    pub frames_lost: u64,
    /// Frames the ring could not take.
    pub overruns: u64,
    /// Frames of its channel filled with silence because it had no audio for that time.
    pub silent_frames: u64,
    /// Stretches of such silence.
    pub gaps: u32,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct FileEntry {
    pub name: String,
    /// `i16` or `f32`.
    pub sample_format: String,
    pub rate: u32,
    pub channels: u32,
    /// Bytes of PCM sealed by the chain.
    pub pcm_bytes: u64,
    pub frames: u64,
    pub duration_s: f64,
    /// SHA-256 of the whole file as sealed, hex.
    pub sha256: String,
    pub blocks: u64,
    /// The last link of the chain, hex.
    pub chain_head: String,
    /// False when the recording was interrupted: the chain seals what reached the journal.
    pub complete: bool,
}
