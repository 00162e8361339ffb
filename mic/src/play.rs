//! One announcement playing: a two-channel output stream that nothing links automatically.
//! The helper links its left channel into the virtual microphone (the call hears it at full
//! level) and its right into the default sink (the user hears a quieter copy).
//!
//! The process callback runs on PipeWire's data thread (`RT_PROCESS`): it copies pre-decoded
//! samples and touches atomics only.

use crate::clip::Clip;
use pipewire as pw;
use pw::spa;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

/// Between the helper's loop and the data thread.
struct Shared {
    samples: Vec<f32>,
    /// The user's copy, relative to the call's.
    monitor_gain: f32,
    /// The links are made: play from the next cycle (silence until then).
    go: AtomicBool,
    pos: AtomicUsize,
    /// CLOCK_MONOTONIC ns when the first sample reaches the graph; 0 until then.
    first_ns: AtomicI64,
    done: AtomicBool,
}

pub struct Playback {
    pub id: String,
    pub seconds: f64,
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
    pub started_reported: bool,
    pub ended_at: Option<std::time::Instant>,
}

impl Playback {
    pub fn new(
        core: &pw::core::CoreRc,
        id: String,
        clip: Clip,
        monitor_gain: f32,
    ) -> Result<Playback, String> {
        let seconds = clip.seconds();
        let shared = Arc::new(Shared {
            samples: clip.samples,
            monitor_gain,
            go: AtomicBool::new(false),
            pos: AtomicUsize::new(0),
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
                let first = if s.go.load(Ordering::Acquire) && s.pos.load(Ordering::Relaxed) == 0 {
                    stream.time().ok().map(|t| {
                        let denom = t.rate().denom.max(1) as i64;
                        t.now() + t.delay() * 1_000_000_000 * t.rate().num as i64 / denom
                    })
                } else {
                    None
                };
                let Some(mut buffer) = stream.dequeue_buffer() else {
                    return;
                };
                let requested = buffer.requested() as usize;
                let datas = buffer.datas_mut();
                let Some(d) = datas.first_mut() else { return };
                const STRIDE: usize = 8;
                let n = match d.data() {
                    Some(bytes) => {
                        let cap = bytes.len() / STRIDE;
                        let n = if requested > 0 {
                            requested.min(cap)
                        } else {
                            cap.min(1024)
                        };
                        let go = s.go.load(Ordering::Acquire);
                        let mut pos = s.pos.load(Ordering::Relaxed);
                        for frame in bytes.chunks_exact_mut(STRIDE).take(n) {
                            let v = if go && pos < s.samples.len() {
                                pos += 1;
                                s.samples[pos - 1]
                            } else {
                                0.0
                            };
                            frame[..4].copy_from_slice(&v.to_le_bytes());
                            frame[4..].copy_from_slice(&(v * s.monitor_gain).to_le_bytes());
                        }
                        if go {
                            if let Some(t) = first
                                && n > 0
                            {
                                s.first_ns.store(t.max(1), Ordering::Release);
                            }
                            s.pos.store(pos, Ordering::Relaxed);
                            if pos >= s.samples.len() {
                                s.done.store(true, Ordering::Release);
                            }
                        }
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
        let values = f32_format(clip.rate, 2)?;
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
        Ok(Playback {
            id,
            seconds,
            shared,
            stream,
            _listener: listener,
            links: Vec::new(),
            linked_at: None,
            started_reported: false,
            ended_at: None,
        })
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

    /// Plays from the next cycle.
    pub fn go(&self) {
        self.shared.go.store(true, Ordering::Release);
    }

    pub fn going(&self) -> bool {
        self.shared.go.load(Ordering::Acquire)
    }

    /// When the first sample reached the graph (CLOCK_MONOTONIC ns).
    pub fn first_ns(&self) -> Option<i64> {
        Some(self.shared.first_ns.load(Ordering::Acquire)).filter(|&t| t > 0)
    }

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
    Ok(spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(spa::pod::Object {
            type_: spa::sys::SPA_TYPE_OBJECT_Format,
            id: spa::sys::SPA_PARAM_EnumFormat,
            properties: info.into(),
        }),
    )
    .map_err(|e| format!("PipeWire format: {e:?}"))?
    .0
    .into_inner())
}

impl Drop for Playback {
    fn drop(&mut self) {
        let _ = self.stream.disconnect();
    }
}
