//! The ring between a capture callback and the writer thread.

use super::pcm::{f32s_to_i16s, to_i16};
use crate::capture::CaptureError;
use onrecord_plugin::abi::*;
pub use onrecord_plugin::mono_ns;
use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Ten seconds of 48 kHz stereo 16-bit audio; rounded to whole frames when configured.
const RING_BYTES: usize = 10 * 48_000 * 4;
/// A timed source's ring holds this many seconds at its own rate: the mixer drains it every
/// pass (at most a second apart) into a buffer of its own, whatever the clock fit, so the ring
/// only covers a pass and a scheduling delay (and the storage's sync, which the mixer makes),
/// with room to spare on a loaded machine. The callback writes it as 16-bit mono
/// (what the mixer takes), two bytes a frame whatever the source delivers.
const TIMED_RING_S: usize = 3;

/// State shared by the callback, the writer and the owner.
pub struct Ring {
    /// Whether frames are written (false before start, while paused, and after stop).
    writing: AtomicBool,
    finished: AtomicBool,
    written: AtomicU64,
    overruns: AtomicU64,
    dropped_paused: AtomicU64,
    /// Frames accepted into the ring: the recording's position.
    pushed: AtomicU64,
}

impl Default for Ring {
    fn default() -> Self {
        Ring {
            writing: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            written: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            dropped_paused: AtomicU64::new(0),
            pushed: AtomicU64::new(0),
        }
    }
}

impl Ring {
    pub fn set_writing(&self, on: bool) {
        self.writing.store(on, Ordering::Release);
    }

    pub fn finish(&self) {
        self.finished.store(true, Ordering::Release);
    }

    /// Frames accepted into the recording so far.
    pub fn pushed(&self) -> u64 {
        self.pushed.load(Ordering::Acquire)
    }

    /// (frames written, frames lost to overruns, frames dropped while paused).
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.written.load(Ordering::Acquire),
            self.overruns.load(Ordering::Acquire),
            self.dropped_paused.load(Ordering::Acquire),
        )
    }
}

/// A delivery's timing: frame `frame` of the source was captured at `mono_ns` on
/// CLOCK_MONOTONIC, and `total` frames had been accepted after it. Without a capture time from
/// the source, `frame` is the next one (`total`) and the time is when the callback ran (a
/// vDSO clock read: no system call, no lock).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mark {
    pub mono_ns: u64,
    pub frame: u64,
    pub total: u64,
}

/// Marks kept between two writer passes: at 100 deliveries a second, 10 s worth (twenty
/// passes). A mark lost to a full ring costs a point of the clock fit, never audio.
const MARKS: usize = 1024;

/// What the callback touches: the producer halves, and nothing that allocates or locks.
struct RtState {
    producer: Option<rtrb::Producer<u8>>,
    marks: Option<rtrb::Producer<Mark>>,
    /// Of the delivered frames.
    frame_bytes: usize,
    /// A timed source's delivered format, which the callback mixes down into the ring as
    /// 16-bit mono.
    mono: Option<AudioFormat>,
}

/// A device event a source reported (`SOURCE_LOST`, `SOURCE_BACK`, `SOURCE_MOVED`,
/// `SOURCE_CLOCK`), with when.
#[derive(Clone, Debug)]
pub struct SourceEvent {
    pub kind: u32,
    pub message: String,
    pub mono_ns: u64,
}

/// The context behind a source's `FrameSink`: the callback's state, and the events the source
/// reports from its other threads.
pub struct SinkCtx {
    ring: Arc<Ring>,
    rt: std::cell::UnsafeCell<RtState>,
    events: std::sync::Mutex<Vec<SourceEvent>>,
}

// SAFETY: `rt` is touched by the source's delivering thread only (one at a time, per the ABI),
// and by `configure` before the source starts; `events` is behind a mutex.
unsafe impl Sync for SinkCtx {}

