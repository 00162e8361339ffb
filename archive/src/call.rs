//! A sealed call's upload, as the archive's helper (`onrecord-archive`) runs it: what is left
//! to upload is kept in the call's directory (`archive.json`), so a restart resumes where it
//! stopped, and a call is archived only when the storage confirms every object (its length
//! and MD5). The daemon reads the same record for its status.
//!
//! The daemon hands the helper one [`Request`] (JSON on its standard input) and reads one
//! [`Reply`] (JSON on its standard output): the HTTP and TLS code lives in that short-lived
//! process, not in the daemon that records all session long.

use crate::s3::{self, Spec, Target};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The queue's record in a call's directory.
pub const STATE_FILE: &str = "archive.json";

/// What the daemon asks of the helper.
#[derive(Serialize, Deserialize, Debug)]
pub enum Request {
    /// One attempt at archiving the call `id` in `dir`, its objects under `prefix`.
    Upload {
        target: Spec,
        prefix: String,
        id: String,
        dir: PathBuf,
    },
    /// Downloads each object (`key`, into the file `to`).
    Fetch {
        target: Spec,
        objects: Vec<(String, PathBuf)>,
    },
}

/// The helper's answer.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub enum Reply {
    /// Every object is confirmed: the line for the call's timeline.
    Archived(String),
    /// The attempt failed: the attempts so far (as `archive.json` counts them) and why.
    Failed { attempts: u32, error: String },
    /// Of each object asked for, in order: `None` once downloaded, or why not.
    Fetched(Vec<Option<String>>),
}

/// Does what `request` asks (with requests to the storage): the helper's whole job.
pub fn serve(request: Request) -> Reply {
    match request {
        Request::Upload {
            target,
            prefix,
            id,
            dir,
        } => match target.target() {
            Err(error) => Reply::Failed { attempts: 0, error },
            Ok(t) => match archive_call(&t, &prefix, &id, &dir) {
                Ok(detail) => Reply::Archived(detail),
                Err((attempts, error)) => Reply::Failed { attempts, error },
            },
        },
        Request::Fetch { target, objects } => match target.target() {
            Err(error) => Reply::Fetched(objects.iter().map(|_| Some(error.clone())).collect()),
            Ok(t) => Reply::Fetched(
                objects
                    .iter()
                    .map(|(key, to)| t.get_to(key, to).err().map(|e| e.to_string()))
                    .collect(),
            ),
        },
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
    pub fn load(dir: &Path) -> Option<State> {
        serde_json::from_slice(&std::fs::read(dir.join(STATE_FILE)).ok()?).ok()
    }

    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
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

/// One attempt at a call: uploads what is not confirmed yet, confirming each. The line for
/// the timeline when all are, or the attempts so far and the error.
pub fn archive_call(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(endpoint: &str) -> Spec {
        Spec {
            endpoint: endpoint.into(),
            bucket: "calls".into(),
            region: "us-east-1".into(),
            path_style: true,
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI".into(),
            lock: None,
        }
    }

    #[test]
    fn a_request_crosses_the_pipe_whole_and_its_secret_is_never_printed() {
        let request = Request::Upload {
            target: spec("http://127.0.0.1:9"),
            prefix: "onrecord/".into(),
            id: "c1".into(),
            dir: "/tmp/c1".into(),
        };
        let text = serde_json::to_string(&request).unwrap();
        let back: Request = serde_json::from_str(&text).unwrap();
        assert_eq!(format!("{back:?}"), format!("{request:?}"));
        assert!(!format!("{request:?}").contains("wJalrXUtnFEMI"));
        assert!(format!("{request:?}").contains("AKIDEXAMPLE"));
    }

    #[test]
    fn a_bad_endpoint_is_said_for_every_object_asked_for() {
        let reply = serve(Request::Fetch {
            target: spec("not a url"),
            objects: vec![
                ("a".into(), "/nonexistent/a".into()),
                ("b".into(), "/nonexistent/b".into()),
            ],
        });
        let Reply::Fetched(each) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(each.len(), 2);
        assert!(
            each.iter()
                .all(|e| e.as_deref().is_some_and(|e| e.contains("endpoint"))),
            "{each:?}"
        );
        assert!(spec("not a url").check().is_err());
        assert!(spec("http://127.0.0.1:9").check().is_ok());
    }
}
