//! Calls in softphones and browsers, from their audio streams on PipeWire: a reader of
//! PipeWire's registry, a task that registry events wake (nothing polls), whose findings go to
//! the pure [`Tracker`](super::streams::Tracker) and from there to the owner.

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

/// Watches PipeWire's registry, sending what it sees to `seen`: a task reading the socket
/// (nothing polls; see [`pw_wire`](super::pw_wire)). When PipeWire is not running, or goes away
/// (a restart), it waits for the socket to appear (inotify, on a thread of its own) and connects
/// again.
pub fn watch(seen: mpsc::UnboundedSender<Seen>) {
    tokio::spawn(async move {
        loop {
            match run(&seen).await {
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
            // A thread of its own rather than the runtime's blocking pool, which a shutdown
            // would wait for.
            let (done, waited) = tokio::sync::oneshot::channel();
            let spawned = std::thread::Builder::new()
                .name("onrecord-wait-pw".into())
                .spawn(move || done.send(wait_for_server()));
            let waited = match spawned {
                Ok(_) => waited.await,
                Err(e) => Ok(Err(e.to_string())),
            };
            match waited {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    return tracing::warn!(
                        "cannot watch for PipeWire ({e}): calls in softphones and browsers are not detected"
                    );
                }
                Err(_) => return,
            }
        }
    });
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

/// What a registry global is to the tracker, if anything.
fn seen_of(id: u32, kind: &str, props: &[(String, String)]) -> Option<Seen> {
    let get = |k: &str| {
        props
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    match kind {
        "PipeWire:Interface:Node" => match Stream::from_props(get) {
            Some(stream) => Some(Seen::Added(id, stream)),
            None if get("media.class").is_some_and(|c| c.starts_with("Audio/Source")) => {
                Some(Seen::Source(id, get("object.serial").unwrap_or_default()))
            }
            None => None,
        },
        // The process PipeWire saw connect (the socket's peer), not what the client claims.
        "PipeWire:Interface:Client" => get("pipewire.sec.pid")
            .and_then(|p| p.parse().ok())
            .map(|pid| Seen::Client(id, pid)),
        "PipeWire:Interface:Link" => {
            let node = |k: &str| get(k).and_then(|v| v.parse::<u32>().ok());
            match (node("link.output.node"), node("link.input.node")) {
                (Some(from), Some(to)) => Some(Seen::Link(id, from, to)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// One connection: reads the registry until the server goes away (`Ok`) or cannot be reached.
async fn run(seen: &mpsc::UnboundedSender<Seen>) -> Result<(), String> {
    use super::pw_wire::{Event, Writer, next_message};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let path = socket().ok_or("no XDG_RUNTIME_DIR")?;
    let mut conn = tokio::net::UnixStream::connect(&path)
        .await
        .map_err(|e| format!("no PipeWire server at {} ({e})", path.display()))?;
    let mut out = Writer::default();
    out.start(&[
        ("application.name", "onrecordd"),
        ("application.process.id", &std::process::id().to_string()),
    ]);
    conn.write_all(&out.take())
        .await
        .map_err(|e| format!("PipeWire refused the connection ({e})"))?;
    tracing::info!("detecting calls in softphones and browsers (PipeWire)");
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    loop {
        match conn.read_buf(&mut buf).await {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("reading from PipeWire: {e}");
                return Ok(());
            }
        }
        let mut used = 0;
        while let Some((msg, len)) = next_message(&buf[used..])? {
            used += len;
            match Event::of(&msg) {
                Event::Global { id, kind, props } => {
                    if let Some(s) = seen_of(id, &kind, &props) {
                        let _ = seen.send(s);
                    }
                }
                Event::Removed(id) => {
                    let _ = seen.send(Seen::Removed(id));
                }
                Event::Ping { id, seq } => out.pong(id, seq),
                Event::Error { id: 0, message } => {
                    tracing::warn!("PipeWire connection lost ({message})");
                    return Ok(());
                }
                Event::Error { id, message } => {
                    tracing::debug!("PipeWire: error on object {id}: {message}")
                }
                Event::Other => {}
            }
        }
        buf.drain(..used);
        let pending = out.take();
        if !pending.is_empty() {
            conn.write_all(&pending)
                .await
                .map_err(|e| format!("writing to PipeWire: {e}"))?;
        }
    }
}
