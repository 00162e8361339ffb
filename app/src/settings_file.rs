//! The settings the app edits in config.toml, read and written in place: the user's comments,
//! order and every other key stay as they were.

use std::path::PathBuf;
use toml_edit::{DocumentMut, Item};

/// What the Settings page shows; empty strings and `None` leave the daemon's defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    /// Where the user is (`US-TX`), or empty.
    pub jurisdiction: String,
    /// `[policy] accept_company_notice`.
    pub accept_company_notice: bool,
    /// `[capture] microphone` (a device id, `default`), or empty.
    pub microphone: String,
    /// `[capture] far_side` (a monitor's id, `monitor`), or empty.
    pub far_side: String,
    /// `[capture] storage`: `storage-wav` or `storage-flac`, or empty.
    pub storage: String,
    /// `[retention] days`; `None`: recordings are kept until deleted.
    pub retention_days: Option<f64>,
    /// `[naming] directory`, or empty.
    pub naming: String,
}

/// Where the daemon reads its configuration by default: `$XDG_CONFIG_HOME/onrecord/config.toml`.
pub fn path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".config")
        });
    base.join("onrecord/config.toml")
}

fn text(doc: &DocumentMut, table: Option<&str>, key: &str) -> String {
    let item = match table {
        Some(t) => doc.get(t).and_then(|t| t.get(key)),
        None => doc.get(key),
    };
    item.and_then(Item::as_str).unwrap_or_default().to_owned()
}

/// The settings in a configuration's text.
pub fn read(text_of_file: &str) -> Result<Settings, String> {
    let doc: DocumentMut = text_of_file
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("config.toml: {}", e.message()))?;
    let days = doc
        .get("retention")
        .and_then(|t| t.get("days"))
        .and_then(|d| d.as_float().or_else(|| d.as_integer().map(|i| i as f64)));
    Ok(Settings {
        jurisdiction: text(&doc, None, "jurisdiction"),
        accept_company_notice: doc
            .get("policy")
            .and_then(|t| t.get("accept_company_notice"))
            .and_then(Item::as_bool)
            .unwrap_or(false),
        microphone: text(&doc, Some("capture"), "microphone"),
        far_side: text(&doc, Some("capture"), "far_side"),
        storage: text(&doc, Some("capture"), "storage"),
        retention_days: days,
        naming: text(&doc, Some("naming"), "directory"),
    })
}

/// `[name]`, made a table of its own (not inline) when it is missing.
fn table<'d>(doc: &'d mut DocumentMut, name: &str) -> &'d mut dyn toml_edit::TableLike {
    if doc.get(name).and_then(Item::as_table_like).is_none() {
        doc[name] = toml_edit::table();
    }
    doc[name].as_table_like_mut().expect("a table")
}

/// Puts `v` at `key`, keeping the old value's comments and spacing.
fn put(t: &mut dyn toml_edit::TableLike, key: &str, v: toml_edit::Value) {
    match t.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = v;
            *old.decor_mut() = decor;
        }
        None => {
            t.insert(key, Item::Value(v));
        }
    }
}

/// Sets `table.key` (or the top-level `key`) to `v`, or removes it when `v` is empty.
fn set(doc: &mut DocumentMut, name: Option<&str>, key: &str, v: &str) {
    match (name, v.is_empty()) {
        (None, true) => {
            doc.remove(key);
        }
        (None, false) => put(doc.as_table_mut(), key, v.into()),
        (Some(t), true) => {
            if let Some(t) = doc.get_mut(t).and_then(Item::as_table_like_mut) {
                t.remove(key);
            }
        }
        (Some(t), false) => put(table(doc, t), key, v.into()),
    }
}

/// The configuration's text with `s` written into it.
pub fn apply(text_of_file: &str, s: &Settings) -> Result<String, String> {
    let mut doc: DocumentMut = text_of_file
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("config.toml: {}", e.message()))?;
    if let Some(d) = s.retention_days
        && !(d.is_finite() && d >= 0.0)
    {
        return Err(format!("retention: {d} is not a number of days"));
    }
    if s.naming.contains('/') {
        return Err("naming: a directory name cannot hold '/'".into());
    }
    if !s.naming.is_empty() && !s.naming.contains("{id}") {
        // The daemon refuses a template without the call's id (two calls would share a folder).
        return Err("naming: the folder name must hold {id}".into());
    }
    set(&mut doc, None, "jurisdiction", &s.jurisdiction);
    if s.accept_company_notice || doc.get("policy").is_some() {
        put(
            table(&mut doc, "policy"),
            "accept_company_notice",
            s.accept_company_notice.into(),
        );
    }
    let capture_set = [&s.microphone, &s.far_side, &s.storage]
        .iter()
        .any(|v| !v.is_empty());
    if capture_set && doc.get("capture").is_none() {
        // Without a [capture] table nothing is recorded; devices chosen here mean live capture.
        put(table(&mut doc, "capture"), "source", "capture-cpal".into());
    }
    set(&mut doc, Some("capture"), "microphone", &s.microphone);
    set(&mut doc, Some("capture"), "far_side", &s.far_side);
    set(&mut doc, Some("capture"), "storage", &s.storage);
    match s.retention_days {
        Some(d) => put(table(&mut doc, "retention"), "days", d.into()),
        None => {
            if let Some(t) = doc.get_mut("retention").and_then(Item::as_table_like_mut) {
                t.remove("days");
            }
        }
    }
    set(&mut doc, Some("naming"), "directory", &s.naming);
    Ok(doc.to_string())
}

/// Reads the file at `path` (absent: empty), applies `s` and writes it back by rename, so the
/// daemon never reads half a file.
pub fn save(path: &std::path::Path, s: &Settings) -> Result<(), String> {
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let new = apply(&old, s)?;
    let dir = path.parent().ok_or("no directory")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(".config.toml.onrecord-app");
    std::fs::write(&tmp, new).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
#[path = "settings_file_tests.rs"]
mod tests;
