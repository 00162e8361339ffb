//! Every side of every call in one PipeWire node: a `pw_filter` with one DSP input port per
//! side (f32 mono at the graph's rate), which the plugin links itself from each side's source.
//! A graph cycle then wakes one node: one process callback carries every side with one capture
//! time, and no format conversion runs here (the sources' adapters already give DSP f32).
//!
//! pipewire-rs 0.10 has no filter wrapper, so the raw `pw_filter_*` calls are here, always under
//! the thread loop's lock. The process callback (`RT_PROCESS`, on the data thread) reads the
//! sides through atomic pointers; a side is removed only once the callback is not running.
//!
//! A side's source going away (its node or its link removed) is reported as lost to its
//! supervisor, which opens it again (and finds the new default, the application's new stream
//! or source). A side that follows something (the default device, an application's playback
//! or microphone) and finds it moved is linked from the new device before its old link goes
//! (`follow`): no cycle without a source linked.
//!
//! The move can still leave a short gap: when the device it moves from was what drove the
//! graph, PipeWire hands the node to another driver, whose cycles run at another phase. The
//! process callback sees the driver change (the clock's id) and the pause in the capture
//! times, and the loop thread tells every side (`Msg::Clock`): the host keeps the pause as
//! silence at its time, and the timeline says why.

use crate::graph::{Graph, Want};
use crate::native::{SharedConn, connection, lock_graph};
use crate::{Msg, Shared};
use onrecord_plugin::Sink;
use pipewire as pw;
use pw::spa::sys as spa_sys;
use pw::sys;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::{Duration, Instant};

const SLOTS: usize = 16;

/// One side, as the data thread sees it.
struct Slot {
    port: *mut c_void,
    sink: Sink,
    shared: Arc<Shared>,
    rate: u32,
}

/// What the process callback reads.
struct FilterData {
    slots: [AtomicPtr<Slot>; SLOTS],
    /// Set while the process callback runs.
    busy: AtomicBool,
    /// The driver of the last cycle (its node id; `PW_ID_ANY` before the first) and when the
    /// frames after that cycle's were due (capture time, ns).
    driver: AtomicU32,
    due: AtomicU64,
    /// The last change of driver while a side delivered (from, to, the pause in the capture
    /// times in ns), and how many there were and how many the sides were told of.
    handover: [AtomicU32; 2],
    pause_ns: AtomicI64,
    handovers: AtomicU64,
    told: AtomicU64,
    /// Wakes the loop thread to tell the sides of a handover: the filter's `EventSource`,
    /// null until it exists.
    wake: AtomicPtr<pw::loop_::EventSource<'static>>,
}

impl FilterData {
    fn new() -> FilterData {
        FilterData {
            slots: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            busy: AtomicBool::new(false),
            driver: AtomicU32::new(sys::PW_ID_ANY),
            due: AtomicU64::new(0),
            handover: [AtomicU32::new(0), AtomicU32::new(0)],
            pause_ns: AtomicI64::new(0),
            handovers: AtomicU64::new(0),
            told: AtomicU64::new(0),
            wake: AtomicPtr::new(std::ptr::null_mut()),
        }
    }
}

/// The node, while any side uses it.
struct Filter {
    raw: *mut sys::pw_filter,
    /// What `FilterData::wake` points to; it borrows the connection's loop, which `conn`
    /// keeps alive, and goes before `data`.
    event: Option<Box<pw::loop_::EventSource<'static>>>,
    _hook: Box<spa_sys::spa_hook>,
    _events: Box<sys::pw_filter_events>,
    data: Box<FilterData>,
    conn: Arc<SharedConn>,
}

// SAFETY: the raw filter is only touched under the thread loop's lock; `data` is atomics and
// the slots, which the data thread only reads.
unsafe impl Send for Filter {}
unsafe impl Sync for Filter {}

impl Drop for Filter {
    fn drop(&mut self) {
        let _lock = self.conn.0.tl.lock();
        self.data.wake.store(std::ptr::null_mut(), Ordering::SeqCst);
        // SAFETY: our filter, destroyed once, under the lock.
        unsafe {
            sys::pw_filter_disconnect(self.raw);
            sys::pw_filter_destroy(self.raw);
        }
        // No callback runs any more: the event can go, before the data its callback reads.
        drop(self.event.take());
    }
}

