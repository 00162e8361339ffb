//! Finding audio the far side plays more than once ("your call is important to us").
//!
//! Each frame has a 16-bit fingerprint of how the band's spectral shape changes over ~80 ms
//! (band energies averaged over ~190 ms, so a repeat need not start on the same frame grid).
//! A 24-bit key (this frame's fingerprint and half of the one two frames back) indexes every
//! loud frame. When a new frame's key was seen before, the distance back to it is a vote for
//! "this is what played `d` frames ago"; an offset with enough recent votes is checked over
//! the last two seconds bit by bit, and if few bits differ both stretches are marked repeated.

use std::collections::HashMap;

/// Repeats closer than this (5 s) are not looked for: a sustained sound matches itself.
const MIN_OFFSET: u32 = 250;
/// Frames compared when an offset is checked (2 s).
const SPAN: usize = 100;
/// Votes an offset needs within `SPAN` frames before it is checked.
const VOTES: u32 = 3;
/// Earlier frames with the same key looked at (the latest).
const RECENT: usize = 8;
/// Fewer differing bits than this share means the same audio.
const MAX_BER: f32 = 0.25;

/// No earlier frame with the key.
const NONE: u32 = u32::MAX;

#[derive(Default)]
pub struct Repeats {
    fps: Vec<u16>,
    loud: Vec<bool>,
    /// Key -> the latest frame with it; `prev[t]`: the frame before `t` with `t`'s key (a
    /// hash chain: four bytes a frame, eight a key, no allocation per key).
    latest: HashMap<u32, u32>,
    prev: Vec<u32>,
    /// Offset -> (votes, frame of the last vote).
    votes: HashMap<u32, (u32, u32)>,
    /// Per frame: heard before or after.
    pub marked: Vec<bool>,
}

impl Repeats {
    pub fn push(&mut self, fp: u16, loud: bool) {
        let t = self.fps.len() as u32;
        self.fps.push(fp);
        self.loud.push(loud);
        self.marked.push(false);
        self.prev.push(NONE);
        if t < 2 || !loud || !self.loud[t as usize - 2] {
            return;
        }
        let key = fp as u32 | ((self.fps[t as usize - 2] as u32 & 0xff) << 16);
        let mut check = Vec::new();
        let before = self.latest.insert(key, t).unwrap_or(NONE);
        self.prev[t as usize] = before;
        // The latest few times only: a looped hold tune would otherwise vote for every loop so
        // far, at a cost growing with the call.
        let mut s = before;
        for _ in 0..RECENT {
            if s == NONE {
                break;
            }
            let d = t - s;
            s = self.prev[s as usize];
            if d >= MIN_OFFSET {
                let v = self.votes.entry(d).or_insert((0, t));
                if t - v.1 > SPAN as u32 {
                    *v = (0, t);
                }
                v.0 += 1;
                v.1 = t;
                if v.0 >= VOTES {
                    check.push(d);
                }
            }
        }
        for d in check {
            self.check(t as usize, d as usize);
        }
        if t.is_multiple_of(500) {
            self.votes.retain(|_, v| t - v.1 <= SPAN as u32);
        }
    }

    /// Compares the last `SPAN` frames with those `d` before; marks both when they match.
    fn check(&mut self, t: usize, d: usize) {
        if t + 1 < SPAN + d {
            return;
        }
        let from = t + 1 - SPAN;
        let (mut bits, mut differ) = (0u32, 0u32);
        for i in from..=t {
            if self.loud[i] && self.loud[i - d] {
                bits += 16;
                differ += (self.fps[i] ^ self.fps[i - d]).count_ones();
            }
        }
        if bits >= 16 * SPAN as u32 / 2 && (differ as f32) < MAX_BER * bits as f32 {
            for i in from..=t {
                self.marked[i] = true;
                self.marked[i - d] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::Framer;

    fn noise(seed: u32, n: usize) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32 - 0.5) * 0.3
            })
            .collect()
    }

    /// A "voice": noise through a resonance that wanders (to a new random place every 150 ms),
    /// so its spectrum changes like speech and never in a cycle.
    fn clip(seed: u32, seconds: f32) -> Vec<f32> {
        let x = noise(seed, (8000.0 * seconds) as usize);
        let targets = noise(seed.wrapping_mul(7919), x.len() / 1200 + 2);
        let (mut y1, mut y2) = (0f32, 0f32);
        x.iter()
            .enumerate()
            .map(|(i, v)| {
                let (k, frac) = (i / 1200, (i % 1200) as f32 / 1200.0);
                let place = targets[k] * (1.0 - frac) + targets[k + 1] * frac; // -0.15..0.15
                let f = 1250.0 + 5000.0 * place;
                let w = 2.0 * std::f32::consts::PI * f / 8000.0;
                let y = v + 1.8 * 0.97 * w.cos() * y1 - 0.97 * 0.97 * y2;
                (y2, y1) = (y1, y);
                y * 0.05
            })
            .collect()
    }

    fn marks(audio: &[f32]) -> Vec<bool> {
        let mut f = Framer::new();
        let mut r = Repeats::default();
        f.push(audio, &mut |fr| r.push(fr.fp, fr.db > -50.0));
        r.marked
    }

    #[test]
    fn a_clip_played_again_is_marked_both_times_and_other_audio_is_not() {
        let ann = clip(7, 6.0);
        let mut audio = ann.clone();
        audio.extend(clip(99, 20.0)); // something else between
        let again = audio.len();
        // Played again off the frame grid (by 37 samples), with a little line noise.
        audio.extend(vec![0.0; 37]);
        audio.extend(
            ann.iter()
                .zip(noise(3, ann.len()))
                .map(|(a, n)| a + n * 0.003),
        );
        let m = marks(&audio);
        let frame_of = |sample: usize| sample / crate::frontend::HOP;
        let share =
            |a: usize, b: usize| m[a..b].iter().filter(|&&x| x).count() as f32 / (b - a) as f32;
        assert!(
            share(frame_of(8000), frame_of(40000)) > 0.6,
            "first time: {}",
            share(frame_of(8000), frame_of(40000))
        );
        assert!(share(frame_of(again + 8000), frame_of(again + 40000)) > 0.6);
        assert!(
            share(frame_of(56000), frame_of(200000)) < 0.05,
            "the audio between: {}",
            share(frame_of(56000), frame_of(200000))
        );
    }

    #[test]
    fn audio_that_never_repeats_is_not_marked() {
        let m = marks(&clip(11, 60.0));
        assert!(m.iter().filter(|&&x| x).count() < m.len() / 100);
    }
}
