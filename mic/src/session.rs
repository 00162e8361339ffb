//! One connection's state on the main loop's thread: the graph as the registry and the
//! `default` metadata say, the virtual microphone and what it carries, the announcement
//! playing, and the streams moved onto it. `tick` makes whatever progress the graph allows.

use crate::graph::{Graph, json_for, json_name};
use crate::{DEFAULT_SOURCE, NAME, clip, play, say};
use onrecord_pw::Global;
use pipewire as pw;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long moving an application waits for a capture stream it just made to be linked.
const LINK_WAIT: Duration = Duration::from_secs(2);

/// Everything of one connection, on the main loop's thread.
pub struct Session {
    pub core: pw::core::CoreRc,
    pub registry: pw::registry::RegistryRc,
    pub graph: RefCell<Graph>,
    pub metadata: RefCell<Option<(pw::metadata::Metadata, pw::metadata::MetadataListener)>>,
    /// The first round trip is done: every global there was is known, and the metadata's
    /// values with it.
    pub synced: Cell<bool>,
    pub vmic: RefCell<Option<pw::node::Node>>,
    pub vmic_id: Rc<Cell<Option<u32>>>,
    /// The source the virtual microphone carries, and its link while anything reads it.
    pub mic_node: Cell<Option<u32>>,
    pub mic_link: RefCell<Option<(u32, pw::link::Link)>>,
    pub ready: Cell<bool>,
    pub set_default: bool,
    /// The previous default, once said (ours is set on `kept`): restored at the end.
    pub previous: RefCell<Option<Option<String>>>,
    pub monitor_gain: f32,
    /// The announcement streams, one a clip rate (see `play`): in the graph from the first
    /// announcement at that rate until the session ends.
    pub players: RefCell<Vec<play::Player>>,
    /// The announcement under way.
    pub playing: RefCell<Option<Playing>>,
    pub queue: RefCell<std::collections::VecDeque<(String, String)>>,
    /// The source to carry instead of the default (what a moved application read).
    pub carry: RefCell<Option<String>>,
    /// Streams we moved onto the virtual microphone: moved back at the end.
    pub moved: RefCell<Vec<u32>>,
    /// Applications to move once the graph is known, each with when it was asked. One whose
    /// capture stream reads nothing yet (just made, not linked) waits for it, up to
    /// `LINK_WAIT`: the virtual microphone then carries the microphone the application chose
    /// (which need not be the default, and there may be no default yet).
    pub to_move: RefCell<Vec<(String, Instant)>>,
    /// Until when playing waits for moved streams to read the virtual microphone.
    pub moving_until: Cell<Option<Instant>>,
    pub quit_seq: Cell<Option<i32>>,
    /// The server answered the last sync, or went away: exit.
    pub finished: Cell<bool>,
    pub restore: Option<String>,
}

/// An announcement under way, on `players[player]`.
pub struct Playing {
    id: String,
    seconds: f64,
    player: usize,
    started_reported: bool,
    ended_at: Option<Instant>,
}

impl Session {
    fn vmic_input(&self) -> Option<(u32, u32)> {
        let id = self.vmic_id.get()?;
        let port = self.graph.borrow().port_named(id, false, "input_MONO")?;
        Some((id, port))
    }

    fn link(&self, out: (u32, u32), inn: (u32, u32)) -> Option<pw::link::Link> {
        let props = pw::properties::properties! {
            "link.output.node" => out.0.to_string(),
            "link.output.port" => out.1.to_string(),
            "link.input.node" => inn.0.to_string(),
            "link.input.port" => inn.1.to_string(),
            "object.linger" => "false",
        };
        self.core
            .create_object::<pw::link::Link>("link-factory", &props)
            .map_err(|e| eprintln!("onrecord-mic: cannot link: {e}"))
            .ok()
    }

    fn set_configured(&self, value: Option<&str>) {
        if let Some((md, _)) = self.metadata.borrow().as_ref() {
            md.set_property(0, DEFAULT_SOURCE, value.map(|_| "Spa:String:JSON"), value);
        }
    }

