//! The sounds calls are made of: a seeded generator, resampling, the line's filters and
//! degradations, espeak-ng speech, generated hold music and tones.

use super::MASTER;
use std::f32::consts::PI;

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

pub(crate) fn db(x: f32) -> f32 {
    10f32.powf(x / 20.0)
}

pub(crate) fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

pub(crate) fn normalize(x: &mut [f32], dbfs: f32) {
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
        // Tap `i` reads input `first + i`: only those inside the input, in the same order
        // (the same sum to the bit as testing each one), without a test in the loop.
        let first = c - half + 1;
        let lo = (-first).clamp(0, taps.len() as i64) as usize;
        let hi = (x.len() as i64 - first).clamp(lo as i64, taps.len() as i64) as usize;
        let mut acc = 0.0f32;
        if lo < hi {
            let from = (first + lo as i64) as usize;
            for (v, h) in x[from..from + (hi - lo)].iter().zip(&taps[lo..hi]) {
                acc += v * h;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_a_tone() {
        let x = tone(&[1000.0], 1.0, -10.0);
        let y = resample(&x, MASTER, 8000);
        assert_eq!(y.len(), 8000);
        let r = rms(&y[500..7500]);
        assert!((r - db(-10.0)).abs() < 0.01 * db(-10.0), "{r}");
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
