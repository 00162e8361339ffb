//! From samples to frames: any rate down to the telephone band at 8 kHz, 32 ms windows every
//! 20 ms, and each window's features.

/// The analysis rate: everything a phone line carries.
pub const RATE: u32 = 8000;
/// Samples per analysis window (32 ms).
pub const WIN: usize = 256;
/// Samples between windows (20 ms): 50 frames a second.
pub const HOP: usize = 160;
pub const FPS: f64 = RATE as f64 / HOP as f64;
/// The band looked at: 312.5 .. 3375 Hz (bins of 31.25 Hz).
const LO_BIN: usize = 10;
const HI_BIN: usize = 108;
/// Fingerprint bands (mel-spaced over the band); one bit per adjacent pair.
const FP_BANDS: usize = 17;
/// The fingerprint compares band energies averaged over this many frames (about 190 ms, so a
/// repeat that starts between two frames still matches) with those `FP_LAG` frames earlier.
const FP_SMOOTH: usize = 8;
const FP_LAG: usize = 4;

/// One 20 ms frame's features.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Frame {
    /// Energy of the window in dB relative to full scale (a full-scale square wave is 0).
    pub db: f32,
    /// Spectral flatness over the band (1 for white noise, near 0 for a few partials).
    pub flat: f32,
    /// Share of the band's power in its two strongest peaks (±1 bin each): near 1 for a tone.
    pub peak: f32,
    /// Bin of the strongest peak (31.25 Hz each).
    pub pbin: u16,
    /// Correlation of the band's log spectrum with that of 40 ms before: sustained notes and
    /// tones stay put, speech moves.
    pub stab: f32,
    /// A 16-bit fingerprint of how the band's spectral shape changes (for repeats).
    pub fp: u16,
}

/// Low-pass filters to the telephone band and takes 8 kHz samples at any input rate, in fixed
/// point: 16-bit samples times 16-bit taps, summed in 32 bits. A recording's samples are 16-bit
/// already, integer products of any order sum to the same value (no rounding between them), and
/// the products vectorize to the SIMD multiply-add of pairs every x86_64 has: a quarter of the
/// float filter's cost, which was most of the live analysis's.
pub struct Decimator {
    /// Input samples per output sample.
    step: f64,
    /// The filter's taps times `2^shift`, then zeros to a whole number of blocks of eight
    /// (the SIMD dot product's; a zero tap adds nothing to a sum).
    taps: Vec<i16>,
    /// Half the number of real taps (odd in number): the filter's centre.
    half: usize,
    /// From a sum of products back to [-1, 1]: `1 / (32768 * 2^shift)`.
    scale: f32,
    /// Input not yet consumed; `buf[0]` is input sample number `base`.
    buf: Vec<i16>,
    base: u64,
    /// The next output's position in input samples.
    next: f64,
    exact: bool,
    /// Float input as 16-bit (kept: no allocation per push).
    ints: Vec<i16>,
}

impl Decimator {
    /// A cheap one for energy alone (the caller's side: talking or not): each output the mean
    /// of the input around it, no band limit to speak of.
    pub fn coarse(rate: u32) -> Decimator {
        let n = ((rate as f64 / RATE as f64).round() as usize).max(1) | 1;
        Decimator::with_taps(rate, vec![1.0 / n as f64; n])
    }

