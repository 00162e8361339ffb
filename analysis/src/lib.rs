//! Call analysis: what the far side was doing, frame by frame, and the holds it adds up to.
//!
//! The method (ARCHITECTURE.md, "Hold analysis", says the same at more length):
//!
//! 1. Front end ([`frontend`]): audio at any rate is low-passed to the telephone band and
//!    taken at 8 kHz; 32 ms windows every 20 ms give energy, spectral flatness, the share of
//!    power in the two strongest peaks, how much the log spectrum moved in 40 ms, and a
//!    16-bit fingerprint.
//! 2. Each frame is classified with one second of context (half a second either side):
//!    *silence* below a threshold that follows the line's noise floor; *tone* when the frame
//!    and most of its neighbours put nearly all their power in the same narrow peaks;
//!    otherwise *speech* or *music* by two classic discriminators: the low-energy frame ratio
//!    (speech keeps dipping between syllables, music does not) and spectral stability
//!    (sustained notes stay put, formants move).
//! 3. Smoothing: the majority class of a 300 ms neighbourhood; pauses inside speech are
//!    speech.
//! 4. Repeats ([`repeat`]): speech the far side plays again is a recorded *announcement*;
//!    so is speech squarely inside a hold that nobody answers (stereo recordings only, where
//!    the near side is heard).
//! 5. Holds ([`Summary`]): live speech stretches (merged across pauses shorter than 8 s);
//!    between them, and before the first, a stretch is a hold when it lasts 8 s or more or
//!    holds 2 s of music, tones or announcements, and the near side did not do most of the
//!    talking in it. A hold between two live stretches is a transfer. After a hold, live
//!    speech begins with the turn the caller answers.
//!
//! No model is downloaded or trained: every threshold is a named constant below.

#[cfg(feature = "files")]
pub mod file;
pub mod frontend;
mod repeat;

use frontend::{Decimator, FPS, Frame, Framer};
use serde::{Deserialize, Serialize};

/// What the far side is doing in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Speech,
    Music,
    Silence,
    Tone,
    Announcement,
}

impl Class {
    pub const ALL: [Class; 5] = [
        Class::Speech,
        Class::Music,
        Class::Silence,
        Class::Tone,
        Class::Announcement,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Speech => "speech",
            Class::Music => "music",
            Class::Silence => "silence",
            Class::Tone => "tone",
            Class::Announcement => "announcement",
        }
    }

    /// Something only a waiting caller hears.
    pub fn is_hold(self) -> bool {
        matches!(self, Class::Music | Class::Tone | Class::Announcement)
    }
}

/// Frames of context either side of the frame classified (0.5 s).
const CONTEXT: usize = 25;
/// The silence threshold sits this far above the noise floor...
const FLOOR_MARGIN: f32 = 10.0;
/// ...and never above this (anything louder is sound) nor below that.
const SILENCE_MAX_DB: f32 = -42.0;
const SILENCE_MIN_DB: f32 = -75.0;
/// The noise floor is the quietest second of the last this many seconds.
const FLOOR_SECONDS: usize = 20;
/// Tone: share of power in two peaks, and share of the loud neighbours that agree.
const TONE_PEAK: f32 = 0.8;
const TONE_SHARE: f32 = 0.6;
/// Speech: low-energy frame ratio above this, or spectral stability below that.
const LSTER_SPEECH: f32 = 0.25;
const STAB_MUSIC: f32 = 0.75;
/// Majority smoothing radius (frames) and the longest pause inside speech (frames).
const SMOOTH: usize = 7;
const SPEECH_PAUSE: usize = 20;
/// A speech run of which this share was heard twice is an announcement.
const REPEATED_SHARE: f32 = 0.4;
/// Speech runs apart by no more than this much silence are one utterance (frames).
const UTTERANCE_GAP: usize = 75;
/// Announcement by context: at most this long, the nearest sound either side a hold sound
/// this close (a ringback's silence between rings is 4 s).
const ANNOUNCEMENT_MAX: usize = 30 * 50;
const ANNOUNCEMENT_NEAR: usize = 6 * 50;
/// Live stretches merge across gaps shorter than this; shorter speech does not count as live.
const MERGE_GAP: usize = 8 * 50;
const LIVE_MIN: usize = 50;
/// The longest pause inside one turn of speech (frames).
const TURN_GAP: usize = 30;
/// A gap is a hold from this long, or with this much music, tone or announcement in it.
const HOLD_MIN: usize = 8 * 50;
const HOLD_SOUND_MIN: usize = 2 * 50;
/// Live, speech ends a hold once the near side answers it or it has gone on this long.
const LIVE_CONFIRM: usize = 20 * 50;
/// Near side: loud means this far above its own floor; talking when not drowned by the far
/// side's echo (within this many dB of it).
const NEAR_MARGIN: f32 = 12.0;
const NEAR_ECHO_DB: f32 = 10.0;

