//! One side's audio as the analysis keeps it: its frames' energies, the recent frames'
//! features, its noise floor, and (the caller's side) its key presses.

use super::*;
use frontend::Decimator;

/// Tracks a channel's noise floor: the quietest one-second block of the recent past.
#[derive(Default)]
pub(crate) struct Floor {
    /// Minimum frame energy of each whole second so far, and of the current one.
    pub(crate) blocks: Vec<f32>,
    pub(crate) current: f32,
    pub(crate) in_block: usize,
}

impl Floor {
    pub(crate) fn push(&mut self, db: f32) {
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
    pub(crate) fn at(&self, t: usize) -> f32 {
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

pub(crate) fn silence_threshold(floor: f32) -> f32 {
    (floor + FLOOR_MARGIN).clamp(SILENCE_MIN_DB, SILENCE_MAX_DB)
}

/// One side's frames: every frame's energy for the whole call (four bytes a frame), and the
/// full features of the recent ones only (`keep`: the far side's, until classified).
pub(crate) struct Channel {
    pub(crate) dec: Decimator,
    pub(crate) framer: Framer,
    pub(crate) dbs: Vec<f32>,
    pub(crate) recent: Vec<Frame>,
    /// The frame number of `recent[0]`.
    pub(crate) base: usize,
    pub(crate) keep: bool,
    pub(crate) floor: Floor,
    pub(crate) buf: Vec<f32>,
    /// The caller's key presses (the near side's channel only).
    pub(crate) dtmf: Option<dtmf::Detector>,
}

impl Channel {
    pub(crate) fn new(rate: u32, framer: Framer, keep: bool) -> Channel {
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
            dtmf: (!keep).then(dtmf::Detector::default),
        }
    }

    pub(crate) fn push(&mut self, samples: &[f32]) {
        self.buf.clear();
        let buf = &mut self.buf;
        self.dec.push(samples, &mut |v| buf.push(v));
        self.frames();
    }

    pub(crate) fn push_i16(&mut self, samples: &[i16]) {
        self.buf.clear();
        let buf = &mut self.buf;
        self.dec.push_i16(samples, &mut |v| buf.push(v));
        self.frames();
    }

    /// The 8 kHz samples just made (in `buf`) into frames.
    fn frames(&mut self) {
        if let Some(d) = &mut self.dtmf {
            d.push(&self.buf);
        }
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

    pub(crate) fn len(&self) -> usize {
        self.dbs.len()
    }

    /// Frame `t`'s features (kept from `base` on).
    pub(crate) fn frame(&self, t: usize) -> &Frame {
        &self.recent[t - self.base]
    }

    /// Forgets the features of frames before `t`.
    pub(crate) fn forget_before(&mut self, t: usize) {
        if t > self.base + 1000 {
            self.recent.drain(..t - self.base);
            self.base = t;
        }
    }
}
