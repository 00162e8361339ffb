//! `onrecordctl key` and `onrecordctl verify`.

use crate::fail::Fail;
use crate::style::{Progress, bad, good};
use crate::text::emit;
use onrecord_interface::{CallProxy, DaemonProxy, call_path};
use std::path::Path;
use zbus::proxy::CacheProperties;

pub async fn key(conn: &zbus::Connection, json: bool) -> Result<(), Fail> {
    let daemon = DaemonProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let key = daemon.public_key().await?;
    if json {
        return crate::laws::print_json(&serde_json::json!({ "public_key": key }));
    }
    emit(&format!("{key}\n"))
}

/// The installed storage plugins' readers, found where the daemon looks by default: a
/// recording is read only through the plugin that wrote its format.
pub fn readers() -> onrecord_evidence::Readers {
    onrecord_evidence::Readers::discover(&onrecord_plugin::host::plugin_dirs(&[]))
}

/// The audio files a call directory's manifest names (for progress), if it can be read.
fn manifest_files(dir: &Path) -> Option<usize> {
    let bytes = std::fs::read(dir.join(onrecord_evidence::MANIFEST)).ok()?;
    let m: onrecord_evidence::Manifest = serde_json::from_slice(&bytes).ok()?;
    Some(m.files.len())
}

/// The identities of an age identity file, as a one-line failure when they cannot be read.
fn identities(file: &Path) -> Result<onrecord_evidence::encrypt::Identities, Fail> {
    onrecord_evidence::encrypt::read_identities(file)
        .map_err(|e| Fail::Input(format!("cannot read the identity: {e}")))
}

/// Verifies a call directory; `expected_key` is this installation's, when known; an encrypted
/// call is checked on a copy decrypted with `identity`. With `json`, one object: `directory`,
/// `verified` and every check (`ok`, `what`).
pub fn verify_dir(
    dir: &Path,
    expected_key: Option<&str>,
    json: bool,
    identity: Option<&Path>,
) -> Result<(), Fail> {
    let progress = Progress::new(manifest_files(dir).unwrap_or(0) as u64, "verifying");
    let readers = readers();
    // Kept until the check is done: the decrypted copy lives in it.
    let mut _plain = None;
    let checked = match identity {
        Some(file) if onrecord_evidence::encrypt::is_encrypted(dir) => {
            let ids = identities(file)?;
            let tmp = tempfile::tempdir()
                .map_err(|e| Fail::Other(format!("cannot make a temporary directory: {e}")))?;
            onrecord_evidence::encrypt::decrypted_copy(dir, &ids, tmp.path())
                .map_err(Fail::Input)?;
            let path = tmp.path().to_owned();
            _plain = Some(tmp);
            path
        }
        _ => dir.to_owned(),
    };
    let mut report = onrecord_evidence::verify::verify_dir_with(&checked, &readers, |what| {
        progress.step(&format!("checking {what}"))
    });
    progress.done();
    if let Some(key) = expected_key {
        report.check_key(&checked, key);
    }
    let failed = report.checks.iter().filter(|(ok, _)| !ok).count();
    let o = if json {
        let checks: Vec<serde_json::Value> = report
            .checks
            .iter()
            .map(|(ok, what)| serde_json::json!({ "ok": ok, "what": what }))
            .collect();
        let v = serde_json::json!({
            "directory": dir.display().to_string(),
            "verified": report.ok(),
            "checks": checks,
        });
        serde_json::to_string_pretty(&v).map_err(|e| Fail::Other(e.to_string()))? + "\n"
    } else {
        let mut o = format!("{}\n", dir.display());
        for (ok, what) in &report.checks {
            let mark = if *ok { good("ok  ") } else { bad("FAIL") };
            o.push_str(&format!("{mark}  {what}\n"));
        }
        if report.ok() {
            o.push_str(&format!(
                "{}: the recording and its consent record are intact\n",
                good("verified")
            ));
        }
        o
    };
    if report.ok() {
        emit(&o)
    } else {
        emit(&o)?;
        Err(Fail::Other(format!(
            "NOT verified: {failed} check(s) failed"
        )))
    }
}

/// `decrypt TARGET --identity FILE [--to DIR]`: a plaintext copy of an encrypted call.
pub fn decrypt(dir: &Path, identity: &Path, to: Option<&Path>) -> Result<(), Fail> {
    if !onrecord_evidence::encrypt::is_encrypted(dir) {
        return Err(Fail::Input(format!(
            "{}: nothing is encrypted in this call",
            dir.display()
        )));
    }
    let to = to
        .map(Path::to_owned)
        .unwrap_or_else(|| onrecord_evidence::encrypt::default_copy_dir(dir));
    if std::fs::read_dir(&to).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Fail::Input(format!(
            "{}: exists and is not empty: name another with --to",
            to.display()
        )));
    }
    let ids = identities(identity)?;
    let done = onrecord_evidence::encrypt::decrypted_copy(dir, &ids, &to).map_err(Fail::Input)?;
    emit(&format!(
        "decrypted {} into {}\n",
        done.join(", "),
        to.display()
    ))
}

