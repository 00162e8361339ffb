//! The announcement stream: a two-channel output stream that nothing links automatically.
//! The helper links its left channel into the virtual microphone (the call hears it at full
//! level) and its right into the default sink (the user hears a quieter copy).
//!
//! One stream plays every announcement of a call at its rate (a clip of another rate gets a
//! stream of its own): it joins the graph for the first one and stays, playing silence
//! between them, until the call's microphone ends. A stream leaving the graph while the call
//! records made the recording's node miss a cycle (a quantum of both sides lost, seen on a
//! loaded machine), and one joining for every announcement would risk the same.
//!
//! The process callback runs on PipeWire's data thread (`RT_PROCESS`): it copies pre-decoded
//! samples and touches atomics, and takes the clip's lock only with `try_lock` (a cycle that
//! finds it taken plays silence). The helper's loop takes that lock only to hand over the
//! next clip, while nothing plays; the clip it replaces is freed there, not on the data
//! thread.

use crate::clip::Clip;
use pipewire as pw;
use pw::spa;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// The clip in the stream, and how far it has played.
struct Slot {
    samples: Vec<f32>,
    pos: usize,
}

/// Between the helper's loop and the data thread.
struct Shared {
    slot: Mutex<Slot>,
    /// The user's copy, relative to the call's.
    monitor_gain: f32,
    /// Play the clip in the slot from the next cycle (silence until then).
    go: AtomicBool,
    /// CLOCK_MONOTONIC ns when the clip's first sample reaches the graph; 0 until then.
    first_ns: AtomicI64,
    /// The clip has played to its end.
    done: AtomicBool,
}

/// Bytes of one frame: left (the call's) and right (the user's) as f32.
const STRIDE: usize = 8;

/// Fills the first `n` frames of `bytes`: the clip from where it is while `go`, silence after
/// it (or when the slot is being handed over).
fn fill(s: &Shared, bytes: &mut [u8], n: usize, first: Option<i64>) {
    let go = s.go.load(Ordering::Acquire);
    let mut slot = if go { s.slot.try_lock().ok() } else { None };
    let (samples, mut pos) = match slot.as_deref() {
        Some(sl) => (&sl.samples[..], sl.pos),
        None => (&[][..], 0),
    };
    let start = pos;
    for frame in bytes.chunks_exact_mut(STRIDE).take(n) {
        let v = if pos < samples.len() {
            pos += 1;
            samples[pos - 1]
        } else {
            0.0
        };
        frame[..4].copy_from_slice(&v.to_le_bytes());
        frame[4..].copy_from_slice(&(v * s.monitor_gain).to_le_bytes());
    }
    if let Some(sl) = slot.as_deref_mut() {
        if start == 0
            && pos > 0
            && let Some(t) = first
        {
            s.first_ns.store(t.max(1), Ordering::Release);
        }
        sl.pos = pos;
        if pos >= sl.samples.len() {
            s.done.store(true, Ordering::Release);
        }
    }
}

/// One announcement stream (see the module's doc).
pub struct Player {
    pub rate: u32,
    shared: Arc<Shared>,
    stream: pw::stream::StreamRc,
    _listener: pw::stream::StreamListener<Arc<Shared>>,
    /// Kept alive: dropping a link's proxy removes the link. With each, whether it is active.
    pub links: Vec<(
        pw::link::Link,
        pw::link::LinkListener,
        std::rc::Rc<std::cell::Cell<bool>>,
    )>,
    /// When the links were asked for: playing waits for them to be active, a second at most.
    pub linked_at: Option<std::time::Instant>,
}