/// Tracks a channel's noise floor: the quietest one-second block of the recent past.
#[derive(Default)]
struct Floor {
    /// Minimum frame energy of each whole second so far, and of the current one.
    blocks: Vec<f32>,
    current: f32,
    in_block: usize,
}

impl Floor {
    fn push(&mut self, db: f32) {
        if self.in_block == 0 {
            self.current = f32::INFINITY;
        }
        self.current = self.current.min(db);
        self.in_block += 1;
        if self.in_block == 50 {
            self.blocks.push(self.current);
            self.in_block = 0;
        }
    }

    /// The floor as seen at frame `t` (whole seconds up to and including `t`'s).
    fn at(&self, t: usize) -> f32 {
        let b = (t / 50).min(self.blocks.len());
        let from = b.saturating_sub(FLOOR_SECONDS);
        let mut m = self.blocks[from..b]
            .iter()
            .copied()
            .fold(f32::INFINITY, f32::min);
        if b == self.blocks.len() && self.in_block > 0 {
            m = m.min(self.current);
        } else if b < self.blocks.len() {
            m = m.min(self.blocks[b]);
        }
        m
    }
}

fn silence_threshold(floor: f32) -> f32 {
    (floor + FLOOR_MARGIN).clamp(SILENCE_MIN_DB, SILENCE_MAX_DB)
}

/// One side's frames: every frame's energy for the whole call (four bytes a frame), and the
/// full features of the recent ones only (`keep`: the far side's, until classified).
struct Channel {
    dec: Decimator,
    framer: Framer,
    dbs: Vec<f32>,
    recent: Vec<Frame>,
    /// The frame number of `recent[0]`.
    base: usize,
    keep: bool,
    floor: Floor,
    buf: Vec<f32>,
}

impl Channel {
    fn new(rate: u32, framer: Framer, keep: bool) -> Channel {
        Channel {
            // The near side's energy alone needs no sharp band limit.
            dec: if keep {
                Decimator::new(rate)
            } else {
                Decimator::coarse(rate)
            },
            framer,
            dbs: Vec::new(),
            recent: Vec::new(),
            base: 0,
            keep,
            floor: Floor::default(),
            buf: Vec::new(),
        }
    }

    fn push(&mut self, samples: &[f32]) {
        self.buf.clear();
        let buf = &mut self.buf;
        self.dec.push(samples, &mut |v| buf.push(v));
        let (dbs, recent, floor, keep) =
            (&mut self.dbs, &mut self.recent, &mut self.floor, self.keep);
        self.framer.push(&self.buf, &mut |f| {
            floor.push(f.db);
            dbs.push(f.db);
            if keep {
                recent.push(f);
            }
        });
    }

    fn len(&self) -> usize {
        self.dbs.len()
    }

    /// Frame `t`'s features (kept from `base` on).
    fn frame(&self, t: usize) -> &Frame {
        &self.recent[t - self.base]
    }

    /// Forgets the features of frames before `t`.
    fn forget_before(&mut self, t: usize) {
        if t > self.base + 1000 {
            self.recent.drain(..t - self.base);
            self.base = t;
        }
    }
}

/// Analyses a call as it arrives (live) or all at once (a file): the far side's channel, and
/// the near side's when there is one.
pub struct Analyzer {
    far: Channel,
    near: Option<Channel>,
    /// Per far frame, classified once its context has arrived.
    raw: Vec<Class>,
    repeats: repeat::Repeats,
}

