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
        let n = self.far_buf.len() as u64;
        self.analyzer
            .push_i16(&self.far_buf, self.near.map(|_| self.near_buf.as_slice()));
        self.frames += n;
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
