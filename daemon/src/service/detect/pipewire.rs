//! Calls in softphones and browsers, from their audio streams on PipeWire. A stream whose
//! `media.role` is `Communication` or `phone`, or a capture stream (it reads the microphone) of
//! a known calling application, makes its application a call; the call ends once the
//! application has had no such stream for [`GRACE`] (a browser renegotiating drops and re-makes
//! its streams). onrecord's own streams never count. The registry is watched from a thread of
//! its own that PipeWire's events wake; nothing polls.

use super::super::owner::{Command, Detection};
use crate::calls::Detected;
use onrecord_interface::DetectedBy;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long an application may be without call streams before its call is over.
pub const GRACE: Duration = Duration::from_secs(3);

/// Applications that place calls (as WirePlumber's default policy and the usual softphones
/// name them), matched case-insensitively inside `application.name`. Their capture streams
/// alone make a call: a browser reading the microphone is in a call, one playing a video is not.
const CALLING: &[&str] = &[
    "firefox", "chromium", "chrome", "brave", "edge", "vivaldi", "opera", "zoom", "telegram",
    "linphone", "mumble", "webrtc", "skype", "discord", "signal", "slack", "teams", "jami",
    "baresip", "twinkle", "element", "whatsapp",
];

/// One audio stream node, as the registry describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// `application.name`, else the client's id (one application, one call).
    pub application: String,
    /// A capture stream (`Stream/Input/Audio`: it reads a microphone), else playback.
    pub capture: bool,
    /// `media.role`, or empty.
    pub role: String,
    /// `object.serial`: how a capture names this stream as its target (ids are reused).
    pub serial: String,
}

impl Stream {
    /// Reads a Node global's properties; `None` for what is not an application's audio stream,
    /// or is onrecord's own.
    pub fn from_props(get: impl Fn(&str) -> Option<String>) -> Option<Stream> {
        let capture = match get("media.class")?.as_str() {
            "Stream/Input/Audio" => true,
            "Stream/Output/Audio" => false,
            _ => return None,
        };
        let node = get("node.name").unwrap_or_default();
        let application = get("application.name")
            .filter(|a| !a.is_empty())
            .or_else(|| get("client.id").map(|c| format!("client {c}")))
            .unwrap_or_else(|| node.clone());
        let own = |s: &str| s.to_ascii_lowercase().starts_with("onrecord");
        if own(&node) || own(&application) {
            return None;
        }
        Some(Stream {
            application,
            capture,
            role: get("media.role").unwrap_or_default(),
            serial: get("object.serial").unwrap_or_default(),
        })
    }

    /// Whether this stream makes its application a call.
    fn is_call(&self) -> bool {
        let role = self.role.to_ascii_lowercase();
        if role == "communication" || role == "phone" {
            return true;
        }
        let app = self.application.to_ascii_lowercase();
        self.capture && CALLING.iter().any(|c| app.contains(c))
    }
}

/// What the registry said.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Added(u32, Stream),
    Removed(u32),
    /// The connection to PipeWire is gone: every call it showed is over.
    Lost,
}

/// Applications in a call, from the streams the registry shows.
#[derive(Debug, Default)]
pub struct Tracker {
    streams: HashMap<u32, Stream>,
    /// Applications in a call, with when their call ends if no call stream comes back.
    calls: BTreeMap<String, Option<Instant>>,
    /// The far side each application in a call was last said to have.
    far: BTreeMap<String, Option<String>>,
    /// The order streams came in: the newest playback stream is the far side.
    order: u64,
    added: HashMap<u32, u64>,
}

/// What changed for the owner.
#[derive(Debug, PartialEq)]
pub enum Change {
    /// An application's call began, with its playback stream's serial when it has one.
    Began(String, Option<String>),
    /// The playback stream of an application in a call changed.
    FarSide(String, Option<String>),
    Ended(String),
}

impl Tracker {
    /// The newest playback stream of `app` that is part of its call (with the communication
    /// role when it has such streams).
    fn far_side(&self, app: &str) -> Option<String> {
        let playback = || {
            self.streams
                .iter()
                .filter(move |(_, s)| s.application == app && !s.capture && !s.serial.is_empty())
        };
        let newest = |it: &mut dyn Iterator<Item = (&u32, &Stream)>| {
            it.max_by_key(|(id, _)| self.added.get(id).copied().unwrap_or(0))
                .map(|(_, s)| s.serial.clone())
        };
        newest(&mut playback().filter(|(_, s)| s.is_call())).or_else(|| newest(&mut playback()))
    }