impl Analyzer {
    /// `rate` of the audio pushed; `near`: whether the near side's channel will be pushed too.
    pub fn new(rate: u32, near: bool) -> Analyzer {
        Analyzer {
            far: Channel::new(rate, Framer::new(), true),
            near: near.then(|| Channel::new(rate, Framer::energy_only(), false)),
            raw: Vec::new(),
            repeats: repeat::Repeats::default(),
        }
    }

    /// Mono samples of each side, of equal length (the near side's ignored without one).
    pub fn push(&mut self, far: &[f32], near: Option<&[f32]>) {
        self.far.push(far);
        if let (Some(ch), Some(s)) = (self.near.as_mut(), near) {
            ch.push(s);
        }
        self.classify(false);
    }

    /// Interleaved frames: `far` and `near` are channel indexes.
    pub fn push_interleaved(
        &mut self,
        data: &[f32],
        channels: usize,
        far: usize,
        near: Option<usize>,
    ) {
        let take = |c: usize| {
            data.iter()
                .skip(c)
                .step_by(channels)
                .copied()
                .collect::<Vec<f32>>()
        };
        let f = take(far);
        let n = near.map(take);
        self.push(&f, n.as_deref());
    }

    /// Seconds of audio analysed so far.
    pub fn seconds(&self) -> f64 {
        self.far.len() as f64 / FPS
    }

    fn classify(&mut self, all: bool) {
        let n = self.far.len();
        let upto = if all { n } else { n.saturating_sub(CONTEXT) };
        while self.raw.len() < upto {
            let t = self.raw.len();
            let c = self.classify_frame(t);
            let thr = silence_threshold(self.far.floor.at(t));
            let f = self.far.frame(t);
            self.repeats.push(f.fp, f.db >= thr);
            self.raw.push(c);
        }
        // What classifying the next frames needs: their context.
        self.far
            .forget_before(self.raw.len().saturating_sub(CONTEXT));
    }

    fn classify_frame(&self, t: usize) -> Class {
        let thr = silence_threshold(self.far.floor.at(t));
        let f = *self.far.frame(t);
        if f.db < thr {
            return Class::Silence;
        }
        let (base, frames) = (self.far.base, &self.far.recent);
        let w =
            &frames[t.saturating_sub(CONTEXT) - base..(t + CONTEXT + 1 - base).min(frames.len())];
        let loud: Vec<&Frame> = w.iter().filter(|g| g.db >= thr).collect();
        if f.peak > TONE_PEAK {
            let agree = loud
                .iter()
                .filter(|g| g.peak > TONE_PEAK && g.pbin.abs_diff(f.pbin) <= 1)
                .count();
            if agree as f32 >= TONE_SHARE * loud.len() as f32 {
                return Class::Tone;
            }
        }
        let lin: Vec<f32> = w.iter().map(|g| 10f32.powf(g.db / 10.0)).collect();
        let mean = lin.iter().sum::<f32>() / lin.len() as f32;
        let lster = lin.iter().filter(|&&e| e < 0.5 * mean).count() as f32 / lin.len() as f32;
        let stab = loud.iter().map(|g| g.stab).sum::<f32>() / loud.len().max(1) as f32;
        if lster > LSTER_SPEECH || stab < STAB_MUSIC {
            Class::Speech
        } else {
            Class::Music
        }
    }

    /// Per near frame: the near side talking (loud over its floor, and not the far side's echo).
    fn near_talk(&self, from: usize, n: usize) -> Option<Vec<bool>> {
        let near = self.near.as_ref()?;
        let m = n.min(near.len()).max(from);
        let mut talk: Vec<bool> = (from..m)
            .map(|t| {
                let db = near.dbs[t];
                let floor = near.floor.at(t);
                db >= (floor + NEAR_MARGIN).max(SILENCE_MIN_DB)
                    && db > -60.0
                    && db >= self.far.dbs[t] - NEAR_ECHO_DB
            })
            .collect();
        talk.resize(n - from, false);
        // Pauses inside a sentence are talk.
        fill_short(&mut talk, SPEECH_PAUSE);
        Some(talk)
    }

