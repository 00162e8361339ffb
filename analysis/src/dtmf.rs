//! DTMF key presses on the caller's channel: a key answers a recorded menu, so it tells a menu
//! from a live agent.
//!
//! The classic receiver: the Goertzel algorithm measures the eight DTMF frequencies in blocks
//! of 205 samples at 8 kHz (25.6 ms, the block length whose bins fall nearest all eight), and a
//! block holds a key when the strongest row tone and the strongest column tone
//!
//! - are each loud enough ([`MIN_TONE_DB`]),
//! - stand [`RELATIVE_PEAK_DB`] above the other tones of their group,
//! - keep within the twist limits of ITU-T Q.24 (the column tone at most [`NORMAL_TWIST_DB`]
//!   below the row tone, at most [`REVERSE_TWIST_DB`] above it),
//! - and carry [`TONE_SHARE`] of the block's power between them (speech spreads its power; a
//!   key puts it all in two tones).
//!
//! Blocks overlap by half ([`HOP`]). A key is pressed once the same key is found in
//! [`MIN_BLOCKS`] blocks in a row (any tone of 51 ms and more is; Q.24 asks receivers to take
//! tones from 40 ms), and released at the first block without it.

/// Samples per block at 8 kHz, and between the starts of two blocks.
pub const BLOCK: usize = 205;
pub const HOP: usize = 102;
const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// Each tone of a key at least this loud (dBFS of the tone alone; a full-scale sine is -3).
pub const MIN_TONE_DB: f32 = -45.0;
/// The chosen tone of each group this far above the next strongest of the group.
pub const RELATIVE_PEAK_DB: f32 = 6.0;
/// Twist: the column (high) tone may be this much weaker than the row (low) tone...
pub const NORMAL_TWIST_DB: f32 = 8.0;
/// ...and this much stronger.
pub const REVERSE_TWIST_DB: f32 = 4.0;
/// The two tones' share of the block's power.
pub const TONE_SHARE: f32 = 0.7;
/// Blocks in a row a key must last (two blocks half a block apart: 38 ms of tone at best,
/// 51 ms at worst).
pub const MIN_BLOCKS: usize = 2;

/// One key press: where it began and ended, in samples at 8 kHz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Press {
    pub key: char,
    pub start: u64,
    pub end: u64,
}

/// Goertzel power of `f` over `x` at 8 kHz, scaled so that a sine of amplitude `a` at `f`
/// gives `a² / 2` (its mean power). The reference [`goertzel8`] is checked against.
#[cfg(test)]
fn goertzel(x: &[f32], f: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * f / 8000.0;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s = v + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let p = s1 * s1 + s2 * s2 - c * s1 * s2;
    2.0 * p / (x.len() * x.len()) as f32
}

