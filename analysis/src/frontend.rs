//! From samples to frames: any rate down to the telephone band at 8 kHz, 32 ms windows every
//! 20 ms, and each window's features.

use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

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

/// Low-pass filters to the telephone band and takes 8 kHz samples at any input rate.
pub struct Decimator {
    /// Input samples per output sample.
    step: f64,
    taps: Vec<f32>,
    /// Input not yet consumed; `buf[0]` is input sample number `base`.
    buf: Vec<f32>,
    base: u64,
    /// The next output's position in input samples.
    next: f64,
    exact: bool,
}

impl Decimator {
    /// A cheap one for energy alone (the caller's side: talking or not): each output the mean
    /// of the input around it, no band limit to speak of.
    pub fn coarse(rate: u32) -> Decimator {
        let mut d = Decimator::new(RATE);
        let n = ((rate as f64 / RATE as f64).round() as usize).max(1) | 1;
        d.step = rate as f64 / RATE as f64;
        d.exact = d.step.fract() == 0.0;
        d.taps = vec![1.0 / n as f32; n];
        d.buf = vec![0.0; n / 2];
        d.next = (n / 2) as f64;
        d
    }

    pub fn new(rate: u32) -> Decimator {
        let step = rate as f64 / RATE as f64;
        // Passband to 3400 Hz; whatever folds back from 4000..4600 Hz lands above 3400, out of
        // the band the features look at. Windowed sinc (Blackman), odd length.
        let taps = if rate == RATE {
            vec![1.0]
        } else {
            let cutoff = 4000.0 / rate as f64;
            let n = ((4.0 * rate as f64 / 1200.0).ceil() as usize) | 1;
            let m = (n - 1) as f64 / 2.0;
            let mut t: Vec<f64> = (0..n)
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
            t.iter_mut().for_each(|v| *v /= sum);
            t.into_iter().map(|v| v as f32).collect()
        };
        let half = taps.len() / 2;
        Decimator {
            step,
            exact: step.fract() == 0.0,
            // Zeros before the first sample, so the first output is centred on it.
            buf: vec![0.0; half],
            base: 0,
            next: half as f64,
            taps,
        }
    }

    fn filtered(&self, i: usize) -> f32 {
        // Centred at buf[i]: needs buf[i - half ..= i + half].
        let half = self.taps.len() / 2;
        dot(&self.buf[i - half..=i + half], &self.taps)
    }

    /// Appends input and calls `out` with each 8 kHz sample it completes.
    pub fn push(&mut self, input: &[f32], out: &mut impl FnMut(f32)) {
        self.buf.extend_from_slice(input);
        let half = self.taps.len() / 2;
        loop {
            let pos = self.next - self.base as f64;
            // `pos` is never negative (`base` never passes `next`): truncation is the floor,
            // without a libm call.
            let i = pos as usize;
            let need = if self.exact { i + half } else { i + 1 + half };
            if need >= self.buf.len() {
                break;
            }
            if self.exact {
                // The next output too when its input is here: two products side by side.
                let i2 = (self.next + self.step - self.base as f64) as usize;
                if i2 + half < self.buf.len() {
                    let [a, b] = dot_n(
                        [
                            &self.buf[i - half..=i + half],
                            &self.buf[i2 - half..=i2 + half],
                        ],
                        &self.taps,
                    );
                    out(a);
                    out(b);
                    self.next += self.step;
                    self.next += self.step;
                    continue;
                }
            }
            let y = if self.exact {
                self.filtered(i)
            } else {
                let f = (pos - i as f64) as f32;
                self.filtered(i) * (1.0 - f) + self.filtered(i + 1) * f
            };
            out(y);
            self.next += self.step;
        }
        // Keep what the next outputs need.
        let keep_from = ((self.next - self.base as f64) as usize).saturating_sub(half);
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.base += keep_from as u64;
        }
    }
}