    /// The far side's classes from frame `from` on, smoothed and with announcements found
    /// (frames whose context has not all arrived are left out unless `all`), and the near
    /// side's talk over the same frames.
    fn classes_from(&mut self, from: usize, all: bool) -> (Vec<Class>, Option<Vec<bool>>) {
        self.classify(all);
        let from = from.min(self.raw.len());
        let mut c = smooth(&self.raw[from..]);
        let near = self.near_talk(from, self.raw.len());
        let marked = &self.repeats.marked[from..];
        mark_announcements(&mut c, marked, near.as_deref());
        (c, near)
    }

    /// What the call amounts to so far. `final_`: the call is over (everything is decided);
    /// otherwise the trailing speech is live only once confirmed (answered, or long).
    pub fn summary(&mut self, final_: bool) -> Summary {
        self.classes_and_summary(final_).1
    }

    /// The classes and the summary from one pass.
    pub fn classes_and_summary(&mut self, final_: bool) -> (Vec<Class>, Summary) {
        let (classes, near) = self.classes_from(0, final_);
        let summary = Summary::from_classes(&classes, near.as_deref(), final_);
        (classes, summary)
    }

    /// The summary of the last `seconds` only (times still from the start of the call), at a
    /// cost that does not grow with the call: what a live check needs to know whether the call
    /// is on hold now and where the present hold began, unless it began before the window.
    pub fn summary_recent(&mut self, seconds: f64) -> Summary {
        self.classify(false);
        let from = self.raw.len().saturating_sub((seconds * FPS) as usize);
        let (classes, near) = self.classes_from(from, false);
        let mut s = Summary::from_classes(&classes, near.as_deref(), false);
        let shift = secs(from);
        s.duration_s += shift;
        s.first_live_s = s.first_live_s.map(|t| t + shift);
        for h in &mut s.holds {
            h.start_s += shift;
            h.end_s += shift;
        }
        for g in &mut s.segments {
            g.start_s += shift;
            g.end_s += shift;
        }
        s
    }
}

/// Majority over a neighbourhood for sounding frames; short pauses in speech become speech.
fn smooth(raw: &[Class]) -> Vec<Class> {
    let mut out = raw.to_vec();
    for t in 0..raw.len() {
        if raw[t] == Class::Silence {
            continue;
        }
        let mut counts = [0usize; 5];
        for c in &raw[t.saturating_sub(SMOOTH)..(t + SMOOTH + 1).min(raw.len())] {
            if *c != Class::Silence {
                counts[*c as usize] += 1;
            }
        }
        let best = (0..5)
            .max_by_key(|&i| (counts[i], i == raw[t] as usize))
            .unwrap_or(0);
        out[t] = Class::ALL[best];
    }
    // Pauses inside speech.
    let runs = runs(&out);
    for (i, r) in runs.iter().enumerate() {
        if r.class == Class::Silence
            && r.len() <= SPEECH_PAUSE
            && i > 0
            && i + 1 < runs.len()
            && runs[i - 1].class == Class::Speech
            && runs[i + 1].class == Class::Speech
        {
            out[r.start..r.end].fill(Class::Speech);
        }
    }
    out
}

