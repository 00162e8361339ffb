//! The sounds of a call, and calls composed of them.

use super::{Call, Label, MASTER, Truth};
use onrecord_analysis::Class;
use std::f32::consts::PI;

pub mod real;

/// SplitMix64: a small seeded generator, so a seed always gives the same call.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_add(0x9e37_79b9_7f4a_7c15))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [a, b).
    pub fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn int(&mut self, a: usize, b: usize) -> usize {
        a + (self.next_u64() % (b - a + 1) as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.range(0.0, 1.0) < p
    }
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.int(0, v.len() - 1)]
    }
    /// Gaussian-ish noise sample (sum of uniforms), unit variance.
    pub fn noise(&mut self) -> f32 {
        let s: f64 = (0..4).map(|_| self.range(-1.0, 1.0)).sum();
        (s * (3.0f64 / 4.0).sqrt()) as f32
    }
}

fn db(x: f32) -> f32 {
    10f32.powf(x / 20.0)
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

fn normalize(x: &mut [f32], dbfs: f32) {
    let r = rms(x);
    if r > 0.0 {
        let g = db(dbfs) / r;
        x.iter_mut().for_each(|v| *v *= g);
    }
}

/// Band-limited resampling by a windowed sinc, its taps tabled per phase (the rates are
/// whole numbers, so the output's positions between input samples repeat).
pub fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let g = gcd(from as u64, to as u64);
    let (up, down) = (to as u64 / g, from as u64 / g);
    let ratio = to as f64 / from as f64;
    let cutoff = 0.45 * ratio.min(1.0); // cycles per input sample
    let half = (8.0 / ratio.min(1.0)).ceil() as i64;
    // Output j sits at input position j * down / up: phase (j * down) % up.
    let table: Vec<Vec<f32>> = (0..up)
        .map(|p| {
            let frac = p as f64 / up as f64;
            (-half + 1..=half)
                .map(|k| {
                    let d = frac - k as f64;
                    let sinc = if d.abs() < 1e-12 {
                        2.0 * cutoff
                    } else {
                        (2.0 * std::f64::consts::PI * cutoff * d).sin() / (std::f64::consts::PI * d)
                    };
                    let w = 0.42
                        + 0.5 * (std::f64::consts::PI * d / half as f64).cos()
                        + 0.08 * (2.0 * std::f64::consts::PI * d / half as f64).cos();
                    (sinc * w) as f32
                })
                .collect()
        })
        .collect();
    let n = (x.len() as u64 * up / down) as usize;
    let mut out = Vec::with_capacity(n);
    for j in 0..n as u64 {
        let c = (j * down / up) as i64;
        let taps = &table[((j * down) % up) as usize];
        let mut acc = 0.0f32;
        for (i, h) in taps.iter().enumerate() {
            let k = c - half + 1 + i as i64;
            if k >= 0 && (k as usize) < x.len() {
                acc += x[k as usize] * h;
            }
        }
        out.push(acc);
    }
    out
}