/// `verify TARGET`: a call id (asks the daemon for its directory) or a directory.
pub async fn verify(
    conn: &zbus::Connection,
    target: &str,
    json: bool,
    identity: Option<&Path>,
) -> Result<(), Fail> {
    let daemon = DaemonProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let key = daemon.public_key().await?;
    let dir = call_directory(conn, target).await?;
    verify_dir(Path::new(&dir), Some(&key), json, identity)
}

/// The directory of call `id`, from the daemon.
pub async fn call_directory(conn: &zbus::Connection, id: &str) -> Result<String, Fail> {
    let ids: Vec<String> = onrecord_interface::CallsProxy::new(conn)
        .await?
        .list_calls()
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    if !ids.iter().any(|i| i == id) {
        return Err(Fail::Input(format!(
            "org.onrecord.Error.UnknownCall: no call {id:?}: neither a call id nor a directory or bundle (see `onrecordctl call list`)"
        )));
    }
    let call = CallProxy::builder(conn)
        .path(call_path(id))
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    Ok(call.directory().await?)
}

/// Verifies an export bundle, or an exported vCon, by unpacking it to a temporary directory.
pub fn verify_bundle(bundle: &Path, json: bool, identity: Option<&Path>) -> Result<(), Fail> {
    let tmp = tempfile::tempdir()
        .map_err(|e| Fail::Other(format!("cannot make a temporary directory: {e}")))?;
    // A vCon is JSON; a bundle, a zip ("PK"): the first bytes tell.
    let mut head = [0u8; 64];
    let n = std::fs::File::open(bundle)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let is_json = head[..n].iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{');
    let folder = if is_json {
        onrecord_evidence::vcon::unpack(bundle, tmp.path()).map_err(Fail::Input)?;
        tmp.path().to_owned()
    } else {
        onrecord_evidence::bundle::unpack(bundle, tmp.path()).map_err(Fail::Input)?
    };
    verify_dir(&folder, None, json, identity)
}

/// What `export` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Zip,
    Vcon,
}

/// `export ID [--to FILE]`: the call's bundle, or its vCon.
pub async fn export(
    conn: &zbus::Connection,
    id: &str,
    to: Option<std::path::PathBuf>,
    identity: Option<&Path>,
    format: Format,
    reference: bool,
) -> Result<(), Fail> {
    let dir = call_directory(conn, id).await?;
    // An encrypted call is exported from a decrypted copy, kept until the bundle is written.
    let mut _plain = None;
    let dir = match identity {
        Some(file) if onrecord_evidence::encrypt::is_encrypted(Path::new(&dir)) => {
            let ids = identities(file)?;
            let tmp = tempfile::tempdir()
                .map_err(|e| Fail::Other(format!("cannot make a temporary directory: {e}")))?;
            onrecord_evidence::encrypt::decrypted_copy(Path::new(&dir), &ids, tmp.path())
                .map_err(Fail::Input)?;
            let copy = tmp.path().to_string_lossy().into_owned();
            _plain = Some(tmp);
            copy
        }
        _ => dir,
    };
    if format == Format::Vcon {
        if reference && _plain.is_some() {
            return Err(Fail::Input(
                "--reference would point at a temporary decrypted copy: inline an encrypted call's recording".into(),
            ));
        }
        let out =
            to.unwrap_or_else(|| std::path::PathBuf::from(format!("onrecord-{id}.vcon.json")));
        onrecord_evidence::vcon::export(Path::new(&dir), &out, !reference).map_err(Fail::Other)?;
        return emit(&format!("exported the vCon to {}\n", out.display()));
    }
    let out = to.unwrap_or_else(|| std::path::PathBuf::from(format!("onrecord-{id}.zip")));
    // The manifest, its signature, the call record, and each audio file with its journal.
    let files = manifest_files(Path::new(&dir)).unwrap_or(0);
    let progress = Progress::new(3 + 2 * files as u64, "exporting");
    let readers = readers();
    let done = onrecord_evidence::bundle::export(Path::new(&dir), &out, &readers, |name, bytes| {
        progress.step(&format!("adding {name} ({:.1} MB)", bytes as f64 / 1e6));
    });
    progress.done();
    done.map_err(Fail::Other)?;
    emit(&format!("exported to {}\n", out.display()))
}