/// Fills runs of `false` no longer than `max` between two `true`s.
fn fill_short(v: &mut [bool], max: usize) {
    let mut last_true: Option<usize> = None;
    for t in 0..v.len() {
        if v[t] {
            if let Some(l) = last_true
                && t - l - 1 <= max
            {
                v[l + 1..t].fill(true);
            }
            last_true = Some(t);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Run {
    class: Class,
    start: usize,
    end: usize,
}

impl Run {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

fn runs(c: &[Class]) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for (t, &k) in c.iter().enumerate() {
        match out.last_mut() {
            Some(r) if r.class == k => r.end = t + 1,
            _ => out.push(Run {
                class: k,
                start: t,
                end: t + 1,
            }),
        }
    }
    out
}

/// Speech heard twice, or (with the near side heard) speech squarely inside a hold that
/// nobody answers, is a recorded announcement. Speech runs apart by no more than a short
/// silence are judged together, as one utterance; the start of the call counts as a hold
/// before it (a menu that greets the caller).
fn mark_announcements(c: &mut [Class], repeated: &[bool], near: Option<&[bool]>) {
    let rs = runs(c);
    // Utterances: [first run, last run] of speech runs joined by silences of `UTTERANCE_GAP`.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        if r.class != Class::Speech {
            continue;
        }
        if let Some(g) = groups.last_mut()
            && i == g.1 + 2
            && rs[i - 1].class == Class::Silence
            && rs[i - 1].len() <= UTTERANCE_GAP
        {
            g.1 = i;
            continue;
        }
        groups.push((i, i));
    }
    let mut announce = vec![false; rs.len()];
    // Heard before (or again): the run itself.
    for (i, r) in rs.iter().enumerate() {
        if r.class == Class::Speech {
            let heard = repeated[r.start..r.end.min(repeated.len())]
                .iter()
                .filter(|&&m| m)
                .count();
            announce[i] = heard as f32 >= REPEATED_SHARE * r.len() as f32;
        }
    }
    // Inside a hold, unanswered: the whole utterance.
    if let Some(near) = near {
        for (gi, gj) in groups {
            let (start, end) = (rs[gi].start, rs[gj].end);
            if end - start > ANNOUNCEMENT_MAX {
                continue;
            }
            let quiet = !near[start.saturating_sub(50)..(end + 100).min(near.len())]
                .iter()
                .any(|&b| b);
            let before = &rs[..gi];
            // The nearest sound either side (across silence) is a hold sound, close enough.
            let hold_before = match before.iter().rev().find(|q| q.class != Class::Silence) {
                None => true,
                Some(q) => q.class.is_hold() && start - q.end <= ANNOUNCEMENT_NEAR,
            };
            let hold_after = rs[gj + 1..]
                .iter()
                .find(|q| q.class != Class::Silence)
                .is_some_and(|q| q.class.is_hold() && q.start - end <= ANNOUNCEMENT_NEAR);
            if quiet && hold_before && hold_after {
                announce[gi..=gj].iter_mut().for_each(|a| *a = true);
            }
        }
    }
    for (i, r) in rs.iter().enumerate() {
        if announce[i] && r.class == Class::Speech {
            c[r.start..r.end].fill(Class::Announcement);
        }
    }
}

/// One hold: from the end of live speech (or the start of the call) to the next live speech
/// (or the end), with what filled it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub start_s: f64,
    pub end_s: f64,
    pub music_s: f64,
    pub announcement_s: f64,
    pub tone_s: f64,
    pub silence_s: f64,
    /// Still going when the analysis ended.
    pub open: bool,
}

impl Hold {
    pub fn seconds(&self) -> f64 {
        self.end_s - self.start_s
    }

    /// What filled it, in a phrase: "music 30 s, announcements 5 s, tones 0 s, silence 2 s".
    pub fn contents(&self) -> String {
        format!(
            "music {:.0} s, announcements {:.0} s, tones {:.0} s, silence {:.0} s",
            self.music_s, self.announcement_s, self.tone_s, self.silence_s
        )
    }
}

/// A stretch of one class, for the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub class: Class,
}

/// Seconds of each class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub speech_s: f64,
    pub music_s: f64,
    pub silence_s: f64,
    pub tone_s: f64,
    pub announcement_s: f64,
}

/// What a call amounts to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub duration_s: f64,
    /// When live speech first came from the far side (none: nobody answered).
    pub first_live_s: Option<f64>,
    pub holds: Vec<Hold>,
    pub hold_s: f64,
    /// Holds between two live stretches.
    pub transfers: u32,
    /// Live speech of the far side; the near side's talk when it was heard.
    pub talk_far_s: f64,
    pub talk_near_s: Option<f64>,
    pub totals: Totals,
    /// The far side's classes, stretches shorter than a second folded into their neighbours.
    pub segments: Vec<Segment>,
}

fn secs(frames: usize) -> f64 {
    frames as f64 / FPS
}

