//! Sealing a call's evidence when it ends: `manifest.json` (the call's record and each audio
//! file with its format, length, SHA-256 and chain head) and `manifest.sig`, the Ed25519
//! signature of the manifest's exact bytes. Schema: docs/manifest.md.

use crate::calls::Call;
use crate::capture::Stopped;
use ed25519_dalek::SigningKey;
use onrecord_evidence::{FileEntry, MANIFEST, Manifest, SIGNATURE, key, manifest::SCHEMA};
use std::path::Path;

/// Why a call could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// An audio file could not be read to hash it.
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    /// The call's record or the manifest could not be put into JSON.
    #[error("the manifest: {0}")]
    Encode(#[from] serde_json::Error),
    /// The manifest or its signature could not be written.
    #[error("{}: {source}", path.display())]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Writes the manifest and its signature into the call's directory, atomically.
pub fn seal(
    call: &Call,
    dir: &Path,
    stopped: &Stopped,
    signing: &SigningKey,
    now_us: u64,
) -> Result<(), SealError> {
    let files = &stopped.files;
    let mut entries = Vec::new();
    for f in files {
        let sha256 =
            onrecord_evidence::verify::file_sha256(&dir.join(&f.name)).map_err(|source| {
                SealError::Read {
                    file: f.name.clone(),
                    source,
                }
            })?;
        let frame = (f.channels as u64) * if f.sample_format == "f32" { 4 } else { 2 };
        let frames = f.pcm_bytes / frame.max(1);
        entries.push(FileEntry {
            name: f.name.clone(),
            sample_format: f.sample_format.clone(),
            rate: f.rate,
            channels: f.channels,
            pcm_bytes: f.pcm_bytes,
            frames,
            duration_s: frames as f64 / f.rate.max(1) as f64,
            sha256,
            blocks: f.blocks,
            chain_head: f.head.clone(),
            complete: f.complete,
        });
    }
    let manifest = Manifest {
        schema: SCHEMA,
        sealed_utc_us: now_us,
        public_key: key::public_hex(signing),
        // The daemon's record, read as the evidence reads it (every field it does not type is
        // kept as written).
        call: serde_json::to_value(call).and_then(serde_json::from_value)?,
        files: entries,
        capture: stopped.stats.clone(),
        analysis: stopped.analysis.clone(),
    };
    let bytes = serde_json::to_vec_pretty(&manifest)?;
    let signature = key::sign_hex(signing, &bytes);
    write_atomic(&dir.join(MANIFEST), &bytes)?;
    write_atomic(&dir.join(SIGNATURE), signature.as_bytes())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SealError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let failed = |at: &Path| {
        let path = at.to_owned();
        move |source| SealError::Write { path, source }
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(failed(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(failed(&tmp))?;
    std::fs::rename(&tmp, path).map_err(failed(path))
}
