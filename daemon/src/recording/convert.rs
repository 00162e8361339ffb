//! Sample-format conversion between what a source delivers and what a storage accepts, done
//! on the writer thread (never in the capture callback).

use onrecord_plugin::abi::{AudioFormat, SAMPLE_F32, SAMPLE_I16};

/// Converts interleaved i16 <-> f32 at the same rate and channel count.
pub struct Convert {
    from: u32,
    buf: Vec<u8>,
}

impl Convert {
    /// `None` when no conversion is needed; an error for what cannot be converted yet.
    pub fn new(from: AudioFormat, to: AudioFormat) -> Result<Option<Convert>, String> {
        if from == to {
            return Ok(None);
        }
        if from.rate != to.rate || from.channels != to.channels {
            return Err(format!(
                "the storage wants {to:?} but the source gives {from:?}: rate and channel conversion are not available yet"
            ));
        }
        Ok(Some(Convert {
            from: from.sample_format,
            buf: Vec::new(),
        }))
    }

    /// The same frames in the target format.
    pub fn apply(&mut self, data: &[u8]) -> &[u8] {
        self.buf.clear();
        match self.from {
            SAMPLE_I16 => {
                for s in data.chunks_exact(2) {
                    let v = i16::from_le_bytes([s[0], s[1]]) as f32 / 32768.0;
                    self.buf.extend_from_slice(&v.to_le_bytes());
                }
            }
            SAMPLE_F32 => {
                for s in data.chunks_exact(4) {
                    let v = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                    let v = (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                    self.buf.extend_from_slice(&v.to_le_bytes());
                }
            }
            _ => {}
        }
        &self.buf
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

    #[test]
    fn i16_survives_a_round_trip_through_f32() {
        let samples: Vec<i16> = vec![i16::MIN, -12345, -1, 0, 1, 12345, i16::MAX];
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut up = Convert::new(I16, F32).unwrap().unwrap();
        let floats = up.apply(&bytes).to_vec();
        let mut down = Convert::new(F32, I16).unwrap().unwrap();
        let back: Vec<i16> = down
            .apply(&floats)
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(back, samples);
    }

    #[test]
    fn out_of_range_floats_are_clipped() {
        let bytes: Vec<u8> = [2.0f32, -2.0, 0.5]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let mut c = Convert::new(F32, I16).unwrap().unwrap();
        let out: Vec<i16> = c
            .apply(&bytes)
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(out, [i16::MAX, i16::MIN, 16384]);
    }

    #[test]
    fn same_format_needs_nothing_and_rates_are_refused() {
        assert!(Convert::new(I16, I16).unwrap().is_none());
        assert!(
            Convert::new(
                I16,
                AudioFormat {
                    rate: 16_000,
                    ..I16
                }
            )
            .is_err()
        );
    }
}