impl SinkCtx {
    pub fn new(ring: Arc<Ring>) -> SinkCtx {
        SinkCtx {
            ring,
            rt: std::cell::UnsafeCell::new(RtState {
                producer: None,
                marks: None,
                frame_bytes: 0,
                mono: None,
            }),
            events: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Sizes the ring to whole frames (so that its wrap point falls between frames) once the
    /// source's format is known, before the source starts; returns the writer's half, and with
    /// `timed` the consumer of the delivery marks. A timed source's ring holds 16-bit mono
    /// frames at its rate, whatever its format.
    pub fn configure(
        &mut self,
        format: AudioFormat,
        timed: bool,
    ) -> (rtrb::Consumer<u8>, Option<rtrb::Consumer<Mark>>) {
        let frame_bytes = format.bytes_per_frame();
        let cap = if timed {
            TIMED_RING_S * format.rate as usize * 2
        } else {
            RING_BYTES / frame_bytes * frame_bytes
        };
        let (mut p, mut c) = rtrb::RingBuffer::new(cap);
        prefault(&mut p, &mut c);
        let rt = self.rt.get_mut();
        rt.producer = Some(p);
        rt.frame_bytes = frame_bytes;
        rt.mono = timed.then_some(format);
        let marks = timed.then(|| {
            let (mut mp, mut mc) = rtrb::RingBuffer::new(MARKS);
            prefault(&mut mp, &mut mc);
            rt.marks = Some(mp);
            mc
        });
        (c, marks)
    }

    /// Events reported since the last call.
    pub fn take_events(&self) -> Vec<SourceEvent> {
        self.events
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }
}

/// Writes every slot of a new ring once (and reads them back): its memory is fresh from the
/// allocator, and the first write to each page would be a page fault on the callback's
/// real-time thread (76 filling a timed ring of 48 kHz, about 470 an untimed one of ten
/// seconds of stereo) instead of here, before the source starts.
fn prefault<T: Copy + Default>(p: &mut rtrb::Producer<T>, c: &mut rtrb::Consumer<T>) {
    let n = p.slots();
    if let Ok(chunk) = p.write_chunk_uninit(n) {
        chunk.fill_from_iter(std::iter::repeat(T::default()));
    }
    if let Ok(chunk) = c.read_chunk(n) {
        chunk.commit_all();
    }
}

/// The callback: real-time safe (atomics, a clock read and wait-free rings only).
unsafe extern "C" fn deliver(ctx: *mut c_void, data: *const u8, frames: usize) {
    // SAFETY: as `push`.
    unsafe { push(ctx, data, frames, None) }
}

/// `HostV1::deliver_at`: `deliver` with the first frame's capture time.
///
/// # Safety
/// As `push`.
pub unsafe extern "C" fn deliver_at(
    ctx: *mut c_void,
    data: *const u8,
    frames: usize,
    captured_ns: u64,
) {
    // SAFETY: as `push`.
    unsafe { push(ctx, data, frames, Some(captured_ns)) }
}

/// # Safety
/// `ctx` is the SinkCtx given at open, called from one thread at a time (per the ABI), so this
/// is the only reference to `rt`; `data` holds `frames` frames of the negotiated format.
unsafe fn push(ctx: *mut c_void, data: *const u8, frames: usize, captured_ns: Option<u64>) {
    if ctx.is_null() {
        return;
    }
    let sink = unsafe { &*(ctx as *const SinkCtx) };
    let rt = unsafe { &mut *sink.rt.get() };
    let Some(producer) = rt.producer.as_mut() else {
        return;
    };
    if !sink.ring.writing.load(Ordering::Acquire) {
        // No pre-roll: what is not written now is gone.
        sink.ring
            .dropped_paused
            .fetch_add(frames as u64, Ordering::Relaxed);
        return;
    }
    let Some(len) = frames.checked_mul(rt.frame_bytes) else {
        return;
    };
    let bytes = unsafe { std::slice::from_raw_parts(data, len) };
    let pushed = match rt.mono {
        Some(format) => push_mono(producer, bytes, frames, format),
        None => producer.push_entire_slice(bytes).is_ok(),
    };
    if !pushed {
        sink.ring
            .overruns
            .fetch_add(frames as u64, Ordering::Relaxed);
    } else {
        let total = sink.ring.pushed.fetch_add(frames as u64, Ordering::Release) + frames as u64;
        if let Some(marks) = rt.marks.as_mut() {
            let (frame, mono_ns) = match captured_ns {
                Some(t) => (total - frames as u64, t),
                None => (total, mono_ns()),
            };
            // A full mark ring loses a mark, not audio: the next one carries the count.
            let _ = marks.push(Mark {
                mono_ns,
                frame,
                total,
            });
        }
    }
}

/// Writes `frames` frames of `format` into the ring as 16-bit mono (the mean of the channels),
/// all or nothing: false when they do not fit. No allocation, no lock.
fn push_mono(p: &mut rtrb::Producer<u8>, data: &[u8], frames: usize, format: AudioFormat) -> bool {
    let Ok(mut chunk) = p.write_chunk_uninit(frames * 2) else {
        return false;
    };
    let fb = format.bytes_per_frame();
    let (a, b) = chunk.as_mut_slices();
    // The ring's length and every write are whole samples: both parts hold whole ones.
    let (first, second) = data.split_at(a.len() / 2 * fb);
    mix_down(first, a, format);
    mix_down(second, b, format);
    // SAFETY: `mix_down` wrote every byte of both parts.
    unsafe { chunk.commit_all() };
    true
}

/// Frames of `format` in `src` as 16-bit mono samples into `dst` (one per frame): a plain loop
/// for each of the usual formats (mono 16-bit, PipeWire's mono floats).
fn mix_down(src: &[u8], dst: &mut [std::mem::MaybeUninit<u8>], format: AudioFormat) {
    let put = |d: &mut [std::mem::MaybeUninit<u8>], v: i16| {
        let [lo, hi] = v.to_le_bytes();
        d[0].write(lo);
        d[1].write(hi);
    };
    match (format.sample_format, format.channels) {
        // As it came: a copy (the compiler's memcpy).
        (SAMPLE_I16, 1) => {
            for (d, s) in dst.iter_mut().zip(src) {
                d.write(*s);
            }
        }
        (SAMPLE_F32, 1) => f32s_to_i16s(src, dst),
        (sf, ch) => {
            let sample = |s: &[u8]| match sf {
                SAMPLE_F32 => f32::from_le_bytes([s[0], s[1], s[2], s[3]]),
                _ => i16::from_le_bytes([s[0], s[1]]) as f32 / 32768.0,
            };
            let out = dst.chunks_exact_mut(2);
            for (f, d) in src.chunks_exact(format.bytes_per_frame()).zip(out) {
                let sum: f32 = f.chunks_exact(format.bytes_per_sample()).map(sample).sum();
                put(d, to_i16(sum / ch.max(1) as f32));
            }
        }
    }
}

/// `HostV1::source_event`: from a source's own (not real-time) thread.
///
/// # Safety
/// `ctx` is a live `SinkCtx` (its source not yet stopped) or null; `msg..len` is readable.
pub unsafe extern "C" fn source_event(ctx: *mut c_void, kind: u32, msg: *const u8, len: usize) {
    if ctx.is_null() {
        return;
    }
    // SAFETY: `ctx` is a SinkCtx, alive until the source's `stop` returns; `msg..len` is
    // readable per the ABI. Only the mutex-guarded `events` is touched.
    let sink = unsafe { &*(ctx as *const SinkCtx) };
    let message = if msg.is_null() {
        String::new()
    } else {
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(msg, len.min(4096)) })
            .into_owned()
    };
    if let Ok(mut e) = sink.events.lock() {
        e.push(SourceEvent {
            kind,
            message,
            mono_ns: mono_ns(),
        });
    }
}