    fn in_call(&self, app: &str) -> bool {
        self.streams
            .values()
            .any(|s| s.application == app && s.is_call())
    }

    /// Applies what the registry said at `now`.
    pub fn seen(&mut self, seen: Seen, now: Instant) -> Vec<Change> {
        let app = match seen {
            Seen::Added(id, stream) => {
                let app = stream.application.clone();
                self.streams.insert(id, stream);
                self.order += 1;
                self.added.insert(id, self.order);
                app
            }
            Seen::Removed(id) => match self.streams.remove(&id) {
                Some(s) => s.application,
                None => return Vec::new(),
            },
            Seen::Lost => {
                self.streams.clear();
                self.far.clear();
                return std::mem::take(&mut self.calls)
                    .into_keys()
                    .map(Change::Ended)
                    .collect();
            }
        };
        let far = self.far_side(&app);
        match (self.in_call(&app), self.calls.get_mut(&app)) {
            (true, None) => {
                self.calls.insert(app.clone(), None);
                self.far.insert(app.clone(), far.clone());
                vec![Change::Began(app, far)]
            }
            // Back within the grace: the same call goes on.
            (true, Some(ends)) => {
                *ends = None;
                self.far_changed(app, far)
            }
            (false, Some(ends @ None)) => {
                *ends = Some(now + GRACE);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The call's far side, when it changed to another stream (a stream gone without another
    /// in its place changes nothing yet: the call may be renegotiating).
    fn far_changed(&mut self, app: String, far: Option<String>) -> Vec<Change> {
        let known = self.far.entry(app.clone()).or_default();
        if far.is_some() && *known != far {
            *known = far.clone();
            return vec![Change::FarSide(app, far)];
        }
        Vec::new()
    }

    /// When the next call ends, if one is waiting out its grace.
    pub fn next_end(&self) -> Option<Instant> {
        self.calls.values().flatten().min().copied()
    }

    /// The calls whose grace is over at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<Change> {
        let over: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, ends)| ends.is_some_and(|t| t <= now))
            .map(|(app, _)| app.clone())
            .collect();
        for app in &over {
            self.calls.remove(app);
            self.far.remove(app);
        }
        over.into_iter().map(Change::Ended).collect()
    }
}

fn key(app: &str) -> String {
    format!("pipewire:{app}")
}

/// Turns what the registry says into proposals and ends; the timer exists only while a call
/// waits out its grace.
pub async fn track(mut seen: mpsc::UnboundedReceiver<Seen>, commands: mpsc::Sender<Command>) {
    let mut tracker = Tracker::default();
    loop {
        let changes = match tracker.next_end() {
            Some(at) => tokio::select! {
                s = seen.recv() => match s {
                    Some(s) => tracker.seen(s, Instant::now()),
                    None => return,
                },
                () = tokio::time::sleep_until(at) => tracker.expire(Instant::now()),
            },
            None => match seen.recv().await {
                Some(s) => tracker.seen(s, Instant::now()),
                None => return,
            },
        };
        for change in changes {
            let detection = match change {
                Change::Began(app, far) => Detection::Began {
                    detected: Detected {
                        by: DetectedBy::PipeWire,
                        key: key(&app),
                        application: app,
                        direction: String::new(),
                        far_side: far.unwrap_or_default(),
                    },
                    number: None,
                },
                Change::FarSide(app, far) => Detection::FarSide {
                    by: DetectedBy::PipeWire,
                    key: key(&app),
                    serial: far.unwrap_or_default(),
                },
                Change::Ended(app) => Detection::Ended {
                    by: DetectedBy::PipeWire,
                    key: key(&app),
                    why: format!("{app}'s call streams are gone"),
                },
            };
            if commands.send(Command::Detected(detection)).await.is_err() {
                return;
            }
        }
    }
}

