//! Analysing a recording on disk, read a piece at a time: the PCM a storage plugin reads back
//! (`analyze_pcm`, whatever the plugin's format), or a WAV or FLAC file from anywhere, of any
//! bit depth (`analyze_path`).
//!
//! Stereo recordings are onrecord's layout: left the caller's microphone, right the far side.
//! A mono recording is analysed as the far side alone.

use super::{Analyzer, Summary, frontend::to_i16};
use std::io::Read;
use std::path::Path;

/// Frames read per piece (a quarter of a second at 48 kHz).
const PIECE: usize = 12_000;

/// What was analysed, and what it amounts to.
pub struct FileAnalysis {
    pub rate: u32,
    pub channels: u16,
    pub summary: Summary,
}

/// Reads `path` (by its content: RIFF/WAVE or fLaC) and analyses it.
pub fn analyze_path(path: &Path) -> Result<FileAnalysis, String> {
    let shown = path.display();
    let mut magic = [0u8; 4];
    {
        let mut f = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
        f.read_exact(&mut magic)
            .map_err(|_| format!("{shown}: not a WAV or FLAC recording (too short)"))?;
    }
    match &magic {
        b"RIFF" => wav(path),
        b"fLaC" => flac(path),
        _ => Err(format!("{shown}: not a WAV or FLAC recording")),
    }
}

/// The format of interleaved little-endian PCM, as a storage plugin's reader gives it.
#[derive(Clone, Copy, Debug)]
pub struct Pcm {
    /// 32-bit IEEE floats; otherwise 16-bit signed integers.
    pub float: bool,
    pub rate: u32,
    pub channels: u16,
}

/// Analyses the PCM `pcm` reads, in pieces as `analyze_path` takes them (the same file gives
/// the same summary either way). `shown` names the source in errors.
pub fn analyze_pcm(mut pcm: impl Read, f: Pcm, shown: &str) -> Result<FileAnalysis, String> {
    let channels = usize::from(f.channels);
    if channels == 0 || f.rate == 0 {
        return Err(format!("{shown}: no channels or no rate"));
    }
    let width = if f.float { 4 } else { 2 };
    let mut a = Analyzer::new(f.rate, channels >= 2);
    let mut bytes = vec![0u8; PIECE * channels * width];
    let mut samples: Vec<i16> = Vec::with_capacity(PIECE * channels);
    loop {
        let mut n = 0;
        while n < bytes.len() {
            match pcm.read(&mut bytes[n..]) {
                Ok(0) => break,
                Ok(got) => n += got,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{shown}: {e}")),
            }
        }
        let whole = n / (width * channels) * (width * channels);
        samples.clear();
        if f.float {
            samples.extend(
                bytes[..whole]
                    .chunks_exact(4)
                    .map(|b| to_i16(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            );
        } else {
            samples.extend(
                bytes[..whole]
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]])),
            );
        }
        feed(&mut a, &samples, channels);
        if n < bytes.len() {
            break;
        }
    }
    Ok(FileAnalysis {
        rate: f.rate,
        channels: f.channels,
        summary: a.summary(true),
    })
}

fn feed(a: &mut Analyzer, data: &[i16], channels: usize) {
    if channels == 1 {
        a.push_i16(data, None);
    } else {
        a.push_interleaved(data, channels, 1, Some(0));
    }
}

/// Feeds interleaved samples to a new analyzer, a piece at a time, and sums it up.
fn run(
    rate: u32,
    channels: usize,
    samples: impl Iterator<Item = Result<f32, String>>,
) -> Result<Summary, String> {
    let mut a = Analyzer::new(rate, channels >= 2);
    let mut buf: Vec<i16> = Vec::with_capacity(PIECE * channels);
    for s in samples {
        buf.push(to_i16(s?));
        if buf.len() == PIECE * channels {
            feed(&mut a, &buf, channels);
            buf.clear();
        }
    }
    let whole = buf.len() / channels * channels;
    feed(&mut a, &buf[..whole], channels);
    Ok(a.summary(true))
}

/// The scale of a signed integer sample of `bits` to -1..1.
fn scale(bits: u16, shown: &impl std::fmt::Display) -> Result<f32, String> {
    if !(1..=32).contains(&bits) {
        return Err(format!(
            "{shown}: {bits} bits per sample is not a format this reads"
        ));
    }
    Ok(1.0 / (1u64 << (bits - 1)) as f32)
}

