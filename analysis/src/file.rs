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

fn feed(a: &mut Analyzer, data: &[f32], channels: usize) {
    if channels == 1 {
        a.push(data, None);
    } else {
        a.push_interleaved(data, channels, 1, Some(0));
    }
}

fn wav(path: &Path) -> Result<FileAnalysis, String> {
    let shown = path.display();
    let mut r = hound::WavReader::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let spec = r.spec();
    let channels = spec.channels as usize;
    if channels == 0 || spec.sample_rate == 0 {
        return Err(format!("{shown}: no channels or no rate"));
    }
    let mut a = Analyzer::new(spec.sample_rate, channels >= 2);
    let mut buf: Vec<f32> = Vec::with_capacity(PIECE * channels);
    let err = |e: hound::Error| format!("{shown}: {e}");
    match spec.sample_format {
        hound::SampleFormat::Float => {
            for s in r.samples::<f32>() {
                buf.push(s.map_err(err)?);
                if buf.len() == PIECE * channels {
                    feed(&mut a, &buf, channels);
                    buf.clear();
                }
            }
        }
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            for s in r.samples::<i32>() {
                buf.push(s.map_err(err)? as f32 * scale);
                if buf.len() == PIECE * channels {
                    feed(&mut a, &buf, channels);
                    buf.clear();
                }
            }
        }
    }
    let whole = buf.len() / channels * channels;
    feed(&mut a, &buf[..whole], channels);
    Ok(FileAnalysis {
        rate: spec.sample_rate,
        channels: spec.channels,
        summary: a.summary(true),
    })
}

fn flac(path: &Path) -> Result<FileAnalysis, String> {
    let shown = path.display();
    let mut r = claxon::FlacReader::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let info = r.streaminfo();
    let channels = info.channels as usize;
    let scale = 1.0 / (1u64 << (info.bits_per_sample - 1)) as f32;
    let mut a = Analyzer::new(info.sample_rate, channels >= 2);
    let mut buf: Vec<f32> = Vec::with_capacity(PIECE * channels);
    for s in r.samples() {
        buf.push(s.map_err(|e| format!("{shown}: {e}"))? as f32 * scale);
        if buf.len() == PIECE * channels {
            feed(&mut a, &buf, channels);
            buf.clear();
        }
    }
    let whole = buf.len() / channels * channels;
    feed(&mut a, &buf[..whole], channels);
    Ok(FileAnalysis {
        rate: info.sample_rate,
        channels: info.channels as u16,
        summary: a.summary(true),
    })
}
