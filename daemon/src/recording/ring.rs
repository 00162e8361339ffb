//! The ring between a capture callback and the writer thread.

use onrecord_plugin::abi::*;
use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Ten seconds of 48 kHz stereo 16-bit audio; rounded to whole frames when configured.
const RING_BYTES: usize = 10 * 48_000 * 4;

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

/// What the capture callback holds: the producer half, and nothing that allocates or locks.
pub struct SinkCtx {
    ring: Arc<Ring>,
    producer: Option<rtrb::Producer<u8>>,
    frame_bytes: usize,
}

impl SinkCtx {
    pub fn new(ring: Arc<Ring>) -> SinkCtx {
        SinkCtx {
            ring,
            producer: None,
            frame_bytes: 0,
        }
    }

    /// Sizes the ring to whole frames (so that its wrap point falls between frames) once the
    /// format is known, before the source starts; returns the writer's half.
    pub fn configure(&mut self, frame_bytes: usize) -> rtrb::Consumer<u8> {
        let cap = RING_BYTES / frame_bytes * frame_bytes;
        let (p, c) = rtrb::RingBuffer::new(cap);
        self.producer = Some(p);
        self.frame_bytes = frame_bytes;
        c
    }
}

/// The callback: real-time safe (atomics and a wait-free ring only).
unsafe extern "C" fn deliver(ctx: *mut c_void, data: *const u8, frames: usize) {
    // SAFETY: `ctx` is the SinkCtx given at open; the ABI calls this from one thread at a time.
    let sink = unsafe { &mut *(ctx as *mut SinkCtx) };
    let Some(producer) = sink.producer.as_mut() else {
        return;
    };
    if !sink.ring.writing.load(Ordering::Acquire) {
        // No pre-roll: what is not written now is gone.
        sink.ring
            .dropped_paused
            .fetch_add(frames as u64, Ordering::Relaxed);
        return;
    }
    let Some(len) = frames.checked_mul(sink.frame_bytes) else {
        return;
    };
    // SAFETY: the source hands `frames` frames of the negotiated format.
    let bytes = unsafe { std::slice::from_raw_parts(data, len) };
    if producer.push_entire_slice(bytes).is_err() {
        sink.ring
            .overruns
            .fetch_add(frames as u64, Ordering::Relaxed);
    } else {
        sink.ring.pushed.fetch_add(frames as u64, Ordering::Release);
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

/// The writer thread's inputs.
pub struct Writer {
    pub ring: Arc<Ring>,
    pub consumer: rtrb::Consumer<u8>,
    pub storage: &'static StorageBackendV1,
    /// The storage plugin's handle for the open file.
    pub file: *mut c_void,
    /// The source's format (what is in the ring).
    pub format: AudioFormat,
    /// Conversion to the storage's format, when they differ.
    pub convert: Option<super::convert::Convert>,
    pub interval: Duration,
    pub call_id: String,
    /// The hash chain over what the storage accepted.
    pub journal: super::journal::Journal,
}

/// The writer: drains the ring into the storage, syncs every `interval`, and finishes the file
/// once the ring is finished and empty.
pub fn spawn_writer(
    w: Writer,
) -> Result<std::thread::JoinHandle<Result<super::journal::Sealed, String>>, String> {
    let Writer {
        ring,
        mut consumer,
        storage,
        file,
        format,
        mut convert,
        interval,
        call_id,
        journal,
    } = w;
    let file = File(file);
    std::thread::Builder::new()
        .name(format!("writer-{call_id}"))
        .spawn(move || {
            let file = file;
            let frame = format.bytes_per_frame();
            let written = &ring.written;
            let journal = std::cell::RefCell::new(journal);
            // One storage write of whole frames in the storage's format.
            let mut write = |data: &[u8], frames: usize| -> Result<(), String> {
                let mut err = [0u8; 512];
                let mut eb = ErrorBuf {
                    buf: err.as_mut_ptr(),
                    cap: err.len(),
                    len: 0,
                };
                // SAFETY: ABI call on our handle with `frames` whole frames.
                if unsafe { (storage.write)(file.0, data.as_ptr(), frames, &mut eb) } == STATUS_OK {
                    written.fetch_add(frames as u64, Ordering::Relaxed);
                    journal.borrow_mut().add(data);
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&err[..eb.len.min(512)]).into_owned())
                }
            };
            let call_plugin = |f: &dyn Fn(*mut ErrorBuf) -> i32| -> Result<(), String> {
                let mut err = [0u8; 512];
                let mut eb = ErrorBuf {
                    buf: err.as_mut_ptr(),
                    cap: err.len(),
                    len: 0,
                };
                if f(&mut eb) == STATUS_OK {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&err[..eb.len.min(512)]).into_owned())
                }
            };
            let mut last_sync = Instant::now();
            let mut failure: Option<String> = None;
            loop {
                let done = ring.finished.load(Ordering::Acquire);
                let n = consumer.slots() / frame * frame;
                if n > 0
                    && let Ok(chunk) = consumer.read_chunk(n)
                {
                    let (a, b) = chunk.as_slices();
                    for part in [a, b] {
                        if part.is_empty() || failure.is_some() {
                            continue;
                        }
                        // `part` holds whole frames: the ring is sized in frames and only whole
                        // frames are pushed.
                        let result = match convert.as_mut() {
                            Some(c) => c.process(part, &mut write),
                            None => write(part, part.len() / frame),
                        };
                        failure = result.err();
                    }
                    chunk.commit_all();
                }
                if last_sync.elapsed() >= interval && failure.is_none() {
                    // SAFETY: ABI call on our handle.
                    failure = call_plugin(&|eb| unsafe { (storage.sync)(file.0, eb) })
                        .and_then(|()| journal.borrow_mut().sync())
                        .err();
                    last_sync = Instant::now();
                }
                if done && consumer.slots() < frame {
                    break;
                }
                if n == 0 {
                    // A recorder needs no low latency: wake up rarely.
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            if failure.is_none()
                && let Some(c) = convert.as_mut()
            {
                failure = c.finish(&mut write).err();
            }
            // SAFETY: ABI call; frees the handle whatever happened before.
            let finished = call_plugin(&|eb| unsafe { (storage.finish)(file.0, eb) });
            // The journal seals what the storage accepted, even when the file failed later.
            let sealed = journal.into_inner().finish();
            match failure {
                Some(e) => Err(e),
                None => finished.and(sealed),
            }
        })
        .map_err(|e| format!("cannot start the writer thread: {e}"))
}
