//! `onrecordctl analyze`: what a recording's far side did (live speech, hold music, silence,
//! tones, announcements) and the holds it adds up to. Runs here, on the file: a file or a
//! call's directory needs no daemon; a call id asks the daemon where the call is.
//!
//! A recording is read through the storage plugin that reads its format, as `verify` reads
//! it; a WAV or FLAC from elsewhere in an encoding onrecord's plugins do not write (24-bit, 8-bit)
//! is read by the analysis crate's own decoder.

use crate::fail::Fail;
use crate::text::emit;
use onrecord_analysis::file::{FileAnalysis, Pcm, analyze_path, analyze_pcm};
use onrecord_evidence::Readers;
use onrecord_plugin::SAMPLE_F32;
use std::path::{Path, PathBuf};

/// Formats read without a plugin, for audio from elsewhere.
const FOREIGN: [&str; 2] = ["wav", "flac"];

/// The recordings in a call's directory (what a storage plugin reads, or WAV or FLAC), in
/// name order.
fn recordings(dir: &Path, readers: &Readers) -> Result<Vec<PathBuf>, Fail> {
    let read = |ext: &str| FOREIGN.contains(&ext) || readers.extensions().contains(&ext);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Fail::Input(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|x| x.to_str()).is_some_and(read))
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(Fail::Input(format!(
            "{}: no recording in this call's directory that an installed storage plugin reads ({})",
            dir.display(),
            readers.extensions().join(", ")
        )));
    }
    Ok(v)
}

/// The format the call's manifest gives a file, for raw PCM that does not say its own.
fn sealed_format(path: &Path) -> Option<Pcm> {
    let dir = path.parent()?;
    let bytes = std::fs::read(dir.join(onrecord_evidence::MANIFEST)).ok()?;
    let m: onrecord_evidence::Manifest = serde_json::from_slice(&bytes).ok()?;
    let name = path.file_name()?.to_str()?;
    let f = m.files.iter().find(|f| f.name == name)?;
    Some(Pcm {
        float: f.sample_format == "f32",
        rate: f.rate,
        channels: u16::try_from(f.channels).ok()?,
    })
}

fn analyze_file(readers: &Readers, path: &Path) -> Result<FileAnalysis, String> {
    let shown = path.display().to_string();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match readers.open(path) {
        Ok(pcm) => {
            let format = pcm
                .format()
                .map(|f| Pcm {
                    float: f.sample_format == SAMPLE_F32,
                    rate: f.rate,
                    channels: u16::try_from(f.channels).unwrap_or(0),
                })
                .or_else(|| sealed_format(path))
                .ok_or_else(|| {
                    format!("{shown}: raw PCM, and no call manifest beside it gives its format")
                })?;
            analyze_pcm(pcm, format, &shown)
        }
        Err(_) if FOREIGN.contains(&ext) => analyze_path(path),
        Err(e) => Err(e),
    }
}

pub async fn run(target: &str, json: bool, conn: Option<&zbus::Connection>) -> Result<(), Fail> {
    let path = Path::new(target);
    let readers = crate::evidence::readers();
    let files = if path.is_file() {
        vec![path.to_path_buf()]
    } else if path.is_dir() {
        recordings(path, &readers)?
    } else if target.contains('/') || path.extension().is_some() {
        // A call id is hex digits: a name with a path or an extension meant a file.
        return Err(Fail::Input(format!("{target}: no such file or directory")));
    } else {
        let conn =
            conn.ok_or_else(|| Fail::Input(format!("{target}: no such file or directory")))?;
        recordings(
            Path::new(&crate::evidence::call_directory(conn, target).await?),
            &readers,
        )?
    };
    let mut out = Vec::new();
    let mut text = String::new();
    for f in &files {
        let a = analyze_file(&readers, f).map_err(Fail::Input)?;
        if json {
            out.push(serde_json::json!({
                "file": f.display().to_string(),
                "rate": a.rate,
                "channels": a.channels,
                "summary": a.summary,
            }));
        } else {
            text += &format!(
                "{} ({} Hz, {}; far side {})\n\n{}\n",
                f.display(),
                a.rate,
                if a.channels >= 2 { "stereo" } else { "mono" },
                if a.channels >= 2 {
                    "right, caller left"
                } else {
                    "the one channel"
                },
                a.summary.to_text()
            );
        }
    }
    if json {
        let v = if out.len() == 1 {
            out.remove(0)
        } else {
            serde_json::Value::Array(out)
        };
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&v).expect("plain data")
        ))
    } else {
        emit(&text)
    }
}
