//! PipeWire capture streams on one shared connection, for the fewest wakeups.
//!
//! cpal's PipeWire host runs each stream on a main loop of its own, and without `RT_PROCESS`:
//! every graph cycle wakes two threads per stream (measured: four threads at 23 wakeups a
//! second each for the two sides of a call). Here every stream of the plugin lives on one
//! `pw_thread_loop` and one context, with `RT_PROCESS`: the process callbacks run on the
//! context's one data thread, and both sides are in one `node.group`, so a graph cycle wakes
//! that one thread. Devices are still found and described through cpal; only the stream is
//! native.
//!
//! Everything of PipeWire here is used under the thread loop's lock (or on its own threads),
//! which is what makes sharing it between the sides' supervisor threads sound.

use crate::graph::{self, Graph};
use crate::{Msg, Shared};
use onrecord_plugin::Sink;
use onrecord_pw::Global;
use pipewire as pw;
use pw::spa;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

pub(crate) struct Conn {
    pub(crate) tl: pw::thread_loop::ThreadLoopRc,
    _ctx: pw::context::ContextRc,
    pub(crate) core: pw::core::CoreRc,
    _core_listener: pw::core::Listener,
    /// The server went away (restarted): the next stream makes a new connection.
    pub(crate) dead: Arc<AtomicBool>,
    /// The graph as the registry and the `default` metadata say, for linking sides into the
    /// plugin's node (`node.rs`); kept by the listeners below, on the loop's thread.
    pub(crate) graph: Arc<Mutex<Graph>>,
    _registry: pw::registry::RegistryRc,
    _registry_listener: pw::registry::Listener,
    _metadata: Arc<Mutex<Option<(pw::metadata::Metadata, pw::metadata::MetadataListener)>>>,
    /// What watches the graph for a side's node or link going away.
    pub(crate) watchers: Arc<Mutex<Vec<crate::node::Watch>>>,
}

/// A `Conn` shared between threads.
pub(crate) struct SharedConn(pub(crate) Conn);
// SAFETY: the PipeWire objects inside are only touched with the thread loop's lock held (or
// by PipeWire on the loop's own threads).
unsafe impl Send for SharedConn {}
unsafe impl Sync for SharedConn {}

static CONN: Mutex<Option<Arc<SharedConn>>> = Mutex::new(None);

pub(crate) fn connection() -> Result<Arc<SharedConn>, String> {
    let mut current = CONN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = current.as_ref()
        && !c.0.dead.load(Ordering::Acquire)
    {
        return Ok(c.clone());
    }
    if let Some(old) = current.take() {
        // Its streams may still be dropping on other threads: stop the loop, keep the rest.
        old.0.tl.stop();
        std::mem::forget(old);
    }
    pw::init();
    // SAFETY: a new thread loop, with no properties.
    let tl = unsafe { pw::thread_loop::ThreadLoopRc::new(Some("onrecord-pipewire"), None) }
        .map_err(|e| format!("PipeWire: {e}"))?;
    // A context of only what a capture stream needs, else (a PipeWire packaged otherwise) the
    // default client configuration's.
    let ctx = match onrecord_pw::minimal_context(&tl) {
        Ok(ctx) => ctx,
        Err(_) => pw::context::ContextRc::new(&tl, None).map_err(|e| format!("PipeWire: {e}"))?,
    };
    tl.start();
    let lock = tl.lock();
    let core = ctx
        .connect_rc(None)
        .map_err(|e| format!("cannot reach the PipeWire server: {e}"))?;
    let dead = Arc::new(AtomicBool::new(false));
    let flag = dead.clone();
    let graph: Arc<Mutex<Graph>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicI32::new(-1));
    let (rate_graph, sync_done, sync_tl) = (graph.clone(), done.clone(), tl.clone());
    let listener = core
        .add_listener_local()
        .error(move |id, _seq, _res, _msg| {
            if id == pw::core::PW_ID_CORE {
                flag.store(true, Ordering::Release);
            }
        })
        .info(move |info| {
            let rate = info
                .props()
                .and_then(|p| p.get("default.clock.rate"))
                .and_then(|r| r.parse().ok());
            if let Some(rate) = rate {
                lock_graph(&rate_graph).clock_rate = Some(rate);
            }
        })
        .done(move |id, seq| {
            if id == pw::core::PW_ID_CORE {
                sync_done.store(seq.seq(), Ordering::Release);
                sync_tl.signal(false);
            }
        })
        .register();
    let watchers: Arc<Mutex<Vec<crate::node::Watch>>> = Arc::default();
    let metadata: Arc<Mutex<Option<_>>> = Arc::default();
    let registry = core
        .get_registry_rc()
        .map_err(|e| format!("PipeWire registry: {e}"))?;
    let registry_listener = watch_graph(&core, &registry, &graph, &watchers, &metadata, &tl);
    // Every global is announced before the answer to a first round trip, and the default
    // metadata (bound on its global) has said its values before the answer to a second.
    for _ in 0..2 {
        let pending = core.sync(0).map_err(|e| format!("PipeWire: {e}"))?.seq();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while done.load(Ordering::Acquire) != pending && std::time::Instant::now() < deadline {
            tl.timed_wait(std::time::Duration::from_millis(100));
        }
    }
    drop(lock);
    let conn = Arc::new(SharedConn(Conn {
        tl,
        _ctx: ctx,
        core,
        _core_listener: listener,
        dead,
        graph,
        _registry: registry,
        _registry_listener: registry_listener,
        _metadata: metadata,
        watchers,
    }));
    *current = Some(conn.clone());
    Ok(conn)
}