fn wav(path: &Path) -> Result<FileAnalysis, String> {
    let shown = path.display();
    let mut r = hound::WavReader::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let spec = r.spec();
    let channels = spec.channels as usize;
    if channels == 0 || spec.sample_rate == 0 {
        return Err(format!("{shown}: no channels or no rate"));
    }
    let err = |e: hound::Error| format!("{shown}: {e}");
    let summary = match spec.sample_format {
        hound::SampleFormat::Float => run(
            spec.sample_rate,
            channels,
            r.samples::<f32>().map(|s| s.map_err(err)),
        )?,
        hound::SampleFormat::Int => {
            let k = scale(spec.bits_per_sample, &shown)?;
            run(
                spec.sample_rate,
                channels,
                r.samples::<i32>()
                    .map(|s| s.map(|v| v as f32 * k).map_err(err)),
            )?
        }
    };
    Ok(FileAnalysis {
        rate: spec.sample_rate,
        channels: spec.channels,
        summary,
    })
}

fn flac(path: &Path) -> Result<FileAnalysis, String> {
    let shown = path.display();
    let mut r = claxon::FlacReader::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let info = r.streaminfo();
    let channels = info.channels as usize;
    if channels == 0 || info.sample_rate == 0 {
        return Err(format!("{shown}: no channels or no rate"));
    }
    let k = scale(info.bits_per_sample as u16, &shown)?;
    let summary = run(
        info.sample_rate,
        channels,
        r.samples()
            .map(|s| s.map(|v| v as f32 * k).map_err(|e| format!("{shown}: {e}"))),
    )?;
    Ok(FileAnalysis {
        rate: info.sample_rate,
        channels: info.channels as u16,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plugin's PCM and the same audio in a WAV file sum up alike, in 16-bit and float.
    #[test]
    fn pcm_read_back_and_the_same_wav_sum_up_alike() {
        let dir = tempfile::tempdir().unwrap();
        let rate = 16_000u32;
        // Four seconds: a tone on the far side, then silence, speech-like bursts on the left.
        let frames: Vec<(f32, f32)> = (0..rate * 4)
            .map(|i| {
                let t = i as f32 / rate as f32;
                let far = if t < 2.5 {
                    0.3 * (t * 440.0 * std::f32::consts::TAU).sin()
                } else {
                    0.0
                };
                let near = if ((t * 3.0) as u32).is_multiple_of(2) {
                    0.2 * (t * 180.0 * std::f32::consts::TAU).sin()
                } else {
                    0.0
                };
                (near, far)
            })
            .collect();
        for float in [false, true] {
            let path = dir.path().join(format!("a{float}.wav"));
            let spec = hound::WavSpec {
                channels: 2,
                sample_rate: rate,
                bits_per_sample: if float { 32 } else { 16 },
                sample_format: if float {
                    hound::SampleFormat::Float
                } else {
                    hound::SampleFormat::Int
                },
            };
            let mut w = hound::WavWriter::create(&path, spec).unwrap();
            let mut pcm = Vec::new();
            for &(l, r) in &frames {
                for v in [l, r] {
                    if float {
                        w.write_sample(v).unwrap();
                        pcm.extend_from_slice(&v.to_le_bytes());
                    } else {
                        let s = (v * 32_767.0) as i16;
                        w.write_sample(s).unwrap();
                        pcm.extend_from_slice(&s.to_le_bytes());
                    }
                }
            }
            w.finalize().unwrap();
            let from_file = analyze_path(&path).unwrap();
            let f = Pcm {
                float,
                rate,
                channels: 2,
            };
            // Read back in odd-sized reads, as a plugin may give them.
            let reader = std::io::BufReader::with_capacity(333, &pcm[..]);
            let from_pcm = analyze_pcm(reader, f, "pcm").unwrap();
            assert_eq!(from_pcm.summary, from_file.summary, "float {float}");
            // Not two empty summaries: the far side's tone and silence were both seen.
            assert!((from_pcm.summary.duration_s - 4.0).abs() < 0.1);
            assert!(
                from_pcm.summary.segments.len() >= 2,
                "{:?}",
                from_pcm.summary
            );
            assert_eq!((from_pcm.rate, from_pcm.channels), (rate, 2));
        }
        let none = Pcm {
            float: false,
            rate: 0,
            channels: 2,
        };
        assert!(analyze_pcm(&[][..], none, "x").is_err());
    }
}