/// A dot product in eight lanes: lane `k` sums the products of the elements at `k` modulo 8,
/// then the lanes are added in order, then the tail. A float sum is not reordered by the
/// compiler, and it did not vectorize the lanes written as an array: on x86_64 they are two
/// SSE registers (part of every x86_64), the same operations in the same order, so the result
/// is the same to the bit as the plain loop's ([`dot_lanes`]).
fn dot(x: &[f32], h: &[f32]) -> f32 {
    dot_n([x], h)[0]
}

/// [`dot`] of each of `xs` (all of one length) with `h`, side by side: each result has its own
/// lanes, so it is the same to the bit as alone, but the additions of one no longer wait on
/// the other's (a single product is bound by the latency of its lanes' additions, not by the
/// loads).
fn dot_n<const N: usize>(xs: [&[f32]; N], h: &[f32]) -> [f32; N] {
    assert!(
        xs.iter().all(|x| x.len() == xs[0].len()),
        "slices of one length"
    );
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let mut out = [0f32; N];
        let n = xs[0].len().min(h.len());
        let whole = n / 8 * 8;
        let mut acc = [[0f32; 8]; N];
        // SAFETY: SSE is baseline on x86_64; every load reads 4 floats at an index below
        // `whole`, which is at most the length of every slice (all of one length, asserted).
        unsafe {
            let mut lo = [_mm_setzero_ps(); N];
            let mut hi = [_mm_setzero_ps(); N];
            let hp = h.as_ptr();
            let mut i = 0;
            while i < whole {
                let (b0, b1) = (_mm_loadu_ps(hp.add(i)), _mm_loadu_ps(hp.add(i + 4)));
                for j in 0..N {
                    let xp = xs[j].as_ptr();
                    let (a0, a1) = (_mm_loadu_ps(xp.add(i)), _mm_loadu_ps(xp.add(i + 4)));
                    lo[j] = _mm_add_ps(lo[j], _mm_mul_ps(a0, b0));
                    hi[j] = _mm_add_ps(hi[j], _mm_mul_ps(a1, b1));
                }
                i += 8;
            }
            for j in 0..N {
                _mm_storeu_ps(acc[j].as_mut_ptr(), lo[j]);
                _mm_storeu_ps(acc[j].as_mut_ptr().add(4), hi[j]);
            }
        }
        for j in 0..N {
            let tail: f32 = xs[j][whole..n]
                .iter()
                .zip(&h[whole..n])
                .map(|(a, b)| a * b)
                .sum();
            out[j] = acc[j].iter().sum::<f32>() + tail;
        }
        out
    }
    #[cfg(not(target_arch = "x86_64"))]
    xs.map(|x| dot_lanes(x, h))
}

/// [`dot`] as a plain loop.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn dot_lanes(x: &[f32], h: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (xc, hc) = (x.chunks_exact(8), h.chunks_exact(8));
    let (xr, hr) = (xc.remainder(), hc.remainder());
    for (a, b) in xc.zip(hc) {
        for k in 0..8 {
            acc[k] += a[k] * b[k];
        }
    }
    let tail: f32 = xr.iter().zip(hr).map(|(a, b)| a * b).sum();
    acc.iter().sum::<f32>() + tail
}

/// Turns 8 kHz samples into frames.
pub struct Framer {
    samples: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    scratch: Vec<realfft::num_complex::Complex<f32>>,
    spec: Vec<realfft::num_complex::Complex<f32>>,
    input: Vec<f32>,
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
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(WIN);
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
            scratch: fft.make_scratch_vec(),
            spec: fft.make_output_vec(),
            input: fft.make_input_vec(),
            fft,
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
        self.fft
            .process_with_scratch(&mut self.input, &mut self.spec, &mut self.scratch)
            .expect("sizes fixed at construction");
        for (p, c) in self.power.iter_mut().zip(&self.spec) {
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
mod tests {
    use super::*;

    #[test]
    fn the_vector_dot_product_is_the_plain_loops_to_the_bit() {
        // Lengths around the lanes' multiples, the decimator's (161), and values of mixed
        // magnitude and sign, where a change of summation order would show.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 10f32.powi((seed % 7) as i32 - 3)
        };
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 160, 161, 162, 1001] {
            let x: Vec<f32> = (0..n).map(|_| next()).collect();
            let h: Vec<f32> = (0..n).map(|_| next()).collect();
            assert_eq!(
                dot(&x, &h).to_bits(),
                dot_lanes(&x, &h).to_bits(),
                "length {n}"
            );
            // Side by side, each the same as alone.
            let y: Vec<f32> = x.iter().rev().copied().collect();
            let [a, b] = dot_n([&x, &y], &h);
            assert_eq!(
                [a.to_bits(), b.to_bits()],
                [dot_lanes(&x, &h).to_bits(), dot_lanes(&y, &h).to_bits()],
                "length {n}, two at once"
            );
        }
    }