pub fn frame_sink(ctx: *mut SinkCtx) -> FrameSink {
    FrameSink {
        ctx: ctx as *mut c_void,
        deliver,
    }
}

struct File(*mut c_void);
// SAFETY: the storage handle is used by the writer thread alone.
unsafe impl Send for File {}

/// Where a writer's frames go: the storage plugin's open file, the conversion to its format,
/// and the hash chain over what the storage accepted. After a failed write it takes nothing
/// more; `close` says what failed.
pub struct Output {
    storage: &'static StorageBackendV1,
    file: File,
    /// The format handed to `put`.
    format: AudioFormat,
    convert: Option<super::convert::Convert>,
    interval: Duration,
    journal: super::journal::Journal,
    /// Counts frames the storage accepted.
    ring: Arc<Ring>,
    last_sync: Instant,
    failure: Option<CaptureError>,
    /// The call analysis of the far side, fed what the storage accepted.
    hold: Option<super::hold::HoldWatch>,
    /// Told once, at the first failure of the storage (a full disk), so the call can stop
    /// then rather than at its end.
    on_failure: Option<Box<dyn FnOnce(CaptureError) + Send>>,
}

/// A call of the storage plugin: its status tells a refused format from a failed write (a full
/// disk) from a panic.
fn plugin_call(f: &dyn Fn(*mut ErrorBuf) -> i32) -> Result<(), CaptureError> {
    let mut err = [0u8; 512];
    let mut eb = ErrorBuf {
        buf: err.as_mut_ptr(),
        cap: err.len(),
        len: 0,
    };
    let status = f(&mut eb);
    if status == STATUS_OK {
        // Every write of a recording comes here: no message to make.
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&err[..eb.len.min(512)]).into_owned();
    if text.is_empty() {
        text = format!("the storage plugin gave no reason (status {status})");
    }
    match status {
        STATUS_UNSUPPORTED => Err(CaptureError::FormatRefused(text)),
        STATUS_PANIC => Err(CaptureError::Panicked(text)),
        _ => Err(CaptureError::Write(text)),
    }
}