impl Summary {
    pub fn from_classes(c: &[Class], near: Option<&[bool]>, final_: bool) -> Summary {
        let n = c.len();
        // Live stretches: speech runs merged across short gaps that hold no hold sounds.
        let mut live: Vec<(usize, usize, usize)> = Vec::new(); // start, end, speech frames
        for r in runs(c).into_iter().filter(|r| r.class == Class::Speech) {
            if let Some(last) = live.last_mut() {
                let gap = &c[last.1..r.start];
                let sound = gap.iter().filter(|k| k.is_hold()).count();
                if r.start - last.1 < MERGE_GAP && sound < HOLD_SOUND_MIN {
                    last.1 = r.end;
                    last.2 += r.len();
                    continue;
                }
            }
            live.push((r.start, r.end, r.len()));
        }
        live.retain(|s| s.2 >= LIVE_MIN);
        // After a hold, live speech begins with the turn the caller answers: speech before it,
        // across a pause longer than a turn's, was still the hold (a recorded voice).
        if let Some(nr) = near {
            let rs = runs(c);
            for i in 0..live.len() {
                let prev_end = if i > 0 { live[i - 1].1 } else { 0 };
                let (s, e) = (live[i].0, live[i].1);
                if !gap_is_hold(c, near, prev_end, s) {
                    continue;
                }
                let Some(q) = (s..(e + 100).min(nr.len())).find(|&t| nr[t]) else {
                    continue;
                };
                // The speech runs of the stretch before the answer, last first.
                let speech: Vec<&Run> = rs
                    .iter()
                    .filter(|r| r.class == Class::Speech && r.start >= s && r.start < q)
                    .collect();
                let Some(mut k) = speech.len().checked_sub(1) else {
                    continue;
                };
                while k > 0 && speech[k].start - speech[k - 1].end <= TURN_GAP {
                    k -= 1;
                }
                if speech[k].start > s {
                    live[i].0 = speech[k].start;
                }
            }
        }
        // Live, trailing speech ends a hold only once answered or long.
        if !final_ && let Some(&(s, e, _)) = live.last() {
            let answered = near.is_some_and(|nr| nr[s..n.min(nr.len())].iter().any(|&b| b));
            let before_is_hold = {
                let prev_end = if live.len() >= 2 {
                    live[live.len() - 2].1
                } else {
                    0
                };
                gap_is_hold(c, near, prev_end, s)
            };
            if before_is_hold && !answered && e - s < LIVE_CONFIRM {
                live.pop();
            }
        }
        let mut holds = Vec::new();
        let mut transfers = 0;
        let mut prev_end = 0usize;
        for (i, &(s, _, _)) in live.iter().enumerate() {
            if gap_is_hold(c, near, prev_end, s) {
                holds.push(hold(c, prev_end, s, false));
                if i > 0 {
                    transfers += 1;
                }
            }
            prev_end = live[i].1;
        }
        if gap_is_hold(c, near, prev_end, n) {
            holds.push(hold(c, prev_end, n, true));
        }
        let mut totals = Totals::default();
        for k in c {
            let slot = match k {
                Class::Speech => &mut totals.speech_s,
                Class::Music => &mut totals.music_s,
                Class::Silence => &mut totals.silence_s,
                Class::Tone => &mut totals.tone_s,
                Class::Announcement => &mut totals.announcement_s,
            };
            *slot += 1.0 / FPS;
        }
        Summary {
            duration_s: secs(n),
            first_live_s: live.first().map(|l| secs(l.0)),
            hold_s: holds.iter().map(Hold::seconds).sum(),
            holds,
            transfers,
            talk_far_s: totals.speech_s,
            talk_near_s: near.map(|v| secs(v.iter().filter(|&&b| b).count())),
            totals,
            segments: segments(c),
        }
    }

    /// The hold going on at the end, if any.
    pub fn current_hold(&self) -> Option<&Hold> {
        self.holds.last().filter(|h| h.open)
    }