/// [`goertzel`] of the eight DTMF frequencies (rows, then columns) in one pass over `x`: the
/// same operations in the same order for each, so each is the same to the bit as
/// [`goertzel`]'s, but eight independent lanes (which the compiler keeps in vector registers)
/// read `x` once.
fn goertzel8(x: &[f32]) -> [f32; 8] {
    let mut c = [0f32; 8];
    for (k, &f) in ROWS.iter().chain(COLS.iter()).enumerate() {
        let w = 2.0 * std::f32::consts::PI * f / 8000.0;
        c[k] = 2.0 * w.cos();
    }
    let (mut s1, mut s2) = ([0f32; 8], [0f32; 8]);
    for &v in x {
        for k in 0..8 {
            let s = v + c[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s;
        }
    }
    let n2 = (x.len() * x.len()) as f32;
    std::array::from_fn(|k| 2.0 * (s1[k] * s1[k] + s2[k] * s2[k] - c[k] * s1[k] * s2[k]) / n2)
}

fn db(p: f32) -> f32 {
    10.0 * p.max(1e-20).log10()
}

/// The key a block holds, if any.
pub fn block_key(x: &[f32]) -> Option<char> {
    let total = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    // No tone holds more than twice the block's mean power (Cauchy-Schwarz: |X|² <= N Σx²):
    // a block too quiet for any tone to be loud enough is no key, without measuring one (with
    // a factor of two to spare for rounding). Most blocks of a caller's side are that quiet.
    if 4.0 * total < 10f32.powf(MIN_TONE_DB / 10.0) {
        return None;
    }
    let p = goertzel8(x);
    let best = |p: &[f32]| {
        let i = (0..4).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
        let next = (0..4).filter(|&j| j != i).map(|j| p[j]).fold(0.0, f32::max);
        (i, p[i], next)
    };
    let (r, pr, nr) = best(&p[..4]);
    let (c, pc, nc) = best(&p[4..]);
    let loud = db(pr) >= MIN_TONE_DB && db(pc) >= MIN_TONE_DB;
    let peaks = db(pr) - db(nr) >= RELATIVE_PEAK_DB && db(pc) - db(nc) >= RELATIVE_PEAK_DB;
    let twist = db(pc) - db(pr);
    let twist_ok = (-NORMAL_TWIST_DB..=REVERSE_TWIST_DB).contains(&twist);
    let share = pr + pc >= TONE_SHARE * total;
    (loud && peaks && twist_ok && share).then_some(KEYS[r][c])
}

/// Finds key presses in a stream of 8 kHz samples pushed in pieces of any length.
#[derive(Default)]
pub struct Detector {
    buf: Vec<f32>,
    /// Samples consumed before `buf`.
    at: u64,
    /// The key of the current run of blocks, where it began, and how many blocks it lasts.
    run: Option<(char, u64, usize)>,
    pub presses: Vec<Press>,
}

impl Detector {
    pub fn push(&mut self, x: &[f32]) {
        self.buf.extend_from_slice(x);
        let mut used = 0;
        while self.buf.len() - used >= BLOCK {
            let key = block_key(&self.buf[used..used + BLOCK]);
            let start = self.at + used as u64;
            self.block(key, start);
            used += HOP;
        }
        self.buf.drain(..used);
        self.at += used as u64;
    }

    fn block(&mut self, key: Option<char>, start: u64) {
        let end = start + BLOCK as u64;
        match (self.run, key) {
            (Some((k, s, n)), Some(now)) if k == now => {
                self.run = Some((k, s, n + 1));
                if n + 1 == MIN_BLOCKS {
                    self.presses.push(Press {
                        key: k,
                        start: s,
                        end,
                    });
                } else if n + 1 > MIN_BLOCKS
                    && let Some(p) = self.presses.last_mut()
                {
                    p.end = end;
                }
            }
            (_, Some(now)) => self.run = Some((now, start, 1)),
            (_, None) => self.run = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_lanes_are_the_single_goertzels_to_the_bit() {
        let mut x = 0x1234_5678u32;
        let block: Vec<f32> = (0..BLOCK)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32 - 0.5) * 0.8
            })
            .collect();
        let eight = goertzel8(&block);
        for (k, &f) in ROWS.iter().chain(COLS.iter()).enumerate() {
            assert_eq!(eight[k].to_bits(), goertzel(&block, f).to_bits(), "{f} Hz");
        }
    }

    #[test]
    fn a_quiet_block_is_no_key_and_the_quietest_key_is_still_found() {
        // At the threshold: each tone just loud enough (a sine of amplitude a has power a²/2).
        let a = (2.0 * 10f32.powf((MIN_TONE_DB + 0.5) / 10.0)).sqrt();
        let quiet = key('5', BLOCK as f32 / 8000.0, a, a);
        assert_eq!(block_key(&quiet[..BLOCK]), Some('5'));
        let quieter: Vec<f32> = quiet.iter().map(|v| v * 0.5).collect();
        assert_eq!(block_key(&quieter[..BLOCK]), None);
    }

    fn tones(fs: &[(f32, f32)], seconds: f32) -> Vec<f32> {
        (0..(seconds * 8000.0) as usize)
            .map(|i| {
                fs.iter()
                    .map(|&(f, a)| a * (2.0 * std::f32::consts::PI * f * i as f32 / 8000.0).sin())
                    .sum()
            })
            .collect()
    }

    fn key(k: char, seconds: f32, row_amp: f32, col_amp: f32) -> Vec<f32> {
        let (r, c) = (0..16)
            .map(|i| (i / 4, i % 4))
            .find(|&(r, c)| KEYS[r][c] == k)
            .unwrap();
        tones(&[(ROWS[r], row_amp), (COLS[c], col_amp)], seconds)
    }

    fn detect(x: &[f32]) -> Vec<Press> {
        let mut d = Detector::default();
        for piece in x.chunks(333) {
            d.push(piece);
        }
        d.presses
    }

    #[test]
    fn every_key_is_found_once_where_it_is() {
        for k in "123A456B789C*0#D".chars() {
            let mut x = vec![0.0; 800];
            x.extend(key(k, 0.1, 0.1, 0.1));
            x.extend(vec![0.0; 800]);
            let p = detect(&x);
            assert_eq!(p.len(), 1, "{k}: {p:?}");
            assert_eq!(p[0].key, k);
            assert!(
                p[0].start <= 800 + BLOCK as u64 && p[0].end >= 1600,
                "{p:?}"
            );
        }
    }

    #[test]
    fn a_short_press_is_found_wherever_it_falls() {
        // 52 ms, at every offset against the blocks.
        for lead in (0..HOP).step_by(7) {
            let mut x = vec![0.0; 400 + lead];
            x.extend(key('9', 0.052, 0.1, 0.1));
            x.extend(vec![0.0; 400]);
            assert_eq!(detect(&x).len(), 1, "offset {lead}");
        }
    }

    #[test]
    fn two_presses_of_one_key_are_two() {
        let mut x = key('5', 0.08, 0.1, 0.1);
        x.extend(vec![0.0; 600]);
        x.extend(key('5', 0.08, 0.1, 0.1));
        assert_eq!(detect(&x).len(), 2);
    }

    #[test]
    fn too_short_or_too_twisted_is_no_key() {
        // 30 ms: shorter than a valid tone.
        assert!(detect(&key('1', 0.03, 0.1, 0.1)).is_empty());
        // The high tone 10 dB under the low one (normal twist beyond 8 dB).
        assert!(detect(&key('1', 0.2, 0.1, 0.1 * 10f32.powf(-10.0 / 20.0))).is_empty());
        // 6 dB of reverse twist (beyond 4).
        assert!(detect(&key('1', 0.2, 0.05, 0.1)).is_empty());
        // Within both limits.
        assert_eq!(
            detect(&key('1', 0.2, 0.1, 0.1 * 10f32.powf(-6.0 / 20.0))).len(),
            1
        );
        // Too quiet.
        assert!(detect(&key('1', 0.2, 0.003, 0.003)).is_empty());
    }

    #[test]
    fn one_tone_or_a_chord_or_noise_is_no_key() {
        assert!(detect(&tones(&[(697.0, 0.2)], 0.3)).is_empty());
        // Three tones: a row tone and two column tones of equal level.
        assert!(detect(&tones(&[(697.0, 0.1), (1209.0, 0.1), (1336.0, 0.1)], 0.3)).is_empty());
        // A key buried in noise carries too little of the power.
        let mut x = key('1', 0.3, 0.05, 0.05);
        let mut s = 1u32;
        for v in &mut x {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v += 0.2 * ((s >> 8) as f32 / (1 << 24) as f32 - 0.5);
        }
        assert!(detect(&x).is_empty());
    }
}