/// Watches PipeWire's registry on a thread of its own, sending what it sees to `seen`. When
/// PipeWire is not running, or goes away (a restart), the thread waits for its socket to
/// appear (inotify: nothing polls) and connects again.
pub fn watch(seen: mpsc::UnboundedSender<Seen>) {
    let spawned = std::thread::Builder::new()
        .name("onrecord-detect-pw".into())
        .spawn(move || {
            loop {
                match run(&seen) {
                    Ok(()) => tracing::warn!(
                        "the PipeWire connection was lost: calls are detected again once it is back"
                    ),
                    Err(e) => tracing::info!(
                        "{e}: calls in softphones and browsers are detected once PipeWire runs"
                    ),
                }
                // Whatever the registry showed is gone with the connection.
                if seen.send(Seen::Lost).is_err() {
                    return;
                }
                if let Err(e) = wait_for_server() {
                    tracing::warn!(
                        "cannot watch for PipeWire ({e}): calls in softphones and browsers are not detected"
                    );
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot watch PipeWire for calls: {e}");
    }
}

/// Where PipeWire's socket is, as libpipewire looks for it.
fn socket() -> Option<std::path::PathBuf> {
    let dir =
        std::env::var_os("PIPEWIRE_RUNTIME_DIR").or_else(|| std::env::var_os("XDG_RUNTIME_DIR"))?;
    let name = std::env::var("PIPEWIRE_REMOTE").unwrap_or_else(|_| "pipewire-0".into());
    Some(std::path::Path::new(&dir).join(name))
}

/// Returns once PipeWire's socket is made (again), watched through its directory. A socket
/// already there (a server that refused us, or one restarting) is tried again after a while.
fn wait_for_server() -> Result<(), String> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let path = socket().ok_or("no XDG_RUNTIME_DIR")?;
    let dir = path.parent().ok_or("no directory for PipeWire's socket")?;
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            let _ = tx.send(ev);
        }
    })
    .map_err(|e| e.to_string())?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|e| e.to_string())?;
    let made =
        |ev: &notify::Event| matches!(ev.kind, EventKind::Create(_)) && ev.paths.contains(&path);
    if path.exists() {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(ev) if made(&ev) => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    } else {
        loop {
            match rx.recv() {
                Ok(ev) if made(&ev) => break,
                Ok(_) => {}
                Err(_) => return Err("the watch ended".into()),
            }
        }
    }
    // A socket just made: the server accepts a moment later.
    std::thread::sleep(Duration::from_millis(200));
    Ok(())
}

