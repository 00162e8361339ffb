//! `onrecordctl analyze`: what a recording's far side did (live speech, hold music, silence,
//! tones, announcements) and the holds it adds up to. Runs here, on the file: a file or a
//! call's directory needs no daemon; a call id asks the daemon where the call is.

use crate::fail::Fail;
use crate::text::emit;
use onrecord_analysis::file::analyze_path;
use std::path::{Path, PathBuf};

/// The recordings in a call's directory (WAV or FLAC), in name order.
fn recordings(dir: &Path) -> Result<Vec<PathBuf>, Fail> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Fail::Input(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("wav" | "flac")))
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(Fail::Input(format!(
            "{}: no recording (WAV or FLAC) in this call's directory",
            dir.display()
        )));
    }
    Ok(v)
}

pub async fn run(target: &str, json: bool, conn: Option<&zbus::Connection>) -> Result<(), Fail> {
    let path = Path::new(target);
    let files = if path.is_file() {
        vec![path.to_path_buf()]
    } else if path.is_dir() {
        recordings(path)?
    } else if target.contains('/') || target.ends_with(".wav") || target.ends_with(".flac") {
        return Err(Fail::Input(format!("{target}: no such file or directory")));
    } else {
        let conn =
            conn.ok_or_else(|| Fail::Input(format!("{target}: no such file or directory")))?;
        recordings(Path::new(
            &crate::evidence::call_directory(conn, target).await?,
        ))?
    };
    let mut out = Vec::new();
    let mut text = String::new();
    for f in &files {
        let a = analyze_path(f).map_err(Fail::Input)?;
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
