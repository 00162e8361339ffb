//! Aligning sources on independent clocks (pure code).
//!
//! Each delivery of a timed source leaves a mark: how many frames it had delivered, and when
//! (CLOCK_MONOTONIC). [`SourceClock`] fits a line through the marks, frames against time, so
//! that every source frame has a time: the line's slope is the source's true rate as the
//! monotonic clock sees it (its drift), and a delivery far off the line starts a new segment
//! (frames were lost, or the device was reopened). [`Timebase`] gives every frame of the
//! recording its time (start, pause, resume, stop). The mixer then takes, for each output frame
//! and each source, the source's signal at that frame's time, interpolated between samples:
//! the sources stay aligned however their clocks drift, with no cumulative error.

/// A delivery off its segment's line by more than four times the recent jitter of the
/// source's marks (seconds, kept between these bounds) is a discontinuity, once the next
/// delivery confirms it (a single late callback is not). Callback times jitter by
/// milliseconds.
pub const MIN_STEP_S: f64 = 0.002;
pub const GAP_S: f64 = 0.1;
/// A source whose first `JITTER_MARKS` marks were all this close to the line is timed exactly
/// (a sound server's graph times), and for it the least step is `EXACT_STEP_S`: a step under
/// `MIN_STEP_S` was fitted into the line as a drift of hundreds of ppm, and resampled (a live
/// test's microphone, moved to a headset, when PipeWire moved onrecord's node to another
/// driver whose cycles ran 1.5 ms later). A drift cannot pass for a step however small the
/// floor: it moves the marks off the line a little at a time, and the jitter, which follows
/// the marks' distance, keeps the step four times ahead of it.
const EXACT_JITTER_S: f64 = 0.000_1;
const EXACT_STEP_S: f64 = 0.000_5;
/// The jitter assumed before any is measured.
const START_JITTER_S: f64 = 0.005;
/// Marks on the line after which the jitter is the most they showed, no longer the assumed
/// one decaying: a source timed exactly (a sound server's graph times) then has the least
/// step, and a shift of a few milliseconds a second in (a device relinked, the graph's
/// latency changed) is a discontinuity, not a drift of thousands of ppm.
const JITTER_MARKS: u32 = 16;
/// The slope is fitted once the marks span this long (seconds); before, the nominal rate is
/// assumed.
const FIT_SPAN_S: f64 = 2.0;
/// A fitted rate further than this from the nominal one is not believed (clamped).
const MAX_DRIFT: f64 = 0.01;
/// A fitted rate within this many standard errors of the prior one (the nominal rate, or the one
/// measured before a gap) is taken as the prior.
const SIGNIFICANT: f64 = 3.0;
/// Nor is a drift that moved the source's clock by less than this (seconds) over the span of
/// the slopes' pairs: the scatter of the marks' lateness reaches a quarter millisecond now and
/// then, which over the first seconds reads as hundreds of ppm; a side this close to the line
/// is aligned anyway, and a real drift passes it as the span grows (100 ppm once the pairs
/// are 5 s apart, 2000 ppm at a quarter second).
const MIN_SLIP_S: f64 = 0.000_5;
/// Fits in a row that must find a drift before it is corrected.
const CONFIRM: u32 = 2;

/// Bins a segment's line is fitted to, at most (the most recent); a bin is a quarter second of
/// the source's frames, so this is about four minutes.
const WINDOW: usize = 1024;

/// One continuous run of a source's frames and its time line:
/// `time(k) = ta + a + (k - ka) * b`.
///
/// A delivery is only ever late (its callback ran after its frames were captured, by however
/// long the scheduler took), so each quarter second of marks is reduced to its earliest (the
/// one least delayed), and the line is fitted to those: the floor of the delays, which moves
/// much less than their mean.
#[derive(Clone, Debug)]
struct Segment {
    /// The first frame of the segment.
    k0: u64,
    /// The anchor mark.
    ka: u64,
    ta: f64,
    a: f64,
    /// Seconds per frame.
    b: f64,
    /// The rate believed before this segment's own marks say otherwise: the nominal one for a
    /// source's first segment, the previous segment's for the next (a device lost and back
    /// keeps its clock).
    prior: f64,
    /// The earliest mark of each closed bin, x = k - ka (frames), y = t - ta (seconds).
    pts: std::collections::VecDeque<(f64, f64)>,
    /// The bin being filled: its index and earliest mark.
    open: Option<(i64, (f64, f64))>,
    /// Frames per bin.
    bin: f64,
    /// The span of all marks taken (frames).
    last_x: f64,
    fitted: bool,
    /// Fits in a row that found the same significant drift from the prior (negative: faster).
    agree: i32,
    /// What a fit computes in (kept: no allocation per fit).
    scratch: Vec<f64>,
}

