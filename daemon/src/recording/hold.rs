//! Hold detection while a call records: the far side's channel goes through the call
//! analysis (`onrecord-analysis`) as the writer stores it, and a change between "on hold" and
//! "someone is there" is reported with where in the recording the hold began or ended.
//!
//! The analysis looks half a second ahead and judges speech after a hold only once it is
//! answered (or has gone on 20 s: recorded announcements are shorter), so a change is known a
//! little after it happened; its time is where it happened.

use onrecord_analysis::{Analyzer, Summary};
use onrecord_plugin::abi::{AudioFormat, SAMPLE_F32};
use std::sync::{Arc, Mutex};

pub use crate::capture::HoldChange;

/// Where a recording's hold changes go.
pub type HoldReport = Arc<dyn Fn(HoldChange) + Send + Sync>;

/// The call analysis of a recording's far side, fed by its writer.
pub struct HoldWatch {
    analyzer: Analyzer,
    format: AudioFormat,
    far: usize,
    near: Option<usize>,
    frames: u64,
    next_check: u64,
    hold: Option<f64>,
    report: HoldReport,
    /// The final summary, for the manifest, once the recording is closed.
    done: Arc<Mutex<Option<Summary>>>,
    far_buf: Vec<i16>,
    near_buf: Vec<i16>,
}

/// How often the holds are looked at, in seconds of audio.
const CHECK_S: u64 = 2;
/// How much of the recent audio each look takes in (a hold already reported keeps the start
/// it was reported with; a new one begins within the window).
const WINDOW_S: f64 = 120.0;

impl HoldWatch {
    /// `far`/`near`: channel indexes in `format`'s frames.
    pub fn new(
        format: AudioFormat,
        far: usize,
        near: Option<usize>,
        report: HoldReport,
        done: Arc<Mutex<Option<Summary>>>,
    ) -> HoldWatch {
        HoldWatch {
            analyzer: Analyzer::new(format.rate, near.is_some()),
            format,
            far,
            near,
            frames: 0,
            next_check: CHECK_S * format.rate as u64,
            hold: None,
            report,
            done,
            far_buf: Vec::new(),
            near_buf: Vec::new(),
        }
    }

    /// Whole frames of the watch's format, as stored.
    pub fn feed(&mut self, data: &[u8]) {
        let stride = self.format.channels as usize * self.format.bytes_per_sample();
        let f32s = self.format.sample_format == SAMPLE_F32;
        self.far_buf.clear();
        self.near_buf.clear();
        channel(data, stride, self.far, f32s, &mut self.far_buf);
        if let Some(n) = self.near {
            channel(data, stride, n, f32s, &mut self.near_buf);
        }
        let (far, near) = (
            std::mem::take(&mut self.far_buf),
            std::mem::take(&mut self.near_buf),
        );
        self.push(&far, self.near.map(|_| near.as_slice()));
        (self.far_buf, self.near_buf) = (far, near);
    }

    /// 16-bit frames of the watch's format, one slice per channel (of one length).
    pub fn feed_planes(&mut self, planes: &[&[i16]]) {
        let Some(far) = planes.get(self.far) else {
            return;
        };
        let near = self.near.and_then(|n| planes.get(n).copied());
        self.push(far, near);
    }

    fn push(&mut self, far: &[i16], near: Option<&[i16]>) {
        self.analyzer.push_i16(far, near);
        self.frames += far.len() as u64;
        if self.frames >= self.next_check {
            self.next_check += CHECK_S * self.format.rate as u64;
            self.check();
        }
    }

    fn check(&mut self) {
        let s = self.analyzer.summary_recent(WINDOW_S);
        tracing::debug!(audio_s = s.duration_s, holds = ?s.holds, first_live = ?s.first_live_s, "hold check");
        match (self.hold, s.current_hold()) {
            (None, Some(h)) => {
                self.hold = Some(h.start_s);
                (self.report)(HoldChange::Started { at_s: h.start_s });
            }
            (Some(since), None) => {
                self.hold = None;
                // The hold that just closed (one longer than the window begins, in the window,
                // at its start): where live speech took over.
                let at_s = s
                    .holds
                    .iter()
                    .rev()
                    .find(|h| !h.open)
                    .map_or(s.duration_s, |h| h.end_s);
                (self.report)(HoldChange::Ended {
                    since_s: since,
                    at_s,
                });
            }
            _ => {}
        }
    }

    /// The recording is closed: the final analysis, for the manifest.
    pub fn finish(mut self) {
        let s = self.analyzer.summary(true);
        *self.done.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }
}

/// Channel `c` of whole frames of `stride` bytes, as 16-bit samples (the analysis's own),
/// appended to `out`: one loop per sample format, so that each is a plain loop over the frames.
fn channel(data: &[u8], stride: usize, c: usize, f32s: bool, out: &mut Vec<i16>) {
    if f32s {
        let at = c * 4;
        out.extend(data.chunks_exact(stride).map(|f| {
            onrecord_analysis::frontend::to_i16(f32::from_le_bytes([
                f[at],
                f[at + 1],
                f[at + 2],
                f[at + 3],
            ]))
        }));
    } else {
        let at = c * 2;
        out.extend(
            data.chunks_exact(stride)
                .map(|f| i16::from_le_bytes([f[at], f[at + 1]])),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onrecord_plugin::abi::SAMPLE_I16;

    /// The analysis of a call fed its channels apart is the one of the same call fed as
    /// interleaved frames: a far side of a tone, then noise, then silence, and a near side
    /// that talks (noise) now and then.
    #[test]
    fn planes_and_frames_give_the_same_analysis() {
        let rate = 48_000;
        let format = AudioFormat {
            sample_format: SAMPLE_I16,
            rate,
            channels: 2,
        };
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut noise = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 52) as i16 - 2048
        };
        let n = rate as usize * 24;
        let far: Vec<i16> = (0..n)
            .map(|i| match i / (rate as usize * 8) {
                0 => {
                    ((i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 8000.0) as i16
                }
                1 => noise(),
                _ => 0,
            })
            .collect();
        let near: Vec<i16> = (0..n)
            .map(|i| {
                if (i / rate as usize) % 5 == 3 {
                    noise()
                } else {
                    0
                }
            })
            .collect();
        let watch = |done: &Arc<Mutex<Option<Summary>>>| {
            HoldWatch::new(format, 1, Some(0), Arc::new(|_| {}), Arc::clone(done))
        };
        let (a, b) = (Arc::default(), Arc::default());
        let (mut by_frames, mut by_planes) = (watch(&a), watch(&b));
        for (f, m) in far.chunks(4800).zip(near.chunks(4800)) {
            let frames: Vec<u8> = m
                .iter()
                .zip(f)
                .flat_map(|(l, r)| [l.to_le_bytes(), r.to_le_bytes()].concat())
                .collect();
            by_frames.feed(&frames);
            by_planes.feed_planes(&[m, f]);
        }
        by_frames.finish();
        by_planes.finish();
        let (a, b) = (a.lock().unwrap().take(), b.lock().unwrap().take());
        assert!(a.as_ref().is_some_and(|s| s.duration_s > 23.0), "{a:?}");
        assert_eq!(a, b);
    }
}