    /// A compact text timeline and the figures.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            s += &format!(
                "{:>9}  {:>9}  {}\n",
                clock(seg.start_s),
                clock(seg.end_s),
                seg.class.name()
            );
        }
        s += "\n";
        s += &format!("duration          {}\n", clock(self.duration_s));
        s += &format!(
            "first live agent  {}\n",
            self.first_live_s
                .map(clock)
                .unwrap_or_else(|| "never".into())
        );
        s += &format!(
            "on hold           {} in {} hold(s), {} transfer(s)\n",
            clock(self.hold_s),
            self.holds.len(),
            self.transfers
        );
        for h in &self.holds {
            s += &format!(
                "  hold {} - {} ({}{}): {}\n",
                clock(h.start_s),
                clock(h.end_s),
                clock(h.seconds()),
                if h.open { ", still on hold" } else { "" },
                h.contents()
            );
        }
        s += &format!("talk, far side    {}\n", clock(self.talk_far_s));
        if let Some(t) = self.talk_near_s {
            s += &format!("talk, near side   {}\n", clock(t));
        }
        s
    }
}

/// `h:mm:ss.d` or `m:ss.d`.
pub fn clock(s: f64) -> String {
    let t = (s * 10.0).round() as u64;
    let (h, m, sec, d) = (t / 36000, t / 600 % 60, t / 10 % 60, t % 10);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}.{d}")
    } else {
        format!("{m}:{sec:02}.{d}")
    }
}

fn gap_is_hold(c: &[Class], near: Option<&[bool]>, from: usize, to: usize) -> bool {
    if to <= from {
        return false;
    }
    let sound = c[from..to].iter().filter(|k| k.is_hold()).count();
    let near_talk = near.map_or(0, |n| {
        n[from.min(n.len())..to.min(n.len())]
            .iter()
            .filter(|&&b| b)
            .count()
    });
    sound >= HOLD_SOUND_MIN
        || (to - from >= HOLD_MIN && (near_talk as f32) < 0.3 * (to - from) as f32)
}

fn hold(c: &[Class], from: usize, to: usize, open: bool) -> Hold {
    let count = |k: Class| secs(c[from..to].iter().filter(|&&x| x == k).count());
    Hold {
        start_s: secs(from),
        end_s: secs(to),
        music_s: count(Class::Music),
        announcement_s: count(Class::Announcement),
        tone_s: count(Class::Tone),
        silence_s: count(Class::Silence),
        open,
    }
}

