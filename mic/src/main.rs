//! `onrecord-mic`: onrecord's virtual microphone on PipeWire, run by onrecordd while a call is
//! active (a process of its own, so the daemon does not link libpipewire).
//!
//! It makes a virtual source, "onrecord microphone" (`onrecord_mic`, `Audio/Source/Virtual`),
//! carries the user's microphone (the default source) into it, and plays announcements into
//! it: a softphone that records from it sends the user's voice and the announcement to the
//! other side. The user hears a quieter copy on the default sink. Optionally it makes the
//! virtual microphone the default source, and restores the previous default when it ends.
//!
//! The daemon talks to it by lines. On stdin:
//! - `play ID CLIP`: play `CLIP` (`builtin:<lang>-<notice|started>`, or a WAV or FLAC file);
//! - `move APP`: move the application's capture streams (a softphone's microphone) onto the
//!   virtual microphone, which then carries the source they read; they are moved back (their
//!   target removed) when the helper ends;
//! - `quit`, or the end of stdin (the daemon ended or died): restore and exit.
//!
//! On stdout:
//! - `ready MIC`: the virtual microphone is up, carrying `MIC` (`-`: no microphone);
//! - `previous VALUE`: with `--set-default`, the configured default source before (a JSON value,
//!   `-` for none, `stale` when it already named the virtual microphone);
//! - `playing ID NS HEARD SECONDS`: the first sample reached the graph at CLOCK_MONOTONIC `NS`;
//!   `HEARD` is 1 when something other than onrecord records from the virtual microphone;
//!   the clip lasts `SECONDS`;
//! - `played ID`, or `failed ID WHY`;
//! - `moved N SOURCE APP`: `N` of the application's capture streams now read the virtual
//!   microphone, which carries `SOURCE` (`-`: the default source).
//!
//! `onrecord-mic --record PATH --seconds N` records the user's own announcement from the default
//! source into a WAV at `PATH`, says `recorded SECONDS`, and exits.
//!
//! `onrecord-mic --restore-default VALUE` sets the configured default source back to `VALUE`
//! (`-`: removes it) if it still names the virtual microphone, and exits: the daemon runs it
//! at start when the last helper could not (both were killed).

mod clip;
mod graph;
mod play;
mod record;

use graph::{Graph, json_for, json_name};
use pipewire as pw;
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};

const NAME: &str = "onrecord_mic";
const DEFAULT_SOURCE: &str = "default.configured.audio.source";

enum Input {
    Play(String, String),
    Move(String),
    Quit,
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

struct Args {
    set_default: bool,
    monitor_gain: f32,
    restore: Option<String>,
    record: Option<(String, f64)>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        set_default: false,
        monitor_gain: 0.3,
        restore: None,
        record: None,
    };
    let mut seconds = 5.0;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--set-default" => a.set_default = true,
            "--monitor-gain" => {
                a.monitor_gain = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|g: &f32| (0.0..=1.0).contains(g))
                    .ok_or("--monitor-gain takes a number from 0 to 1")?
            }
            "--restore-default" => {
                a.restore = Some(it.next().ok_or("--restore-default takes a value")?)
            }
            "--record" => a.record = Some((it.next().ok_or("--record takes a path")?, 0.0)),
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|s: &f64| (0.5..=clip::MAX_SECONDS).contains(s))
                    .ok_or("--seconds takes a number from 0.5 to 120")?
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some((_, s)) = a.record.as_mut() {
        *s = seconds;
    }
    Ok(a)
}

/// Everything of one connection, on the main loop's thread.
struct Session {
    core: pw::core::CoreRc,
    registry: pw::registry::RegistryRc,
    graph: RefCell<Graph>,
    metadata: RefCell<Option<(pw::metadata::Metadata, pw::metadata::MetadataListener)>>,
    /// The first round trip is done: every global there was is known, and the metadata's
    /// values with it.
    synced: Cell<bool>,
    vmic: RefCell<Option<pw::node::Node>>,
    vmic_id: Rc<Cell<Option<u32>>>,
    mic_link: RefCell<Option<(u32, pw::link::Link)>>,
    ready: Cell<bool>,
    set_default: bool,
    /// The previous default, once we set ours: restored at the end.
    previous: RefCell<Option<Option<String>>>,
    monitor_gain: f32,
    playing: RefCell<Option<play::Playback>>,
    queue: RefCell<std::collections::VecDeque<(String, String)>>,
    /// The source to carry instead of the default (what a moved application read).
    carry: RefCell<Option<String>>,
    /// Streams we moved onto the virtual microphone: moved back at the end.
    moved: RefCell<Vec<u32>>,
    quit_seq: Cell<Option<i32>>,
    /// The server answered the last sync, or went away: exit.
    finished: Cell<bool>,
    restore: Option<String>,
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

