//! `org.onrecord.Archive1`: the archive's records (each call's `archive.json`), a nudge for
//! the archive's thread, and a check of what the bucket holds. The credentials stay here: a
//! client asks, the daemon downloads.

use crate::archive::{ArchiveConfig, Job, Reply, Request, STATE_FILE, State};
use onrecord_interface::{ArchiveEntry, Error};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::Sender;
use zbus::interface;

pub struct ArchiveIface {
    calls_dir: PathBuf,
    config: Option<ArchiveConfig>,
    jobs: Option<Mutex<Sender<Job>>>,
}

impl ArchiveIface {
    pub fn new(
        calls_dir: PathBuf,
        config: Option<ArchiveConfig>,
        jobs: Option<Sender<Job>>,
    ) -> Self {
        ArchiveIface {
            calls_dir,
            config,
            jobs: jobs.map(Mutex::new),
        }
    }

    fn records(&self) -> Vec<(PathBuf, State)> {
        let mut out: Vec<(PathBuf, State)> = std::fs::read_dir(&self.calls_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let dir = e.path();
                let bytes = std::fs::read(dir.join(STATE_FILE)).ok()?;
                Some((dir, serde_json::from_slice(&bytes).ok()?))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn record(&self, id: &str) -> Result<(PathBuf, State), Error> {
        crate::service::decide::check_len("id", id)?;
        self.records()
            .into_iter()
            .find(|(_, s)| s.id == id)
            .ok_or_else(|| {
                Error::UnknownCall(format!(
                    "no archived or pending call {id:?} (see onrecordctl archive status)"
                ))
            })
    }

    fn configured(&self) -> Result<&ArchiveConfig, Error> {
        self.config
            .as_ref()
            .ok_or_else(|| Error::WrongState("no [archive] is configured".into()))
    }
}

/// SHA-256 of a file, for comparing a download with the local copy.
fn sha(path: &Path) -> Option<String> {
    onrecord_evidence::verify::file_sha256(path).ok()
}

/// Downloads every object of the call in `dir` and checks it (on a blocking thread).
fn verify_archived(
    config: &ArchiveConfig,
    dir: &Path,
    state: &State,
) -> Result<(bool, Vec<(bool, String)>), Error> {
    let target = config.spec().map_err(Error::Internal)?;
    let tmp =
        tempfile::tempdir().map_err(|e| Error::Internal(format!("a temporary directory: {e}")))?;
    let objects = state
        .objects
        .iter()
        .map(|o| (o.key.clone(), tmp.path().join(&o.name)))
        .collect();
    let fetched = match crate::archive::ask_helper(&Request::Fetch { target, objects }) {
        Ok(Reply::Fetched(f)) if f.len() == state.objects.len() => f,
        Ok(other) => {
            return Err(Error::Internal(format!(
                "onrecord-archive answered {other:?}"
            )));
        }
        Err(e) => return Err(Error::Internal(e)),
    };
    let mut checks = Vec::new();
    for (o, got) in state.objects.iter().zip(fetched) {
        let to = tmp.path().join(&o.name);
        match got {
            Some(e) => checks.push((false, format!("{}: {e}", o.name))),
            None => match (sha(&to), sha(&dir.join(&o.name))) {
                (Some(a), Some(l)) if a == l => checks.push((
                    true,
                    format!("{}: the archived copy is the local file", o.name),
                )),
                // The call's record grows after the seal (archived, kept, hook entries): the
                // sealed record is the manifest's, checked below.
                (Some(_), Some(_)) if o.name == "call.json" => checks.push((
                    true,
                    "call.json: the local record has grown since it was archived (the sealed record is the manifest's)".into(),
                )),
                (Some(_), Some(_)) => checks.push((
                    false,
                    format!("{}: the archived copy differs from the local file", o.name),
                )),
                (Some(_), None) => checks.push((
                    true,
                    format!("{}: archived (no local copy left to compare)", o.name),
                )),
                (None, _) => {
                    checks.push((false, format!("{}: the download cannot be read", o.name)))
                }
            },
        }
    }
    // The archived copy as evidence, on its own: what a court would be given.
    if !onrecord_evidence::encrypt::is_encrypted(tmp.path()) {
        let readers =
            onrecord_evidence::Readers::discover(&onrecord_plugin::host::plugin_dirs(&[]));
        let report = onrecord_evidence::verify::verify_dir(tmp.path(), &readers);
        checks.extend(
            report
                .checks
                .into_iter()
                .map(|(ok, what)| (ok, format!("archived copy: {what}"))),
        );
    }
    let ok = !checks.is_empty() && checks.iter().all(|(ok, _)| *ok);
    Ok((ok, checks))
}

#[interface(name = "org.onrecord.Archive1")]
impl ArchiveIface {
    #[zbus(out_args("calls"))]
    async fn status(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> Result<Vec<ArchiveEntry>, Error> {
        crate::service::decide::no_arguments(&header)?;
        Ok(self
            .records()
            .into_iter()
            .map(|(dir, s)| ArchiveEntry {
                id: s.id.clone(),
                state: if s.archived_us > 0 {
                    "archived"
                } else {
                    "pending"
                }
                .into(),
                archived_us: s.archived_us,
                directory: dir.display().to_string(),
                confirmed: s.objects.iter().filter(|o| o.confirmed).count() as u32,
                objects: s.objects.len() as u32,
                attempts: s.attempts,
                last_error: s.last_error.clone(),
            })
            .collect())
    }

    async fn retry(&self, id: &str) -> Result<(), Error> {
        self.configured()?;
        if !id.is_empty() {
            self.record(id)?;
        }
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| Error::Internal("no archive thread".into()))?;
        jobs.lock()
            .map_err(|_| Error::Internal("the archive thread's queue".into()))?
            .send(Job::RetryNow)
            .map_err(|_| Error::Internal("the archive thread stopped".into()))
    }

    #[zbus(out_args("verified", "checks"))]
    async fn verify(&self, id: &str) -> Result<(bool, Vec<(bool, String)>), Error> {
        let config = self.configured()?.clone();
        let (dir, state) = self.record(id)?;
        if state.archived_us == 0 {
            return Err(Error::WrongState(format!(
                "call {id} is not archived yet ({} of {} objects confirmed)",
                state.objects.iter().filter(|o| o.confirmed).count(),
                state.objects.len()
            )));
        }
        tokio::task::spawn_blocking(move || verify_archived(&config, &dir, &state))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
    }

    #[zbus(property)]
    async fn destination(&self) -> String {
        self.config
            .as_ref()
            .map(|c| format!("s3://{}/{}", c.bucket, c.prefix))
            .unwrap_or_default()
    }
}
