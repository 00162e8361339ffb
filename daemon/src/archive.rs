//! The archive step: once a call is sealed (and encrypted, when configured), its files are
//! uploaded to the `[archive]` bucket by a worker thread of its own, never on the owner nor the
//! recording path. Each attempt runs in the helper program `onrecord-archive` (installed
//! beside the microphone's), which alone makes requests: the HTTP and TLS code stays out of
//! the daemon. What is still to upload is kept in the call's directory (`archive.json`), so a
//! restart resumes where it stopped; a failed attempt is retried with backoff; a call is
//! archived only when the storage confirms every object (its length and MD5).

pub use onrecord_archive::call::{Object, Reply, Request, STATE_FILE, State, call_files};
use onrecord_archive::s3::{Lock, LockMode, Spec};
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
        self.spec()?.check().map_err(|e| format!("[archive] {e}"))
    }

    /// The bucket, its credentials and retention, for the helper.
    pub fn spec(&self) -> Result<Spec, String> {
        let keys = self.keys()?;
        Ok(Spec {
            endpoint: self.endpoint.clone(),
            bucket: self.bucket.clone(),
            region: self.region.clone(),
            path_style: self.path_style,
            access_key_id: keys.id,
            secret_access_key: keys.secret,
            lock: self.lock()?,
        })
    }
}

/// Runs the helper on `request`: its reply, or why there is none.
pub fn ask_helper(request: &Request) -> Result<Reply, String> {
    const HELPER: &str = "onrecord-archive";
    let program = crate::installed(HELPER)
        .ok_or_else(|| format!("{HELPER} is not installed beside onrecordd"))?;
    let mut child = Command::new(&program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let text = serde_json::to_vec(request).map_err(|e| format!("{HELPER}: {e}"))?;
    let sent = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(&text))
        .unwrap_or(Ok(()));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{HELPER}: {e}"))?;
    match serde_json::from_slice(&out.stdout) {
        Ok(reply) if out.status.success() => Ok(reply),
        _ => {
            let said = String::from_utf8_lossy(&out.stderr);
            let said = said.lines().last().unwrap_or_default();
            Err(match sent {
                Err(e) => format!("{HELPER}: the request: {e}"),
                Ok(()) => format!("{HELPER} failed ({}): {said}", out.status),
            })
        }
    }
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
            let mut helper_failures = 0;
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
                let target = match config.spec() {
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
                queue.retain(|(id, dir)| {
                    let request = Request::Upload {
                        target: target.clone(),
                        prefix: config.prefix.clone(),
                        id: id.clone(),
                        dir: dir.clone(),
                    };
                    let (attempts, error) = match ask_helper(&request) {
                        Ok(Reply::Archived(detail)) => {
                            helper_failures = 0;
                            outcomes(Outcome::Archived {
                                id: id.clone(),
                                detail,
                            });
                            return false;
                        }
                        Ok(Reply::Failed { attempts, error }) => {
                            helper_failures = 0;
                            (attempts, error)
                        }
                        Ok(other) => (1, format!("onrecord-archive answered {other:?}")),
                        // The helper could not run (it could not count the attempt in
                        // archive.json): counted here, so the wait grows as for a failure.
                        Err(error) => {
                            helper_failures += 1;
                            (helper_failures, error)
                        }
                    };
                    longest = longest.max(attempts);
                    outcomes(Outcome::Failed {
                        id: id.clone(),
                        error,
                    });
                    true
                });
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
