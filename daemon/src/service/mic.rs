//! The virtual microphone (crate `mic/`): the owner runs one while a call is active, on a
//! thread of the daemon's, from the shared library `libonrecord_mic.so`, loaded the first time
//! a call needs it (so the daemon does not link libpipewire, and an idle daemon maps none of
//! it; the capture plugin loads the same libpipewire). It speaks lines over a socket (see
//! `mic/src/lib.rs`), which a task turns into `Command::Mic` for the owner. Its one-shot
//! modes, recording the user's clip and restoring a default source, run the program
//! `onrecord-mic` as a process.
//!
//! The configured default source before a call (when `[announcement] default_source` is on)
//! is kept in `<data>/mic-previous-default` (written before ours is set: the helper says the
//! previous one and sets ours only when told it is `kept`) until the microphone that set ours has ended: it
//! restores it itself when it ends (quit, or its socket closed); if the daemon was killed
//! with it, the daemon's next start restores it from that file.

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

/// The program, for the one-shot modes.
pub fn helper() -> Option<PathBuf> {
    crate::installed("onrecord-mic")
}

const LIBRARY: &str = "libonrecord_mic.so";

/// `onrecord_mic_serve(set_default, monitor_gain, input_fd, output_fd)`: see `mic/src/lib.rs`.
type Serve = unsafe extern "C" fn(bool, f32, std::os::raw::c_int, std::os::raw::c_int) -> i32;

/// The library's entry point, loaded once and kept for the daemon's life (a Rust library is
/// never unloaded: its threads and thread-locals would outlive it).
fn serve_fn() -> Result<Serve, String> {
    static LOADED: std::sync::OnceLock<Result<Serve, String>> = std::sync::OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = crate::installed(LIBRARY)
                .ok_or(format!("{LIBRARY} is not installed beside onrecordd"))?;
            onrecord_plugin::host::check_file(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            // SAFETY: onrecord's own library, checked like a plugin (ours or root's, not
            // writable by others); its initialisers only register Rust statics.
            let lib = unsafe { libloading::Library::new(&path) }
                .map_err(|e| format!("{}: {e}", path.display()))?;
            // SAFETY: the symbol has the type `Serve` (mic/src/lib.rs).
            let serve = unsafe { lib.get::<Serve>(b"onrecord_mic_serve\0") }
                .map(|f| *f)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            std::mem::forget(lib);
            Ok(serve)
        })
        .clone()
}

/// A running virtual microphone.
pub struct Mic {
    pub generation: u64,
    commands: Option<tokio::net::UnixStream>,
    ended: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Mic {
    /// Starts the virtual microphone on a thread of its own; what it says comes to the owner
    /// as `Command::Mic` with this `generation`.
    pub fn spawn(
        set_default: bool,
        monitor_gain: f64,
        generation: u64,
        owner: mpsc::Sender<Command>,
    ) -> Result<Mic, String> {
        use std::os::fd::IntoRawFd;
        let serve = serve_fn()?;
        // Two sockets, one a way: the end of its output is the end of the microphone, whatever
        // its thread reading commands still waits for.
        let socket = |e: std::io::Error| format!("a socket for the microphone: {e}");
        let (commands, theirs_in) = std::os::unix::net::UnixStream::pair().map_err(socket)?;
        let (said, theirs_out) = std::os::unix::net::UnixStream::pair().map_err(socket)?;
        commands.set_nonblocking(true).map_err(socket)?;
        said.set_nonblocking(true).map_err(socket)?;
        let commands = tokio::net::UnixStream::from_std(commands).map_err(socket)?;
        let said = tokio::net::UnixStream::from_std(said).map_err(socket)?;
        let (done, ended) = tokio::sync::oneshot::channel();
        let gain = monitor_gain as f32;
        let (input, output) = (theirs_in.into_raw_fd(), theirs_out.into_raw_fd());
        std::thread::Builder::new()
            .name("onrecord-mic".into())
            .spawn(move || {
                // SAFETY: `serve` is the library's entry point; both descriptors are given up.
                let code = unsafe { serve(set_default, gain, input, output) };
                if code != 0 {
                    tracing::debug!("the virtual microphone ended with {code}");
                }
                let _ = done.send(());
            })
            .map_err(|e| format!("cannot start the microphone's thread: {e}"))?;
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(said).lines();
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
            commands: Some(commands),
            ended: Some(ended),
        })
    }

    /// Asks it to play `clip` (`builtin:<name>` or a file) as `play`.
    pub async fn play(&mut self, play: &str, clip: &str) -> Result<(), String> {
        self.send(&format!("play {play} {clip}")).await
    }

    /// Asks it to move `app`'s capture streams onto the virtual microphone.
    pub async fn move_app(&mut self, app: &str) -> Result<(), String> {
        if app.is_empty() || app.chars().any(char::is_control) {
            return Err(format!("{app:?} is no application name"));
        }
        self.send(&format!("move {app}")).await
    }

    /// Says the previous default source is kept: it makes the microphone the default.
    pub async fn kept(&mut self) -> Result<(), String> {
        self.send("kept").await
    }

    /// One command line.
    async fn send(&mut self, line: &str) -> Result<(), String> {
        let commands = self
            .commands
            .as_mut()
            .ok_or("the virtual microphone has ended")?;
        commands
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| format!("the virtual microphone: {e}"))
    }

    /// Ends it: it restores the default source and leaves (its loop gives a server that does
    /// not answer 2 s). Returns at once.
    pub fn quit(mut self) {
        tokio::spawn(async move {
            let _ = self.send("quit").await;
            self.commands = None;
            if let Some(ended) = self.ended.take()
                && tokio::time::timeout(std::time::Duration::from_secs(5), ended)
                    .await
                    .is_err()
            {
                tracing::warn!("the virtual microphone did not end within 5 s of quit");
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