static FILTER: Mutex<Weak<Filter>> = Mutex::new(Weak::new());

/// The process callback, on the data thread: every side's buffer of this cycle to its sink.
unsafe extern "C" fn process(data: *mut c_void, position: *mut spa_sys::spa_io_position) {
    if data.is_null() || position.is_null() {
        return;
    }
    // SAFETY: `data` is the filter's `FilterData`, alive while the filter is; `position` is
    // PipeWire's for this cycle.
    let (d, clock) = unsafe { (&*(data as *const FilterData), &(*position).clock) };
    let n = clock.duration as usize;
    let denom = u64::from(clock.rate.denom.max(1));
    // When this cycle's first frame was captured: the cycle's time less the source's delay.
    let captured = clock
        .nsec
        .saturating_sub(clock.delay.max(0) as u64 * 1_000_000_000 / denom);
    let driver = d.driver.swap(clock.id, Ordering::Relaxed);
    let due = d.due.swap(
        captured + n as u64 * 1_000_000_000 / denom,
        Ordering::Relaxed,
    );
    let mut delivered = false;
    d.busy.store(true, Ordering::SeqCst);
    for s in &d.slots {
        let p = s.load(Ordering::SeqCst);
        if p.is_null() {
            continue;
        }
        // SAFETY: a slot stays alive until it is cleared and the callback is not busy.
        let slot = unsafe { &*p };
        if !slot.shared.delivering.load(Ordering::Acquire) || clock.rate.denom != slot.rate {
            continue;
        }
        // SAFETY: the port is ours; NULL while it is not linked.
        let buf = unsafe { sys::pw_filter_get_dsp_buffer(slot.port, n as u32) } as *const u8;
        if buf.is_null() || n == 0 {
            continue;
        }
        // SAFETY: a DSP buffer holds `n` f32 samples.
        let bytes = unsafe { std::slice::from_raw_parts(buf, n * 4) };
        slot.sink.deliver_at(bytes, n, captured);
        delivered = true;
    }
    if delivered && driver != clock.id && driver != sys::PW_ID_ANY {
        d.handover[0].store(driver, Ordering::Relaxed);
        d.handover[1].store(clock.id, Ordering::Relaxed);
        d.pause_ns
            .store(captured as i64 - due as i64, Ordering::Relaxed);
        d.handovers.fetch_add(1, Ordering::Release);
        let wake = d.wake.load(Ordering::Acquire);
        if !wake.is_null() {
            // SAFETY: the event source lives until the filter is disconnected (and this
            // callback with it); signalling it writes an eventfd: no lock, no allocation.
            let _ = unsafe { &*wake }.signal();
        }
    }
    d.busy.store(false, Ordering::SeqCst);
}

/// On the loop thread, woken by the process callback: every side is told that the node's
/// driver changed, and by how much its capture times paused.
fn tell_handover(d: &FilterData, graph: &Mutex<Graph>, watchers: &Mutex<Vec<Watch>>) {
    let count = d.handovers.load(Ordering::Acquire);
    let told = d.told.swap(count, Ordering::Relaxed);
    if count == told {
        return;
    }
    let [from, to] = [0, 1].map(|i| d.handover[i].load(Ordering::Relaxed));
    let pause_ms = d.pause_ns.load(Ordering::Relaxed) as f64 / 1e6;
    let g = lock_graph(graph);
    let name = |id: u32| {
        g.nodes
            .get(&id)
            .map_or_else(|| format!("node {id}"), |n| n.name.clone())
    };
    let pause = if pause_ms >= 0.0 {
        format!("no graph cycle for {pause_ms:.1} ms, kept as silence at its time")
    } else {
        format!("the capture times step back {:.1} ms", -pause_ms)
    };
    let more = match count - told {
        1 => String::new(),
        n => format!(" ({n} changes)"),
    };
    let msg = format!(
        "PipeWire moved onrecord's node to another driver, from {} to {}{more}: {pause}",
        name(from),
        name(to)
    );
    drop(g);
    for w in watchers.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ = w.lost.send(Msg::Clock(msg.clone()));
    }
}

