//! onrecord's evidence: what makes a recording hold up.
//!
//! - A **hash chain** over the audio as it is written ([`Chain`]): the PCM bytes, in blocks of
//!   one second, each block hashed and linked to the one before, appended to a journal beside
//!   the audio (`audio.wav.chain`, one JSON line per block). Truncation, insertion, splicing and
//!   reordering change a block's hash or break the chain, also for an interrupted recording.
//! - A **manifest** ([`Manifest`]), sealed when the call ends: the call's record (parties,
//!   decision, timeline), and each audio file with its format, length, SHA-256 and chain head;
//!   signed with the installation's Ed25519 key ([`key`]).
//! - **Verification** ([`verify::verify_dir`]), which says exactly what fails and where.

pub mod bundle;
pub mod chain;
pub mod encrypt;
pub mod key;
pub mod manifest;
pub mod picture;
pub mod report;
pub mod vcon;
pub mod verify;

pub use chain::{Block, Chain};
pub use manifest::{CallRecord, CaptureStats, FileEntry, Manifest, SourceStats};
pub use onrecord_plugin::host::Readers;

/// The manifest of a call, in its directory.
pub const MANIFEST: &str = "manifest.json";
/// The signature of the manifest's exact bytes, in hex.
pub const SIGNATURE: &str = "manifest.sig";

/// The journal of an audio file: `<file>.chain`.
pub fn journal_name(audio: &str) -> String {
    format!("{audio}.chain")
}
