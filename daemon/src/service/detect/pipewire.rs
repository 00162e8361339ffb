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
}

/// What changed for the owner.
#[derive(Debug, PartialEq)]
pub enum Change {
    Began(String),
    Ended(String),
}

impl Tracker {
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
                app
            }
            Seen::Removed(id) => match self.streams.remove(&id) {
                Some(s) => s.application,
                None => return Vec::new(),
            },
            Seen::Lost => {
                self.streams.clear();
                return std::mem::take(&mut self.calls)
                    .into_keys()
                    .map(Change::Ended)
                    .collect();
            }
        };
        match (self.in_call(&app), self.calls.get_mut(&app)) {
            (true, None) => {
                self.calls.insert(app.clone(), None);
                vec![Change::Began(app)]
            }
            // Back within the grace: the same call goes on.
            (true, Some(ends)) => {
                *ends = None;
                Vec::new()
            }
            (false, Some(ends @ None)) => {
                *ends = Some(now + GRACE);
                Vec::new()
            }
            _ => Vec::new(),
        }
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
                Change::Began(app) => Detection::Began {
                    detected: Detected {
                        by: DetectedBy::PipeWire,
                        key: key(&app),
                        application: app,
                        direction: String::new(),
                    },
                    number: None,
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

/// Watches PipeWire's registry on a thread of its own, sending what it sees to `seen`. Says
/// in the log whether it could connect (no PipeWire running: calls in softphones and browsers
/// are not detected).
pub fn watch(seen: mpsc::UnboundedSender<Seen>) {
    let spawned = std::thread::Builder::new()
        .name("onrecord-detect-pw".into())
        .spawn(move || {
            if let Err(e) = run(&seen) {
                tracing::info!("{e}: calls in softphones and browsers are not detected");
            }
            // Whatever the registry showed is gone with the connection.
            let _ = seen.send(Seen::Lost);
        });
    if let Err(e) = spawned {
        tracing::error!("cannot watch PipeWire for calls: {e}");
    }
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
            [Change::Began("Firefox".into())]
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
            [Change::Began("Linphone".into())]
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
