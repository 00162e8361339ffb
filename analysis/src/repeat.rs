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
