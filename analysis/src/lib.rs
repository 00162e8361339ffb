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
//!    otherwise *speech* or *music* by a vote of three discriminators: the low-energy frame
//!    ratio (speech keeps dipping between syllables), spectral stability (sustained notes
//!    stay put, formants move) and the spread of frame energies (a voice comes and goes,
//!    music keeps its level).
//! 3. Smoothing: the majority class of a 300 ms neighbourhood; pauses inside speech are
//!    speech.
//! 4. Recorded voices (`recorded.rs`, `repeat.rs`, [`dtmf`]): speech the far side plays again,
//!    speech the caller answers with a key press, and (when the caller's side is heard)
//!    speech nobody answers in the call's opening, leading into a hold or squarely inside
//!    one, is a recording: an *announcement*.
//! 5. The summary ([`Summary`]): live speech stretches (merged across pauses shorter than
//!    8 s), each answered by the caller or longer than a recording (20 s); the *menu* from the
//!    start up to the first music, long silence or live stretch, when it held ringing or
//!    recorded voices; after it, and between live stretches, a stretch is a hold when it
//!    lasts 8 s or more or holds 2 s of music, tones or announcements, and the near side did
//!    not do most of the talking in it. A hold between two live stretches is a transfer.
//!    After a hold, live speech begins with the turn the caller answers.
//!
//! No model is downloaded or trained: every threshold is a named constant below.

mod channel;
pub mod dtmf;
#[cfg(feature = "files")]
pub mod file;
pub mod frontend;
mod recorded;
mod repeat;
mod summary;

use summary::secs;
pub use summary::{Hold, Key, Segment, Span, Summary, Totals, clock};

use channel::{Channel, silence_threshold};
use frontend::{FPS, Frame, Framer};
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
const TONE_PEAK: f32 = 0.92;
const TONE_SHARE: f32 = 0.6;
/// A call-progress tone holds its level (dB spread of the agreeing frames); a note decays.
const TONE_LEVEL_SPREAD: f32 = 3.0;
/// Speech or music: three features of a second of context each say how far they are on the
/// side of speech, in units of their own: the low-energy frame ratio above `LSTER_SPEECH`
/// (speech keeps dipping between syllables), the mean spectral stability of its loud frames
/// below `STAB_SPEECH` (formants move, notes stay), and the spread of its frame energies above
/// `DB_SPREAD_SPEECH` dB (a voice comes and goes by syllables and words; music, even
/// rhythmic, keeps its level within a few dB). A positive sum is speech. Chosen on the dev
/// corpus, real hold music (Asterisk's opsound tracks) and recorded prompts: per second,
/// music spreads 2-7 dB and holds a stability of 0.55-0.95, a voice spreads 5-30 dB at a
/// stability of 0.38-0.63.
const LSTER_SPEECH: f32 = 0.35;
const LSTER_UNIT: f32 = 0.15;
const STAB_SPEECH: f32 = 0.65;
const STAB_UNIT: f32 = 0.1;
const DB_SPREAD_SPEECH: f32 = 10.0;
const DB_SPREAD_UNIT: f32 = 5.0;
/// Whatever the vote, a second whose loud frames hold their spectrum this steadily is music
/// (sparse notes that decay vote like speech on level; no voice's formants stay so still:
/// recorded prompts average 0.5, synthetic voices 0.45, real hold music 0.7-0.9).
const STAB_MUSIC_SURE: f32 = 0.72;
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
/// An answer: the near side talks during far speech or within this long after it (frames).
const ANSWER_WINDOW: usize = 3 * 50;
/// A key press answers the far speech before it when it comes within this long after that
/// speech ends (and before the far side speaks again) (frames).
const KEY_AFTER: usize = 8 * 50;
/// Frames either side of a key press that are the key's, not talk (the tone's onset and
/// decay in the analysis windows).
const KEY_MARGIN: usize = 3;
/// Music this long ends the menu (frames)...
const MENU_MUSIC: usize = 50;
/// ...from the start of a recorded voice that runs into it with no more pause than this: a
/// prompt ends before the music starts, while music's opening bars are often taken for
/// speech (frames).
const INTO_MUSIC: usize = 10;
/// Silence this long after the menu is a hold (a ringback's pause is at most 4 s) (frames).
const MENU_SILENCE: usize = 6 * 50;
/// Near side: loud means this far above its own floor; talking when not drowned by the far
/// side's echo (within this many dB of it).
const NEAR_MARGIN: f32 = 12.0;
const NEAR_ECHO_DB: f32 = 10.0;