pub(crate) fn lock_graph(g: &Mutex<Graph>) -> std::sync::MutexGuard<'_, Graph> {
    g.lock().unwrap_or_else(|p| p.into_inner())
}

type MetadataSlot = Arc<Mutex<Option<(pw::metadata::Metadata, pw::metadata::MetadataListener)>>>;

/// Keeps `graph` as the registry says, binds the `default` metadata for the default devices,
/// and tells the watchers of a side whose node or link went away, or whose default device or
/// application's microphone moved. On the loop's thread; each
/// change wakes whoever waits on the loop.
fn watch_graph(
    core: &pw::core::CoreRc,
    registry: &pw::registry::RegistryRc,
    graph: &Arc<Mutex<Graph>>,
    watchers: &Arc<Mutex<Vec<crate::node::Watch>>>,
    metadata: &MetadataSlot,
    tl: &pw::thread_loop::ThreadLoopRc,
) -> pw::registry::Listener {
    let (g_add, g_rm, w_add, w_rm, md, tl_add, tl_rm) = (
        graph.clone(),
        graph.clone(),
        watchers.clone(),
        watchers.clone(),
        metadata.clone(),
        tl.clone(),
        tl.clone(),
    );
    let reg = registry.downgrade();
    let md_watchers = watchers.clone();
    let (core_add, core_md, core_rm) = (core.downgrade(), core.downgrade(), core.downgrade());
    registry
        .add_listener_local()
        .global(move |g| {
            let Some(props) = g.props else { return };
            let mut graph = lock_graph(&g_add);
            match onrecord_pw::global(&g.type_, |k| props.get(k)) {
                Some(Global::Node(node)) => {
                    graph.nodes.insert(g.id, node);
                }
                Some(Global::Port(port)) => {
                    graph.ports.insert(g.id, port);
                }
                Some(Global::Link(link)) => {
                    let (out, inn) = (link.output_port, link.input_port);
                    graph.links.insert(g.id, (out, inn));
                    drop(graph);
                    crate::node::linked(g.id, out, inn, &w_add);
                    // An application's stream linked to another source.
                    if let Some(core) = core_add.upgrade() {
                        crate::node::follow(&g_add, &w_add, &core);
                    }
                    tl_add.signal(false);
                    return;
                }
                Some(Global::DefaultMetadata) => {
                    drop(graph);
                    if let Some(reg) = reg.upgrade()
                        && let Ok(m) = reg.bind::<pw::metadata::Metadata, _>(g)
                    {
                        let (graph, watchers, tl, core) = (
                            g_add.clone(),
                            md_watchers.clone(),
                            tl_add.clone(),
                            core_md.upgrade().map(|c| c.downgrade()),
                        );
                        let l = m
                            .add_listener_local()
                            .property(move |subject, key, _type, value| {
                                if subject != 0 {
                                    return 0;
                                }
                                let name = value.and_then(graph::json_name);
                                let mut g = lock_graph(&graph);
                                match key {
                                    Some("default.audio.source") => g.default_source = name,
                                    Some("default.audio.sink") => g.default_sink = name,
                                    None => (g.default_source, g.default_sink) = (None, None),
                                    _ => return 0,
                                }
                                drop(g);
                                if let Some(core) = core.as_ref().and_then(|c| c.upgrade()) {
                                    crate::node::follow(&graph, &watchers, &core);
                                }
                                tl.signal(false);
                                0
                            })
                            .register();
                        *md.lock().unwrap_or_else(|p| p.into_inner()) = Some((m, l));
                    }
                    tl_add.signal(false);
                    return;
                }
                None => {}
            }
            drop(graph);
            // A node or port a side that follows something may now be linked from.
            if let Some(core) = core_add.upgrade() {
                crate::node::follow(&g_add, &w_add, &core);
            }
            tl_add.signal(false);
        })
        .global_remove(move |id| {
            lock_graph(&g_rm).remove(id);
            crate::node::removed(id, &w_rm);
            if let Some(core) = core_rm.upgrade() {
                crate::node::follow(&g_rm, &w_rm, &core);
            }
            tl_rm.signal(false);
        })
        .register()
}