/// Runs of a class, those under a second folded into the longer neighbour.
fn segments(c: &[Class]) -> Vec<Segment> {
    let mut rs = runs(c);
    while let Some(i) = rs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.len() < 50)
        .min_by_key(|(_, r)| r.len())
        .map(|(i, _)| i)
    {
        if rs.len() == 1 {
            break;
        }
        let into_prev = match (i.checked_sub(1).map(|p| rs[p]), rs.get(i + 1)) {
            (Some(p), Some(nx)) => p.len() >= nx.len(),
            (Some(_), None) => true,
            _ => false,
        };
        let r = rs.remove(i);
        if into_prev {
            rs[i - 1].end = r.end;
        } else {
            rs[i].start = r.start;
        }
        // Merge equal neighbours.
        let mut merged: Vec<Run> = Vec::with_capacity(rs.len());
        for r in rs {
            match merged.last_mut() {
                Some(m) if m.class == r.class => m.end = r.end,
                _ => merged.push(r),
            }
        }
        rs = merged;
    }
    rs.into_iter()
        .map(|r| Segment {
            start_s: secs(r.start),
            end_s: secs(r.end),
            class: r.class,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Class::*;

    fn seq(parts: &[(Class, f64)]) -> Vec<Class> {
        parts
            .iter()
            .flat_map(|&(k, s)| std::iter::repeat_n(k, (s * 50.0) as usize))
            .collect()
    }

    #[test]
    fn a_wait_then_an_agent() {
        let c = seq(&[
            (Tone, 2.0),
            (Silence, 4.0),
            (Tone, 2.0),
            (Music, 30.0),
            (Silence, 0.5),
            (Speech, 20.0),
        ]);
        let s = Summary::from_classes(&c, None, true);
        assert_eq!(s.first_live_s, Some(38.5));
        assert_eq!(s.holds.len(), 1);
        assert!((s.hold_s - 38.5).abs() < 1e-9);
        assert_eq!(s.transfers, 0);
        assert!((s.holds[0].music_s - 30.0).abs() < 1e-9);
    }

    #[test]
    fn a_hold_between_two_agents_is_a_transfer() {
        let c = seq(&[
            (Speech, 10.0),
            (Silence, 1.0),
            (Music, 20.0),
            (Announcement, 5.0),
            (Music, 20.0),
            (Speech, 10.0),
        ]);
        let s = Summary::from_classes(&c, None, true);
        assert_eq!(s.first_live_s, Some(0.0));
        assert_eq!(s.transfers, 1);
        assert!((s.hold_s - 46.0).abs() < 1e-9, "{}", s.hold_s);
    }

    #[test]
    fn pauses_in_a_conversation_are_not_holds() {
        let mut parts = Vec::new();
        for _ in 0..10 {
            parts.push((Speech, 4.0));
            parts.push((Silence, 6.0)); // the near side talks meanwhile
        }
        parts.push((Speech, 4.0));
        let c = seq(&parts);
        let s = Summary::from_classes(&c, None, true);
        assert!(s.holds.is_empty(), "{s:?}");
        assert!((s.talk_far_s - 44.0).abs() < 1e-9);
    }

    #[test]
    fn a_long_silence_the_near_side_fills_is_not_a_hold() {
        let c = seq(&[(Speech, 5.0), (Silence, 15.0), (Speech, 5.0)]);
        let near: Vec<bool> = seq(&[(Silence, 5.0), (Speech, 15.0), (Silence, 5.0)])
            .iter()
            .map(|&k| k == Speech)
            .collect();
        assert!(
            Summary::from_classes(&c, Some(&near), true)
                .holds
                .is_empty()
        );
        // Unanswered, the same silence is a hold.
        let s = Summary::from_classes(&c, Some(&vec![false; c.len()]), true);
        assert_eq!(s.holds.len(), 1);
    }

    #[test]
    fn live_speech_ends_a_hold_once_answered() {
        let c = seq(&[(Speech, 5.0), (Music, 30.0), (Speech, 3.0)]);
        let quiet = vec![false; c.len()];
        let s = Summary::from_classes(&c, Some(&quiet), false);
        assert!(
            s.current_hold().is_some(),
            "unanswered speech after music may be an announcement"
        );
        let mut answered = quiet.clone();
        answered[c.len() - 20..].fill(true);
        let s = Summary::from_classes(&c, Some(&answered), false);
        assert!(s.current_hold().is_none());
        assert_eq!(s.holds.len(), 1);
        assert!((s.holds[0].end_s - 35.0).abs() < 1e-9);
    }

    #[test]
    fn pauses_inside_speech_are_speech_and_blips_are_smoothed() {
        let mut raw = seq(&[(Speech, 1.0), (Silence, 0.3), (Speech, 1.0), (Music, 3.0)]);
        raw[150..154].fill(Speech); // 80 ms of "speech" inside music
        let s = smooth(&raw);
        assert!(s[..100].iter().all(|&k| k == Speech));
        assert!(s[140..250].iter().all(|&k| k == Music));
    }

    #[test]
    fn segments_fold_short_runs() {
        let c = seq(&[(Music, 10.0), (Speech, 0.4), (Music, 10.0), (Speech, 5.0)]);
        let segs = segments(&c);
        assert_eq!(segs.len(), 2, "{segs:?}");
        assert_eq!(segs[0].class, Music);
        assert!((segs[0].end_s - 20.4).abs() < 1e-9);
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(0.0), "0:00.0");
        assert_eq!(clock(75.25), "1:15.3");
        assert_eq!(clock(3725.0), "1:02:05.0");
    }

    #[test]
    fn fill_short_fills_only_short_gaps() {
        let mut v = vec![true, false, false, true, false, false, false, false, true];
        fill_short(&mut v, 2);
        assert_eq!(
            v,
            vec![true, true, true, true, false, false, false, false, true]
        );
    }
}
