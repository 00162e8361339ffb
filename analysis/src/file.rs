//! Analysing a recording on disk (WAV or FLAC), read a piece at a time.
//!
//! Stereo recordings are onrecord's layout: left the caller's microphone, right the far side.
//! A mono recording is analysed as the far side alone.

use super::{Analyzer, Summary};
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
        use std::io::Read;
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

/// Feeds interleaved samples to a new analyzer, a piece at a time, and sums it up.
fn run(
    rate: u32,
    channels: usize,
    samples: impl Iterator<Item = Result<f32, String>>,
) -> Result<Summary, String> {
    let mut a = Analyzer::new(rate, channels >= 2);
    let mut buf: Vec<f32> = Vec::with_capacity(PIECE * channels);
    let feed = |a: &mut Analyzer, data: &[f32]| {
        if channels == 1 {
            a.push(data, None);
        } else {
            a.push_interleaved(data, channels, 1, Some(0));
        }
    };
    for s in samples {
        buf.push(s?);
        if buf.len() == PIECE * channels {
            feed(&mut a, &buf);
            buf.clear();
        }
    }
    let whole = buf.len() / channels * channels;
    feed(&mut a, &buf[..whole]);
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