impl Segment {
    fn new(k0: u64, ka: u64, ta: f64, b: f64) -> Segment {
        let mut s = Segment {
            k0,
            ka,
            ta,
            a: 0.0,
            b,
            prior: b,
            pts: std::collections::VecDeque::new(),
            open: None,
            bin: (0.25 / b).max(1.0),
            last_x: 0.0,
            fitted: false,
            agree: 0,
            scratch: Vec::new(),
        };
        s.add(ka, ta);
        s
    }

    fn time_of(&self, k: f64) -> f64 {
        self.ta + self.a + (k - self.ka as f64) * self.b
    }

    fn frame_at(&self, t: f64) -> f64 {
        self.ka as f64 + (t - self.ta - self.a) / self.b
    }

    /// Takes a mark; says whether a bin closed (time to refit).
    fn add(&mut self, k: u64, t: f64) -> bool {
        let (x, y) = (k as f64 - self.ka as f64, t - self.ta);
        self.last_x = self.last_x.max(x);
        let idx = (x / self.bin).floor() as i64;
        let early = |p: (f64, f64), q: (f64, f64), b: f64| p.1 - p.0 * b <= q.1 - q.0 * b;
        match self.open {
            Some((i, best)) if i == idx => {
                if early((x, y), best, self.b) {
                    self.open = Some((i, (x, y)));
                }
                false
            }
            Some((_, best)) => {
                if self.pts.len() == WINDOW {
                    self.pts.pop_front();
                }
                self.pts.push_back(best);
                self.open = Some((idx, (x, y)));
                true
            }
            None => {
                self.open = Some((idx, (x, y)));
                true
            }
        }
    }

    /// Fits the line robustly: the slope is the median of the slopes between bins half the
    /// window apart, and the offset the median over the last ten seconds' bins, so that a
    /// burst (a server catching up) or a stall does not tilt the line.
    fn refit(&mut self, nominal_b: f64) {
        // The slope from closed bins only: the open one's earliest mark is the least of fewer
        // marks, so it lies later than a closed bin's would, and every slope to it leans the
        // same way (it read as a slower clock, a hundred ppm and more in the first seconds).
        // A refit comes four times a second per source, over up to `WINDOW` bins: the order
        // statistics are selected, not sorted, in a buffer kept between fits.
        let closed = self.pts.make_contiguous();
        let scratch = &mut self.scratch;
        if self.last_x * nominal_b >= FIT_SPAN_S && closed.len() >= 4 {
            let all = &*closed;
            let h = all.len() / 2;
            scratch.clear();
            scratch.extend(
                (0..all.len() - h)
                    .map(|i| (all[i + h].1 - all[i].1) / (all[i + h].0 - all[i].0))
                    .filter(|b| b.is_finite()),
            );
            if !scratch.is_empty() {
                let n = scratch.len();
                let b = nth(scratch, n / 2);
                // A drift the marks cannot tell from none is not corrected: the median's
                // standard error against the distance to the prior rate (the nominal one, or
                // the one measured before a gap). A short recording from a jittery callback
                // clock would otherwise be resampled by a few ppm of noise. The error is taken
                // two ways, and the larger believed: from the slopes' interquartile range
                // (1.2533 sigma / sqrt n), which a handful of slopes (the first seconds, or a
                // segment after a gap) can understate by far, and from the scatter of every bin
                // about the fitted line (its median absolute deviation), which is what a slope
                // over the pairs' span inherits.
                let iqr = nth(scratch, (3 * n) / 4) - nth(scratch, n / 4);
                let from_slopes = 1.2533 * (iqr / 1.349) / (n as f64).sqrt();
                scratch.clear();
                scratch.extend(all.iter().map(|(x, y)| y - b * x));
                let mid = median(scratch);
                for r in scratch.iter_mut() {
                    *r = (*r - mid).abs();
                }
                let sigma = 1.4826 * median(scratch);
                let pair_span = all[h].0 - all[0].0;
                let from_scatter = if pair_span > 0.0 {
                    1.2533 * sigma * std::f64::consts::SQRT_2 / pair_span / (n as f64).sqrt()
                } else {
                    f64::INFINITY
                };
                let se = from_slopes.max(from_scatter);
                // Few slopes (the first seconds of a segment) estimate their own spread poorly:
                // the bar is raised for them, as a t quantile is over a normal one.
                let bar = SIGNIFICANT * (1.0 + 4.0 / n as f64);
                let significant = (b - self.prior).abs() > bar * se
                    && (b - self.prior).abs() * pair_span > MIN_SLIP_S;
                // And a drift is believed once fits in a row agree on it: noise crosses the bar
                // now and then as bins come and go, a real drift at every fit.
                let sign = if b > self.prior { 1 } else { -1 };
                self.agree = match significant {
                    false => 0,
                    true if self.agree.signum() == sign => self.agree + sign,
                    true => sign,
                };
                // A drift found but not yet confirmed leaves the line as it was, and a segment
                // not fitted before stays so (the writer waits for a fit, so the first seconds
                // are placed on a settled line, not on the nominal one and then moved).
                if !significant || self.agree.unsigned_abs() >= CONFIRM {
                    let b = if significant { b } else { self.prior };
                    self.b = b.clamp(nominal_b * (1.0 - MAX_DRIFT), nominal_b * (1.0 + MAX_DRIFT));
                    self.fitted = true;
                }
            }
        }
        // The offset over the last forty bins, the open one among them.
        let open = self.open.as_ref().map(|o| o.1);
        let recent = &closed[closed
            .len()
            .saturating_sub(40 - usize::from(open.is_some()))..];
        scratch.clear();
        scratch.extend(
            recent
                .iter()
                .chain(open.as_ref())
                .map(|(x, y)| y - self.b * x),
        );
        if !scratch.is_empty() {
            self.a = median(scratch);
        }
    }
}

