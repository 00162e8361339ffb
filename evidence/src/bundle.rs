//! The export bundle: one zip with a call's audio, journals, manifest, signature, public key
//! and report, under a folder named after the call. Verifying the bundle unpacks it and checks
//! it like a call directory.

use crate::{MANIFEST, Manifest, journal_name, report, verify};
use std::io::Write;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

pub const REPORT: &str = "report.html";
pub const PUBLIC_KEY: &str = "public-key.txt";

/// Writes the bundle of the call directory `dir` to `out`; `progress` hears each file.
pub fn export(
    dir: &Path,
    out: &Path,
    readers: &crate::Readers,
    mut progress: impl FnMut(&str, u64),
) -> Result<(), String> {
    let bytes = std::fs::read(dir.join(MANIFEST))
        .map_err(|e| format!("{MANIFEST}: {e} (the call is sealed when it ends)"))?;
    if crate::encrypt::is_encrypted(dir) {
        return Err(
            "the call's audio is encrypted: export it with the identity that decrypts it (onrecordctl export ID --identity FILE)"
                .into(),
        );
    }
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| format!("{MANIFEST}: {e}"))?;
    let checked = verify::verify_dir(dir, readers);
    let folder = if manifest.call.id.is_empty() {
        "call".to_owned()
    } else {
        manifest.call.id.clone()
    };
    let mut names = vec![
        MANIFEST.to_owned(),
        crate::SIGNATURE.to_owned(),
        "call.json".to_owned(),
    ];
    for f in &manifest.files {
        names.push(f.name.clone());
        names.push(journal_name(&f.name));
    }
    let file = std::fs::File::create_new(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for name in &names {
        let path = dir.join(name);
        // Copied through, not read whole: an hour of audio is hundreds of MB.
        let mut data =
            std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let len = data.metadata().map(|m| m.len()).unwrap_or(0);
        progress(name, len);
        // Over 4 GiB a zip entry needs the ZIP64 extension.
        let opts = opts.large_file(len >= u64::from(u32::MAX));
        zip.start_file(format!("{folder}/{name}"), opts)
            .map_err(|e| e.to_string())?;
        std::io::copy(&mut data, &mut zip).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    zip.start_file(format!("{folder}/{PUBLIC_KEY}"), opts)
        .map_err(|e| e.to_string())?;
    zip.write_all(format!("{}\n", manifest.public_key).as_bytes())
        .map_err(|e| e.to_string())?;
    let html = report::html(&manifest, &checked);
    progress(REPORT, html.len() as u64);
    zip.start_file(format!("{folder}/{REPORT}"), opts)
        .map_err(|e| e.to_string())?;
    zip.write_all(html.as_bytes()).map_err(|e| e.to_string())?;
    let f = zip.finish().map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())
}

/// Unpacks a bundle into `into`; returns the call's folder. Entries that would leave `into`
/// (absolute paths, `..`) are refused.
pub fn unpack(bundle: &Path, into: &Path) -> Result<PathBuf, String> {
    let file = std::fs::File::open(bundle).map_err(|e| format!("{}: {e}", bundle.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| format!("{}: not a bundle ({e})", bundle.display()))?;
    let mut folder = None;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| e.to_string())?;
        let rel = entry
            .enclosed_name()
            .ok_or_else(|| format!("{}: an entry leaves the bundle", bundle.display()))?;
        if entry.is_dir() {
            continue;
        }
        let top = rel.components().next().map(|c| into.join(c.as_os_str()));
        folder = folder.or(top);
        let path = into.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut out =
            std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    folder.ok_or_else(|| format!("{}: the bundle is empty", bundle.display()))
}