    /// The previous default is kept: the virtual microphone becomes the default source (not
    /// before, nor after the end has begun).
    pub fn set_ours(&self) {
        if self.previous.borrow().is_some() && self.quit_seq.get().is_none() {
            self.set_configured(Some(&json_for(NAME)));
        }
    }

    /// Makes whatever progress the graph allows; called after every event.
    pub fn tick(&self) {
        if let Some(value) = &self.restore {
            return self.restore_once(value);
        }
        let Some(input) = self.vmic_input() else {
            return;
        };
        self.carry_microphone(input);
        if !self.synced.get() {
            return;
        }
        if !self.ready.get() {
            let mic = self.mic_node.get();
            let name = mic
                .and_then(|n| self.graph.borrow().nodes.get(&n).map(|n| n.name.clone()))
                .unwrap_or_else(|| "-".into());
            self.ready.set(true);
            say(&format!("ready {name}"));
            if self.set_default {
                let before = self.graph.borrow().defaults.get(DEFAULT_SOURCE).cloned();
                let stale = before.as_deref().and_then(json_name).as_deref() == Some(NAME);
                say(&format!(
                    "previous {}",
                    match (&before, stale) {
                        (_, true) => "stale".to_owned(),
                        (None, _) => "-".to_owned(),
                        (Some(v), _) => v.clone(),
                    }
                ));
                *self.previous.borrow_mut() = Some(if stale { None } else { before });
            }
        }
        let apps: Vec<(String, Instant)> = self.to_move.borrow_mut().drain(..).collect();
        for (app, asked) in apps {
            if !self.move_app(&app, asked.elapsed() >= LINK_WAIT) {
                self.to_move.borrow_mut().push((app, asked));
            }
        }
        if !self.to_move.borrow().is_empty() || self.waiting_for_moves(input.0) {
            return;
        }
        self.advance_playback(input);
    }

    /// Chooses the source the virtual microphone carries: the default, following it when it
    /// changes (or, while nothing is chosen and the default names none, the source ranked
    /// first). It is linked in only while something other than onrecord reads the virtual
    /// microphone (a softphone): unread, the node has no links of its own and the graph does
    /// not run it (linked, it ran every cycle for nobody: 0.49 ms of the sound server's CPU
    /// and 0.36 ms of the daemon's per second of call, in paired rounds against no virtual
    /// microphone). The link is made as soon as the reader's own link shows in the registry.
    fn carry_microphone(&self, input: (u32, u32)) {
        let g = self.graph.borrow();
        let chosen = self.mic_node.get().filter(|n| g.nodes.contains_key(n));
        let want = self
            .carry
            .borrow()
            .clone()
            .or_else(|| g.microphone(NAME))
            .or_else(|| {
                chosen
                    .is_none()
                    .then(|| g.fallback_microphone(NAME))
                    .flatten()
            })
            .and_then(|name| g.node_named(&name));
        let chosen = want.or(chosen);
        self.mic_node.set(chosen);
        let target = chosen
            .filter(|_| g.has_listener(input.0))
            .and_then(|node| g.voice_port(node).map(|port| (node, port)));
        drop(g);
        let linked = self.mic_link.borrow().as_ref().map(|(n, _)| *n);
        if target.map(|(n, _)| n) != linked {
            // Dropping the old link's proxy removes it (`object.linger` false).
            *self.mic_link.borrow_mut() =
                target.and_then(|(node, port)| self.link((node, port), input).map(|l| (node, l)));
        }
    }