/// The upper median of `v` (`v` is reordered).
fn median(v: &mut [f64]) -> f64 {
    nth(v, v.len() / 2)
}

/// The `i`th smallest of `v` (as if sorted by `total_cmp`; `v` is reordered).
fn nth(v: &mut [f64], i: usize) -> f64 {
    *v.select_nth_unstable_by(i, f64::total_cmp).1
}

/// A delivery off its segment's line, waiting for the next in its own time to say whether
/// frames were lost before it.
#[derive(Clone, Copy, Debug)]
struct Suspect {
    /// Frames delivered before it.
    before: u64,
    /// Its frame.
    k: u64,
    /// How far off the line it is (seconds): the least of the marks taken since, while the
    /// source caught up.
    resid: f64,
    /// The latest mark taken (frame, time).
    last: (u64, f64),
}

/// A source's frames on the monotonic clock.
#[derive(Clone, Debug)]
pub struct SourceClock {
    nominal: f64,
    segments: Vec<Segment>,
    /// Frames delivered before the latest mark.
    frames: u64,
    /// A mark off the line, waiting for the next to confirm it.
    suspect: Option<Suspect>,
    /// A decaying peak of the accepted marks' distance from the line (seconds).
    jitter: f64,
    /// Marks accepted on the line, up to `JITTER_MARKS`, and the most they were off it.
    accepted: u32,
    peak: f64,
    /// Frames missing at discontinuities (the time gap, at the nominal rate).
    pub lost_frames: u64,
    /// Discontinuities seen.
    pub discontinuities: u32,
}

impl SourceClock {
    pub fn new(nominal_rate: u32) -> SourceClock {
        SourceClock {
            nominal: nominal_rate as f64,
            segments: Vec::new(),
            frames: 0,
            suspect: None,
            jitter: START_JITTER_S,
            accepted: 0,
            peak: 0.0,
            lost_frames: 0,
            discontinuities: 0,
        }
    }