    fn sine(rate: u32, hz: f32, secs: f32, amp: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    fn to_8k(rate: u32, x: &[f32]) -> Vec<f32> {
        let mut d = Decimator::new(rate);
        let mut out = Vec::new();
        // In uneven pieces, as a stream arrives.
        for piece in x.chunks(777) {
            d.push(piece, &mut |v| out.push(v));
        }
        out
    }

    /// Fed a sample at a time, the decimator makes each output alone; fed in pieces, mostly two
    /// at once: the same values to the bit.
    #[test]
    fn outputs_made_two_at_once_are_those_made_alone() {
        for rate in [8000, 16000, 44100, 48000] {
            let x: Vec<f32> = sine(rate, 1234.5, 0.5, 0.7)
                .iter()
                .zip(sine(rate, 311.0, 0.5, 0.2))
                .map(|(a, b)| a + b)
                .collect();
            let mut d = Decimator::new(rate);
            let mut alone = Vec::new();
            for v in &x {
                d.push(std::slice::from_ref(v), &mut |y| alone.push(y.to_bits()));
            }
            let pieces: Vec<u32> = to_8k(rate, &x).iter().map(|y| y.to_bits()).collect();
            assert_eq!(pieces, alone, "{rate}");
        }
    }

    #[test]
    fn decimation_keeps_the_band_and_the_length() {
        for rate in [8000, 16000, 44100, 48000] {
            let y = to_8k(rate, &sine(rate, 1000.0, 1.0, 0.5));
            // All of a second, less the filter's look-ahead.
            assert!(y.len() > 7900 && y.len() <= 8000, "{rate}: {}", y.len());
            let mid = &y[1000..7000];
            let rms = (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt();
            assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.01, "{rate}: rms {rms}");
        }
    }

    #[test]
    fn decimation_removes_what_would_fold_into_the_band() {
        // 6 kHz at 48 kHz would alias to 2 kHz at 8 kHz.
        let y = to_8k(48000, &sine(48000, 6000.0, 1.0, 0.5));
        let mid = &y[1000..7000];
        let rms = (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt();
        assert!(rms < 0.005, "rms {rms}");
    }

    #[test]
    fn a_tone_is_peaky_stable_and_loud() {
        let mut f = Framer::new();
        let mut frames = Vec::new();
        f.push(&sine(8000, 440.0, 1.0, 0.5), &mut |fr| frames.push(fr));
        assert_eq!(frames.len(), (8000 - WIN) / HOP + 1);
        let fr = frames[20];
        assert!(fr.peak > 0.95, "{fr:?}");
        assert!(fr.stab > 0.9, "{fr:?}");
        assert_eq!(fr.pbin, 14, "{fr:?}"); // 440 / 31.25
        assert!((fr.db - (-9.0)).abs() < 0.5, "{fr:?}"); // amplitude 0.5 sine: 0.125 -> -9 dB
        assert!(fr.flat < 0.05, "{fr:?}");
    }

    #[test]
    fn noise_is_flat_and_not_peaky() {
        let mut state = 12345u32;
        let noise: Vec<f32> = (0..8000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 - 0.5) * 0.2
            })
            .collect();
        let mut f = Framer::new();
        let mut frames = Vec::new();
        f.push(&noise, &mut |fr| frames.push(fr));
        let fr = frames[20];
        assert!(fr.flat > 0.4 && fr.peak < 0.3, "{fr:?}");
    }
}
