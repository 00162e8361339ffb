//! Call records on disk: `<data dir>/calls/<date>_<label>_<id>/call.json`, written atomically
//! (a temporary file, fsync, rename, fsync of the directory) whenever the call changes.
//! Directories are 0700 and files 0600.

use super::Call;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const RECORD: &str = "call.json";

/// A fresh call id: 12 lowercase hex digits, fit for an object path.
pub fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS; mixing in time and a counter keeps ids distinct
    // within one daemon even if the seed were weak.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// A label made safe for a file name: lowercase letters, digits and dashes, at most 40
/// characters; never empty, never `.` or `..`, no path separators or control characters.
pub fn safe_label(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() { "call".into() } else { out }
}

/// The default template of a call's directory name.
pub const DEFAULT_TEMPLATE: &str = "{date}_{label}_{id}";
const PLACEHOLDERS: [&str; 6] = ["date", "time", "label", "them", "jurisdiction", "id"];

/// Checks a directory-name template: known placeholders only, and `{id}` (names stay unique).
pub fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("unclosed {{ in {template:?}"))?
            + open;
        let name = &rest[open + 1..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}} in {template:?} (known: {})",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        rest = &rest[close + 1..];
    }
    if !template.contains("{id}") {
        return Err(format!(
            "{template:?} must contain {{id}}, so that every call has its own directory"
        ));
    }
    if template.contains('/') || template.chars().any(char::is_control) {
        return Err(format!(
            "{template:?} must be a plain name: no '/' or control characters"
        ));
    }
    Ok(())
}

/// The directory of a call, named by a template checked with [`check_template`]. Every value
/// is made safe ([`safe_label`]) before it is put in.
pub fn call_dir(calls_dir: &Path, call: &Call, template: &str) -> PathBuf {
    let created = call.timeline.first().map(|e| e.utc_us).unwrap_or_default();
    let stamp = super::utc_text(created);
    let first = call.parties.first().map(|p| &p.party);
    let value = |name: &str| -> String {
        match name {
            "date" => stamp[..10].to_owned(),
            "time" => stamp[11..19].replace(':', ""),
            "label" => safe_label(&call.label),
            "them" => first.map_or("unknown".into(), |p| safe_label(&p.input)),
            "jurisdiction" => first
                .filter(|p| !p.jurisdiction.is_empty())
                .map_or("unknown".into(), |p| safe_label(&p.jurisdiction)),
            _ => call.id.clone(),
        }
    };
    let mut name = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map_or(rest.len(), |c| c + open);
        name.push_str(&rest[..open]);
        name.push_str(&value(rest.get(open + 1..close).unwrap_or("")));
        rest = rest.get(close + 1..).unwrap_or("");
    }
    name.push_str(rest);
    // The template was checked; still, never let a name climb out of the calls directory.
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        name = call.id.clone();
    }
    calls_dir.join(name)
}

pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Writes the call's record atomically.
pub fn save(dir: &Path, call: &Call) -> std::io::Result<()> {
    create_private_dir(dir)?;
    let json = serde_json::to_vec_pretty(call).map_err(std::io::Error::other)?;
    let tmp = dir.join(format!(".{RECORD}.tmp"));
    {
        let mut f = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(RECORD))?;
    fs::File::open(dir)?.sync_all()
}

/// Every call record under `calls_dir`, with its directory. Unreadable records are returned as
/// errors to report, not dropped silently.
pub fn load_all(calls_dir: &Path) -> (Vec<(PathBuf, Call)>, Vec<String>) {
    let mut calls = Vec::new();
    let mut errors = Vec::new();
    let Ok(entries) = fs::read_dir(calls_dir) else {
        return (calls, errors);
    };
    for e in entries.flatten() {
        let dir = e.path();
        let record = dir.join(RECORD);
        if !record.is_file() {
            continue;
        }
        match fs::read(&record)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Call>(&b).map_err(|e| e.to_string()))
        {
            Ok(call) => calls.push((dir, call)),
            Err(e) => errors.push(format!("{}: {e}", record.display())),
        }
    }
    calls.sort_by_key(|(_, c)| c.timeline.first().map(|t| t.utc_us).unwrap_or_default());
    (calls, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_safe_file_names() {
        assert_eq!(safe_label("Acme billing"), "acme-billing");
        assert_eq!(safe_label("../../etc/passwd"), "etc-passwd");
        assert_eq!(safe_label(".."), "call");
        assert_eq!(safe_label(""), "call");
        assert_eq!(safe_label("a\u{0}b\nc/d"), "a-b-c-d");
        assert_eq!(safe_label("Ünïcödé only"), "n-c-d-only");
        assert!(safe_label(&"x".repeat(200)).len() <= 40);
    }

    #[test]
    fn templates_are_checked() {
        assert!(check_template(DEFAULT_TEMPLATE).is_ok());
        assert!(check_template("{jurisdiction}-{them}-{date}T{time}-{id}").is_ok());
        assert!(
            check_template("{date}_{label}")
                .unwrap_err()
                .contains("{id}")
        );
        assert!(
            check_template("{id}_{colour}")
                .unwrap_err()
                .contains("unknown placeholder {colour}")
        );
        assert!(
            check_template("../{id}")
                .unwrap_err()
                .contains("plain name")
        );
        assert!(check_template("{id").unwrap_err().contains("unclosed"));
    }

    #[test]
    fn ids_are_distinct_and_path_safe() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|i| i.len() == 12 && i.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }
}