    /// Takes one mark: frame `k` was captured at `t` seconds, and `total` frames have been
    /// delivered in all.
    pub fn mark(&mut self, k: u64, t: f64, total: u64) {
        let nominal_b = 1.0 / self.nominal;
        let before = self.frames;
        if total <= before || k > total {
            return;
        }
        self.frames = total;
        let Some(seg) = self.segments.last_mut() else {
            self.segments.push(Segment::new(before, k, t, nominal_b));
            return;
        };
        let resid = t - seg.time_of(k as f64);
        let exact = self.accepted == JITTER_MARKS && self.peak <= EXACT_JITTER_S;
        let floor = if exact { EXACT_STEP_S } else { MIN_STEP_S };
        let step = (4.0 * self.jitter).clamp(floor, GAP_S);
        if resid.abs() <= step {
            // A suspect followed by a mark back on the line was a late callback.
            self.suspect = None;
            self.jitter = resid.abs().max(self.jitter * 0.99);
            if self.accepted < JITTER_MARKS {
                self.accepted += 1;
                self.peak = self.peak.max(resid.abs());
                if self.accepted == JITTER_MARKS {
                    self.jitter = self.peak;
                }
            }
            if seg.add(k, t) || !seg.fitted {
                seg.refit(nominal_b);
            }
            return;
        }
        // This mark, should it be the one to wait on.
        let this = Suspect {
            before,
            k,
            resid,
            last: (k, t),
        };
        let Some(mut s) = self
            .suspect
            .take()
            .filter(|s| resid.signum() == s.resid.signum())
        else {
            self.suspect = Some(this);
            return;
        };
        // A source held up (its thread not scheduled) delivers what it missed one delivery
        // right after another: each of those marks is late by less than the one before, and
        // none says where the line is. The least late of them bounds the suspect's lateness
        // (frames are only ever delivered late), and the first delivery in its own time
        // confirms or clears it.
        let catching_up = t - s.last.1 < 0.5 * k.saturating_sub(s.last.0) as f64 * seg.b;
        let floor = s.resid.min(resid);
        if catching_up {
            s.resid = floor;
            s.last = (k, t);
            self.suspect = Some(s);
            return;
        }
        let off = resid - s.resid;
        if off >= -step && off <= step.max(0.1 * s.resid.abs()) {
            // Confirmed: a new segment from the suspect delivery on, on the line of the
            // least late of its marks.
            let (b, fitted) = (seg.b, seg.fitted);
            let s_t = seg.time_of(s.k as f64) + floor;
            if floor > 0.0 {
                self.lost_frames += (floor * self.nominal).round() as u64;
            }
            self.discontinuities += 1;
            let mut next = Segment::new(s.before, s.k, s_t, b);
            // The source's rate is known from before: only its offset is new.
            next.fitted = fitted;
            next.add(k, t);
            next.refit(nominal_b);
            self.segments.push(next);
            // Old segments are kept only while output may still need them.
            if self.segments.len() > 8 {
                self.segments.remove(0);
            }
        } else {
            self.suspect = Some(this);
        }
    }

    /// The source frame (fractional) captured at `t`, if a segment covers `t`: none in a gap
    /// between segments. Frames after the last delivery are extrapolated: check them against
    /// what was received.
    pub fn frame_at(&self, t: f64) -> Option<f64> {
        let i = self
            .segments
            .iter()
            .rposition(|s| s.time_of(s.k0 as f64) <= t)?;
        let k = self.segments[i].frame_at(t);
        match self.segments.get(i + 1) {
            Some(next) if k >= next.k0 as f64 => None,
            _ => Some(k),
        }
    }

    /// The source frames captured at `t0` and at `t1`, when one segment covers both (then
    /// every time between maps linearly): the mixer's fast path.
    pub fn frames_over(&self, t0: f64, t1: f64) -> Option<(f64, f64)> {
        let at = |t: f64| {
            self.segments
                .iter()
                .rposition(|s| s.time_of(s.k0 as f64) <= t)
        };
        let i = at(t0)?;
        if at(t1)? != i {
            return None;
        }
        let s = &self.segments[i];
        let (k0, k1) = (s.frame_at(t0), s.frame_at(t1));
        match self.segments.get(i + 1) {
            Some(next) if k1 >= next.k0 as f64 => None,
            _ => Some((k0, k1)),
        }
    }

    /// Whether the source's rate has been measured (output waits for it, so that drift is
    /// corrected from the first frame).
    pub fn fitted(&self) -> bool {
        self.segments.last().is_some_and(|s| s.fitted)
    }

    /// Frames whose time is settled (a delivery off the line waits for the next to say where
    /// it belongs).
    pub fn confirmed_frames(&self) -> u64 {
        self.suspect.map_or(self.frames, |s| s.before)
    }