struct Data {
    sink: Sink,
    shared: Arc<Shared>,
    lost: mpsc::Sender<Msg>,
    streaming: bool,
    /// Set before we disconnect it ourselves: that is not a lost device.
    closing: Arc<AtomicBool>,
    label: String,
}

/// One capture stream; dropping it disconnects it.
pub struct Stream {
    conn: Arc<SharedConn>,
    closing: Arc<AtomicBool>,
    stream: Option<pw::stream::StreamRc>,
    listener: Option<pw::stream::StreamListener<Data>>,
}

/// What to capture: a node by name (`None`: the default), as its monitor if it is a sink.
pub struct Target {
    pub node: Option<String>,
    pub monitor: bool,
    pub label: String,
}

/// Opens and starts a stream of `channels` of i16 or f32 (`float`) at `rate`, delivering
/// `period` frames a cycle when the graph allows.
#[allow(clippy::too_many_arguments)]
pub fn open(
    target: Target,
    float: bool,
    rate: u32,
    channels: u32,
    period: u32,
    sink: Sink,
    shared: Arc<Shared>,
    lost: mpsc::Sender<Msg>,
) -> Result<Stream, String> {
    let conn = connection()?;
    let c = &conn.0;
    let _lock = c.tl.lock();
    let mut props = pw::properties::properties! {
        *pw::keys::MEDIA_TYPE => "Audio",
        *pw::keys::MEDIA_CATEGORY => "Capture",
        // No media.role: with `Communication`, WirePlumber's Bluetooth policy switches a
        // headset to its low-quality call profile for this stream (and its role policies may
        // override `target.object`). A recorder is not a party to the call.
        *pw::keys::NODE_NAME => "onrecord",
        *pw::keys::NODE_LATENCY => format!("{period}/{rate}"),
        "node.group" => format!("onrecord-{}", std::process::id()),
    };
    if let Some(node) = &target.node {
        props.insert(*pw::keys::TARGET_OBJECT, node.as_str());
        props.insert(*pw::keys::NODE_DONT_RECONNECT, "true");
    }
    if target.monitor {
        props.insert(*pw::keys::STREAM_CAPTURE_SINK, "true");
    }
    let stream = pw::stream::StreamRc::new(c.core.clone(), "onrecord-capture", props)
        .map_err(|e| format!("PipeWire: {e}"))?;
    let frame_bytes = (if float { 4 } else { 2 }) * channels as usize;
    let closing = Arc::new(AtomicBool::new(false));
    let data = Data {
        sink,
        shared,
        lost,
        streaming: false,
        closing: closing.clone(),
        label: target.label,
    };
    let listener = stream
        .add_local_listener_with_user_data(data)
        .state_changed(|_, d, _old, new| match new {
            _ if d.closing.load(Ordering::Acquire) => {}
            pw::stream::StreamState::Streaming => d.streaming = true,
            pw::stream::StreamState::Error(e) => {
                let _ = d.lost.send(Msg::Lost(format!("{}: {e}", d.label)));
            }
            pw::stream::StreamState::Unconnected if d.streaming => {
                d.streaming = false;
                let _ = d.lost.send(Msg::Lost("Device disconnected".into()));
            }
            _ => {}
        })
        // On the data thread (RT_PROCESS): no allocation, lock or log.
        .process(move |stream, d| {
            let Some(mut buffer) = stream.dequeue_buffer() else {
                return;
            };
            if !d.shared.delivering.load(Ordering::Acquire) {
                return;
            }
            let captured = stream.time().ok().and_then(|t| {
                let denom = t.rate().denom as i64;
                (t.now() > 0 && denom > 0)
                    .then(|| t.now() - t.delay() * 1_000_000_000 / denom)
                    .filter(|&c| c > 0)
            });
            let datas = buffer.datas_mut();
            let Some(first) = datas.first_mut() else {
                return;
            };
            let (offset, size) = (
                first.chunk().offset() as usize,
                first.chunk().size() as usize,
            );
            if let Some(bytes) = first.data() {
                let end = (offset + size).min(bytes.len());
                let bytes = &bytes[offset.min(end)..end];
                let frames = bytes.len() / frame_bytes;
                let bytes = &bytes[..frames * frame_bytes];
                match captured {
                    Some(t) => d.sink.deliver_at(bytes, frames, t as u64),
                    None => d.sink.deliver(bytes, frames),
                }
            }
        })
        .register()
        .map_err(|e| format!("PipeWire: {e}"))?;
    let mut info = spa::param::audio::AudioInfoRaw::new();
    info.set_format(if float {
        spa::param::audio::AudioFormat::F32LE
    } else {
        spa::param::audio::AudioFormat::S16LE
    });
    info.set_rate(rate);
    info.set_channels(channels);
    let values = onrecord_pw::format_pod(info)?;
    let mut params = [spa::pod::Pod::from_bytes(&values).ok_or("PipeWire format")?];
    stream
        .connect(
            spa::utils::Direction::Input,
            None,
            pw::stream::StreamFlags::AUTOCONNECT
                | pw::stream::StreamFlags::MAP_BUFFERS
                | pw::stream::StreamFlags::RT_PROCESS,
            &mut params,
        )
        .map_err(|e| format!("cannot connect the stream: {e}"))?;
    drop(_lock);
    Ok(Stream {
        conn: conn.clone(),
        closing,
        stream: Some(stream),
        listener: Some(listener),
    })
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Release);
        let _lock = self.conn.0.tl.lock();
        if let Some(s) = self.stream.take() {
            let _ = s.disconnect();
            drop(self.listener.take());
            drop(s);
        }
    }
}