    /// Makes whatever progress the graph allows; called after every event.
    fn tick(&self) {
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
            let mic = self.mic_link.borrow().as_ref().map(|(n, _)| *n);
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
                self.set_configured(Some(&json_for(NAME)));
            }
        }
        self.advance_playback(input);
    }

    /// Links the default source into the virtual microphone, following it when it changes.
    fn carry_microphone(&self, input: (u32, u32)) {
        let want = {
            let g = self.graph.borrow();
            let carry = self.carry.borrow().clone();
            carry
                .or_else(|| g.microphone(NAME))
                .and_then(|name| g.node_named(&name))
                .and_then(|node| g.voice_port(node).map(|port| (node, port)))
        };
        let have = self.mic_link.borrow().as_ref().map(|(n, _)| *n);
        match want {
            Some((node, port)) if have != Some(node) => {
                let link = self.link((node, port), input);
                *self.mic_link.borrow_mut() = link.map(|l| (node, l));
            }
            None if have.is_some_and(|n| !self.graph.borrow().nodes.contains_key(&n)) => {
                *self.mic_link.borrow_mut() = None;
            }
            _ => {}
        }
    }

    fn advance_playback(&self, input: (u32, u32)) {
        if self.playing.borrow().is_none() {
            let Some((id, what)) = self.queue.borrow_mut().pop_front() else {
                return;
            };
            match clip::load(&what)
                .and_then(|c| play::Playback::new(&self.core, id.clone(), c, self.monitor_gain))
            {
                Ok(p) => *self.playing.borrow_mut() = Some(p),
                Err(e) => say(&format!("failed {id} {}", e.replace('\n', " "))),
            }
            return;
        }
        let mut slot = self.playing.borrow_mut();
        let Some(p) = slot.as_mut() else { return };
        if p.links.is_empty()
            && let Some(node) = p.node()
        {
            let g = self.graph.borrow();
            let (fl, fr) = (
                g.port_named(node, true, "output_FL"),
                g.port_named(node, true, "output_FR"),
            );
            let speakers = g.speaker_ports();
            drop(g);
            if let (Some(fl), Some(fr)) = (fl, fr) {
                p.links.extend(self.link((node, fl), input));
                for sp in speakers {
                    p.links.extend(self.link((node, fr), sp));
                }
            }
            return;
        }
        if !p.links.is_empty() && !p.going() {
            // The links were asked for a tick ago: they are made by now.
            p.go();
        }
        if !p.started_reported
            && let Some(ns) = p.first_ns()
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
        if p.done() {
            // Let the last cycle drain before the stream goes.
            let ended = *p.ended_at.get_or_insert_with(Instant::now);
            if ended.elapsed() > Duration::from_millis(200) {
                say(&format!("played {}", p.id));
                *slot = None;
            }
        }
    }

    /// Moves `app`'s capture streams onto the virtual microphone, which carries what they read.
    fn move_app(&self, app: &str) {
        let Some(vmic) = self.vmic_id.get() else {
            return say(&format!("moved 0 - {app}"));
        };
        let streams = self.graph.borrow().captures_of(app, vmic);
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
        let carried = self.carry.borrow().clone().unwrap_or_else(|| "-".into());
        say(&format!("moved {moved} {carried} {app}"));
    }

    fn busy(&self) -> bool {
        !self.ready.get() || self.playing.borrow().is_some() || !self.queue.borrow().is_empty()
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
    fn quit(&self) {
        if self.quit_seq.get().is_some() {
            return;
        }
        *self.playing.borrow_mut() = None;
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

fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("onrecord-mic: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args) {
        say(&format!("fatal {e}"));
        eprintln!("onrecord-mic: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), String> {
    pw::init();
    let mainloop = pw::main_loop::MainLoopRc::new(None).map_err(|e| format!("PipeWire: {e}"))?;
    let context = match minimal_context(&mainloop) {
        Ok(c) => c,
        Err(_) => {
            pw::context::ContextRc::new(&mainloop, None).map_err(|e| format!("PipeWire: {e}"))?
        }
    };
    if let Some((path, seconds)) = &args.record {
        let got = record::record(&context, &mainloop, path, *seconds)?;
        say(&format!("recorded {got:.3}"));
        return Ok(());
    }
    let core = context
        .connect_rc(None)
        .map_err(|e| format!("cannot reach the PipeWire server: {e}"))?;
    let registry = core
        .get_registry_rc()
        .map_err(|e| format!("PipeWire registry: {e}"))?;
    let s = Rc::new(Session {
        core: core.clone(),
        registry: registry.clone(),
        graph: RefCell::default(),
        metadata: RefCell::default(),
        synced: Cell::new(false),
        vmic: RefCell::default(),
        vmic_id: Rc::default(),
        mic_link: RefCell::default(),
        ready: Cell::new(false),
        set_default: args.set_default,
        previous: RefCell::default(),
        monitor_gain: args.monitor_gain,
        playing: RefCell::default(),
        queue: RefCell::default(),
        carry: RefCell::default(),
        moved: RefCell::default(),
        quit_seq: Cell::new(None),
        finished: Cell::new(false),
        restore: args.restore,
    });

    let weak = Rc::downgrade(&s);
    let weak2 = weak.clone();
    let _registry_listener = registry
        .add_listener_local()
        .global(move |g| {
            let Some(s) = weak.upgrade() else { return };
            on_global(&s, g);
            s.tick();
        })
        .global_remove(move |id| {
            let Some(s) = weak2.upgrade() else { return };
            s.graph.borrow_mut().remove(id);
            s.tick();
        })
        .register();

    let weak = Rc::downgrade(&s);
    let gone = weak.clone();
    // The first sync: every global is announced before its answer. The metadata is bound on
    // its global, and its values arrive before the answer to a second sync.
    let first = core.sync(0).map_err(|e| format!("PipeWire: {e}"))?;
    let second: Rc<Cell<Option<i32>>> = Rc::default();
    let second2 = second.clone();
    let _core_listener = core
        .add_listener_local()
        .done(move |id, seq| {
            let Some(s) = weak.upgrade() else { return };
            if id != pw::core::PW_ID_CORE {
                return;
            }
            if seq == first {
                second2.set(s.core.sync(0).ok().map(|q| q.seq()));
            } else if Some(seq.seq()) == second2.get() {
                s.synced.set(true);
                s.tick();
            } else if Some(seq.seq()) == s.quit_seq.get() {
                s.finished.set(true);
            }
        })
        .error(move |id, _seq, res, message| {
            // ENOENT: a link that went with its node, destroyed again as its proxy drops.
            if res != -2 {
                eprintln!("onrecord-mic: PipeWire error on {id}: {message} ({res})");
            }
            // The connection is lost (EPIPE); other errors (a link already gone) are not fatal.
            if id == pw::core::PW_ID_CORE
                && res == -32
                && let Some(s) = gone.upgrade()
            {
                // The server went away: nothing to restore or play any more.
                s.finished.set(true);
            }
        })
        .register();

    let _vmic_listener = if s.restore.is_none() {
        let vmic: pw::node::Node = core
            .create_object(
                "adapter",
                &pw::properties::properties! {
                    "factory.name" => "support.null-audio-sink",
                    "media.class" => "Audio/Source/Virtual",
                    "node.name" => NAME,
                    "node.description" => "onrecord microphone",
                    "audio.position" => "MONO",
                    "audio.rate" => "48000",
                    // Never chosen as the default by itself: only when the user asks.
                    "priority.session" => "1",
                    "priority.driver" => "1",
                    "object.linger" => "false",
                },
            )
            .map_err(|e| format!("cannot make the virtual microphone: {e}"))?;
        let id = s.vmic_id.clone();
        let weak = Rc::downgrade(&s);
        let listener = pw::proxy::ProxyT::upcast_ref(&vmic)
            .add_listener_local()
            .bound(move |global| {
                id.set(Some(global));
                if let Some(s) = weak.upgrade() {
                    s.tick();
                }
            })
            .register();
        *s.vmic.borrow_mut() = Some(vmic);
        Some(listener)
    } else {
        None
    };

    // Commands from a thread that reads stdin; its end is a quit.
    // (Not in `--restore-default`, which ends by itself.)
    let (tx, rx) = pw::channel::channel::<Input>();
    let reading = s.restore.is_none();
    std::thread::spawn(move || {
        if !reading {
            return;
        }
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let mut words = line.splitn(3, ' ');
            let input = match (words.next(), words.next(), words.next()) {
                (Some("play"), Some(id), Some(clip)) => Input::Play(id.into(), clip.into()),
                (Some("quit"), None, None) => Input::Quit,
                (Some("move"), Some(app), rest) => Input::Move(match rest {
                    Some(more) => format!("{app} {more}"),
                    None => app.to_owned(),
                }),
                _ => {
                    eprintln!("onrecord-mic: unknown command {line:?}");
                    continue;
                }
            };
            if tx.send(input).is_err() {
                return;
            }
        }
        let _ = tx.send(Input::Quit);
    });
    let weak = Rc::downgrade(&s);
    let _commands = rx.attach(mainloop.loop_(), move |input| {
        let Some(s) = weak.upgrade() else { return };
        match input {
            Input::Play(id, clip) => {
                s.queue.borrow_mut().push_back((id, clip));
                s.tick();
            }
            Input::Move(app) => s.move_app(&app),
            Input::Quit => s.quit(),
        }
    });

    // While something is under way (start, playing), a tick every 10 ms; idle, none.
    let weak = Rc::downgrade(&s);
    let timer = mainloop.loop_().add_timer(move |_| {
        if let Some(s) = weak.upgrade() {
            s.tick();
        }
    });
    let tick = Duration::from_millis(10);
    let mut armed = false;
    let mut quitting: Option<Instant> = None;
    while !s.finished.get() {
        let want = s.busy() && s.quit_seq.get().is_none();
        if want != armed {
            let _ = timer.update_timer(want.then_some(tick), want.then_some(tick));
            armed = want;
        }
        // One iteration at a time, so that the timer follows the work; every event ends an
        // iteration, so an idle helper sleeps until the next one.
        let timeout = if s.quit_seq.get().is_some() {
            // A server that never answers does not keep us.
            let since = *quitting.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(2) {
                break;
            }
            pw::loop_::Timeout::Finite(Duration::from_millis(100))
        } else {
            pw::loop_::Timeout::Infinite
        };
        mainloop.loop_().iterate(timeout);
    }
    Ok(())
}

/// A context of only what the helper uses (as capture-cpal's): no configuration file, no D-Bus
/// support; the native protocol, client nodes and their adapter (the announcement stream, its
/// resampling), and the metadata interface. The default client configuration loads more, about
/// a megabyte resident.
fn minimal_context(mainloop: &pw::main_loop::MainLoopRc) -> Result<pw::context::ContextRc, String> {
    let props = pw::properties::properties! {
        "config.name" => "null",
        "support.dbus" => "false",
    };
    let ctx = pw::context::ContextRc::new(mainloop, Some(props)).map_err(|e| e.to_string())?;
    let raw = ctx.as_raw_ptr();
    // SAFETY: a live context, before anything runs on it; NUL-terminated literals.
    unsafe {
        if pw::sys::pw_context_add_spa_lib(
            raw,
            c"audio.convert.*".as_ptr(),
            c"audioconvert/libspa-audioconvert".as_ptr(),
        ) < 0
        {
            return Err("cannot register the audio converter".into());
        }
        for module in [
            c"libpipewire-module-protocol-native",
            c"libpipewire-module-client-node",
            c"libpipewire-module-adapter",
            c"libpipewire-module-metadata",
        ] {
            let loaded = pw::sys::pw_context_load_module(
                raw,
                module.as_ptr(),
                std::ptr::null(),
                std::ptr::null_mut(),
            );
            if loaded.is_null() {
                return Err(format!("cannot load {}", module.to_string_lossy()));
            }
        }
    }
    Ok(ctx)
}

fn on_global(s: &Rc<Session>, g: &pw::registry::GlobalObject<&pw::spa::utils::dict::DictRef>) {
    let Some(props) = g.props else { return };
    let get = |k: &str| props.get(k).unwrap_or_default().to_owned();
    let mut graph = s.graph.borrow_mut();
    match g.type_ {
        pw::types::ObjectType::Node => {
            graph.nodes.insert(
                g.id,
                graph::Node {
                    name: get("node.name"),
                    class: get("media.class"),
                    app: get("application.name"),
                },
            );
        }
        pw::types::ObjectType::Port => {
            if let Ok(node) = get("node.id").parse() {
                graph.ports.insert(
                    g.id,
                    graph::Port {
                        node,
                        output: get("port.direction") == "out",
                        name: get("port.name"),
                    },
                );
            }
        }
        pw::types::ObjectType::Link => {
            if let (Ok(out), Ok(inn)) = (
                get("link.output.node").parse(),
                get("link.input.node").parse(),
            ) {
                graph.links.insert(g.id, (out, inn));
            }
        }
        pw::types::ObjectType::Metadata if get("metadata.name") == "default" => {
            drop(graph);
            bind_metadata(s, g);
        }
        _ => {}
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
