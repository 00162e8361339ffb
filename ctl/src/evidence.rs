//! `onrecordctl key` and `onrecordctl verify`.

use crate::fail::Fail;
use crate::text::emit;
use onrecord_interface::{CallProxy, DaemonProxy, call_path};
use std::path::Path;
use zbus::proxy::CacheProperties;

pub async fn key(conn: &zbus::Connection) -> Result<(), Fail> {
    let daemon = DaemonProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    emit(&format!("{}\n", daemon.public_key().await?))
}

/// Verifies a call directory; `expected_key` is this installation's, when known.
pub fn verify_dir(dir: &Path, expected_key: Option<&str>) -> Result<(), Fail> {
    let mut report =
        onrecord_evidence::verify::verify_dir_with(dir, |what| eprintln!("  checking {what}"));
    if let Some(key) = expected_key {
        let signed_by = std::fs::read(dir.join(onrecord_evidence::MANIFEST))
            .ok()
            .and_then(|b| serde_json::from_slice::<onrecord_evidence::Manifest>(&b).ok())
            .map(|m| m.public_key);
        match signed_by {
            Some(k) if k == key => report
                .checks
                .push((true, "the signing key is this installation's".into())),
            Some(_) => report.checks.push((
                false,
                "the manifest is signed by another key than this installation's".into(),
            )),
            None => {}
        }
    }
    let mut o = format!("{}\n", dir.display());
    for (ok, what) in &report.checks {
        o.push_str(&format!("{}  {what}\n", if *ok { "ok  " } else { "FAIL" }));
    }
    let failed = report.checks.iter().filter(|(ok, _)| !ok).count();
    if report.ok() {
        o.push_str("verified: the recording and its consent record are intact\n");
        emit(&o)
    } else {
        emit(&o)?;
        Err(Fail::Other(format!(
            "NOT verified: {failed} check(s) failed"
        )))
    }
}

/// `verify TARGET`: a call id (asks the daemon for its directory) or a directory.
pub async fn verify(conn: &zbus::Connection, target: &str) -> Result<(), Fail> {
    let daemon = DaemonProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let key = daemon.public_key().await?;
    let dir = call_directory(conn, target).await?;
    verify_dir(Path::new(&dir), Some(&key))
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

/// Verifies an export bundle by unpacking it to a temporary directory.
pub fn verify_bundle(bundle: &Path) -> Result<(), Fail> {
    let tmp = tempfile::tempdir()
        .map_err(|e| Fail::Other(format!("cannot make a temporary directory: {e}")))?;
    let folder = onrecord_evidence::bundle::unpack(bundle, tmp.path()).map_err(Fail::Input)?;
    verify_dir(&folder, None)
}

/// `export ID [--to FILE]`: the call's bundle.
pub async fn export(
    conn: &zbus::Connection,
    id: &str,
    to: Option<std::path::PathBuf>,
) -> Result<(), Fail> {
    let dir = call_directory(conn, id).await?;
    let out = to.unwrap_or_else(|| std::path::PathBuf::from(format!("onrecord-{id}.zip")));
    onrecord_evidence::bundle::export(Path::new(&dir), &out, |name, bytes| {
        eprintln!("  adding {name} ({:.1} MB)", bytes as f64 / 1e6);
    })
    .map_err(Fail::Other)?;
    emit(&format!("exported to {}\n", out.display()))
}