    pub fn new(rate: u32) -> Decimator {
        // Passband to 3400 Hz; whatever folds back from 4000..4600 Hz lands above 3400, out of
        // the band the features look at. Windowed sinc (Blackman), odd length.
        let taps = if rate == RATE {
            vec![1.0]
        } else {
            let cutoff = 4000.0 / rate as f64;
            let n = ((4.0 * rate as f64 / 1200.0).ceil() as usize) | 1;
            let m = (n - 1) as f64 / 2.0;
            let t: Vec<f64> = (0..n)
                .map(|i| {
                    let x = i as f64 - m;
                    let sinc = if x == 0.0 {
                        2.0 * cutoff
                    } else {
                        (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
                    };
                    let w = 0.42
                        - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos()
                        + 0.08 * (4.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos();
                    sinc * w
                })
                .collect();
            let sum: f64 = t.iter().sum();
            t.into_iter().map(|v| v / sum).collect()
        };
        Decimator::with_taps(rate, taps)
    }

    /// `taps` (odd in number, summing to 1) in fixed point, as fine as a 32-bit sum allows: a
    /// sum of products is at most 32768 times the sum of the taps' magnitudes, so that sum
    /// stays below 2^16 (and no tap reaches -32768, the one pair the SIMD multiply-add of
    /// pairs could overflow with).
    fn with_taps(rate: u32, taps: Vec<f64>) -> Decimator {
        let quantize = |shift: i32| -> Vec<i16> {
            taps.iter()
                .map(|t| (t * 2f64.powi(shift)).round().clamp(-32767.0, 32767.0) as i16)
                .collect()
        };
        let fits = |q: &[i16]| q.iter().map(|&t| i64::from(t).abs()).sum::<i64>() < 1 << 16;
        let shift = (0..=15).rev().find(|&s| fits(&quantize(s))).unwrap_or(0);
        let mut q = quantize(shift);
        let step = rate as f64 / RATE as f64;
        let half = q.len() / 2;
        q.resize(q.len().div_ceil(8) * 8, 0);
        Decimator {
            step,
            exact: step.fract() == 0.0,
            scale: 1.0 / (32768.0 * 2f64.powi(shift)) as f32,
            // Zeros before the first sample, so the first output is centred on it.
            buf: vec![0; half],
            base: 0,
            next: half as f64,
            half,
            taps: q,
            ints: Vec::new(),
        }
    }

    fn filtered(&self, i: usize) -> f32 {
        // Centred at buf[i]: needs buf[i - half ..= i + half]; reads the padding's worth beyond
        // where there is one (the zeros ignore it).
        let from = i - self.half;
        // Near the end of what has come in, the real taps alone.
        let n = if from + self.taps.len() <= self.buf.len() {
            self.taps.len()
        } else {
            2 * self.half + 1
        };
        dot(&self.buf[from..from + n], &self.taps[..n]) as f32 * self.scale
    }

    /// Appends float input (as 16-bit samples, rounded and clamped) and calls `out` with each
    /// 8 kHz sample it completes.
    pub fn push(&mut self, input: &[f32], out: &mut impl FnMut(f32)) {
        let mut ints = std::mem::take(&mut self.ints);
        ints.clear();
        ints.extend(input.iter().map(|&v| to_i16(v)));
        self.push_i16(&ints, out);
        self.ints = ints;
    }

    /// Appends 16-bit input and calls `out` with each 8 kHz sample it completes.
    pub fn push_i16(&mut self, input: &[i16], out: &mut impl FnMut(f32)) {
        self.buf.extend_from_slice(input);
        let half = self.half;
        // What a filtered sample needs past its centre, the centre included.
        let reach = half + 1;
        if self.exact {
            // A whole number of input samples per output: integer steps.
            let step = self.step as usize;
            let mut i = (self.next - self.base as f64) as usize;
            while i + reach <= self.buf.len() {
                out(self.filtered(i));
                i += step;
                self.next += self.step;
            }
        } else {
            loop {
                let pos = self.next - self.base as f64;
                // `pos` is never negative (`base` never passes `next`): truncation is the
                // floor, without a libm call.
                let i = pos as usize;
                if i + 1 + reach > self.buf.len() {
                    break;
                }
                let f = (pos - i as f64) as f32;
                out(self.filtered(i) * (1.0 - f) + self.filtered(i + 1) * f);
                self.next += self.step;
            }
        }
        // Keep what the next outputs need.
        let keep_from = ((self.next - self.base as f64) as usize).saturating_sub(half);
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.base += keep_from as u64;
        }
    }
}

/// A sample in [-1, 1] as 16-bit, rounded to nearest (half away from zero) and clamped (not a
/// number: 0), without a libm call.
pub fn to_i16(v: f32) -> i16 {
    let x = v * 32768.0;
    let r = if x >= 0.0 { x + 0.5 } else { x - 0.5 };
    // `as` saturates: out of range becomes the nearest end.
    r as i16
}

/// The sum of the products, in 32 bits: the caller keeps it from overflowing (see
/// [`Decimator::with_taps`]). Integer sums of any order are the same, so the products may be
/// taken in any grouping: on x86_64 eight at a time, by SSE2's multiply-add of pairs (part of
/// every x86_64; the compiler's own vectorizing of the plain loop took four).
fn dot(x: &[i16], h: &[i16]) -> i32 {
    let n = x.len().min(h.len());
    let (whole, sum) = dot_blocks(&x[..n], &h[..n]);
    x[whole..n]
        .iter()
        .zip(&h[whole..n])
        .map(|(&a, &b)| i32::from(a) * i32::from(b))
        .fold(sum, |acc, p| acc.wrapping_add(p))
}

/// The sum over the first whole blocks of eight of two slices of one length; how many
/// products that was.
#[cfg(not(target_arch = "x86_64"))]
fn dot_blocks(_: &[i16], _: &[i16]) -> (usize, i32) {
    (0, 0)
}

#[cfg(target_arch = "x86_64")]
fn dot_blocks(x: &[i16], h: &[i16]) -> (usize, i32) {
    use std::arch::x86_64::*;
    assert_eq!(x.len(), h.len());
    let whole = x.len() / 8 * 8;
    let pairs = x.len() / 16 * 16;
    // SAFETY: SSE2 is baseline on x86_64; every load reads 8 samples at an index below
    // `whole` (the paired loop's second at `i + 8`, below `pairs`), at most the length of
    // both slices.
    unsafe {
        let load = |p: *const i16, i: usize| _mm_loadu_si128(p.add(i) as *const __m128i);
        // Two sums, so that each multiply-add need not wait for the last one's.
        let (mut a0, mut a1) = (_mm_setzero_si128(), _mm_setzero_si128());
        let mut i = 0;
        while i < pairs {
            a0 = _mm_add_epi32(a0, _mm_madd_epi16(load(x.as_ptr(), i), load(h.as_ptr(), i)));
            a1 = _mm_add_epi32(
                a1,
                _mm_madd_epi16(load(x.as_ptr(), i + 8), load(h.as_ptr(), i + 8)),
            );
            i += 16;
        }
        if i < whole {
            a0 = _mm_add_epi32(a0, _mm_madd_epi16(load(x.as_ptr(), i), load(h.as_ptr(), i)));
        }
        let acc = _mm_add_epi32(a0, a1);
        let mut lanes = [0i32; 4];
        _mm_storeu_si128(lanes.as_mut_ptr() as *mut __m128i, acc);
        (whole, lanes.iter().fold(0i32, |s, &v| s.wrapping_add(v)))
    }
}

/// Turns 8 kHz samples into frames.
pub struct Framer {
    samples: Vec<f32>,
    window: Vec<f32>,
    /// The windowed frame, transformed in place.
    input: [f32; WIN],
    power: Vec<f32>,
    /// Log spectra of the last three frames (for `stab`).
    logs: [Vec<f32>; 3],
    /// Band energies of the last frames (for the fingerprint), newest last.
    bands: Vec<[f32; FP_BANDS]>,
    edges: [usize; FP_BANDS + 1],
    count: u64,
    /// Only the energy (the near side's channel needs no more).
    energy_only: bool,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new()
    }
}