/// The node on `conn`, made and connected if there is none. Under the lock.
fn filter_for(conn: &Arc<SharedConn>, latency: &str) -> Result<Arc<Filter>, String> {
    let mut current = FILTER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(f) = current.upgrade()
        && Arc::ptr_eq(&f.conn, conn)
    {
        return Ok(f);
    }
    let c = &conn.0;
    let props = pw::properties::properties! {
        *pw::keys::MEDIA_TYPE => "Audio",
        *pw::keys::MEDIA_CATEGORY => "Capture",
        *pw::keys::MEDIA_CLASS => "Stream/Input/Audio",
        *pw::keys::NODE_NAME => "onrecord",
        *pw::keys::NODE_LATENCY => latency,
        // The plugin links every port itself.
        "node.autoconnect" => "false",
    };
    let data = Box::new(FilterData::new());
    // SAFETY: zeroed C structs (all fields optional or plain), filled as pw_filter expects;
    // they live in the `Filter` as long as the filter.
    let (mut hook, mut events) = unsafe {
        (
            Box::new(std::mem::zeroed::<spa_sys::spa_hook>()),
            Box::new(std::mem::zeroed::<sys::pw_filter_events>()),
        )
    };
    events.version = sys::PW_VERSION_FILTER_EVENTS;
    events.process = Some(process);
    // SAFETY: a live core, under the lock; the name is NUL-terminated.
    let raw =
        unsafe { sys::pw_filter_new(c.core.as_raw_ptr(), c"onrecord".as_ptr(), props.into_raw()) };
    if raw.is_null() {
        return Err("PipeWire: cannot make the capture node".into());
    }
    // SAFETY: as above; `data` outlives the filter (both in `Filter`).
    let connected = unsafe {
        sys::pw_filter_add_listener(
            raw,
            &mut *hook,
            &*events,
            &*data as *const FilterData as *mut c_void,
        );
        sys::pw_filter_connect(
            raw,
            sys::pw_filter_flags_PW_FILTER_FLAG_RT_PROCESS,
            std::ptr::null_mut(),
            0,
        )
    };
    // Woken by the process callback when the node's driver changes; it reads `data`, which
    // outlives it (see `Filter`).
    let (graph, watchers) = (c.graph.clone(), c.watchers.clone());
    let d = &*data as *const FilterData as usize;
    let event = c.tl.loop_().add_event(move || {
        // SAFETY: see above.
        tell_handover(unsafe { &*(d as *const FilterData) }, &graph, &watchers)
    });
    // SAFETY: the event borrows the connection's loop, which the filter's `conn` keeps alive
    // for as long as the event (dropped first, in `Filter::drop`).
    let event = Box::new(unsafe {
        std::mem::transmute::<pw::loop_::EventSource<'_>, pw::loop_::EventSource<'static>>(event)
    });
    data.wake
        .store(&*event as *const _ as *mut _, Ordering::Release);
    let filter = Arc::new(Filter {
        raw,
        event: Some(event),
        _hook: hook,
        _events: events,
        data,
        conn: conn.clone(),
    });
    if connected < 0 {
        return Err(format!(
            "PipeWire: cannot connect the capture node ({connected})"
        ));
    }
    *current = Arc::downgrade(&filter);
    Ok(filter)
}

/// Waits (under the lock, which the wait releases) until `f` finds something in the graph.
fn wait_for<T>(
    conn: &SharedConn,
    what: &str,
    f: impl Fn(&Graph) -> Option<T>,
) -> Result<T, String> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Some(v) = f(&lock_graph(&conn.0.graph)) {
            return Ok(v);
        }
        if Instant::now() > deadline || conn.0.dead.load(Ordering::Acquire) {
            return Err(format!("PipeWire: {what} did not appear"));
        }
        conn.0.tl.timed_wait(Duration::from_millis(100));
    }
}

