//! Which applications are in a call, from the audio streams, sources and links PipeWire's
//! registry shows (pure: `pipewire.rs` feeds it). A stream whose `media.role` is
//! `Communication` or `phone`, or a capture stream (it reads the microphone) of a known calling
//! application, makes its application a call; the call ends once the application has had no
//! such stream for [`GRACE`] (a browser renegotiating drops and re-makes its streams).
//! onrecord's own streams never count.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
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
    /// `client.id`: the PipeWire client that made it, whose process other detectors (GNOME
    /// Calls on the bus) may know the same call by.
    pub client: Option<u32>,
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
            client: get("client.id").and_then(|c| c.parse().ok()),
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
    /// A source node (a microphone), with its `object.serial`.
    Source(u32, String),
    /// A client, with its process (`pipewire.sec.pid`).
    Client(u32, u32),
    /// A link: (its id, the node it carries from, the node it carries to).
    Link(u32, u32, u32),
    /// A stream, source or link went away.
    Removed(u32),
    /// The connection to PipeWire is gone: every call it showed is over.
    Lost,
}

/// What a call in an application is recorded from: its own playback stream (the far side)
/// and the source its capture stream reads (its microphone), by `object.serial`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sides {
    pub far_side: Option<String>,
    pub microphone: Option<String>,
}

/// Applications in a call, from the streams, sources and links the registry shows.
#[derive(Debug, Default)]
pub struct Tracker {
    streams: HashMap<u32, Stream>,
    sources: HashMap<u32, String>,
    links: HashMap<u32, (u32, u32)>,
    /// Clients' processes.
    clients: HashMap<u32, u32>,
    /// Applications in a call, with when their call ends if no call stream comes back.
    calls: BTreeMap<String, Option<Instant>>,
    /// The sides each application in a call was last said to have.
    sides: BTreeMap<String, Sides>,
    /// The order streams came in: the newest stream of a kind is the one that counts.
    order: u64,
    added: HashMap<u32, u64>,
}

/// What changed for the owner.
#[derive(Debug, PartialEq)]
pub enum Change {
    /// An application's call began, with what it is recorded from as far as known.
    Began(String, Sides),
    /// What an application's call is recorded from changed.
    Sides(String, Sides),
    Ended(String),
}

impl Tracker {
    /// The newest stream of `app` of this direction (`capture`) that is part of its call
    /// (with the communication role when it has such streams): its id and serial.
    fn newest(&self, app: &str, capture: bool) -> Option<(u32, String)> {
        let own = || {
            self.streams
                .iter()
                .filter(move |(_, s)| s.application == app && s.capture == capture)
        };
        let newest = |it: &mut dyn Iterator<Item = (&u32, &Stream)>| {
            it.max_by_key(|(id, _)| self.added.get(id).copied().unwrap_or(0))
                .map(|(id, s)| (*id, s.serial.clone()))
        };
        newest(&mut own().filter(|(_, s)| s.is_call())).or_else(|| newest(&mut own()))
    }

    /// What `app`'s call is recorded from now.
    fn sides_of(&self, app: &str) -> Sides {
        let far_side = self
            .newest(app, false)
            .map(|(_, serial)| serial)
            .filter(|s| !s.is_empty());
        let microphone = self.newest(app, true).and_then(|(stream, _)| {
            self.links
                .values()
                .filter(|(_, to)| *to == stream)
                .find_map(|(from, _)| self.sources.get(from).cloned())
        });
        Sides {
            far_side,
            microphone,
        }
    }

    /// The application whose stream `node` is, or the one reading from source `node`.
    fn app_of(&self, node: u32) -> Option<String> {
        if let Some(s) = self.streams.get(&node) {
            return Some(s.application.clone());
        }
        self.links
            .values()
            .filter(|(from, _)| *from == node)
            .find_map(|(_, to)| self.streams.get(to).map(|s| s.application.clone()))
    }

