//! The archive step: once a call is sealed (and encrypted, when configured), its files are
//! uploaded to the `[archive]` bucket by a worker thread of its own, never on the owner nor the
//! recording path. What is still to upload is kept in the call's directory (`archive.json`),
//! so a restart resumes where it stopped; a failed attempt is retried with backoff; a call is
//! archived only when the storage confirms every object (its length and MD5).

use onrecord_archive::s3::{self, Lock, LockMode, Target};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

/// The queue's record in a call's directory.
pub const STATE_FILE: &str = "archive.json";

/// `[archive]` in config.toml.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// The storage's URL: `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`.
    pub endpoint: String,
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    /// Prepended to every object's key (`onrecord/`).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Address the bucket in the path (MinIO, Garage, Ceph) rather than the host name (AWS).
    #[serde(default = "default_path_style")]
    pub path_style: bool,
    /// A file with `access_key_id` and `secret_access_key` (TOML), mode 0600; without it,
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` in the daemon's environment.
    pub credentials_file: Option<PathBuf>,
    /// `none`, `governance` or `compliance`.
    #[serde(default = "default_lock")]
    pub object_lock: String,
    /// With Object Lock: how long each object is kept from its upload, in days.
    pub retention_days: Option<f64>,
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_prefix() -> String {
    "onrecord/".into()
}
fn default_path_style() -> bool {
    true
}
fn default_lock() -> String {
    "none".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    access_key_id: String,
    secret_access_key: String,
}

/// The keys, never printed.
#[derive(Clone, PartialEq)]
pub struct Keys {
    pub id: String,
    secret: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys {{ id: {:?}, secret: (hidden) }}", self.id)
    }
}

impl ArchiveConfig {
    /// The retention every object gets, from `object_lock` and `retention_days`.
    pub fn lock(&self) -> Result<Option<Lock>, String> {
        let mode = match self.object_lock.as_str() {
            "none" => return Ok(None),
            "governance" => LockMode::Governance,
            "compliance" => LockMode::Compliance,
            other => {
                return Err(format!(
                    "[archive] object_lock must be none, governance or compliance, not {other:?}"
                ));
            }
        };
        match self.retention_days {
            Some(days) if days.is_finite() && days > 0.0 => Ok(Some(Lock { mode, days })),
            _ => Err("[archive] object_lock needs retention_days, a number of days over 0".into()),
        }
    }

    /// The credentials: from the file (refused unless only its owner can read it), else from
    /// the environment.
    pub fn keys(&self) -> Result<Keys, String> {
        if let Some(path) = &self.credentials_file {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(path)
                .map_err(|e| format!("[archive] credentials_file {}: {e}", path.display()))?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(format!(
                    "[archive] credentials_file {} is readable by others (mode {mode:o}): chmod 600 it",
                    path.display()
                ));
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("[archive] credentials_file {}: {e}", path.display()))?;
            // The error names the line, never the file's values.
            let c: CredentialsFile = toml::from_str(&text).map_err(|e| {
                format!(
                    "[archive] credentials_file {}: {}",
                    path.display(),
                    e.message()
                )
            })?;
            return Ok(Keys {
                id: c.access_key_id,
                secret: c.secret_access_key,
            });
        }
        match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(id), Ok(secret)) if !id.is_empty() && !secret.is_empty() => Ok(Keys { id, secret }),
            _ => Err(
                "[archive] no credentials: set credentials_file, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
            ),
        }
    }

    /// Everything checked: what the daemon refuses to start with.
    pub fn validate(&self) -> Result<(), String> {
        self.lock()?;
        self.keys()?;
        self.target().map(|_| ())
    }

    pub fn target(&self) -> Result<Target, String> {
        let keys = self.keys()?;
        Target::new(
            &self.endpoint,
            &self.bucket,
            &self.region,
            self.path_style,
            (&keys.id, &keys.secret),
            self.lock()?,
        )
        .map_err(|e| format!("[archive] {e}"))
    }
}

/// One object of a call, and whether the storage confirmed it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Object {
    pub name: String,
    pub key: String,
    pub confirmed: bool,
}

/// What is left to archive of a call (`archive.json`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct State {
    pub id: String,
    pub objects: Vec<Object>,
    /// When every object was confirmed, µs since the epoch; 0 until then.
    pub archived_us: u64,
    pub attempts: u32,
    pub last_error: String,
}

impl State {
    fn load(dir: &Path) -> Option<State> {
        serde_json::from_slice(&std::fs::read(dir.join(STATE_FILE)).ok()?).ok()
    }

    fn save(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join(format!(".{STATE_FILE}.partial"));
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.join(STATE_FILE))
    }
}

/// The files of a sealed call to archive, as they are now in `dir` (encrypted or not).
pub fn call_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.') && n != STATE_FILE)
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// What the worker tells the owner: a call is archived (a line for its timeline), or an
/// attempt failed (said once per new error).
#[derive(Debug, Clone)]
pub enum Outcome {
    Archived { id: String, detail: String },
    Failed { id: String, error: String },
}

/// Work for the archive's thread.
pub enum Job {
    /// A sealed call to archive.
    Call { id: String, dir: PathBuf },
    /// Try every pending call now.
    RetryNow,
}

/// The backoff after `attempts` failures: 5 s, doubling, at most an hour.
pub fn backoff(attempts: u32) -> Duration {
    Duration::from_secs((5u64 << attempts.min(10)).min(3600))
}

/// Starts the archive's thread; `pending` are the calls whose archive.json says unfinished.
/// The bucket and its credentials are read from `config` again before each round of attempts,
/// so credentials corrected in their file are used by the next retry, without a restart.
pub fn spawn(
    config: ArchiveConfig,
    pending: Vec<(String, PathBuf)>,
    outcomes: impl Fn(Outcome) + Send + 'static,
) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("onrecord-archive".into())
        .spawn(move || {
            let mut queue: Vec<(String, PathBuf)> = pending;
            let mut wait = Duration::ZERO;
            let mut failures = 0;
            loop {
                let job = if queue.is_empty() {
                    rx.recv().ok()
                } else {
                    match rx.recv_timeout(wait) {
                        Ok(j) => Some(j),
                        Err(mpsc::RecvTimeoutError::Timeout) => Some(Job::RetryNow),
                        Err(mpsc::RecvTimeoutError::Disconnected) => None,
                    }
                };
                match job {
                    None => return,
                    Some(Job::Call { id, dir }) => {
                        if !queue.iter().any(|(i, _)| *i == id) {
                            queue.push((id, dir));
                        }
                    }
                    Some(Job::RetryNow) => {}
                }
                let target = match config.target() {
                    Ok(t) => t,
                    Err(error) => {
                        // The credentials file went missing or open to others since the
                        // start: every call waits, and says why.
                        failures += 1;
                        for (id, _) in &queue {
                            outcomes(Outcome::Failed {
                                id: id.clone(),
                                error: error.clone(),
                            });
                        }
                        wait = backoff(failures - 1);
                        continue;
                    }
                };
                failures = 0;
                let mut longest = 0;
                queue.retain(
                    |(id, dir)| match archive_call(&target, &config.prefix, id, dir) {
                        Ok(detail) => {
                            outcomes(Outcome::Archived {
                                id: id.clone(),
                                detail,
                            });
                            false
                        }
                        Err((attempts, error)) => {
                            longest = longest.max(attempts);
                            outcomes(Outcome::Failed {
                                id: id.clone(),
                                error,
                            });
                            true
                        }
                    },
                );
                wait = backoff(longest.saturating_sub(1));
            }
        })
        .expect("the archive thread starts");
    tx
}

/// The calls under `calls_dir` whose archive is unfinished.
pub fn pending(calls_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(calls_dir).into_iter().flatten().flatten() {
        let dir = entry.path();
        if let Some(state) = State::load(&dir)
            && state.archived_us == 0
        {
            out.push((state.id, dir));
        }
    }
    out
}

/// One attempt at a call: uploads what is not confirmed yet, confirming each. The line for
/// the timeline when all are, or the attempts so far and the error.
fn archive_call(
    target: &Target,
    prefix: &str,
    id: &str,
    dir: &Path,
) -> Result<String, (u32, String)> {
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| id.to_owned());
    let mut state = State::load(dir).unwrap_or_else(|| State {
        id: id.to_owned(),
        objects: call_files(dir)
            .into_iter()
            .map(|name| Object {
                key: format!("{prefix}{folder}/{name}"),
                name,
                confirmed: false,
            })
            .collect(),
        ..State::default()
    });
    if state.archived_us != 0 {
        return Ok(String::new());
    }
    let fail = |state: &mut State, e: String| {
        state.attempts += 1;
        state.last_error = e.clone();
        let _ = state.save(dir);
        Err((state.attempts, e))
    };
    if let Err(e) = state.save(dir) {
        return fail(&mut state, format!("{STATE_FILE}: {e}"));
    }
    for i in 0..state.objects.len() {
        if state.objects[i].confirmed {
            continue;
        }
        let o = state.objects[i].clone();
        let path = dir.join(&o.name);
        let (_, md5, length) = match target.put_file(&o.key, &path, SystemTime::now()) {
            Ok(sent) => sent,
            Err(e) => return fail(&mut state, e.to_string()),
        };
        match target.head(&o.key) {
            Ok(Some(h)) if h.length == length && h.etag == s3::etag_of(&md5) => {}
            Ok(Some(h)) => {
                return fail(
                    &mut state,
                    format!(
                        "{}: the storage holds {} bytes (etag {:?}), not what was sent",
                        target.describe(&o.key),
                        h.length,
                        h.etag
                    ),
                );
            }
            Ok(None) => {
                return fail(
                    &mut state,
                    format!("{}: not there after the upload", target.describe(&o.key)),
                );
            }
            Err(e) => return fail(&mut state, e.to_string()),
        }
        state.objects[i].confirmed = true;
        if let Err(e) = state.save(dir) {
            return fail(&mut state, format!("{STATE_FILE}: {e}"));
        }
    }
    state.archived_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(1);
    state.last_error.clear();
    if let Err(e) = state.save(dir) {
        return fail(&mut state, format!("{STATE_FILE}: {e}"));
    }
    Ok(format!(
        "archived {} object(s) to {} after {} failed attempt(s)",
        state.objects.len(),
        target.describe(&format!("{prefix}{folder}/")),
        state.attempts
    ))
}