/// Analyses a call as it arrives (live) or all at once (a file): the far side's channel, and
/// the near side's when there is one.
pub struct Analyzer {
    far: Channel,
    near: Option<Channel>,
    /// Per far frame, classified once its context has arrived.
    raw: Vec<Class>,
    repeats: repeat::Repeats,
    /// The frame where the call's opening (ringing, menu) was seen to end.
    opening_end: Option<usize>,
}

impl Analyzer {
    /// `rate` of the audio pushed; `near`: whether the near side's channel will be pushed too.
    pub fn new(rate: u32, near: bool) -> Analyzer {
        Analyzer {
            far: Channel::new(rate, Framer::new(), true),
            near: near.then(|| Channel::new(rate, Framer::energy_only(), false)),
            raw: Vec::new(),
            repeats: repeat::Repeats::default(),
            opening_end: None,
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

    /// [`Analyzer::push`] of 16-bit samples (a recording's own): the float ones are turned
    /// into these first ([`frontend::to_i16`]).
    pub fn push_i16(&mut self, far: &[i16], near: Option<&[i16]>) {
        self.far.push_i16(far);
        if let (Some(ch), Some(s)) = (self.near.as_mut(), near) {
            ch.push_i16(s);
        }
        self.classify(false);
    }

    /// Interleaved 16-bit frames: `far` and `near` are channel indexes.
    pub fn push_interleaved(
        &mut self,
        data: &[i16],
        channels: usize,
        far: usize,
        near: Option<usize>,
    ) {
        let take = |c: usize| {
            data.iter()
                .skip(c)
                .step_by(channels)
                .copied()
                .collect::<Vec<i16>>()
        };
        let f = take(far);
        let n = near.map(take);
        self.push_i16(&f, n.as_deref());
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
        // Every frame is classified once, live: the passes below go over the context in place
        // (the sums in the same order as over a collected copy).
        let loud = || w.iter().filter(|g| g.db >= thr);
        let n_loud = loud().count();
        if f.peak > TONE_PEAK {
            let agree = || {
                loud()
                    .filter(|g| g.peak > TONE_PEAK && g.pbin.abs_diff(f.pbin) <= 1)
                    .map(|g| g.db)
            };
            let n_agree = agree().count();
            let mean = agree().sum::<f32>() / n_agree.max(1) as f32;
            let spread =
                (agree().map(|d| (d - mean).powi(2)).sum::<f32>() / n_agree.max(1) as f32).sqrt();
            if n_agree as f32 >= TONE_SHARE * n_loud as f32 && spread <= TONE_LEVEL_SPREAD {
                return Class::Tone;
            }
        }
        // The level features look at the sound, not at the silence around it: where the
        // context begins or ends in silence (music starting after a pause, a short burst of
        // it), that silence would dip like speech.
        let first = w.iter().position(|g| g.db >= thr).unwrap_or(0);
        let last = w.iter().rposition(|g| g.db >= thr).unwrap_or(w.len() - 1);
        let w = &w[first..=last.max(first)];
        let mut lin = [0f32; 2 * CONTEXT + 1];
        let lin = &mut lin[..w.len()];
        for (e, g) in lin.iter_mut().zip(w) {
            *e = 10f32.powf(g.db / 10.0);
        }
        let mean = lin.iter().sum::<f32>() / lin.len() as f32;
        let lster = lin.iter().filter(|&&e| e < 0.5 * mean).count() as f32 / lin.len() as f32;
        let stab = loud().map(|g| g.stab).sum::<f32>() / n_loud.max(1) as f32;
        let db_mean = w.iter().map(|g| g.db).sum::<f32>() / w.len() as f32;
        let db_spread =
            (w.iter().map(|g| (g.db - db_mean).powi(2)).sum::<f32>() / w.len() as f32).sqrt();
        // Each feature's distance past its threshold, in units of its typical spread between
        // a clear voice and clear music: their sum is the evidence for speech.
        let score = (stab - STAB_SPEECH) / -STAB_UNIT
            + (lster - LSTER_SPEECH) / LSTER_UNIT
            + (db_spread - DB_SPREAD_SPEECH) / DB_SPREAD_UNIT;
        if score > 0.0 && stab < STAB_MUSIC_SURE {
            Class::Speech
        } else {
            Class::Music
        }
    }

    /// The caller's key presses ending before frame `n`: (first frame, last frame, key).
    fn key_frames(&self, n: usize) -> Vec<(usize, usize, char)> {
        let Some(d) = self.near.as_ref().and_then(|c| c.dtmf.as_ref()) else {
            return Vec::new();
        };
        d.presses
            .iter()
            .map(|p| {
                (
                    p.start as usize / frontend::HOP,
                    (p.end as usize).div_ceil(frontend::HOP),
                    p.key,
                )
            })
            .filter(|k| k.0 < n)
            .collect()
    }

    /// Per near frame: the near side talking (loud over its floor, not the far side's echo,
    /// and not one of the key presses `keys`).
    fn near_talk(&self, from: usize, n: usize, keys: &[(usize, usize, char)]) -> Option<Vec<bool>> {
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
        for &(a, b, _) in keys {
            let (a, b) = (a.saturating_sub(KEY_MARGIN), (b + KEY_MARGIN).min(n));
            if b > from {
                talk[a.max(from) - from..b - from].fill(false);
            }
        }
        // Pauses inside a sentence are talk.
        fill_short(&mut talk, SPEECH_PAUSE);
        Some(talk)
    }

    /// The far side's classes from frame `from` on, smoothed and with recorded voices found
    /// (frames whose context has not all arrived are left out unless `all`), and what the
    /// near side did over the same frames.
    fn classes_from(&mut self, from: usize, all: bool) -> (Vec<Class>, summary::Heard) {
        self.classify(all);
        let from = from.min(self.raw.len());
        let n = self.raw.len();
        let mut c = smooth(&self.raw[from..]);
        let keys = self.key_frames(n);
        let heard = summary::Heard {
            near: self.near_talk(from, n, &keys),
            keys: keys
                .into_iter()
                .filter(|k| k.0 >= from)
                .map(|(a, _, k)| (a - from, k))
                .collect(),
            // The window starts in the call's opening: at the start, or before the opening
            // was seen to end.
            opening: from == 0 || self.opening_end.is_none_or(|e| e > from),
        };
        let marked = &self.repeats.marked[from..];
        recorded::mark(&mut c, marked, &heard);
        (c, heard)
    }

    /// What the call amounts to so far. `final_`: the call is over (everything is decided);
    /// otherwise the trailing speech is live only once confirmed (answered, or long).
    pub fn summary(&mut self, final_: bool) -> Summary {
        self.classes_and_summary(final_).1
    }

    /// The classes (recorded voices and live speech told apart) and the summary from one pass.
    pub fn classes_and_summary(&mut self, final_: bool) -> (Vec<Class>, Summary) {
        let (classes, heard) = self.classes_from(0, final_);
        let (classes, summary) = Summary::build(classes, &heard, final_);
        self.remember_opening(0, &summary);
        (classes, summary)
    }

    /// Once the opening (ringing and menu) is over, live checks need not look for it again.
    fn remember_opening(&mut self, from: usize, s: &Summary) {
        if self.opening_end.is_some() {
            return;
        }
        let end = match &s.menu {
            Some(m) if !m.open => Some(m.end_s),
            Some(_) => None,
            None => s.holds.first().map(|h| h.start_s).or(s.first_live_s),
        };
        if let Some(e) = end {
            self.opening_end = Some(from + (e * FPS).round() as usize);
        }
    }

    /// The summary of the last `seconds` only (times still from the start of the call), at a
    /// cost that does not grow with the call: what a live check needs to know whether the call
    /// is on hold now and where the present hold began, unless it began before the window.
    pub fn summary_recent(&mut self, seconds: f64) -> Summary {
        self.classify(false);
        let from = self.raw.len().saturating_sub((seconds * FPS) as usize);
        let (classes, heard) = self.classes_from(from, false);
        let (_, mut s) = Summary::build(classes, &heard, false);
        if from == 0 {
            self.remember_opening(0, &s);
        }
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
        for sp in s.live.iter_mut().chain(s.menu.as_mut()) {
            sp.start_s += shift;
            sp.end_s += shift;
        }
        if let Some(m) = &mut s.menu
            && heard.opening
        {
            // An opening longer than the window began with the call.
            m.start_s = 0.0;
        }
        for k in &mut s.keys {
            k.at_s += shift;
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
pub(crate) fn fill_short(v: &mut [bool], max: usize) {
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
pub(crate) struct Run {
    class: Class,
    start: usize,
    end: usize,
}

impl Run {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

pub(crate) fn runs(c: &[Class]) -> Vec<Run> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Classes from (class, seconds) parts, 50 frames a second.
    pub(crate) fn seq(parts: &[(Class, f64)]) -> Vec<Class> {
        parts
            .iter()
            .flat_map(|&(k, s)| std::iter::repeat_n(k, (s * 50.0) as usize))
            .collect()
    }
}