    /// The process of `app`'s call streams, as PipeWire saw it connect (`pipewire.sec.pid`:
    /// the socket's peer, which a client cannot claim otherwise).
    pub fn pid_of(&self, app: &str) -> Option<u32> {
        self.streams
            .values()
            .filter(|s| s.application == app && s.is_call())
            .find_map(|s| self.clients.get(&s.client?).copied())
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
                Some(app)
            }
            Seen::Source(id, serial) => {
                self.sources.insert(id, serial);
                self.app_of(id)
            }
            Seen::Client(id, pid) => {
                self.clients.insert(id, pid);
                None
            }
            Seen::Link(id, from, to) => {
                self.links.insert(id, (from, to));
                self.app_of(to)
            }
            Seen::Removed(id) => {
                if let Some(s) = self.streams.remove(&id) {
                    Some(s.application)
                } else if let Some((_, to)) = self.links.remove(&id) {
                    self.app_of(to)
                } else if self.clients.remove(&id).is_some() {
                    None
                } else {
                    let app = self.app_of(id);
                    self.sources.remove(&id);
                    app
                }
            }
            Seen::Lost => {
                self.streams.clear();
                self.sources.clear();
                self.links.clear();
                self.clients.clear();
                self.sides.clear();
                return std::mem::take(&mut self.calls)
                    .into_keys()
                    .map(Change::Ended)
                    .collect();
            }
        };
        let Some(app) = app else {
            return Vec::new();
        };
        let sides = self.sides_of(&app);
        match (self.in_call(&app), self.calls.get_mut(&app)) {
            (true, None) => {
                self.calls.insert(app.clone(), None);
                self.sides.insert(app.clone(), sides.clone());
                vec![Change::Began(app, sides)]
            }
            // Back within the grace: the same call goes on.
            (true, Some(ends)) => {
                *ends = None;
                self.sides_changed(app, sides)
            }
            (false, Some(ends @ None)) => {
                *ends = Some(now + GRACE);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The call's sides, when one changed to another stream or source (one gone without
    /// another in its place changes nothing yet: the call may be renegotiating).
    fn sides_changed(&mut self, app: String, now: Sides) -> Vec<Change> {
        let known = self.sides.entry(app.clone()).or_default();
        let mut next = known.clone();
        if now.far_side.is_some() {
            next.far_side = now.far_side;
        }
        if now.microphone.is_some() {
            next.microphone = now.microphone;
        }
        if next == *known {
            return Vec::new();
        }
        *known = next.clone();
        vec![Change::Sides(app, next)]
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
            self.sides.remove(app);
        }
        over.into_iter().map(Change::Ended).collect()
    }
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
            client: None,
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
            [Change::Began("Firefox".into(), Sides::default())]
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
            [Change::Began("Linphone".into(), Sides::default())]
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
        let sides = |far: &str, mic: Option<&str>| Sides {
            far_side: Some(far.into()),
            microphone: mic.map(Into::into),
        };
        assert_eq!(
            t.seen(Seen::Added(7, with("71")), t0),
            [Change::Sides("Linphone".into(), sides("71", None))]
        );
        // Its capture stream, linked from a source: that source is its microphone.
        assert!(
            t.seen(Seen::Added(8, stream("Linphone", true, "")), t0)
                .is_empty()
        );
        assert!(t.seen(Seen::Source(30, "301".into()), t0).is_empty());
        assert_eq!(
            t.seen(Seen::Link(40, 30, 8), t0),
            [Change::Sides("Linphone".into(), sides("71", Some("301")))]
        );
        assert_eq!(
            t.seen(Seen::Added(9, with("90")), t0),
            [Change::Sides("Linphone".into(), sides("90", Some("301")))]
        );
        // The newest goes: back to the one still there. The last goes: nothing yet (the call
        // may be renegotiating).
        assert_eq!(
            t.seen(Seen::Removed(9), t0),
            [Change::Sides("Linphone".into(), sides("71", Some("301")))]
        );
        assert!(t.seen(Seen::Removed(7), t0).is_empty());
        assert!(t.seen(Seen::Removed(40), t0).is_empty());
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

    #[test]
    fn an_applications_process_is_its_call_streams_client() {
        let t0 = Instant::now();
        let mut t = Tracker::default();
        let of = |client: u32, role: &str| Stream {
            client: Some(client),
            ..stream("Calls", false, role)
        };
        t.seen(Seen::Client(40, 4242), t0);
        t.seen(Seen::Client(41, 999), t0);
        // A stream of the application that is not part of its call says nothing.
        t.seen(Seen::Added(1, of(41, "Notification")), t0);
        assert_eq!(t.pid_of("Calls"), None);
        t.seen(Seen::Added(2, of(40, "phone")), t0);
        assert_eq!(t.pid_of("Calls"), Some(4242));
        // A client gone is no process.
        t.seen(Seen::Removed(40), t0);
        assert_eq!(t.pid_of("Calls"), None);
    }
}
