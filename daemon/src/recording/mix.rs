//! The writer of a recording from timed sources (your microphone on the left, the far side on
//! the right): every output frame has a time on CLOCK_MONOTONIC ([`Timebase`]), and each
//! channel takes its source's signal at that time ([`SourceClock`], [`interpolate`]). A source
//! that delivers nothing for a while (lost, or not started yet) gives silence, which is
//! counted and noted in the call's timeline with where it lies in the recording; the other
//! channel goes on. The writer wakes once a second (and at once when the recording stops).

use super::align::{SourceClock, Timebase, interpolate};
use super::journal::Sealed;
use super::pcm::{interleave, to_i16};
use super::ring::{Mark, Output, Ring, SinkCtx, mono_ns};
use onrecord_plugin::abi::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the writer takes what the sources delivered and writes it out. A recorder needs
/// no low latency: each pass costs a wakeup, system calls and a processor woken cold, whatever
/// it carries (measured against half a second, in the live bench's rounds paired: the daemon's
/// CPU 0.93x). The sources' rings hold three times this.
const PASS: Duration = Duration::from_millis(1000);
/// Frames produced at a time, at most.
const CHUNK: u64 = 4800;
/// A source silent this long (seconds) is taken as gone for the time that passed.
const QUIET_S: f64 = 0.5;
/// Output waits until a source's audio reaches this far (seconds) past it, and until the
/// source's rate is measured (the first two seconds).
const LOOKAHEAD_S: f64 = 0.5;
/// Output never waits longer than this (seconds) for a late source.
const MAX_WAIT_S: f64 = 3.0;
/// Gaps shorter than this (seconds) are neither noted nor counted as gaps (their frames are
/// counted as silence): a source's first period arriving a few milliseconds after the start.
const NOTE_GAP_S: f64 = 0.02;
/// Source audio kept ahead of the output, at most (seconds): a source faster than real time
/// (a file) cannot fill memory.
const MAX_AHEAD_S: usize = 30;

/// How far (seconds) a side's placement may lag or lead its fitted line before it is moved
/// back toward it. The line's offset is refitted as marks come and wanders by a few
/// hundredths of a millisecond; followed chunk by chunk, each wander would skip or repeat a
/// sample (at the nominal rate) and the copy would no longer be exact. Capture times are known
/// to about 0.3 ms: a tenth of a millisecond more is within what the placement can claim.
/// Beyond it, the side is moved a frame a chunk (never several samples at once, which a
/// listener or a correlation would notice more), unless the line moved four times as far.
const FOLLOW_S: f64 = 0.000_1;

/// Seconds of output after which the start's memory is given back (the clock fits and the
/// devices' buffers are settled by then).
const TRIM_AFTER_S: u64 = 5;

/// Something the writer tells the call's timeline.
pub type Notes = Arc<dyn Fn(String) + Send + Sync>;

/// A `*const SinkCtx` the writer may read events from: the recording frees it only after the
/// writer has been joined.
pub struct SinkRef(pub *const SinkCtx);
// SAFETY: `SinkCtx` is `Sync`; see above for its lifetime.
unsafe impl Send for SinkRef {}

/// One timed source, as the writer takes it.
pub struct Side {
    /// `microphone (pipewire:input_default)`.
    pub label: String,
    pub ring: Arc<Ring>,
    pub sink: SinkRef,
    pub consumer: rtrb::Consumer<u8>,
    pub marks: rtrb::Consumer<Mark>,
    /// The source's rate: its ring holds 16-bit mono frames at it (the callback mixes the
    /// source down).
    pub rate: u32,
}

/// What the owner and the writer share.
pub struct MixShared {
    pub timebase: Mutex<Timebase>,
    pub finished: AtomicBool,
    pub stats: Mutex<Vec<onrecord_evidence::SourceStats>>,
    /// Notes made once stopping began: they go into the stop's report, before the evidence is
    /// sealed, rather than through `Notes`.
    pub final_notes: Mutex<Vec<String>>,
}

impl MixShared {
    pub fn new(rate: u32) -> MixShared {
        MixShared {
            timebase: Mutex::new(Timebase::new(rate)),
            finished: AtomicBool::new(false),
            stats: Mutex::new(Vec::new()),
            final_notes: Mutex::new(Vec::new()),
        }
    }