    fn advance_playback(&self, input: (u32, u32)) {
        if self.playing.borrow().is_none() {
            let Some((id, what)) = self.queue.borrow_mut().pop_front() else {
                return;
            };
            match clip::load(&what).and_then(|c| self.player_for(c)) {
                Ok((player, seconds)) => {
                    *self.playing.borrow_mut() = Some(Playing {
                        id,
                        seconds,
                        player,
                        started_reported: false,
                        ended_at: None,
                    })
                }
                Err(e) => say(&format!("failed {id} {}", e.replace('\n', " "))),
            }
        }
        let mut slot = self.playing.borrow_mut();
        let Some(p) = slot.as_mut() else { return };
        let mut players = self.players.borrow_mut();
        let player = &mut players[p.player];
        if player.links.is_empty() {
            if let Some(node) = player.node() {
                self.link_player(player, node, input);
            }
            return;
        }
        if player.linked() && !player.going() {
            player.go();
        }
        if !p.started_reported
            && let Some(ns) = player.first_ns()
        {
            p.started_reported = true;
            let heard = self.graph.borrow().has_listener(input.0);
            say(&format!(
                "playing {} {ns} {} {:.3}",
                p.id,
                u8::from(heard),
                p.seconds
            ));
        }
        if player.done() {
            // Let the last cycle drain before the next clip takes the stream.
            let ended = *p.ended_at.get_or_insert_with(Instant::now);
            if ended.elapsed() > Duration::from_millis(200) {
                say(&format!("played {}", p.id));
                *slot = None;
            }
        }
    }

    /// Hands `clip` to the stream of its rate, made if there is none: the stream's index in
    /// `players`, and the clip's length in seconds.
    fn player_for(&self, clip: clip::Clip) -> Result<(usize, f64), String> {
        let seconds = clip.seconds();
        let mut players = self.players.borrow_mut();
        let index = match players.iter().position(|p| p.rate == clip.rate) {
            Some(i) => i,
            None => {
                players.push(play::Player::new(&self.core, clip.rate, self.monitor_gain)?);
                players.len() - 1
            }
        };
        players[index].load(clip);
        Ok((index, seconds))
    }

    /// Links a new announcement stream: its left channel into the virtual microphone, its
    /// right into the speakers.
    fn link_player(&self, player: &mut play::Player, node: u32, input: (u32, u32)) {
        let g = self.graph.borrow();
        let (fl, fr) = (
            g.port_named(node, true, "output_FL"),
            g.port_named(node, true, "output_FR"),
        );
        let speakers = g.speaker_ports();
        drop(g);
        if let (Some(fl), Some(fr)) = (fl, fr) {
            if let Some(l) = self.link((node, fl), input) {
                player.keep(l);
            }
            for sp in speakers {
                if let Some(l) = self.link((node, fr), sp) {
                    player.keep(l);
                }
            }
        }
    }

    /// Moves `app`'s capture streams onto the virtual microphone, which carries what they read.
    /// Unless `now`, waits (false) while one of them reads nothing yet.
    pub fn move_app(&self, app: &str, now: bool) -> bool {
        let Some(vmic) = self.vmic_id.get() else {
            say(&format!("moved 0 - {app}"));
            return true;
        };
        let streams = self.graph.borrow().captures_of(app, vmic);
        let unlinked = {
            let g = self.graph.borrow();
            streams
                .iter()
                .any(|(stream, _)| !g.links.values().any(|&(_, inn)| inn == *stream))
        };
        if unlinked && !now {
            return false;
        }
        if let Some(source) = streams.iter().find_map(|(_, s)| s.clone()) {
            *self.carry.borrow_mut() = Some(source);
            if let Some(input) = self.vmic_input() {
                self.carry_microphone(input);
            }
        }
        let mut moved = 0;
        if let Some((md, _)) = self.metadata.borrow().as_ref() {
            for (stream, _) in &streams {
                md.set_property(*stream, "target.object", Some("Spa:String"), Some(NAME));
                self.moved.borrow_mut().push(*stream);
                moved += 1;
            }
        }
        if moved > 0 {
            self.moving_until
                .set(Some(Instant::now() + Duration::from_secs(1)));
        }
        let carried = self.carry.borrow().clone().unwrap_or_else(|| "-".into());
        say(&format!("moved {moved} {carried} {app}"));
        true
    }

