//! Sealing a call's evidence when it ends: `manifest.json` (the call's record and each audio
//! file with its format, length, SHA-256 and chain head) and `manifest.sig`, the Ed25519
//! signature of the manifest's exact bytes. Schema: docs/manifest.md.

use crate::calls::Call;
use crate::capture::Stopped;
use ed25519_dalek::SigningKey;
use onrecord_evidence::{FileEntry, MANIFEST, Manifest, SIGNATURE, key, manifest::SCHEMA};
use std::path::Path;

/// Writes the manifest and its signature into the call's directory, atomically.
pub fn seal(
    call: &Call,
    dir: &Path,
    stopped: &Stopped,
    signing: &SigningKey,
    now_us: u64,
) -> Result<(), String> {
    let files = &stopped.files;
    let mut entries = Vec::new();
    for f in files {
        let sha256 = onrecord_evidence::verify::file_sha256(&dir.join(&f.name))
            .map_err(|e| format!("{}: {e}", f.name))?;
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
        call: serde_json::to_value(call)
            .and_then(serde_json::from_value)
            .map_err(|e| format!("the call record: {e}"))?,
        files: entries,
        capture: stopped.stats.clone(),
        analysis: stopped.analysis.clone(),
    };
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let signature = key::sign_hex(signing, &bytes);
    write_atomic(&dir.join(MANIFEST), &bytes)?;
    write_atomic(&dir.join(SIGNATURE), signature.as_bytes())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}