fn run(seen: &mpsc::UnboundedSender<Seen>) -> Result<(), String> {
    use pipewire as pw;
    pw::init();
    let main_loop = pw::main_loop::MainLoopRc::new(None).map_err(|e| e.to_string())?;
    // Only the protocol: this client reads the registry and makes nothing.
    let props = pw::properties::properties! {
        "config.name" => "null",
        "support.dbus" => "false",
    };
    let context =
        pw::context::ContextRc::new(&main_loop, Some(props)).map_err(|e| e.to_string())?;
    // SAFETY: a live context, before the loop runs; a NUL-terminated literal.
    let loaded = unsafe {
        pw::sys::pw_context_load_module(
            context.as_raw_ptr(),
            c"libpipewire-module-protocol-native".as_ptr(),
            std::ptr::null(),
            std::ptr::null_mut(),
        )
    };
    if loaded.is_null() {
        return Err("cannot load PipeWire's native protocol".into());
    }
    let core = context
        .connect_rc(None)
        .map_err(|e| format!("no PipeWire server ({e})"))?;
    let registry = core.get_registry_rc().map_err(|e| e.to_string())?;
    let quit = main_loop.downgrade();
    let _core_listener = core
        .add_listener_local()
        .error(move |id, _seq, _res, message| {
            if id == pw::core::PW_ID_CORE {
                tracing::warn!("PipeWire connection lost ({message}): softphone calls are not detected until onrecordd restarts");
                if let Some(l) = quit.upgrade() {
                    l.quit();
                }
            }
        })
        .register();
    let (added, removed) = (seen.clone(), seen.clone());
    let _registry_listener = registry
        .add_listener_local()
        .global(move |g| {
            if g.type_ != pw::types::ObjectType::Node {
                return;
            }
            let Some(props) = g.props else {
                return;
            };
            if let Some(stream) = Stream::from_props(|k| props.get(k).map(str::to_owned)) {
                let _ = added.send(Seen::Added(g.id, stream));
            }
        })
        .global_remove(move |id| {
            let _ = removed.send(Seen::Removed(id));
        })
        .register();
    tracing::info!("detecting calls in softphones and browsers (PipeWire)");
    main_loop.run();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(app: &str, capture: bool, role: &str) -> Stream {
        Stream {
            application: app.into(),
            capture,
            role: role.into(),
            serial: String::new(),
        }
    }

    #[test]
    fn a_communication_stream_or_a_calling_app_at_the_microphone_is_a_call() {
        let t0 = Instant::now();
        let mut t = Tracker::default();
        // Music, and a browser playing a video: no call.
        assert!(
            t.seen(Seen::Added(1, stream("Rhythmbox", false, "Music")), t0)
                .is_empty()
        );
        assert!(
            t.seen(Seen::Added(2, stream("Firefox", false, "")), t0)
                .is_empty()
        );
        // The browser opens the microphone: a call, once.
        assert_eq!(
            t.seen(Seen::Added(3, stream("Firefox", true, "")), t0),
            [Change::Began("Firefox".into(), None)]
        );
        assert!(
            t.seen(Seen::Added(4, stream("Firefox", true, "")), t0)
                .is_empty()
        );
        // A softphone's playback stream with the communication role: a call of its own.
        assert_eq!(
            t.seen(
                Seen::Added(5, stream("Linphone", false, "Communication")),
                t0
            ),
            [Change::Began("Linphone".into(), None)]
        );
        // The streams go; the call ends only after the grace, unless they come back.
        t.seen(Seen::Removed(3), t0);
        assert!(t.seen(Seen::Removed(4), t0).is_empty());
        assert_eq!(t.next_end(), Some(t0 + GRACE));
        assert!(t.expire(t0 + GRACE / 2).is_empty());
        assert!(
            t.seen(Seen::Added(6, stream("Firefox", true, "")), t0 + GRACE / 2)
                .is_empty()
        );
        assert_eq!(t.next_end(), None);
        t.seen(Seen::Removed(6), t0 + GRACE);
        assert_eq!(t.expire(t0 + GRACE * 2), [Change::Ended("Firefox".into())]);
        // The far side is the newest playback stream in the call: it follows a new one.
        let with = |serial: &str| Stream {
            serial: serial.into(),
            ..stream("Linphone", false, "Communication")
        };
        assert_eq!(
            t.seen(Seen::Added(7, with("71")), t0),
            [Change::FarSide("Linphone".into(), Some("71".into()))]
        );
        assert!(
            t.seen(Seen::Added(8, stream("Linphone", true, "")), t0)
                .is_empty()
        );
        assert_eq!(
            t.seen(Seen::Added(9, with("90")), t0),
            [Change::FarSide("Linphone".into(), Some("90".into()))]
        );
        // The newest goes: back to the one still there. The last goes: nothing yet (the call
        // may be renegotiating).
        assert_eq!(
            t.seen(Seen::Removed(9), t0),
            [Change::FarSide("Linphone".into(), Some("71".into()))]
        );
        assert!(t.seen(Seen::Removed(7), t0).is_empty());
        // Losing PipeWire ends every call.
        assert_eq!(t.seen(Seen::Lost, t0), [Change::Ended("Linphone".into())]);
    }

    #[test]
    fn only_application_audio_streams_count_and_never_onrecords_own() {
        let props = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let s = Stream::from_props(props(&[
            ("media.class", "Stream/Output/Audio"),
            ("application.name", "Linphone"),
            ("media.role", "Communication"),
            ("node.name", "pw-cat"),
        ]))
        .unwrap();
        assert!(s.is_call() && !s.capture);
        assert!(Stream::from_props(props(&[("media.class", "Audio/Sink")])).is_none());
        assert!(
            Stream::from_props(props(&[
                ("media.class", "Stream/Input/Audio"),
                ("media.role", "Communication"),
                ("node.name", "onrecord"),
            ]))
            .is_none()
        );
        let by_client = Stream::from_props(props(&[
            ("media.class", "Stream/Input/Audio"),
            ("client.id", "42"),
        ]))
        .unwrap();
        assert_eq!(by_client.application, "client 42");
    }
}
