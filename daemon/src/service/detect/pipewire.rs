//! Calls in softphones and browsers, from their audio streams on PipeWire: a client of
//! PipeWire's registry, on a thread of its own that registry events wake (nothing polls), whose
//! findings go to the pure [`Tracker`](super::streams::Tracker) and from there to the owner.

use super::super::owner::{Command, Detection};
use super::streams::{Change, Seen, Stream, Tracker};
use crate::calls::Detected;
use onrecord_interface::DetectedBy;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

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
                Change::Began(app, sides) => Detection::Began {
                    detected: Detected {
                        by: DetectedBy::PipeWire,
                        key: key(&app),
                        pid: tracker.pid_of(&app),
                        application: app,
                        direction: String::new(),
                        far_side: sides.far_side.unwrap_or_default(),
                        microphone: sides.microphone.unwrap_or_default(),
                        pipewire_app: String::new(),
                        address: String::new(),
                        linked: Vec::new(),
                    },
                    number: None,
                },
                Change::Sides(app, sides) => Detection::Sides {
                    by: DetectedBy::PipeWire,
                    key: key(&app),
                    far_side: sides.far_side.unwrap_or_default(),
                    microphone: sides.microphone.unwrap_or_default(),
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
            let Some(props) = g.props else {
                return;
            };
            let get = |k: &str| props.get(k).map(str::to_owned);
            let seen = match g.type_ {
                pw::types::ObjectType::Node => match Stream::from_props(get) {
                    Some(stream) => Seen::Added(g.id, stream),
                    None if get("media.class").is_some_and(|c| c.starts_with("Audio/Source")) => {
                        Seen::Source(g.id, get("object.serial").unwrap_or_default())
                    }
                    None => return,
                },
                pw::types::ObjectType::Client => {
                    match get("pipewire.sec.pid").and_then(|p| p.parse().ok()) {
                        Some(pid) => Seen::Client(g.id, pid),
                        None => return,
                    }
                }
                pw::types::ObjectType::Link => {
                    let node = |k: &str| get(k).and_then(|v| v.parse::<u32>().ok());
                    match (node("link.output.node"), node("link.input.node")) {
                        (Some(from), Some(to)) => Seen::Link(g.id, from, to),
                        _ => return,
                    }
                }
                _ => return,
            };
            let _ = added.send(seen);
        })
        .global_remove(move |id| {
            let _ = removed.send(Seen::Removed(id));
        })
        .register();
    tracing::info!("detecting calls in softphones and browsers (PipeWire)");
    main_loop.run();
    Ok(())
}