/// The newest playback stream of the application `app` (`application.name`): its
/// `object.serial` (serials only grow). What a `pipewire-app:` side opens, and opens again
/// when the application replaces its stream mid-call.
pub fn app_stream(app: &str) -> Result<String, String> {
    let conn = connection()?;
    let c = &conn.0;
    let found: Arc<Mutex<Option<u64>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let lock = c.tl.lock();
    let registry = c
        .core
        .get_registry_rc()
        .map_err(|e| format!("PipeWire registry: {e}"))?;
    let (seen, wanted) = (found.clone(), app.to_owned());
    let registry_listener = registry
        .add_listener_local()
        .global(move |g| {
            let Some(props) = g.props else { return };
            let ours = g.type_ == pw::types::ObjectType::Node
                && props.get("application.name") == Some(wanted.as_str())
                && props.get("media.class") == Some("Stream/Output/Audio");
            let serial = props
                .get("object.serial")
                .and_then(|s| s.parse::<u64>().ok());
            if let (true, Some(serial)) = (ours, serial) {
                let mut best = seen.lock().unwrap_or_else(|p| p.into_inner());
                *best = Some(best.map_or(serial, |b| b.max(serial)));
            }
        })
        .register();
    // Every global the server had is announced before its answer to this sync.
    let pending = c.core.sync(0).map_err(|e| format!("PipeWire: {e}"))?;
    let (flag, tl) = (done.clone(), c.tl.clone());
    let core_listener = c
        .core
        .add_listener_local()
        .done(move |id, seq| {
            if id == pw::core::PW_ID_CORE && seq == pending {
                flag.store(true, Ordering::Release);
                tl.signal(false);
            }
        })
        .register();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !done.load(Ordering::Acquire) && std::time::Instant::now() < deadline {
        c.tl.timed_wait(std::time::Duration::from_millis(200));
    }
    drop(core_listener);
    drop(registry_listener);
    drop(registry);
    drop(lock);
    let serial = *found.lock().unwrap_or_else(|p| p.into_inner());
    serial
        .map(|s| s.to_string())
        .ok_or_else(|| format!("{app:?} has no playback stream on PipeWire"))
}

/// The `object.serial` of the node `want` names now, from the shared connection's graph.
pub fn serial_of(want: &crate::graph::Want) -> Option<String> {
    let conn = connection().ok()?;
    let _lock = conn.0.tl.lock();
    let g = lock_graph(&conn.0.graph);
    let node = g.node(want)?;
    Some(g.nodes.get(&node)?.serial.to_string())
}