    pub fn timebase(&self) -> std::sync::MutexGuard<'_, Timebase> {
        self.timebase.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub fn now_s() -> f64 {
    mono_ns() as f64 * 1e-9
}

/// `m:ss.mmm` of a frame of the recording.
pub fn offset(frames: u64, rate: u32) -> String {
    let ms = frames * 1000 / rate.max(1) as u64;
    format!("{}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000)
}

/// A side's samples, oldest first, as 16-bit (what the recording stores: a copy at the output's
/// rate is exact, and the seconds held at the start take half the memory of floats): a vector
/// read from `head` on, compacted once the read part is the larger (so that reading it as one
/// slice never copies).
struct Samples {
    v: Vec<i16>,
    head: usize,
}

impl Samples {
    fn len(&self) -> usize {
        self.v.len() - self.head
    }

    fn as_slice(&self) -> &[i16] {
        &self.v[self.head..]
    }

    /// Appends little-endian 16-bit samples (a ring's bytes).
    fn extend_le(&mut self, bytes: &[u8]) {
        super::pcm::extend_le_i16s(&mut self.v, bytes);
    }

    /// Forgets the `n` oldest samples. Memory the start (seconds held while the first clock
    /// fit is waited for) needed and the steady state does not is given back.
    fn drop_front(&mut self, n: usize) {
        self.head += n.min(self.len());
        if self.head >= 48_000 && self.head * 2 >= self.v.len() {
            self.v.drain(..self.head);
            self.head = 0;
            let want = self.v.len().max(48_000) * 2;
            if self.v.capacity() > 2 * want {
                self.v.shrink_to(want);
            }
        }
    }
}

struct Live {
    side: Side,
    clock: SourceClock,
    /// Mono 16-bit samples from frame `buf_k0` on.
    buf: Samples,
    buf_k0: u64,
    received: u64,
    last_mark_s: Option<f64>,
    gap_from: Option<u64>,
    silent: u64,
    gaps: u32,
    dropped_ahead: u64,
    /// Where the last render ended: the output time after it, and the source frame it placed
    /// there (the next render goes on from it while the line is near).
    next: Option<(f64, f64)>,
}

impl Live {
    fn new(side: Side) -> Live {
        let rate = side.rate as f64;
        Live {
            clock: SourceClock::new(side.rate),
            side,
            // Room for what the start holds (output waits for the first clock fit, at most
            // `MAX_WAIT_S`, then runs `LOOKAHEAD_S` and a pass behind): taken once rather than
            // grown by doubling, whose copies would hold the old and the new at once. Pages
            // are resident only once written.
            buf: Samples {
                v: Vec::with_capacity(((MAX_WAIT_S + LOOKAHEAD_S + 1.0) * rate) as usize),
                head: 0,
            },
            buf_k0: 0,
            received: 0,
            last_mark_s: None,
            gap_from: None,
            silent: 0,
            gaps: 0,
            dropped_ahead: 0,
            next: None,
        }
    }

    /// Takes what the source delivered since the last pass.
    fn pull(&mut self) {
        while let Ok(m) = self.side.marks.pop() {
            self.clock.mark(m.frame, m.mono_ns as f64 * 1e-9, m.total);
            self.last_mark_s = Some(m.mono_ns as f64 * 1e-9);
        }
        // The ring holds 16-bit mono frames: the callback mixed the source down.
        let n = self.side.consumer.slots() / 2 * 2;
        if n == 0 {
            return;
        }
        let Ok(chunk) = self.side.consumer.read_chunk(n) else {
            return;
        };
        let (a, b) = chunk.as_slices();
        for part in [a, b] {
            self.buf.extend_le(part);
        }
        chunk.commit_all();
        self.received += (n / 2) as u64;
        let cap = MAX_AHEAD_S * self.side.rate as usize;
        if self.buf.len() > cap {
            let extra = self.buf.len() - cap;
            self.buf.drop_front(extra);
            self.buf_k0 += extra as u64;
            self.dropped_ahead += extra as u64;
        }
    }

    /// Whether output up to time `t` can be made for this source now: its audio for `t` is
    /// here, and (until stopping) so is `LOOKAHEAD_S` more, so that `t` lies between marks on
    /// a fitted line rather than beyond them.
    fn ready(&self, t: f64, now: f64, stopping: bool) -> bool {
        let have = self.clock.confirmed_frames() as f64;
        let here = |t: f64| self.clock.frame_at(t).is_some_and(|k| k + 3.0 <= have);
        if here(t) && (stopping || (here(t + LOOKAHEAD_S) && self.clock.fitted())) {
            return true;
        }
        if self.clock.before_start(t) && self.last_mark_s.is_some() {
            return true;
        }
        let quiet = self.last_mark_s.is_none_or(|l| now - l > QUIET_S);
        (quiet && t < now - QUIET_S / 2.0) || now - t > MAX_WAIT_S
    }

    /// The source's signal for `len` output frames from time `t0` into `out`; where it has
    /// none, silence, and `missing` says which (left empty when every frame has audio). One
    /// segment covering the stretch maps linearly (the usual case). Where the stretch is a
    /// plain copy of the source's samples (the usual case at the output's rate), their range
    /// in `self.buf` instead, `out` left empty: the writer interleaves them from there.
    fn render_or_copy(
        &mut self,
        t0: f64,
        len: u64,
        rate: f64,
        out: &mut Vec<i16>,
        missing: &mut Vec<bool>,
    ) -> Option<std::ops::Range<usize>> {
        out.clear();
        missing.clear();
        let confirmed = self.clock.confirmed_frames() as f64;
        let base = self.buf_k0 as f64;
        let t_last = t0 + (len.max(1) - 1) as f64 / rate;
        let span = self.clock.frames_over(t0, t_last);
        let clock = &self.clock;
        let buf: &[i16] = self.buf.as_slice();
        let at = |k: f64| {
            if k + 3.0 > confirmed || k < base {
                None
            } else {
                interpolate(buf, k - base)
            }
        };
        let t_after = t_last + 1.0 / rate;
        let follow = FOLLOW_S * self.side.rate as f64;
        let next = self.next.take();
        match span {
            Some((mut k0, mut k1)) => {
                let step = if len > 1 {
                    (k1 - k0) / (len - 1) as f64
                } else {
                    0.0
                };
                // Going on from the last render while the line is within `FOLLOW_S` of it;
                // beyond, one frame toward the line a chunk (a sample skipped or repeated, the
                // least a copy can move); four times beyond (the source's time really moved),
                // onto the line at once.
                if let Some((t_next, k_next)) = next
                    && (t0 - t_next).abs() < 0.5 / rate
                {
                    let off = k0 - k_next;
                    let start = if off.abs() <= follow {
                        Some(k_next)
                    } else if off.abs() <= 4.0 * follow {
                        Some(k_next + off.signum())
                    } else {
                        None
                    };
                    if let Some(start) = start {
                        (k0, k1) = (start, k1 + (start - k0));
                    }
                }
                // At exactly the output's rate (within 1e-7: under a thousandth of a sample
                // over a chunk) nothing is resampled: each output frame is the source's
                // nearest sample, so the audio is copied exactly. The placement errs by at
                // most half a sample (10 µs at 48 kHz), far under what capture times are known
                // to (about 0.3 ms); interpolating would only filter the audio.
                let first = k0 - base;
                let whole = len > 1
                    && (step - 1.0).abs() < 1e-7
                    && first >= 1.0
                    && k1 + 3.0 <= confirmed
                    && (first as usize) + len as usize + 2 <= buf.len();
                if whole {
                    // `first` is at least 1: adding a half and truncating rounds it.
                    let i = (first + 0.5) as usize;
                    self.next = Some((t_after, base + (i + len as usize) as f64));
                    return Some(i..i + len as usize);
                }
                fill(out, missing, (0..len).map(|j| at(k0 + j as f64 * step)));
                self.next = Some((t_after, k0 + len as f64 * step));
            }
            None => fill(
                out,
                missing,
                (0..len).map(|j| clock.frame_at(t0 + j as f64 / rate).and_then(at)),
            ),
        }
        None
    }

    /// Forgets source frames before `t` (output has passed them).
    fn trim(&mut self, t: f64) {
        if let Some(k) = self.clock.frame_at(t) {
            // The next render may go on from up to `FOLLOW_S` before the line.
            let follow = (FOLLOW_S * self.side.rate as f64).ceil() as i64;
            let keep = (k.floor() as i64 - 4 - follow).max(0) as u64;
            if keep > self.buf_k0 {
                let n = ((keep - self.buf_k0) as usize).min(self.buf.len());
                self.buf.drop_front(n);
                self.buf_k0 += n as u64;
            }
        }
    }
}

/// Renders interpolated values into `out` as 16-bit (silence where there is none), and which are
/// missing into `missing`, left empty when none is.
fn fill(out: &mut Vec<i16>, missing: &mut Vec<bool>, values: impl Iterator<Item = Option<f32>>) {
    let mut any = false;
    for v in values {
        out.push(v.map_or(0, to_i16));
        missing.push(v.is_none());
        any |= v.is_none();
    }
    if !any {
        missing.clear();
    }
}

/// The most sides a recording has (the microphone and the far side).
pub const MAX_SIDES: usize = 2;

/// Starts the writer of `sides` (left, right): i16 frames of `sides.len()` channels at `rate`.
pub fn spawn_mixer(
    sides: Vec<Side>,
    shared: Arc<MixShared>,
    out: Output,
    rate: u32,
    notes: Notes,
    call_id: &str,
) -> Result<std::thread::JoinHandle<Result<Sealed, crate::capture::CaptureError>>, String> {
    if sides.len() > MAX_SIDES {
        return Err(format!(
            "a recording has at most {MAX_SIDES} sides, not {}",
            sides.len()
        ));
    }
    std::thread::Builder::new()
        .name(format!("mixer-{call_id}"))
        .spawn(move || Mixer::new(sides, shared, out, rate, notes).run())
        .map_err(|e| format!("cannot start the writer thread: {e}"))
}

/// Where the mixer's notes go: the call's timeline while it records, the notes kept for the
/// seal once it has stopped.
struct Tell {
    shared: Arc<MixShared>,
    notes: Notes,
    rate: u32,
}

impl Tell {
    fn note(&self, text: String) {
        if self.shared.finished.load(Ordering::Acquire) {
            self.shared
                .final_notes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(text);
        } else {
            (self.notes)(text);
        }
    }

    /// A side's gap from frame `from` to `to` (`None`: to the end, at `next_at`), noted when it
    /// is long enough to matter.
    fn gap(&self, l: &mut Live, from: u64, to: Option<u64>, next_at: u64) {
        let rate = self.rate;
        if (next_at - from) as f64 >= NOTE_GAP_S * rate as f64 {
            l.gaps += 1;
            self.note(match to {
                Some(to) => format!(
                    "{}: no audio from {} to {}",
                    l.side.label,
                    offset(from, rate),
                    offset(to, rate)
                ),
                None => format!(
                    "{}: no audio from {} to the end ({})",
                    l.side.label,
                    offset(from, rate),
                    offset(next_at, rate)
                ),
            });
        }
    }
}

/// The writer thread's state: the sides, and the next frame of the recording to write.
struct Mixer {
    live: Vec<Live>,
    tell: Tell,
    out: Output,
    rate: u32,
    next: u64,
    trimmed: bool,
    /// One chunk of interleaved i16 output, each side's rendering of it (where it is not a
    /// plain copy of the side's samples), and which of a side's frames had no audio.
    frame: Vec<u8>,
    scratch: Vec<Vec<i16>>,
    missing: Vec<bool>,
}

impl Mixer {
    fn new(sides: Vec<Side>, shared: Arc<MixShared>, out: Output, rate: u32, notes: Notes) -> Self {
        let live: Vec<Live> = sides.into_iter().map(Live::new).collect();
        let channels = live.len();
        Mixer {
            live,
            tell: Tell {
                shared,
                notes,
                rate,
            },
            out,
            rate,
            next: 0,
            trimmed: false,
            frame: Vec::with_capacity(CHUNK as usize * channels * 2),
            scratch: (0..channels)
                .map(|_| Vec::with_capacity(CHUNK as usize))
                .collect(),
            missing: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Sealed, crate::capture::CaptureError> {
        loop {
            let finished = self.tell.shared.finished.load(Ordering::Acquire);
            self.pull();
            let done = self.mix_what_is_ready(finished);
            self.out.tick();
            if !self.trimmed && self.next >= TRIM_AFTER_S * self.rate as u64 {
                // Past the start: what it needed beyond the steady state goes back.
                crate::memory::give_back();
                self.trimmed = true;
            }
            if finished && done {
                break;
            }
            // Woken early by `finish` when the recording stops; sooner than a pass where the
            // file is to be made durable more often.
            std::thread::park_timeout(PASS.min(self.out.sync_interval()));
        }
        self.stats();
        self.out.close()
    }

    /// Takes what each side delivered, and notes its device events.
    fn pull(&mut self) {
        let rate = self.rate;
        for l in self.live.iter_mut() {
            l.pull();
            // SAFETY: see `SinkRef`.
            for e in unsafe { &*l.side.sink.0 }.take_events() {
                let what = match e.kind {
                    SOURCE_LOST => "device lost",
                    SOURCE_BACK => "device back",
                    SOURCE_MOVED => "device moved",
                    SOURCE_CLOCK => "clock changed",
                    _ => "device event",
                };
                let at = offset(
                    self.tell
                        .shared
                        .timebase()
                        .position(e.mono_ns as f64 * 1e-9),
                    rate,
                );
                tracing::warn!(source = %l.side.label, "{what}: {}", e.message);
                self.tell
                    .note(format!("{}: {what} at {at}: {}", l.side.label, e.message));
            }
        }
    }

    /// Writes every chunk that every side is ready for, up to now; true when the recording's
    /// timebase is closed and all of it is written.
    fn mix_what_is_ready(&mut self, finished: bool) -> bool {
        let rate = self.rate;
        let channels = self.live.len();
        let now = now_s();
        let tb = self.tell.shared.timebase().clone();
        loop {
            let Some((t0, left)) = tb.locate(self.next) else {
                return !tb.is_open();
            };
            let mut len = CHUNK.min(left.unwrap_or(CHUNK));
            let upto_now = ((now - t0) * rate as f64).floor();
            if upto_now < len as f64 {
                if upto_now < 1.0 {
                    return false;
                }
                len = upto_now as u64;
            }
            let t_last = t0 + (len - 1) as f64 / rate as f64;
            if !self.live.iter().all(|l| l.ready(t_last, now, finished)) {
                return false;
            }
            let mut copies = [const { None }; MAX_SIDES];
            for (c, copy) in copies.iter_mut().enumerate().take(channels) {
                *copy = self.render_channel(c, t0, len);
            }
            // Each side's samples for the chunk: its own (a plain copy) or its rendering.
            let mut planes: [&[i16]; MAX_SIDES] = [&[]; MAX_SIDES];
            for (c, plane) in planes.iter_mut().enumerate().take(channels) {
                *plane = match &copies[c] {
                    Some(r) => &self.live[c].buf.as_slice()[r.clone()],
                    None => &self.scratch[c],
                };
            }
            let planes = &planes[..channels];
            interleave(planes, len as usize, &mut self.frame);
            // The call analysis takes the sides' samples as they are, not out of the frames.
            self.out.put_planes(&self.frame, planes);
            self.next += len;
            let t_next = t0 + len as f64 / rate as f64;
            for l in self.live.iter_mut() {
                l.trim(t_next);
            }
        }
    }

    /// Side `c`'s `len` frames from time `t0`: the range of its samples when they are a plain
    /// copy, else rendered into its scratch (silence where it has no audio); a gap is noted
    /// when it ends.
    fn render_channel(&mut self, c: usize, t0: f64, len: u64) -> Option<std::ops::Range<usize>> {
        let (l, scratch, missing) = (&mut self.live[c], &mut self.scratch[c], &mut self.missing);
        let copy = l.render_or_copy(t0, len, self.rate as f64, scratch, missing);
        if l.gap_from.is_none() && missing.is_empty() {
            return copy;
        }
        // Where a gap begins or ends.
        for j in 0..len as usize {
            let at = self.next + j as u64;
            if missing.get(j).copied().unwrap_or(false) {
                l.silent += 1;
                l.gap_from.get_or_insert(at);
            } else if let Some(from) = l.gap_from.take() {
                self.tell.gap(l, from, Some(at), at);
            }
        }
        copy
    }

    /// Each side's counts, for the seal; a gap still open runs to the end.
    fn stats(&mut self) {
        let mut stats = Vec::new();
        for l in self.live.iter_mut() {
            if let Some(from) = l.gap_from.take() {
                self.tell.gap(l, from, None, self.next);
            }
            let (_, overruns, _) = l.side.ring.counts();
            stats.push(onrecord_evidence::SourceStats {
                source: l.side.label.clone(),
                frames_received: l.received,
                rate: l.side.rate,
                drift_ppm: l.clock.drift_ppm().map(|p| (p * 10.0).round() / 10.0),
                discontinuities: l.clock.discontinuities,
                frames_lost: l.clock.lost_frames + l.dropped_ahead,
                overruns,
                silent_frames: l.silent,
                gaps: l.gaps,
            });
        }
        *self
            .tell
            .shared
            .stats
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = stats;
    }
}

#[cfg(test)]
#[path = "mix_tests.rs"]
mod tests;