    /// Whether streams just moved do not read the virtual microphone yet (for at most a
    /// second): an announcement waits for them, or the far side would not hear its start.
    fn waiting_for_moves(&self, vmic: u32) -> bool {
        let Some(until) = self.moving_until.get() else {
            return false;
        };
        let g = self.graph.borrow();
        let moved = self.moved.borrow();
        let pending = moved.iter().any(|stream| {
            g.nodes.contains_key(stream)
                && !g.links.values().any(|&(o, i)| o == vmic && i == *stream)
        });
        if pending && Instant::now() < until {
            return true;
        }
        self.moving_until.set(None);
        false
    }

    pub fn busy(&self) -> bool {
        !self.ready.get()
            || self.playing.borrow().is_some()
            || !self.queue.borrow().is_empty()
            || self.moving_until.get().is_some()
            || !self.to_move.borrow().is_empty()
    }

    /// `--restore-default`: once the metadata's values are known.
    fn restore_once(&self, value: &str) {
        if !self.synced.get() || self.quit_seq.get().is_some() {
            return;
        }
        let current = self.graph.borrow().defaults.get(DEFAULT_SOURCE).cloned();
        if current.as_deref().and_then(json_name).as_deref() == Some(NAME) {
            self.set_configured((value != "-").then_some(value));
            say("restored");
        } else {
            say(&format!("kept {}", current.as_deref().unwrap_or("-")));
        }
        self.quit();
    }

    /// Restores the default source if we set it, then exits once the server has it.
    pub fn quit(&self) {
        if self.quit_seq.get().is_some() {
            return;
        }
        *self.playing.borrow_mut() = None;
        self.players.borrow_mut().clear();
        // Moved streams go back where their session manager puts them.
        if let Some((md, _)) = self.metadata.borrow().as_ref() {
            for stream in self.moved.borrow_mut().drain(..) {
                if self.graph.borrow().nodes.contains_key(&stream) {
                    md.set_property(stream, "target.object", None, None);
                }
            }
        }
        if let Some(previous) = self.previous.borrow_mut().take() {
            let current = self.graph.borrow().defaults.get(DEFAULT_SOURCE).cloned();
            // Only if it is still ours: the user may have chosen another since.
            if current.as_deref().and_then(json_name).as_deref() == Some(NAME) {
                self.set_configured(previous.as_deref());
            }
        }
        match self.core.sync(0) {
            Ok(seq) => self.quit_seq.set(Some(seq.seq())),
            Err(_) => self.finished.set(true),
        }
    }
}

pub fn on_global(s: &Rc<Session>, g: &pw::registry::GlobalObject<&pw::spa::utils::dict::DictRef>) {
    let Some(props) = g.props else { return };
    let mut graph = s.graph.borrow_mut();
    match onrecord_pw::global(&g.type_, |k| props.get(k)) {
        Some(Global::Node(node)) => {
            graph.nodes.insert(g.id, node);
        }
        Some(Global::Port(port)) => {
            graph.ports.insert(g.id, port);
        }
        Some(Global::Link(link)) => {
            graph
                .links
                .insert(g.id, (link.output_node, link.input_node));
        }
        Some(Global::DefaultMetadata) => {
            drop(graph);
            bind_metadata(s, g);
        }
        None => {}
    }
}

fn bind_metadata(s: &Rc<Session>, g: &pw::registry::GlobalObject<&pw::spa::utils::dict::DictRef>) {
    let Ok(md) = s.registry.bind::<pw::metadata::Metadata, _>(g) else {
        eprintln!("onrecord-mic: cannot bind the default metadata");
        return;
    };
    let weak = Rc::downgrade(s);
    let listener = md
        .add_listener_local()
        .property(move |subject, key, _type, value| {
            let Some(s) = weak.upgrade() else { return 0 };
            if subject != 0 {
                return 0;
            }
            let mut g = s.graph.borrow_mut();
            match (key, value) {
                (None, _) => g.defaults.clear(),
                (Some(k), None) => {
                    g.defaults.remove(k);
                }
                (Some(k), Some(v)) => {
                    g.defaults.insert(k.to_owned(), v.to_owned());
                }
            }
            drop(g);
            s.tick();
            0
        })
        .register();
    *s.metadata.borrow_mut() = Some((md, listener));
}