/// An RBJ biquad run in place.
fn biquad(x: &mut [f32], rate: u32, hz: f32, highpass: bool) {
    let w = 2.0 * PI * hz / rate as f32;
    let (cw, alpha) = (w.cos(), w.sin() / (2.0 * std::f32::consts::FRAC_1_SQRT_2));
    let (b0, b1, b2) = if highpass {
        ((1.0 + cw) / 2.0, -(1.0 + cw), (1.0 + cw) / 2.0)
    } else {
        ((1.0 - cw) / 2.0, 1.0 - cw, (1.0 - cw) / 2.0)
    };
    let (a0, a1, a2) = (1.0 + alpha, -2.0 * cw, 1.0 - alpha);
    let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
    for v in x.iter_mut() {
        let y = (b0 * *v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0;
        (x2, x1, y2, y1) = (x1, *v, y1, y);
        *v = y;
    }
}

/// 300..3400 Hz, fourth order each side, as a phone line passes it.
pub fn telephone_band(x: &mut [f32], rate: u32) {
    for _ in 0..2 {
        biquad(x, rate, 300.0, true);
        if rate > 7000 {
            biquad(x, rate, 3400.0, false);
        }
    }
}

pub fn add_noise(x: &mut [f32], rng: &mut Rng, dbfs: f32) {
    let a = db(dbfs);
    x.iter_mut().for_each(|v| *v += a * rng.noise());
}

/// 8-bit mu-law companding (G.711-like).
pub fn mu_law(x: &mut [f32]) {
    let mu = 255.0f32;
    for v in x.iter_mut() {
        let c = v.signum() * (1.0 + mu * v.abs().min(1.0)).ln() / (1.0 + mu).ln();
        let q = (c * 127.0).round() / 127.0;
        *v = q.signum() * ((1.0 + mu).powf(q.abs()) - 1.0) / mu;
    }
}

/// Replaces a share of 20 ms packets by the one before (what concealment does at its simplest).
pub fn lose_packets(x: &mut [f32], rate: u32, share: f64, rng: &mut Rng) {
    let p = rate as usize / 50;
    let mut i = p;
    while i + p <= x.len() {
        if rng.chance(share) {
            x.copy_within(i - p..i, i);
        }
        i += p;
    }
}

/// Speech by espeak-ng, trimmed to where it sounds, at the master rate and `level` dBFS.
pub fn speak(
    text: &str,
    voice: &str,
    wpm: u32,
    pitch: u32,
    level: f32,
) -> Result<Vec<f32>, String> {
    let out = std::process::Command::new("espeak-ng")
        .args([
            "-v",
            voice,
            "-s",
            &wpm.to_string(),
            "-p",
            &pitch.to_string(),
            "--stdout",
            text,
        ])
        .output()
        .map_err(|e| format!("cannot run espeak-ng (apt-get install espeak-ng): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "espeak-ng failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut reader = hound::WavReader::new(std::io::Cursor::new(fix_stream_wav(out.stdout)))
        .map_err(|e| format!("espeak-ng output: {e}"))?;
    let rate = reader.spec().sample_rate;
    let x: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| s.map(|v| v as f32 / 32768.0))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    // Trim below -50 dBFS at either end (in 10 ms steps).
    let step = rate as usize / 100;
    let loud = |c: &[f32]| rms(c) > db(-50.0);
    let first = x.chunks(step).position(loud).unwrap_or(0) * step;
    let last = x.len() - x.rchunks(step).position(loud).unwrap_or(0) * step;
    let mut y = resample(&x[first..last.max(first)], rate, MASTER);
    normalize(&mut y, level);
    Ok(y)
}

/// espeak-ng writes a streaming WAV (sizes 0x7fffffff): give hound the real sizes.
fn fix_stream_wav(mut b: Vec<u8>) -> Vec<u8> {
    if b.len() >= 44 && &b[0..4] == b"RIFF" {
        let total = (b.len() - 8) as u32;
        b[4..8].copy_from_slice(&total.to_le_bytes());
        if let Some(pos) = b.windows(4).position(|w| w == b"data") {
            let len = (b.len() - pos - 8) as u32;
            b[pos + 4..pos + 8].copy_from_slice(&len.to_le_bytes());
        }
    }
    b
}

fn midi(n: f32) -> f32 {
    440.0 * 2f32.powf((n - 69.0) / 12.0)
}

/// A piece of hold music: a chord progression on a soft pad, a plucked melody over it, and
/// sometimes a beat; `seconds` long, to be looped.
pub fn music(rng: &mut Rng, seconds: f64, level: f32) -> Vec<f32> {
    let rate = MASTER as f32;
    let n = (seconds * MASTER as f64) as usize;
    let mut y = vec![0f32; n];
    let bpm = rng.range(75.0, 130.0) as f32;
    let beat = 60.0 / bpm;
    let root = rng.int(52, 64) as f32;
    let progressions: [[f32; 4]; 3] = [
        [0.0, 7.0, 9.0, 5.0],
        [0.0, 5.0, 7.0, 0.0],
        [9.0, 5.0, 0.0, 7.0],
    ];
    let prog = rng.pick(&progressions);
    let beats_per_chord = rng.pick(&[2usize, 4]);
    let with_beat = rng.chance(0.5);
    let scale = [0.0, 2.0, 4.0, 5.0, 7.0, 9.0, 11.0, 12.0];
    let chord_s = beat * beats_per_chord as f32;
    // Pad: three chord tones, four harmonics each, soft attack and release.
    let mut t0 = 0.0f32;
    let mut k = 0;
    while (t0 * rate) < n as f32 {
        let base = root + prog[k % 4];
        for iv in [0.0, 4.0, 7.0] {
            let minor = if prog[k % 4] == 9.0 && iv == 4.0 {
                -1.0
            } else {
                0.0
            };
            let f = midi(base + iv + minor);
            let (a, b) = (
                (t0 * rate) as usize,
                (((t0 + chord_s) * rate) as usize).min(n),
            );
            for (i, v) in y[a..b].iter_mut().enumerate() {
                let t = i as f32 / rate;
                let env = (t / 0.08).min(1.0) * ((chord_s - t) / 0.1).clamp(0.0, 1.0);
                let mut s = 0.0;
                for h in 1..=4 {
                    s += (2.0 * PI * f * h as f32 * t).sin() / h as f32;
                }
                *v += 0.12 * env * s;
            }
        }
        t0 += chord_s;
        k += 1;
    }
    // Melody: a note a beat or half a beat, plucked, an octave up.
    let mut t0 = 0.0f32;
    while (t0 * rate) < n as f32 {
        let len = if rng.chance(0.5) { beat } else { beat / 2.0 };
        if !rng.chance(0.12) {
            let f = midi(root + 12.0 + rng.pick(&scale));
            let (a, b) = (
                (t0 * rate) as usize,
                (((t0 + len * 1.5) * rate) as usize).min(n),
            );
            for (i, v) in y[a..b].iter_mut().enumerate() {
                let t = i as f32 / rate;
                let env = (t / 0.005).min(1.0) * (-3.0 * t).exp();
                let mut s = 0.0;
                for h in 1..=6 {
                    s += 0.6f32.powi(h) * (2.0 * PI * f * h as f32 * t).sin();
                }
                *v += 0.25 * env * s;
            }
        }
        t0 += len;
    }
    if with_beat {
        let mut t0 = 0.0f32;
        let mut b = 0;
        while (t0 * rate) < n as f32 {
            let a = (t0 * rate) as usize;
            // Kick on every beat, a hat between.
            for i in 0..((0.25 * rate) as usize).min(n - a) {
                let t = i as f32 / rate;
                let f = 50.0 + 70.0 * (-t / 0.03).exp();
                y[a + i] += 0.5 * (-t / 0.08).exp() * (2.0 * PI * f * t).sin();
            }
            let h = ((t0 + beat / 2.0) * rate) as usize;
            for i in 0..((0.04 * rate) as usize) {
                if h + i < n {
                    y[h + i] += 0.08 * (-(i as f32 / rate) / 0.01).exp() * rng.noise();
                }
            }
            t0 += beat;
            b += 1;
        }
        let _ = b;
    }
    normalize(&mut y, level);
    y
}

/// `hz` tones summed, `seconds` long, at `level` dBFS.
pub fn tone(hz: &[f32], seconds: f64, level: f32) -> Vec<f32> {
    let n = (seconds * MASTER as f64) as usize;
    let mut y: Vec<f32> = (0..n)
        .map(|i| {
            hz.iter()
                .map(|f| (2.0 * PI * f * i as f32 / MASTER as f32).sin())
                .sum()
        })
        .collect();
    normalize(&mut y, level);
    // 5 ms ramps, no clicks.
    let r = (0.005 * MASTER as f64) as usize;
    for i in 0..r.min(n / 2) {
        let g = i as f32 / r as f32;
        y[i] *= g;
        y[n - 1 - i] *= g;
    }
    y
}

const AGENT: &[&str] = &[
    "Thank you for calling, my name is Jordan, how can I help you today?",
    "I can certainly look into that for you.",
    "Could you please confirm the account number?",
    "I see the order here, it was shipped on the fourth.",
    "Let me check with the billing department.",
    "I understand, that must be frustrating.",
    "The system shows the payment was received last week.",
    "Unfortunately I am not able to change that from here.",
    "I will need to transfer you to our technical team.",
    "Is there anything else I can help you with today?",
    "I have applied a credit to your account.",
    "Can you tell me what the error message says?",
    "That should take about three to five business days.",
    "Apologies for the delay, I appreciate your patience.",
    "Let me pull up your details, one moment.",
    "We can send a replacement at no charge.",
    "The technician can come on Tuesday morning.",
    "I have noted all of this on your file.",
    "Could you spell your last name for me please?",
    "Your reference number is four five two eight.",
    "Our records show two charges on the same day.",
    "I will escalate this to my supervisor.",
    "The warranty covers this kind of fault.",
];

/// What an agent says when checking in during a hold.
const CHECK_INS: &[&str] = &[
    "I am still checking on this, bear with me.",
    "Sorry for the wait, I am nearly done here.",
    "Thanks for bearing with me, just a few more minutes.",
    "I have not forgotten you, the system is slow today.",
];

const CALLER: &[&str] = &[
    "Hi, I am calling about my last bill.",
    "Yes, it is seven seven three one nine.",
    "I was charged twice for the same month.",
    "The router keeps dropping the connection.",
    "No, I never received the package.",
    "Okay, thank you.",
    "That is the third time I have called about this.",
    "Sure, I can hold.",
    "Could you give me a reference number?",
    "It says the service is unavailable.",
    "Yes, that works for me.",
    "I would like to speak to a supervisor please.",
    "Alright, thanks for your help.",
    "Yes, go ahead.",
];

const ANNOUNCEMENTS: &[&str] = &[
    "Your call is important to us. Please stay on the line and the next available agent will be with you shortly.",
    "All of our agents are currently busy. Thank you for your patience.",
    "Did you know you can manage your account online? Visit our website at any time.",
    "Calls may be recorded for quality and training purposes. Please continue to hold.",
    "We are experiencing higher than usual call volumes. Your call will be answered in turn.",
];

const MENUS: &[&str] = &[
    "Welcome. For billing, press one. For technical support, press two. For all other enquiries, please hold.",
    "Thank you for calling customer service. Please listen carefully as our menu options have changed.",
    "Hello, you have reached the support line. Please hold while we connect you.",
];

const VOICES: &[&str] = &[
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-029",
    "en-gb-x-rp",
    "en-us+f2",
    "en-us+m3",
    "en-gb+f3",
    "en-us+m7",
    "en-gb+f4",
];

/// Lines drawn without putting them back (a live voice never says the same thing the same
/// way twice; a recording does).
pub(crate) struct Deck(Vec<&'static str>);

impl Deck {
    fn new(rng: &mut Rng, lines: &[&'static str]) -> Deck {
        let mut v = lines.to_vec();
        for i in (1..v.len()).rev() {
            v.swap(i, rng.int(0, i));
        }
        Deck(v)
    }
    fn draw(&mut self) -> &'static str {
        let l = self.0.remove(0);
        self.0.push(l);
        l
    }
}

pub(crate) struct Builder {
    rng: Rng,
    agent_lines: Deck,
    caller_lines: Deck,
    check_ins: Deck,
    far: Vec<f32>,
    near: Vec<f32>,
    labels: Vec<Label>,
    live: Vec<(f64, f64)>,
    holds: Vec<(f64, f64)>,
    /// Where the opening's ringing and prompts gave way to the first hold sound.
    menu_end: Option<f64>,
}

fn s(samples: usize) -> f64 {
    samples as f64 / MASTER as f64
}

impl Builder {
    /// An empty call, its lines drawn by `rng`.
    fn new(mut rng: Rng) -> Builder {
        let (agent_lines, caller_lines, check_ins) = (
            Deck::new(&mut rng, AGENT),
            Deck::new(&mut rng, CALLER),
            Deck::new(&mut rng, CHECK_INS),
        );
        Builder {
            rng,
            agent_lines,
            caller_lines,
            check_ins,
            far: Vec::new(),
            near: Vec::new(),
            labels: Vec::new(),
            live: Vec::new(),
            holds: Vec::new(),
            menu_end: None,
        }
    }

    /// The call: the line's noise (`noise`: far and near side, dBFS) added all through, and its
    /// truth.
    fn finish(mut self, name: String, seed: u64, mut rng: Rng, noise: (f32, f32)) -> Call {
        add_noise(&mut self.far, &mut rng, noise.0);
        add_noise(&mut self.near, &mut rng, noise.1);
        let duration = s(self.far.len());
        let truth = truth(
            name,
            seed,
            duration,
            self.labels,
            &self.live,
            &self.holds,
            self.menu_end,
        );
        Call {
            near: self.near,
            far: self.far,
            truth,
        }
    }

    /// Up to a second of `piece` from `pos` on (looping), no further than `end`, labelled
    /// music (one label across consecutive pieces).
    fn loop_music(&mut self, piece: &[f32], pos: &mut usize, end: usize) {
        let n = (MASTER as usize).min(end.saturating_sub(self.at())).max(1);
        let a = self.at();
        self.far
            .extend((0..n).map(|i| piece[(*pos + i) % piece.len()]));
        *pos = (*pos + n) % piece.len();
        self.near.resize(self.far.len(), 0.0);
        let now = s(self.at());
        match self.labels.last_mut() {
            Some(l) if l.class == Class::Music && (l.end_s - s(a)).abs() < 1e-9 => l.end_s = now,
            _ => self.labels.push(Label {
                start_s: s(a),
                end_s: now,
                class: Class::Music,
            }),
        }
    }

    fn at(&self) -> usize {
        self.far.len()
    }
    /// Places a far-side clip and labels it.
    fn far(&mut self, clip: &[f32], class: Class) {
        let a = self.at();
        self.far.extend_from_slice(clip);
        self.near.resize(self.far.len(), 0.0);
        self.labels.push(Label {
            start_s: s(a),
            end_s: s(self.at()),
            class,
        });
        if class == Class::Speech {
            self.live.push((s(a), s(self.at())));
        }
    }
    fn near(&mut self, clip: &[f32]) {
        let a = self.at();
        self.near.extend_from_slice(clip);
        self.far.resize(self.near.len(), 0.0);
        let _ = a;
    }
    fn pause(&mut self, seconds: f64) {
        let n = self.at() + (seconds * MASTER as f64) as usize;
        self.far.resize(n, 0.0);
        self.near.resize(n, 0.0);
    }
    fn pause_random(&mut self, lo: f64, hi: f64) {
        let p = self.rng.range(lo, hi);
        self.pause(p);
    }
    fn hold_section<F: FnOnce(&mut Builder) -> Result<(), String>>(
        &mut self,
        f: F,
    ) -> Result<(), String> {
        let a = s(self.at());
        f(self)?;
        self.holds.push((a, s(self.at())));
        Ok(())
    }
}

pub(crate) struct Voice {
    name: &'static str,
    wpm: u32,
    pitch: u32,
    level: f32,
}

impl Voice {
    fn random(rng: &mut Rng) -> Voice {
        Voice {
            name: rng.pick(VOICES),
            wpm: rng.int(135, 185) as u32,
            pitch: rng.int(30, 70) as u32,
            level: rng.range(-26.0, -18.0) as f32,
        }
    }
    /// A live utterance: never twice the same (rate and pitch move a little each time).
    fn say(&self, rng: &mut Rng, text: &str) -> Result<Vec<f32>, String> {
        let wpm = (self.wpm as i32 + rng.int(0, 20) as i32 - 10) as u32;
        let pitch = (self.pitch as i32 + rng.int(0, 10) as i32 - 5) as u32;
        speak(
            text,
            self.name,
            wpm,
            pitch,
            self.level + rng.range(-2.0, 2.0) as f32,
        )
    }
}

pub(crate) fn dialog(
    b: &mut Builder,
    agent: &Voice,
    caller: &Voice,
    exchanges: usize,
) -> Result<(), String> {
    for _ in 0..exchanges {
        let text = b.agent_lines.draw();
        let clip = agent.say(&mut b.rng, text)?;
        b.far(&clip, Class::Speech);
        let p = b.rng.range(0.3, 1.2);
        b.pause(p);
        let text = b.caller_lines.draw();
        let clip = caller.say(&mut b.rng, text)?;
        b.near(&clip);
        let p = b.rng.range(0.3, 1.2);
        b.pause(p);
    }
    Ok(())
}

/// Music with the call's announcement every so often, `seconds` in all; the music loops.
pub(crate) fn music_hold(b: &mut Builder, piece: &[f32], announcement: &[f32], seconds: f64) {
    let end = b.at() + (seconds * MASTER as f64) as usize;
    let mut pos = b.rng.int(0, piece.len() - 1);
    let mut next_ann = b.at() + (b.rng.range(10.0, 30.0) * MASTER as f64) as usize;
    while b.at() < end {
        if b.at() >= next_ann && !announcement.is_empty() {
            b.pause(0.3);
            b.far(announcement, Class::Announcement);
            b.pause(0.3);
            next_ann = b.at() + (b.rng.range(25.0, 45.0) * MASTER as f64) as usize;
            continue;
        }
        // Up to the next announcement or the end, a second at a time.
        b.loop_music(piece, &mut pos, end);
    }
}

/// A silent hold (the line's noise only) with a beep every 15 s.
pub(crate) fn silent_hold(b: &mut Builder, seconds: f64) {
    let end = b.at() + (seconds * MASTER as f64) as usize;
    let beep = tone(&[1400.0], 0.4, -20.0);
    while b.at() + 15 * MASTER as usize <= end {
        b.pause(14.6);
        b.far(&beep, Class::Tone);
    }
    let rest = end.saturating_sub(b.at());
    b.pause(s(rest));
}

pub(crate) fn ringback(b: &mut Builder, cycles: usize) {
    let uk = b.rng.chance(0.4);
    for _ in 0..cycles {
        if uk {
            let t = tone(&[400.0, 450.0], 0.4, -18.0);
            b.far(&t, Class::Tone);
            b.pause(0.2);
            b.far(&t, Class::Tone);
            b.pause(2.0);
        } else {
            let t = tone(&[440.0, 480.0], 2.0, -18.0);
            b.far(&t, Class::Tone);
            b.pause(4.0);
        }
    }
}

/// A call from a seed.
pub fn compose(seed: u64) -> Result<Call, String> {
    let rng = Rng::new(seed);
    let mut b = Builder::new(rng);
    let caller = Voice::random(&mut b.rng);
    let recorded = Voice::random(&mut b.rng);
    let ann_text = b.rng.pick(ANNOUNCEMENTS);
    let announcement = speak(
        ann_text,
        recorded.name,
        recorded.wpm,
        recorded.pitch,
        recorded.level,
    )?;
    let len = b.rng.range(18.0, 32.0);
    let music_level = b.rng.range(-26.0, -18.0) as f32;
    let piece = music(&mut b.rng, len, music_level);
    b.pause_random(0.5, 2.0);
    // The wait for the first agent.
    if b.rng.chance(0.8) {
        b.hold_section(|b| {
            if b.rng.chance(0.7) {
                let c = b.rng.int(2, 5);
                ringback(b, c);
            }
            if b.rng.chance(0.5) {
                let menu = speak(
                    b.rng.pick(MENUS),
                    recorded.name,
                    recorded.wpm,
                    recorded.pitch,
                    recorded.level,
                )?;
                b.far(&menu, Class::Announcement);
                b.pause(0.5);
            }
            if !b.labels.is_empty() {
                b.menu_end = Some(s(b.at()));
            }
            let secs = b.rng.range(20.0, 150.0);
            music_hold(b, &piece, &announcement, secs);
            b.pause_random(0.3, 1.0);
            Ok(())
        })?;
    }
    let agents = b.rng.int(1, 3);
    for k in 0..agents {
        let agent = Voice::random(&mut b.rng);
        let ex = b.rng.int(3, 7);
        dialog(&mut b, &agent, &caller, ex)?;
        if k + 1 < agents || b.rng.chance(0.3) {
            // A hold: music (most often) or silence; sometimes the agent checks in.
            let silent = b.rng.chance(0.25);
            let check_in = b.rng.chance(0.35);
            let secs = b.rng.range(20.0, 120.0);
            let parts = if check_in { 2 } else { 1 };
            for part in 0..parts {
                b.hold_section(|b| {
                    if silent {
                        silent_hold(b, secs / parts as f64);
                    } else {
                        music_hold(b, &piece, &announcement, secs / parts as f64);
                    }
                    b.pause_random(0.3, 1.0);
                    Ok(())
                })?;
                if part + 1 < parts {
                    let clip = {
                        let text = b.check_ins.draw();
                        agent.say(&mut b.rng, text)?
                    };
                    b.far(&clip, Class::Speech);
                    b.pause_random(0.4, 1.0);
                    let clip = caller.say(&mut b.rng, "Okay, thank you.")?;
                    b.near(&clip);
                    b.pause_random(0.4, 1.0);
                }
            }
        }
    }
    b.pause_random(1.0, 3.0);
    // The line: noise on both sides all through.
    let far_noise = b.rng.range(-62.0, -52.0) as f32;
    let near_noise = b.rng.range(-66.0, -56.0) as f32;
    Ok(b.finish(
        format!("call{seed:04}"),
        seed,
        Rng::new(seed ^ 0xface),
        (far_noise, near_noise),
    ))
}

/// Holds from the live speech and the hold sections: a gap between live speech (or before the
/// first, or after the last) that holds a hold section is a hold, end to end; but the call's
/// opening, up to `menu_end` (ringing and prompts before the first hold sound), is its menu.
pub(crate) fn truth(
    name: String,
    seed: u64,
    duration: f64,
    labels: Vec<Label>,
    live: &[(f64, f64)],
    sections: &[(f64, f64)],
    menu_end: Option<f64>,
) -> Truth {
    // Without a hold sound, the menu runs to the first agent (or the end).
    let first = live.first().map_or(duration, |l| l.0);
    let menu_end = menu_end.map(|m| {
        if sections.iter().any(|&(x, y)| x < first && y > m) {
            m
        } else {
            first
        }
    });
    let mut edges = vec![menu_end.unwrap_or(0.0)];
    for &(a, e) in live {
        edges.push(a);
        edges.push(e);
    }
    edges.push(duration);
    let mut holds = Vec::new();
    let mut transfers = 0;
    for (i, g) in edges.chunks(2).enumerate() {
        let (a, e) = (g[0], g[1]);
        if sections.iter().any(|&(x, y)| x < e && y > a) {
            holds.push((a, e));
            if i > 0 && i < live.len() {
                transfers += 1;
            }
        }
    }
    Truth {
        name,
        seed,
        duration_s: duration,
        labels,
        holds,
        first_live_s: live.first().map(|l| l.0),
        menu_s: menu_end.unwrap_or(0.0),
        transfers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_run_from_live_speech_to_live_speech() {
        let t = truth(
            "t".into(),
            0,
            100.0,
            vec![],
            &[(10.0, 20.0), (50.0, 60.0)],
            &[(0.5, 9.0), (21.0, 49.0)],
            None,
        );
        assert_eq!(t.holds, vec![(0.0, 10.0), (20.0, 50.0)]);
        assert_eq!(t.transfers, 1);
        assert_eq!(t.first_live_s, Some(10.0));
    }

    #[test]
    fn resampling_keeps_a_tone() {
        let x = tone(&[1000.0], 1.0, -10.0);
        let y = resample(&x, MASTER, 8000);
        assert_eq!(y.len(), 8000);
        let r = rms(&y[500..7500]);
        assert!((r - db(-10.0)).abs() < 0.01 * db(-10.0), "{r}");
    }

    #[test]
    fn live_lines_share_no_three_words() {
        // Speech the far side plays twice is an announcement; espeak-ng says the same words the
        // same way, so no two things an agent says may share a phrase.
        let words = |l: &str| -> Vec<String> {
            l.to_lowercase()
                .split(|c: char| !c.is_alphabetic() && c != '\'')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let lines: Vec<&str> = AGENT.iter().chain(CHECK_INS).copied().collect();
        for (i, a) in lines.iter().enumerate() {
            for b in &lines[i + 1..] {
                let (wa, wb) = (words(a), words(b));
                for t in wa.windows(3) {
                    assert!(
                        !wb.windows(3).any(|u| u == t),
                        "{a:?} and {b:?} share {t:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn mu_law_is_close() {
        let mut x = vec![0.5f32, -0.25, 0.01, 0.0];
        let y = x.clone();
        mu_law(&mut x);
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() <= 0.03 * b.abs() + 1e-3, "{a} {b}");
        }
    }
}
