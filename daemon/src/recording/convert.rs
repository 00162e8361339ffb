//! Turning what a source delivers into what a storage accepts, on the writer thread (never in
//! the capture callback): i16 <-> f32 sample conversion, and sample-rate conversion with
//! rubato's sinc resampler when the rates differ (not its FFT resampler: that would link
//! rustfft's AVX code into the daemon, a megabyte resident all session for a rare path). The same format passes through untouched.

use crate::capture::CaptureError;
use audioadapter_buffers::direct::InterleavedSlice;
use onrecord_plugin::abi::{AudioFormat, SAMPLE_F32, SAMPLE_I16};
use rubato::{
    Async, FixedAsync, Indexing, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

/// Where converted audio goes: whole frames in the storage's format, and their count.
pub type Emit<'a> = dyn FnMut(&[u8], usize) -> Result<(), CaptureError> + 'a;

/// Frames per resampler chunk.
const CHUNK: usize = 1024;

pub struct Convert {
    from: AudioFormat,
    to: AudioFormat,
    resample: Option<Resample>,
    floats: Vec<f32>,
    bytes: Vec<u8>,
}

struct Resample {
    rs: Async<f32>,
    /// Interleaved input short of a whole chunk.
    pending: Vec<f32>,
    out: Vec<f32>,
    /// Output frames still to drop: the resampler's delay.
    delay: usize,
    frames_in: u64,
    frames_out: u64,
}

fn bad<E: std::fmt::Display>(e: E) -> CaptureError {
    CaptureError::Write(format!("resampling: {e}"))
}

impl Convert {
    /// `None` when no conversion is needed; an error for what cannot be converted.
    pub fn new(from: AudioFormat, to: AudioFormat) -> Result<Option<Convert>, CaptureError> {
        if from == to {
            return Ok(None);
        }
        if from.channels != to.channels {
            return Err(CaptureError::FormatRefused(format!(
                "the storage wants {to:?} but the source gives {from:?}: channel conversion is not available"
            )));
        }
        let resample = if from.rate == to.rate {
            None
        } else {
            // rubato's recommended high quality (its cutoff chosen for the window and length).
            let parameters = SincInterpolationParameters {
                sinc_len: 256,
                f_cutoff: None,
                oversampling_factor: 256,
                interpolation: SincInterpolationType::Cubic,
                window: WindowFunction::BlackmanHarris2,
            };
            let rs = Async::<f32>::new_sinc(
                f64::from(to.rate) / f64::from(from.rate),
                1.0,
                &parameters,
                CHUNK,
                from.channels as usize,
                FixedAsync::Input,
            )
            .map_err(bad)?;
            let out = vec![0.0; rs.output_frames_max() * from.channels as usize];
            let delay = rs.output_delay();
            Some(Resample {
                rs,
                pending: Vec::new(),
                out,
                delay,
                frames_in: 0,
                frames_out: 0,
            })
        };
        Ok(Some(Convert {
            from,
            to,
            resample,
            floats: Vec::new(),
            bytes: Vec::new(),
        }))
    }

    fn decode(&mut self, data: &[u8]) {
        self.floats.clear();
        match self.from.sample_format {
            SAMPLE_I16 => self.floats.extend(
                data.chunks_exact(2)
                    .map(|s| i16::from_le_bytes([s[0], s[1]]) as f32 / 32768.0),
            ),
            SAMPLE_F32 => self.floats.extend(
                data.chunks_exact(4)
                    .map(|s| f32::from_le_bytes([s[0], s[1], s[2], s[3]])),
            ),
            _ => {}
        }
    }

    fn encode(to: AudioFormat, floats: &[f32], bytes: &mut Vec<u8>) {
        bytes.clear();
        match to.sample_format {
            SAMPLE_I16 => {
                for v in floats {
                    bytes.extend_from_slice(
                        &((v * 32768.0).round().clamp(-32768.0, 32767.0) as i16).to_le_bytes(),
                    );
                }
            }
            SAMPLE_F32 => {
                for v in floats {
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
            }
            _ => {}
        }
    }

    /// Converts `data` (whole frames of the source's format) and hands the result, in the
    /// storage's format, to `emit` with its frame count.
    pub fn process(&mut self, data: &[u8], emit: &mut Emit<'_>) -> Result<(), CaptureError> {
        self.decode(data);
        let ch = self.to.channels as usize;
        match self.resample.as_mut() {
            None => {
                Self::encode(self.to, &self.floats, &mut self.bytes);
                emit(&self.bytes, self.floats.len() / ch)
            }
            Some(r) => {
                r.pending.extend_from_slice(&self.floats);
                r.frames_in += (self.floats.len() / ch) as u64;
                while r.pending.len() >= r.rs.input_frames_next() * ch {
                    let n = r.rs.input_frames_next();
                    r.run(n, None, self.to, &mut self.bytes, None, emit)?;
                }
                Ok(())
            }
        }
    }

    /// Flushes what the resampler holds (padding with silence) until the output is as long as
    /// the input calls for.
    pub fn finish(&mut self, emit: &mut Emit<'_>) -> Result<(), CaptureError> {
        let ch = self.to.channels as usize;
        let (from_rate, to_rate) = (self.from.rate as u64, self.to.rate as u64);
        let Some(r) = self.resample.as_mut() else {
            return Ok(());
        };
        let want = r.frames_in * to_rate / from_rate;
        // Each round yields a chunk's worth of output; the delay takes at most a few.
        for _ in 0..64 {
            if r.frames_out >= want {
                break;
            }
            let n = r.rs.input_frames_next();
            let have = (r.pending.len() / ch).min(n);
            r.pending.resize(n * ch, 0.0);
            r.run(n, Some(have), self.to, &mut self.bytes, Some(want), emit)?;
        }
        Ok(())
    }
}

impl Resample {
    /// Resamples the first `n` pending frames (of which `partial` are real, when given),
    /// emitting at most up to `limit` frames in all.
    fn run(
        &mut self,
        n: usize,
        partial: Option<usize>,
        to: AudioFormat,
        bytes: &mut Vec<u8>,
        limit: Option<u64>,
        emit: &mut Emit<'_>,
    ) -> Result<(), CaptureError> {
        let ch = to.channels as usize;
        let max = self.out.len() / ch;
        let input = InterleavedSlice::new(&self.pending[..n * ch], ch, n).map_err(bad)?;
        let mut output = InterleavedSlice::new_mut(&mut self.out[..], ch, max).map_err(bad)?;
        let indexing = partial.map(|p| Indexing {
            input_offset: 0,
            output_offset: 0,
            partial_len: Some(p),
            active_channels_mask: None,
        });
        let (used, made) = self
            .rs
            .process_into_buffer(&input, &mut output, indexing.as_ref())
            .map_err(bad)?;
        self.pending.drain(..used * ch);
        let skip = self.delay.min(made);
        self.delay -= skip;
        let mut frames = made - skip;
        if let Some(limit) = limit {
            frames = frames.min(limit.saturating_sub(self.frames_out) as usize);
        }
        if frames > 0 {
            Convert::encode(to, &self.out[skip * ch..(skip + frames) * ch], bytes);
            self.frames_out += frames as u64;
            emit(bytes, frames)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I16: AudioFormat = AudioFormat {
        sample_format: SAMPLE_I16,
        rate: 48_000,
        channels: 2,
    };
    const F32: AudioFormat = AudioFormat {
        sample_format: SAMPLE_F32,
        rate: 48_000,
        channels: 2,
    };

    /// Converts `data` fed in pieces of `piece` bytes, as the ring delivers, then finishes.
    fn run_in(c: &mut Convert, data: &[u8], piece: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for p in data.chunks(piece.max(1)) {
            c.process(p, &mut |b, _| {
                out.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
        }
        c.finish(&mut |b, _| {
            out.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        out
    }

    fn run(c: &mut Convert, data: &[u8]) -> Vec<u8> {
        run_in(c, data, data.len())
    }

    #[test]
    fn i16_survives_a_round_trip_through_f32() {
        let samples: Vec<i16> = vec![i16::MIN, -12345, -1, 0, 1, 12345, i16::MAX, 7];
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let floats = run(&mut Convert::new(I16, F32).unwrap().unwrap(), &bytes);
        let back = run(&mut Convert::new(F32, I16).unwrap().unwrap(), &floats);
        let back: Vec<i16> = back
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(back, samples);
    }

    #[test]
    fn out_of_range_floats_are_clipped() {
        let bytes: Vec<u8> = [2.0f32, -2.0, 0.5, 0.0]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let out = run(&mut Convert::new(F32, I16).unwrap().unwrap(), &bytes);
        let out: Vec<i16> = out
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(out, [i16::MAX, i16::MIN, 16384, 0]);
    }

    #[test]
    fn same_format_needs_nothing_and_channels_are_refused() {
        assert!(Convert::new(I16, I16).unwrap().is_none());
        assert!(Convert::new(I16, AudioFormat { channels: 1, ..I16 }).is_err());
    }

    #[test]
    fn a_tone_keeps_its_pitch_and_the_length_scales_with_the_rate() {
        // One second of a 1 kHz tone at 44.1 kHz, mono, to 48 kHz.
        let from = AudioFormat {
            sample_format: SAMPLE_I16,
            rate: 44_100,
            channels: 1,
        };
        let to = AudioFormat {
            rate: 48_000,
            ..from
        };
        let bytes: Vec<u8> = (0..44_100)
            .map(|i| {
                ((i as f32 * 1000.0 * std::f32::consts::TAU / 44_100.0).sin() * 16_000.0) as i16
            })
            .flat_map(|s| s.to_le_bytes())
            .collect();
        // Fed in uneven pieces, as the ring delivers.
        let out = run_in(
            &mut Convert::new(from, to).unwrap().unwrap(),
            &bytes,
            2 * 700,
        );
        let s: Vec<i16> = out
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(s.len(), 48_000, "one second at the new rate");
        // Away from the edges: 1000 cycles per second are 2 zero crossings per millisecond.
        let mid = &s[4_800..43_200];
        let crossings = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let expected = 2.0 * 1000.0 * mid.len() as f64 / 48_000.0;
        assert!(
            (crossings as f64 - expected).abs() <= 2.0,
            "{crossings} crossings, expected {expected}"
        );
        let peak = mid.iter().map(|v| v.unsigned_abs()).max().unwrap();
        assert!(
            (15_000..=17_000).contains(&peak),
            "the level is kept: peak {peak}"
        );
    }
}