/// What tells a side's supervisor that its source went away, and what a side that follows
/// something is linked from. Touched only under the thread loop's lock.
pub struct Watch {
    id: u64,
    want: Want,
    source: u32,
    /// The node, our port on it, and the source's port linked into it.
    node: u32,
    ours: u32,
    out: u32,
    /// The link's id once the registry has it (0 while a new one is on its way).
    link: u32,
    proxy: Option<pw::link::Link>,
    /// The link a move replaces, kept until the new one is up: the port never goes a cycle
    /// without a source (for a cycle or two it carries both).
    retiring: Option<pw::link::Link>,
    lost: mpsc::Sender<Msg>,
    label: String,
}

// SAFETY: the link proxies are only touched under the thread loop's lock (by the loop's own
// callbacks, or by `open` and `Port::drop`, which take it).
unsafe impl Send for Watch {}

static WATCH_IDS: AtomicU64 = AtomicU64::new(1);

/// A global went away: the sides whose node or link it was are lost.
pub fn removed(id: u32, watchers: &Mutex<Vec<Watch>>) {
    let mut w = watchers.lock().unwrap_or_else(|p| p.into_inner());
    w.retain(|w| {
        let gone = w.source == id || w.link == id;
        if gone {
            let _ = w
                .lost
                .send(Msg::Lost(format!("{}: the device went away", w.label)));
        }
        !gone
    });
}

/// A link appeared: a side moved onto it drops the link it replaced.
pub fn linked(id: u32, out: u32, inn: u32, watchers: &Mutex<Vec<Watch>>) {
    let mut w = watchers.lock().unwrap_or_else(|p| p.into_inner());
    for w in w.iter_mut().filter(|w| (w.out, w.ours) == (out, inn)) {
        w.link = id;
        drop(w.retiring.take());
    }
}

/// The graph changed: a side that follows the default device, an application's playback, or
/// what an application reads, and now finds it elsewhere is linked from the new one (once its
/// ports are there) before its old link goes: never a cycle without a source linked. One that
/// cannot be linked is lost (and reopened by its supervisor).
pub fn follow(graph: &Mutex<Graph>, watchers: &Mutex<Vec<Watch>>, core: &pw::core::Core) {
    let g = lock_graph(graph);
    let mut w = watchers.lock().unwrap_or_else(|p| p.into_inner());
    w.retain_mut(|w| {
        if !g.moved(&w.want, w.source) {
            return true;
        }
        let what = match w.want {
            Want::AppSource { .. } => "the application reads another microphone",
            Want::AppStream(_) => "the application plays a new stream",
            _ => "the default device changed",
        };
        let Some(n) = g.node(&w.want) else {
            return true;
        };
        // A node whose ports the registry has not announced yet: linked once it has.
        let Some(out) = g.source_port(n) else {
            return true;
        };
        let Ok(link) = link(core, n, out, w.node, w.ours) else {
            let _ = w.lost.send(Msg::Lost(format!("{}: {what}", w.label)));
            return false;
        };
        let name = g.nodes.get(&n).map_or("?", |n| n.name.as_str());
        let _ = w.lost.send(Msg::Moved(format!("{what}: now {name}")));
        // Moved again before the last new link was up: that one goes, the one up stays.
        if w.link == 0 {
            drop(w.proxy.take());
        }
        if let Some(old) = w.proxy.replace(link) {
            w.retiring = Some(old);
        }
        (w.source, w.out, w.link) = (n, out, 0);
        true
    });
}

/// Links the port `out` of node `from` into our port `ours` on `node`. Under the lock.
fn link(
    core: &pw::core::Core,
    from: u32,
    out: u32,
    node: u32,
    ours: u32,
) -> Result<pw::link::Link, pw::Error> {
    let props = pw::properties::properties! {
        "link.output.node" => from.to_string(),
        "link.output.port" => out.to_string(),
        "link.input.node" => node.to_string(),
        "link.input.port" => ours.to_string(),
        "object.linger" => "false",
    };
    core.create_object::<pw::link::Link>("link-factory", &props)
}

/// One side's port on the node, linked from its source; dropping it unlinks and removes it.
pub struct Port {
    filter: Arc<Filter>,
    index: usize,
    slot: *mut Slot,
    watch: u64,
}

// SAFETY: the proxy and the port are touched only under the thread loop's lock.
unsafe impl Send for Port {}