impl Output {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        storage: &'static StorageBackendV1,
        file: *mut c_void,
        format: AudioFormat,
        convert: Option<super::convert::Convert>,
        interval: Duration,
        journal: super::journal::Journal,
        ring: Arc<Ring>,
    ) -> Output {
        Output {
            storage,
            file: File(file),
            format,
            convert,
            interval,
            journal,
            ring,
            last_sync: Instant::now(),
            failure: None,
            hold: None,
            on_failure: None,
        }
    }

    /// Calls `f` with the error at the storage's first failure.
    pub fn on_failure(mut self, f: Option<Box<dyn FnOnce(CaptureError) + Send>>) -> Output {
        self.on_failure = f;
        self
    }

    fn report_failure(&mut self) {
        if let Some(e) = &self.failure
            && let Some(f) = self.on_failure.take()
        {
            f(e.clone());
        }
    }

    /// Feeds what is stored to the call analysis too.
    pub fn with_hold(mut self, watch: super::hold::HoldWatch) -> Output {
        self.hold = Some(watch);
        self
    }

    /// Stores whole frames of `format`.
    pub fn put(&mut self, data: &[u8]) {
        if self.store(data)
            && let Some(h) = self.hold.as_mut()
        {
            h.feed(data);
        }
        self.report_failure();
    }

    /// [`Output::put`] of 16-bit frames whose channels the caller also has apart (`planes`,
    /// one per channel): the call analysis takes those rather than picking them out again.
    pub fn put_planes(&mut self, data: &[u8], planes: &[&[i16]]) {
        if self.store(data)
            && let Some(h) = self.hold.as_mut()
        {
            h.feed_planes(planes);
        }
        self.report_failure();
    }

    /// Writes `data` to the storage and the journal; whether it was stored.
    fn store(&mut self, data: &[u8]) -> bool {
        if self.failure.is_some() || data.is_empty() {
            return false;
        }
        let (storage, file, ring, journal) =
            (self.storage, self.file.0, &self.ring, &mut self.journal);
        let mut write = |data: &[u8], frames: usize| -> Result<(), CaptureError> {
            // SAFETY: ABI call on our handle with `frames` whole frames of the stored format.
            plugin_call(&|eb| unsafe { (storage.write)(file, data.as_ptr(), frames, eb) })?;
            ring.written.fetch_add(frames as u64, Ordering::Relaxed);
            journal.add(data);
            Ok(())
        };
        let frames = data.len() / self.format.bytes_per_frame();
        self.failure = match self.convert.as_mut() {
            Some(c) => c.process(data, &mut write),
            None => write(data, frames),
        }
        .err();
        self.failure.is_none()
    }

    /// How often the file and its journal are made durable.
    pub fn sync_interval(&self) -> Duration {
        self.interval
    }

    /// Makes the file and its journal durable when the interval has passed.
    pub fn tick(&mut self) {
        if self.last_sync.elapsed() >= self.interval && self.failure.is_none() {
            let (storage, file) = (self.storage, self.file.0);
            // The journal's blocks are on their way to the disk while the storage syncs.
            self.failure = self
                .journal
                .start_sync()
                .map_err(CaptureError::from)
                // SAFETY: ABI call on our handle.
                .and_then(|()| plugin_call(&|eb| unsafe { (storage.sync)(file, eb) }))
                .and_then(|()| self.journal.sync().map_err(CaptureError::from))
                .err();
            self.last_sync = Instant::now();
            self.report_failure();
        }
    }

    /// Flushes the conversion, finalizes the file and seals the journal.
    pub fn close(mut self) -> Result<super::journal::Sealed, CaptureError> {
        let (storage, file, ring, journal) =
            (self.storage, self.file.0, &self.ring, &mut self.journal);
        if self.failure.is_none()
            && let Some(c) = self.convert.as_mut()
        {
            let mut write = |data: &[u8], frames: usize| -> Result<(), CaptureError> {
                // SAFETY: as in `put`.
                plugin_call(&|eb| unsafe { (storage.write)(file, data.as_ptr(), frames, eb) })?;
                ring.written.fetch_add(frames as u64, Ordering::Relaxed);
                journal.add(data);
                Ok(())
            };
            self.failure = c.finish(&mut write).err();
        }
        if let Some(h) = self.hold.take() {
            h.finish();
        }
        // SAFETY: ABI call; frees the handle whatever happened before.
        let finished = plugin_call(&|eb| unsafe { (storage.finish)(file, eb) });
        // The journal seals what the storage accepted, even when the file failed later.
        let sealed = self.journal.finish().map_err(CaptureError::from);
        match self.failure {
            Some(e) => Err(e),
            None => finished.and(sealed),
        }
    }
}