impl Player {
    /// A stream for clips at `rate`, holding none yet.
    pub fn new(core: &pw::core::CoreRc, rate: u32, monitor_gain: f32) -> Result<Player, String> {
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot {
                samples: Vec::new(),
                pos: 0,
            }),
            monitor_gain,
            go: AtomicBool::new(false),
            first_ns: AtomicI64::new(0),
            done: AtomicBool::new(false),
        });
        let props = pw::properties::properties! {
            *pw::keys::MEDIA_TYPE => "Audio",
            *pw::keys::MEDIA_CATEGORY => "Playback",
            *pw::keys::NODE_NAME => "onrecord-announcement",
            *pw::keys::APP_NAME => "onrecord",
            *pw::keys::NODE_DONT_RECONNECT => "true",
        };
        let stream = pw::stream::StreamRc::new(core.clone(), "onrecord-announcement", props)
            .map_err(|e| format!("PipeWire: {e}"))?;
        let listener = stream
            .add_local_listener_with_user_data(shared.clone())
            .process(|stream, s| {
                // The graph time of this cycle's first sample, asked for only when a clip
                // starts in it.
                let first = (s.go.load(Ordering::Acquire)
                    && s.first_ns.load(Ordering::Acquire) == 0)
                    .then(|| stream.time().ok())
                    .flatten()
                    .map(|t| {
                        let denom = t.rate().denom.max(1) as i64;
                        t.now() + t.delay() * 1_000_000_000 * t.rate().num as i64 / denom
                    });
                let Some(mut buffer) = stream.dequeue_buffer() else {
                    return;
                };
                let requested = buffer.requested() as usize;
                let datas = buffer.datas_mut();
                let Some(d) = datas.first_mut() else { return };
                let n = match d.data() {
                    Some(bytes) => {
                        let cap = bytes.len() / STRIDE;
                        let n = if requested > 0 {
                            requested.min(cap)
                        } else {
                            cap.min(1024)
                        };
                        fill(s, bytes, n, first);
                        n
                    }
                    None => 0,
                };
                let chunk = d.chunk_mut();
                *chunk.offset_mut() = 0;
                *chunk.stride_mut() = STRIDE as i32;
                *chunk.size_mut() = (n * STRIDE) as u32;
            })
            .register()
            .map_err(|e| format!("PipeWire: {e}"))?;
        let values = f32_format(rate, 2)?;
        let mut params = [spa::pod::Pod::from_bytes(&values).ok_or("PipeWire format")?];
        // No AUTOCONNECT: the session manager would play it to the default sink only.
        stream
            .connect(
                spa::utils::Direction::Output,
                None,
                pw::stream::StreamFlags::MAP_BUFFERS | pw::stream::StreamFlags::RT_PROCESS,
                &mut params,
            )
            .map_err(|e| format!("cannot connect the announcement: {e}"))?;
        Ok(Player {
            rate,
            shared,
            stream,
            _listener: listener,
            links: Vec::new(),
            linked_at: None,
        })
    }

    /// Hands `clip` (at this stream's rate) to the stream, to play once `go` is called; the
    /// clip before it, played, is freed here.
    pub fn load(&self, clip: Clip) {
        debug_assert_eq!(clip.rate, self.rate);
        let s = &self.shared;
        s.go.store(false, Ordering::Release);
        let old = {
            let mut slot = s.slot.lock().unwrap_or_else(|e| e.into_inner());
            s.first_ns.store(0, Ordering::Release);
            s.done.store(false, Ordering::Release);
            slot.pos = 0;
            std::mem::replace(&mut slot.samples, clip.samples)
        };
        drop(old);
    }

    /// The stream's node on the server, once it has one.
    pub fn node(&self) -> Option<u32> {
        let id = self.stream.node_id();
        (id != pw::sys::PW_ID_ANY).then_some(id)
    }

    /// Keeps `link`, following its state.
    pub fn keep(&mut self, link: pw::link::Link) {
        let active = std::rc::Rc::new(std::cell::Cell::new(false));
        let flag = active.clone();
        let listener = link
            .add_listener_local()
            .info(move |info| {
                flag.set(matches!(info.state(), pw::link::LinkState::Active));
            })
            .register();
        self.links.push((link, listener, active));
        self.linked_at.get_or_insert_with(std::time::Instant::now);
    }

    /// Whether every link is active (or a second went by): the first samples reach both ends.
    pub fn linked(&self) -> bool {
        !self.links.is_empty()
            && (self.links.iter().all(|(_, _, a)| a.get())
                || self
                    .linked_at
                    .is_some_and(|t| t.elapsed() > std::time::Duration::from_secs(1)))
    }

    /// Plays the loaded clip from the next cycle.
    pub fn go(&self) {
        self.shared.go.store(true, Ordering::Release);
    }

    pub fn going(&self) -> bool {
        self.shared.go.load(Ordering::Acquire)
    }

    /// When the loaded clip's first sample reached the graph (CLOCK_MONOTONIC ns).
    pub fn first_ns(&self) -> Option<i64> {
        Some(self.shared.first_ns.load(Ordering::Acquire)).filter(|&t| t > 0)
    }

    /// The loaded clip has played to its end.
    pub fn done(&self) -> bool {
        self.shared.done.load(Ordering::Acquire)
    }
}

/// The format pod of an F32 stream of `channels` (1, or 2 as front left and right) at `rate`.
pub fn f32_format(rate: u32, channels: u32) -> Result<Vec<u8>, String> {
    let mut info = spa::param::audio::AudioInfoRaw::new();
    info.set_format(spa::param::audio::AudioFormat::F32LE);
    info.set_rate(rate);
    info.set_channels(channels);
    if channels == 2 {
        let mut position = [0; spa::param::audio::MAX_CHANNELS];
        position[0] = spa::sys::SPA_AUDIO_CHANNEL_FL;
        position[1] = spa::sys::SPA_AUDIO_CHANNEL_FR;
        info.set_position(position);
    }
    onrecord_pw::format_pod(info)
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.stream.disconnect();
    }
}