impl Drop for Port {
    fn drop(&mut self) {
        let conn = self.filter.conn.clone();
        let _lock = conn.0.tl.lock();
        conn.0
            .watchers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|w| w.id != self.watch);
        self.filter.data.slots[self.index].store(std::ptr::null_mut(), Ordering::SeqCst);
        // The callback may be reading the slot: wait until it is not (microseconds).
        let deadline = Instant::now() + Duration::from_millis(200);
        while self.filter.data.busy.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::yield_now();
        }
        // SAFETY: the slot was ours and no callback reads it any more; the port is ours.
        unsafe {
            let slot = Box::from_raw(self.slot);
            sys::pw_filter_remove_port(slot.port);
        }
    }
}

/// Links the source `want` names into a new port of the node: its audio goes to `sink` as
/// f32 mono at `rate` (the graph's), with the graph's capture times.
pub fn open(
    want: Want,
    label: &str,
    rate: u32,
    latency: &str,
    sink: Sink,
    shared: Arc<Shared>,
    lost: mpsc::Sender<Msg>,
) -> Result<Port, String> {
    let conn = connection()?;
    let c = &conn.0;
    let _lock = c.tl.lock();
    let (source, out) = {
        let g = lock_graph(&c.graph);
        let node = g
            .node(&want)
            .ok_or_else(|| format!("{label}: no such device on PipeWire"))?;
        let port = g
            .source_port(node)
            .ok_or_else(|| format!("{label}: the device has no port to capture"))?;
        (node, port)
    };
    let filter = filter_for(&conn, latency)?;
    let index = filter
        .data
        .slots
        .iter()
        .position(|s| s.load(Ordering::SeqCst).is_null())
        .ok_or("PipeWire: too many sides open")?;
    let name = format!("side_{index}");
    let props = pw::properties::properties! {
        "format.dsp" => "32 bit float mono audio",
        "port.name" => name.as_str(),
    };
    // SAFETY: our filter, under the lock; the properties are handed over.
    let port = unsafe {
        sys::pw_filter_add_port(
            filter.raw,
            spa_sys::SPA_DIRECTION_INPUT,
            sys::pw_filter_port_flags_PW_FILTER_PORT_FLAG_MAP_BUFFERS,
            8,
            props.into_raw(),
            std::ptr::null_mut(),
            0,
        )
    };
    if port.is_null() {
        return Err("PipeWire: cannot add a port to the capture node".into());
    }
    let slot = Box::into_raw(Box::new(Slot {
        port,
        sink,
        shared,
        rate,
    }));
    filter.data.slots[index].store(slot, Ordering::SeqCst);
    // From here on, dropping `handle` undoes everything.
    let mut handle = Port {
        filter: filter.clone(),
        index,
        slot,
        watch: 0,
    };
    let raw = filter.raw;
    let node = wait_for(&conn, "the capture node", |_| {
        // SAFETY: our filter, under the lock.
        let id = unsafe { sys::pw_filter_get_node_id(raw) };
        (id != sys::PW_ID_ANY).then_some(id)
    })?;
    let ours = wait_for(&conn, "the capture port", |g| g.input_port(node, &name))?;
    let proxy = link(&c.core, source, out, node, ours)
        .map_err(|e| format!("PipeWire: cannot link {label}: {e}"))?;
    let link = wait_for(&conn, "the link", |g| g.link(out, ours))?;
    handle.watch = WATCH_IDS.fetch_add(1, Ordering::Relaxed);
    let mut watchers = c.watchers.lock().unwrap_or_else(|p| p.into_inner());
    // The source may have gone while we waited.
    if !lock_graph(&c.graph).nodes.contains_key(&source) {
        return Err(format!("{label}: the device went away"));
    }
    watchers.push(Watch {
        id: handle.watch,
        want,
        source,
        node,
        ours,
        out,
        link,
        proxy: Some(proxy),
        retiring: None,
        lost,
        label: label.to_owned(),
    });
    drop(watchers);
    Ok(handle)
}

/// The graph's rate, for the format a side reports before it opens.
pub fn graph_rate() -> Result<u32, String> {
    let conn = connection()?;
    let rate = lock_graph(&conn.0.graph).clock_rate;
    Ok(rate.unwrap_or(48_000))
}