impl Framer {
    pub fn new() -> Framer {
        let window = (0..WIN)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / WIN as f32).cos())
            .collect();
        let mel = |f: f64| 2595.0 * (1.0 + f / 700.0).log10();
        let (m0, m1) = (mel(312.5), mel(3375.0));
        let mut edges = [0usize; FP_BANDS + 1];
        for (k, e) in edges.iter_mut().enumerate() {
            let m = m0 + (m1 - m0) * k as f64 / FP_BANDS as f64;
            let f = 700.0 * (10f64.powf(m / 2595.0) - 1.0);
            *e = (f / 31.25).round() as usize;
        }
        // Every band at least one bin wide.
        for k in 1..=FP_BANDS {
            if edges[k] <= edges[k - 1] {
                edges[k] = edges[k - 1] + 1;
            }
        }
        Framer {
            input: [0.0; WIN],
            window,
            samples: Vec::with_capacity(WIN * 4),
            power: vec![0.0; WIN / 2 + 1],
            logs: Default::default(),
            bands: Vec::with_capacity(FP_SMOOTH + FP_LAG + 1),
            edges,
            count: 0,
            energy_only: false,
        }
    }

    /// A framer that measures each frame's energy and nothing else.
    pub fn energy_only() -> Framer {
        Framer {
            energy_only: true,
            ..Framer::new()
        }
    }

    /// Takes 8 kHz samples; calls `out` with each frame they complete.
    pub fn push(&mut self, input: &[f32], out: &mut impl FnMut(Frame)) {
        self.samples.extend_from_slice(input);
        let mut at = 0;
        while self.samples.len() - at >= WIN {
            let f = self.frame(at);
            out(f);
            at += HOP;
        }
        self.samples.drain(..at);
    }

    fn frame(&mut self, at: usize) -> Frame {
        let x = &self.samples[at..at + WIN];
        let ms = x.iter().map(|v| v * v).sum::<f32>() / WIN as f32;
        // Full-scale square wave: mean square 1 -> 0 dB.
        let db = 10.0 * (ms + 1e-10).log10();
        if self.energy_only {
            return Frame {
                db,
                ..Frame::default()
            };
        }
        for ((d, s), w) in self.input.iter_mut().zip(x).zip(&self.window) {
            *d = s * w;
        }
        let spec = microfft::real::rfft_256(&mut self.input);
        // Bin 0 carries the Nyquist bin's real part as its imaginary one; neither is in the band.
        spec[0].im = 0.0;
        for (p, c) in self.power.iter_mut().zip(spec.iter()) {
            *p = c.norm_sqr();
        }
        let band = &self.power[LO_BIN..=HI_BIN];
        let total: f32 = band.iter().sum::<f32>() + 1e-12;
        let n = band.len() as f32;
        let log_mean = band.iter().map(|p| (p + 1e-12).ln()).sum::<f32>() / n;
        let flat = (log_mean.exp() / (total / n)).min(1.0);

        // The two strongest peaks, ±1 bin each, the second at least 3 bins from the first.
        let argmax = |skip: Option<usize>| {
            let mut best = (0usize, -1.0f32);
            for (i, &p) in band.iter().enumerate() {
                if let Some(s) = skip
                    && i.abs_diff(s) < 3
                {
                    continue;
                }
                if p > best.1 {
                    best = (i, p);
                }
            }
            best.0
        };
        let around = |i: usize| {
            band[i.saturating_sub(1)..(i + 2).min(band.len())]
                .iter()
                .sum::<f32>()
        };
        let m1 = argmax(None);
        let m2 = argmax(Some(m1));
        let peak = ((around(m1) + around(m2)) / total).min(1.0);

        // Log spectrum against the one two frames back.
        let mut log = std::mem::take(&mut self.logs[0]);
        log.clear();
        log.extend(band.iter().map(|p| (p + 1e-9 * total).ln()));
        let stab = if self.count >= 2 {
            correlation(&log, &self.logs[1])
        } else {
            0.0
        };
        self.logs.rotate_left(1);
        self.logs[2] = log;

        let mut e = [0f32; FP_BANDS];
        for (k, v) in e.iter_mut().enumerate() {
            *v = self.power[self.edges[k]..self.edges[k + 1].max(self.edges[k] + 1)]
                .iter()
                .sum();
        }
        if self.bands.len() == FP_SMOOTH + FP_LAG {
            self.bands.remove(0);
        }
        self.bands.push(e);
        let fp = if self.bands.len() == FP_SMOOTH + FP_LAG {
            let smooth = |from: usize| {
                let mut s = [0f32; FP_BANDS];
                for b in &self.bands[from..from + FP_SMOOTH] {
                    for k in 0..FP_BANDS {
                        s[k] += b[k];
                    }
                }
                s
            };
            let (now, before) = (smooth(FP_LAG), smooth(0));
            let mut fp = 0u16;
            for k in 0..FP_BANDS - 1 {
                if (now[k] - now[k + 1]) - (before[k] - before[k + 1]) > 0.0 {
                    fp |= 1 << k;
                }
            }
            fp
        } else {
            0
        };
        self.count += 1;
        Frame {
            db,
            flat,
            peak,
            pbin: (m1 + LO_BIN) as u16,
            stab,
            fp,
        }
    }
}

/// Pearson correlation of two equally long series (0 when either is flat).
fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

#[cfg(test)]
#[path = "frontend_tests.rs"]
mod tests;
