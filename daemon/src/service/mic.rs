//! The virtual microphone's helper, `onrecord-mic` (crate `mic/`): a process of its own, so
//! the daemon does not link libpipewire. The owner runs one while a call is active; it
//! speaks lines (see `mic/src/main.rs`), which a task turns into `Command::Mic` for the owner.
//!
//! The configured default source before a call (when `[announcement] default_source` is on)
//! is kept in `<data>/mic-previous-default` until the helper that set ours has ended: the
//! helper restores it itself when it ends (quit, or its stdin closed because the daemon
//! died); if both were killed, the daemon's next start restores it from that file.

use super::owner::Command;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// What the helper says.
#[derive(Debug, Clone, PartialEq)]
pub enum MicEvent {
    /// Up, carrying this microphone (`None`: no default source).
    Ready(Option<String>),
    /// The configured default source before ours.
    Previous(Previous),
    /// A clip's first sample reached the graph at `mono_ns` (CLOCK_MONOTONIC).
    Playing {
        play: String,
        mono_ns: u64,
        heard: bool,
        seconds: f64,
    },
    Played(String),
    /// `streams` of `app`'s capture streams were moved onto the virtual microphone, which
    /// carries `source` (`None`: the default source).
    Moved {
        app: String,
        streams: u32,
        source: Option<String>,
    },
    Failed {
        play: String,
        why: String,
    },
    /// It could not start (no PipeWire).
    Fatal(String),
    /// Its output ended: it exited.
    Exited,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Previous {
    /// No default was configured.
    None,
    /// It already named the virtual microphone (a helper before was killed).
    Stale,
    /// This JSON value.
    Value(String),
}

/// One line of the helper's output.
pub fn parse(line: &str) -> Option<MicEvent> {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    Some(match word {
        "ready" => MicEvent::Ready(
            Some(rest)
                .filter(|m| !m.is_empty() && *m != "-")
                .map(Into::into),
        ),
        "previous" => MicEvent::Previous(match rest {
            "-" | "" => Previous::None,
            "stale" => Previous::Stale,
            v => Previous::Value(v.into()),
        }),
        "playing" => {
            let mut w = rest.split(' ');
            let play = w.next()?.to_owned();
            let mono_ns = w.next()?.parse().ok()?;
            let heard = w.next()? == "1";
            let seconds = w.next()?.parse().ok()?;
            MicEvent::Playing {
                play,
                mono_ns,
                heard,
                seconds,
            }
        }
        "played" => MicEvent::Played(rest.to_owned()),
        "moved" => {
            let mut w = rest.splitn(3, ' ');
            let streams = w.next()?.parse().ok()?;
            let source = Some(w.next()?).filter(|s| *s != "-").map(Into::into);
            MicEvent::Moved {
                app: w.next()?.to_owned(),
                streams,
                source,
            }
        }
        "failed" => {
            let (play, why) = rest.split_once(' ').unwrap_or((rest, ""));
            MicEvent::Failed {
                play: play.into(),
                why: why.into(),
            }
        }
        "fatal" => MicEvent::Fatal(rest.into()),
        _ => return None,
    })
}

/// Where the helper is: beside this program (a build tree), else in the installation's
/// libexec directory (`<prefix>/bin/onrecordd`, `<prefix>/libexec/onrecord/onrecord-mic`).
pub fn helper() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [
        dir.join("onrecord-mic"),
        dir.join("../libexec/onrecord/onrecord-mic"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// A running helper.
pub struct Mic {
    pub generation: u64,
    stdin: Option<tokio::process::ChildStdin>,
    child: tokio::process::Child,
}

impl Mic {
    /// Starts the helper; what it says comes to the owner as `Command::Mic` with this
    /// `generation`.
    pub fn spawn(
        set_default: bool,
        monitor_gain: f64,
        generation: u64,
        owner: mpsc::Sender<Command>,
    ) -> Result<Mic, String> {
        let path = helper().ok_or("onrecord-mic is not installed beside onrecordd")?;
        let mut cmd = tokio::process::Command::new(&path);
        cmd.arg("--monitor-gain")
            .arg(format!("{monitor_gain}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(false);
        if set_default {
            cmd.arg("--set-default");
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let stdout = child.stdout.take().ok_or("no pipe from onrecord-mic")?;
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match parse(&line) {
                    Some(event) => {
                        if owner
                            .send(Command::Mic { generation, event })
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    None => tracing::debug!("onrecord-mic said {line:?}"),
                }
            }
            let _ = owner
                .send(Command::Mic {
                    generation,
                    event: MicEvent::Exited,
                })
                .await;
        });
        Ok(Mic {
            generation,
            stdin: child.stdin.take(),
            child,
        })
    }

    /// Asks it to play `clip` (`builtin:<name>` or a file) as `play`.
    pub async fn play(&mut self, play: &str, clip: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("onrecord-mic has ended")?;
        stdin
            .write_all(format!("play {play} {clip}\n").as_bytes())
            .await
            .map_err(|e| format!("onrecord-mic: {e}"))
    }

    /// Asks it to move `app`'s capture streams onto the virtual microphone.
    pub async fn move_app(&mut self, app: &str) -> Result<(), String> {
        if app.is_empty() || app.chars().any(char::is_control) {
            return Err(format!("{app:?} is no application name"));
        }
        let stdin = self.stdin.as_mut().ok_or("onrecord-mic has ended")?;
        stdin
            .write_all(format!("move {app}\n").as_bytes())
            .await
            .map_err(|e| format!("onrecord-mic: {e}"))
    }

    /// Ends it: it restores the default source and leaves; one that does not within 3 s is
    /// killed. Returns at once.
    pub fn quit(mut self) {
        tokio::spawn(async move {
            if let Some(mut stdin) = self.stdin.take() {
                let _ = stdin.write_all(b"quit\n").await;
            }
            let waited =
                tokio::time::timeout(std::time::Duration::from_secs(3), self.child.wait()).await;
            if waited.is_err() {
                let _ = self.child.kill().await;
            }
        });
    }
}

/// Where the user's own recording of `clip` is kept (`RecordAnnouncement`).
pub fn recorded_clip(data_dir: &Path, clip: super::owner::Clip) -> PathBuf {
    data_dir.join("announcements").join(match clip {
        super::owner::Clip::Notice => "notice.wav",
        super::owner::Clip::Started => "started.wav",
    })
}

/// Records `seconds` of the default source into `path` with the helper's one-shot mode;
/// returns how long the recording is.
pub async fn record(path: &Path, seconds: f64) -> Result<f64, String> {
    let helper = helper().ok_or("onrecord-mic is not installed beside onrecordd")?;
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let out = tokio::process::Command::new(&helper)
        .arg("--record")
        .arg(path)
        .arg("--seconds")
        .arg(format!("{seconds}"))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .output();
    let limit = std::time::Duration::from_secs_f64(seconds * 2.0 + 10.0);
    let out = tokio::time::timeout(limit, out)
        .await
        .map_err(|_| "the recording took too long".to_owned())?
        .map_err(|e| format!("{}: {e}", helper.display()))?;
    let said = String::from_utf8_lossy(&out.stdout);
    match said.trim().split_once(' ') {
        Some(("recorded", s)) if out.status.success() => {
            s.parse().map_err(|_| format!("onrecord-mic said {said:?}"))
        }
        Some(("fatal", why)) => Err(why.to_owned()),
        _ => Err(format!("onrecord-mic said {:?}", said.trim())),
    }
}

/// The file that keeps the previous default while ours is set.
pub fn previous_file(data_dir: &Path) -> PathBuf {
    data_dir.join("mic-previous-default")
}

/// Restores the default source a killed helper left set to the virtual microphone, from
/// `previous_file`; removes the file once done. Runs the helper's one-shot mode.
pub async fn restore_default(data_dir: &Path) {
    let file = previous_file(data_dir);
    // A few bytes, read in place: the blocking pool's thread would linger and wake an idle
    // daemon once more when it ends.
    let Ok(value) = std::fs::read_to_string(&file) else {
        return;
    };
    let Some(path) = helper() else {
        tracing::warn!("cannot restore the default source: onrecord-mic is not installed");
        return;
    };
    let out = tokio::process::Command::new(&path)
        .arg("--restore-default")
        .arg(value.trim())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output();
    match tokio::time::timeout(std::time::Duration::from_secs(5), out).await {
        Ok(Ok(o)) if o.status.success() => {
            let said = String::from_utf8_lossy(&o.stdout);
            match said.trim() {
                "restored" => tracing::info!(
                    "the default source a previous run left on the onrecord microphone is given back"
                ),
                other => tracing::info!(
                    "the default source was changed since a previous run set it; left as it is ({other})"
                ),
            }
            let _ = std::fs::remove_file(&file);
        }
        // No PipeWire now: the file stays for the next start.
        Ok(Ok(o)) => tracing::warn!(
            "cannot restore the default source yet: {}",
            String::from_utf8_lossy(&o.stdout).trim()
        ),
        Ok(Err(e)) => tracing::warn!("cannot run {}: {e}", path.display()),
        Err(_) => tracing::warn!("restoring the default source took too long"),
    }
}

/// Keeps `previous` durably before ours is in force (a stale one keeps what is there).
pub fn save_previous(data_dir: &Path, previous: &Previous) -> std::io::Result<()> {
    let file = previous_file(data_dir);
    let value = match previous {
        Previous::Stale if file.exists() => return Ok(()),
        Previous::Stale | Previous::None => "-",
        Previous::Value(v) => v.as_str(),
    };
    let tmp = file.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(value.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &file)
}

/// The default clips' language for a call with parties in `jurisdictions` (ids such as
/// `DE`, `CA-QC`, `US-CA`): the first party's whose language has a clip, else English.
pub fn language(configured: &str, jurisdictions: &[&str]) -> &'static str {
    if let Some(l) = crate::config::LANGUAGES.iter().find(|l| **l == configured) {
        return l;
    }
    for j in jurisdictions {
        let country = j.split('-').next().unwrap_or("");
        let lang = match (country, *j) {
            (_, "CA-QC") => "fr",
            ("DE" | "AT" | "LI", _) => "de",
            ("FR" | "BE" | "LU" | "MC", _) => "fr",
            (
                "ES" | "MX" | "AR" | "CO" | "CL" | "PE" | "VE" | "EC" | "GT" | "CU" | "BO" | "DO"
                | "HN" | "PY" | "SV" | "NI" | "CR" | "PA" | "UY",
                _,
            ) => "es",
            _ => continue,
        };
        return lang;
    }
    "en"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helpers_lines_read_back() {
        assert_eq!(
            parse("ready mic"),
            Some(MicEvent::Ready(Some("mic".into())))
        );
        assert_eq!(parse("ready -"), Some(MicEvent::Ready(None)));
        assert_eq!(
            parse(r#"previous { "name": "x y" }"#),
            Some(MicEvent::Previous(Previous::Value(
                r#"{ "name": "x y" }"#.into()
            )))
        );
        assert_eq!(
            parse("previous -"),
            Some(MicEvent::Previous(Previous::None))
        );
        assert_eq!(
            parse("previous stale"),
            Some(MicEvent::Previous(Previous::Stale))
        );
        assert_eq!(
            parse("playing c1-2 123456789 1 7.250"),
            Some(MicEvent::Playing {
                play: "c1-2".into(),
                mono_ns: 123_456_789,
                heard: true,
                seconds: 7.25
            })
        );
        assert_eq!(parse("playing c1-2 x 1 7"), None);
        assert_eq!(
            parse("failed c1-2 /x.wav: No such file"),
            Some(MicEvent::Failed {
                play: "c1-2".into(),
                why: "/x.wav: No such file".into()
            })
        );
        assert_eq!(parse("played c1-2"), Some(MicEvent::Played("c1-2".into())));
        assert_eq!(
            parse("moved 1 headset Soft Phone"),
            Some(MicEvent::Moved {
                app: "Soft Phone".into(),
                streams: 1,
                source: Some("headset".into())
            })
        );
        assert_eq!(
            parse("moved 0 - X"),
            Some(MicEvent::Moved {
                app: "X".into(),
                streams: 0,
                source: None
            })
        );
        assert_eq!(parse("something else"), None);
    }

    #[test]
    fn the_language_is_the_first_party_whose_language_has_a_clip() {
        assert_eq!(language("auto", &["US-CA"]), "en");
        assert_eq!(language("auto", &["DE"]), "de");
        assert_eq!(language("auto", &["CA-QC"]), "fr");
        assert_eq!(language("auto", &["CA-ON"]), "en");
        assert_eq!(language("auto", &["US-TX", "ES"]), "es");
        assert_eq!(language("auto", &[]), "en");
        assert_eq!(language("de", &["FR"]), "de");
    }

    #[test]
    fn the_previous_default_is_kept_until_restored_and_a_stale_one_never_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = previous_file(dir.path());
        save_previous(dir.path(), &Previous::Value("{ \"name\": \"mic\" }".into())).unwrap();
        save_previous(dir.path(), &Previous::Stale).unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "{ \"name\": \"mic\" }"
        );
        std::fs::remove_file(&file).unwrap();
        save_previous(dir.path(), &Previous::Stale).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "-");
    }
}