    /// Whether `t` is before the source's first frame.
    pub fn before_start(&self, t: f64) -> bool {
        self.segments
            .first()
            .is_none_or(|s| t < s.time_of(s.k0 as f64))
    }

    /// The fitted drift against the monotonic clock, in parts per million (positive: the
    /// source runs fast), once a segment has been fitted.
    pub fn drift_ppm(&self) -> Option<f64> {
        self.segments
            .iter()
            .rev()
            .find(|s| s.fitted)
            .map(|s| (1.0 / (s.b * self.nominal) - 1.0) * 1e6)
    }
}

/// The recording's frames on the monotonic clock: spans between start (or resume) and pause
/// (or stop). Paused time is not in the recording.
#[derive(Clone, Debug, Default)]
pub struct Timebase {
    rate: f64,
    /// (first output frame, start time, end time when closed).
    spans: Vec<(u64, f64, Option<f64>)>,
}

impl Timebase {
    pub fn new(rate: u32) -> Timebase {
        Timebase {
            rate: rate as f64,
            spans: Vec::new(),
        }
    }

    fn span_frames(&self, s: &(u64, f64, Option<f64>), now: f64) -> u64 {
        ((s.2.unwrap_or(now) - s.1).max(0.0) * self.rate).round() as u64
    }

    /// Starts or resumes at `t`.
    pub fn open(&mut self, t: f64) {
        if self.is_open() {
            return;
        }
        let out0 = self
            .spans
            .last()
            .map_or(0, |s| s.0 + self.span_frames(s, t));
        self.spans.push((out0, t, None));
    }

    /// Pauses or stops at `t`.
    pub fn close(&mut self, t: f64) {
        if let Some(s) = self.spans.last_mut()
            && s.2.is_none()
        {
            s.2 = Some(t.max(s.1));
        }
    }

    pub fn is_open(&self) -> bool {
        self.spans.last().is_some_and(|s| s.2.is_none())
    }

    /// Frames of the recording at `now`.
    pub fn position(&self, now: f64) -> u64 {
        self.spans
            .last()
            .map_or(0, |s| s.0 + self.span_frames(s, now))
    }

    /// Where output frame `n` lies: its time, and how many frames from `n` on stay in the same
    /// span (`None`: up to `now`, the span is open). `None` past the end of a closed recording.
    pub fn locate(&self, n: u64) -> Option<(f64, Option<u64>)> {
        let i = self.spans.iter().rposition(|s| s.0 <= n)?;
        let s = &self.spans[i];
        let t = s.1 + (n - s.0) as f64 / self.rate;
        match s.2 {
            None => Some((t, None)),
            Some(_) => {
                let end = s.0 + self.span_frames(s, 0.0);
                (n < end).then_some((t, Some(end - n)))
            }
        }
    }

    /// Frames of time not in the recording (paused or held).
    pub fn paused_frames(&self) -> u64 {
        self.spans
            .windows(2)
            .map(|w| {
                let gap = w[1].1 - w[0].2.unwrap_or(w[1].1);
                (gap.max(0.0) * self.rate).round() as u64
            })
            .sum()
    }
}

/// The signal at fractional frame `k` of `buf` (one channel of 16-bit samples), in [-1, 1], by
/// a four-point cubic (Catmull-Rom) interpolation; `None` when its neighbours are not all in
/// `buf`.
pub fn interpolate(buf: &[i16], k: f64) -> Option<f32> {
    if k < 1.0 {
        return None;
    }
    // `k` is positive: truncation is the floor (and needs no libm call).
    let i = k as usize;
    let &[p0, p1, p2, p3] = buf.get(i - 1..i + 3)? else {
        return None;
    };
    let [p0, p1, p2, p3] = [p0, p1, p2, p3].map(|p| p as f32 / 32768.0);
    let f = (k - i as f64) as f32;
    let c1 = 0.5 * (p2 - p0);
    let c2 = p0 - 2.5 * p1 + 2.0 * p2 - 0.5 * p3;
    let c3 = 0.5 * (p3 - p0) + 1.5 * (p1 - p2);
    Some(((c3 * f + c2) * f + c1) * f + p1)
}

#[cfg(test)]
#[path = "align_tests.rs"]
mod tests;