/// The writer of one source: drains the ring into the output, syncs every interval, and
/// finishes the file once the ring is finished and empty.
pub fn spawn_writer(
    ring: Arc<Ring>,
    mut consumer: rtrb::Consumer<u8>,
    mut out: Output,
    call_id: &str,
) -> Result<std::thread::JoinHandle<Result<super::journal::Sealed, CaptureError>>, String> {
    std::thread::Builder::new()
        .name(format!("writer-{call_id}"))
        .spawn(move || {
            let frame = out.format.bytes_per_frame();
            loop {
                let done = ring.finished.load(Ordering::Acquire);
                let n = consumer.slots() / frame * frame;
                if n > 0
                    && let Ok(chunk) = consumer.read_chunk(n)
                {
                    // Each part holds whole frames: the ring is sized in frames and only whole
                    // frames are pushed.
                    let (a, b) = chunk.as_slices();
                    out.put(a);
                    out.put(b);
                    chunk.commit_all();
                }
                out.tick();
                if done && consumer.slots() < frame {
                    break;
                }
                if n == 0 {
                    // A recorder needs no low latency: wake up rarely.
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            out.close()
        })
        .map_err(|e| format!("cannot start the writer thread: {e}"))
}

#[cfg(test)]
#[path = "ring_tests.rs"]
mod tests;
