//! onrecord's virtual microphone on PipeWire, run by onrecordd while a call is active: a
//! shared library the daemon loads when a call needs it (`libonrecord_mic.so`: the daemon does
//! not link libpipewire, and an idle daemon maps none of it), whose [`onrecord_mic_serve`] runs
//! on a thread of the daemon and speaks lines over a socket; and the program `onrecord-mic`
//! (the same code, on stdin and stdout) for the one-shot modes below and for use by hand.
//!
//! It makes a virtual source, "onrecord microphone" (`onrecord_mic`, `Audio/Source/Virtual`),
//! carries the user's microphone (the default source) into it while anything but onrecord reads
//! it (unread, it has no links and the graph does not run it), and plays announcements into
//! it: a softphone that records from it sends the user's voice and the announcement to the
//! other side. The user hears a quieter copy on the default sink. Optionally it makes the
//! virtual microphone the default source, and restores the previous default when it ends.
//!
//! The daemon talks to it by lines. In (stdin, or the socket):
//! - `play ID CLIP`: play `CLIP` (`builtin:<lang>-<notice|started>`, or a WAV or FLAC file);
//! - `move APP`: move the application's capture streams (a softphone's microphone) onto the
//!   virtual microphone, which then carries the source they read (a stream not linked yet, as
//!   one just made, is waited for up to 2 s, and announcements with it); they are moved back
//!   (their target removed) when the helper ends;
//! - `kept`: the previous default (said as `previous`) is kept where it survives a crash: with
//!   `--set-default`, the virtual microphone becomes the default source only then, so that a
//!   crash at any moment leaves a default that can be given back;
//! - `quit`, or the end of its input (the daemon ended): restore and end.
//!
//! Out (stdout, or the socket; it closes when the microphone has ended):
//! - `ready MIC`: the virtual microphone is up, carrying `MIC` (`-`: no microphone);
//! - `previous VALUE`: with `--set-default`, the configured default source before (a JSON value,
//!   `-` for none, `stale` when it already named the virtual microphone); ours is set on `kept`;
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
mod session;

use pipewire as pw;
use session::{Session, on_global};
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};

pub(crate) const NAME: &str = "onrecord_mic";
pub(crate) const DEFAULT_SOURCE: &str = "default.configured.audio.source";

enum Input {
    Play(String, String),
    Move(String),
    Kept,
    Quit,
}

thread_local! {
    /// Where this thread's session speaks: stdout by default, the daemon's socket in a thread
    /// of the daemon.
    static OUT: RefCell<Option<Box<dyn Write>>> = const { RefCell::new(None) };
}

pub fn say(line: &str) {
    OUT.with_borrow_mut(|out| {
        let mut stdout;
        let out: &mut dyn Write = match out {
            Some(out) => out.as_mut(),
            None => {
                stdout = std::io::stdout().lock();
                &mut stdout
            }
        };
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    });
}

/// What a session is asked to do: the program's arguments, or the daemon's.
pub struct Args {
    pub set_default: bool,
    pub monitor_gain: f32,
    pub restore: Option<String>,
    pub record: Option<(String, f64)>,
}

/// The program's arguments.
pub fn args(from: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        set_default: false,
        monitor_gain: 0.3,
        restore: None,
        record: None,
    };
    let mut seconds = 5.0;
    let mut it = from;
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

/// The daemon's entry point: runs the virtual microphone on the calling thread until `quit` or
/// the end of its input, reading commands from `input_fd` and saying what happens on
/// `output_fd` (both become the session's and are closed when it ends: the end of its output
/// is the end of the microphone). 0 when it ran, 1 when it could not start (said as `fatal`),
/// 2 for a bad argument.
///
/// # Safety
/// `input_fd` and `output_fd` are open file descriptors the caller gives up.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn onrecord_mic_serve(
    set_default: bool,
    monitor_gain: f32,
    input_fd: std::os::raw::c_int,
    output_fd: std::os::raw::c_int,
) -> std::os::raw::c_int {
    use std::os::fd::FromRawFd;
    // SAFETY: the caller gives both up to us.
    let (input, output) = unsafe {
        (
            std::fs::File::from_raw_fd(input_fd),
            std::fs::File::from_raw_fd(output_fd),
        )
    };
    if !(0.0..=1.0).contains(&monitor_gain) {
        return 2;
    }
    let args = Args {
        set_default,
        monitor_gain,
        restore: None,
        record: None,
    };
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        OUT.set(Some(Box::new(output)));
        let ran = run(args, std::io::BufReader::new(input));
        if let Err(e) = &ran {
            say(&format!("fatal {e}"));
        }
        // Closing the output says the microphone has ended.
        OUT.set(None);
        ran
    }));
    match ran {
        Ok(Ok(())) => 0,
        _ => 1,
    }
}

/// Runs a session on this thread, its commands from `input` (read on a thread of its own).
pub fn run(args: Args, input: impl std::io::BufRead + Send + 'static) -> Result<(), String> {
    pw::init();
    let mainloop = pw::main_loop::MainLoopRc::new(None).map_err(|e| format!("PipeWire: {e}"))?;
    let context = match onrecord_pw::minimal_context(&mainloop) {
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
        mic_node: Cell::default(),
        mic_link: RefCell::default(),
        ready: Cell::new(false),
        set_default: args.set_default,
        previous: RefCell::default(),
        monitor_gain: args.monitor_gain,
        players: RefCell::default(),
        playing: RefCell::default(),
        queue: RefCell::default(),
        carry: RefCell::default(),
        moved: RefCell::default(),
        to_move: RefCell::default(),
        moving_until: Cell::new(None),
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
                    // Below any device, for the session manager's choice of a default (a
                    // source without a priority still ranks below it: `fallback_microphone`).
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

    // Commands from a thread that reads the input; its end is a quit.
    // (Not in `--restore-default`, which ends by itself.)
    let (tx, rx) = pw::channel::channel::<Input>();
    let reading = s.restore.is_none();
    std::thread::spawn(move || {
        if !reading {
            return;
        }
        for line in input.lines() {
            let Ok(line) = line else { break };
            let mut words = line.splitn(3, ' ');
            let input = match (words.next(), words.next(), words.next()) {
                (Some("play"), Some(id), Some(clip)) => Input::Play(id.into(), clip.into()),
                (Some("quit"), None, None) => Input::Quit,
                (Some("kept"), None, None) => Input::Kept,
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
            Input::Move(app) => {
                s.to_move.borrow_mut().push((app, Instant::now()));
                s.tick();
            }
            Input::Kept => s.set_ours(),
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
