//! Reading a recording back as the PCM bytes its storage was handed, a piece at a time: an
//! hour of audio is hundreds of MB, and the check, the repair and the analysis need only a
//! block of it at once. WAV: the data chunk as it is. FLAC: decoded frame by frame to 16-bit
//! little-endian (a file cut by a crash ends with the last frame that decodes). Raw (`.raw`):
//! the file as it is.
//!
//! Any other extension is an error ("unsupported format"), never bytes taken as audio.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// What a recording holds: `i16` or `f32`, its rate and channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pub sample_format: String,
    pub rate: u32,
    pub channels: u32,
}

/// The PCM bytes of a recording, in order; implements [`Read`].
pub struct PcmReader {
    format: Option<Format>,
    inner: Inner,
}

enum Inner {
    /// The rest of a WAV data chunk, or a raw file.
    Bytes(std::io::Take<BufReader<File>>),
    Flac(Box<FlacFrames>),
}

struct FlacFrames {
    frames: claxon::frame::FrameReader<claxon::input::BufferedReader<File>>,
    /// Decoded bytes not yet read, from `at`.
    pending: Vec<u8>,
    at: usize,
    buffer: Vec<i32>,
    done: bool,
}

fn err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

impl PcmReader {
    /// Opens `path` by its extension; the format is read from its header (none for raw).
    pub fn open(path: &Path) -> Result<PcmReader, String> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let mut file = File::open(path).map_err(|e| err(path, e))?;
        match ext {
            "wav" => {
                let (format, offset, len) = wav_header(&mut file).map_err(|e| err(path, e))?;
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| err(path, e))?;
                // A file cut by a crash may be shorter than its header says: the read ends.
                Ok(PcmReader {
                    format: Some(format),
                    inner: Inner::Bytes(BufReader::with_capacity(1 << 16, file).take(len)),
                })
            }
            "flac" => {
                let (format, offset) = flac_header(&mut file).map_err(|e| err(path, e))?;
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| err(path, e))?;
                let frames =
                    claxon::frame::FrameReader::new(claxon::input::BufferedReader::new(file));
                Ok(PcmReader {
                    format: Some(format),
                    inner: Inner::Flac(Box::new(FlacFrames {
                        frames,
                        pending: Vec::new(),
                        at: 0,
                        buffer: Vec::new(),
                        done: false,
                    })),
                })
            }
            "raw" => Ok(PcmReader {
                format: None,
                inner: Inner::Bytes(BufReader::with_capacity(1 << 16, file).take(u64::MAX)),
            }),
            other => Err(format!(
                "{}: unsupported format {:?}: onrecord reads WAV, FLAC and raw recordings",
                path.display(),
                other
            )),
        }
    }

    /// The format from the file's header; `None` for raw PCM, which has none.
    pub fn format(&self) -> Option<&Format> {
        self.format.as_ref()
    }
}

impl Read for PcmReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &mut self.inner {
            Inner::Bytes(r) => r.read(buf),
            Inner::Flac(f) => Ok(f.read(buf)),
        }
    }
}

impl FlacFrames {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        while self.at == self.pending.len() && !self.done {
            self.pending.clear();
            self.at = 0;
            match self
                .frames
                .read_next_or_eof(std::mem::take(&mut self.buffer))
            {
                Ok(Some(block)) => {
                    for i in 0..block.duration() {
                        for ch in 0..block.channels() {
                            let v = block.sample(ch, i) as i16;
                            self.pending.extend_from_slice(&v.to_le_bytes());
                        }
                    }
                    self.buffer = block.into_buffer();
                }
                // The end, or a frame cut by a crash: what decoded is the audio.
                Ok(None) | Err(_) => self.done = true,
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        n
    }
}

fn read_exact_at(file: &mut File, n: usize) -> std::io::Result<Vec<u8>> {
    let mut b = vec![0; n];
    file.read_exact(&mut b)?;
    Ok(b)
}

/// A WAV file's format, and where its data chunk starts and how long it is.
fn wav_header(file: &mut File) -> Result<(Format, u64, u64), String> {
    let riff = read_exact_at(file, 12).map_err(|_| "not a WAV file")?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Err("not a WAV file".into());
    }
    let mut pos = 12u64;
    let mut format = None;
    loop {
        let Ok(head) = read_exact_at(file, 8) else {
            return Err("no data chunk".into());
        };
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as u64;
        match &head[0..4] {
            b"fmt " => {
                let f = read_exact_at(file, (size as usize).min(64)).map_err(|e| e.to_string())?;
                if f.len() < 16 {
                    return Err("a short fmt chunk".into());
                }
                let tag = u16::from_le_bytes([f[0], f[1]]);
                let bits = u16::from_le_bytes([f[14], f[15]]);
                // 3 is IEEE float; 0xFFFE (extensible) with 32 bits is float as hound writes it.
                let float = tag == 3 || (tag == 0xFFFE && bits == 32);
                format = Some(Format {
                    sample_format: if float { "f32" } else { "i16" }.into(),
                    channels: u32::from(u16::from_le_bytes([f[2], f[3]])),
                    rate: u32::from_le_bytes([f[4], f[5], f[6], f[7]]),
                });
            }
            b"data" => {
                let format = format.ok_or("no fmt chunk before the data")?;
                return Ok((format, pos + 8, size));
            }
            _ => {}
        }
        pos += 8 + size + (size & 1);
        file.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
    }
}

/// A FLAC file's format (from its STREAMINFO), and where its first frame starts.
fn flac_header(file: &mut File) -> Result<(Format, u64), String> {
    let magic = read_exact_at(file, 4).map_err(|_| "not a FLAC file")?;
    if magic != b"fLaC" {
        return Err("not a FLAC file".into());
    }
    let mut pos = 4u64;
    let mut format = None;
    loop {
        let head = read_exact_at(file, 4).map_err(|_| "its metadata ends early")?;
        let last = head[0] & 0x80 != 0;
        let len = u64::from(u32::from_be_bytes([0, head[1], head[2], head[3]]));
        if head[0] & 0x7F == 0 {
            let info = read_exact_at(file, 18).map_err(|_| "a short STREAMINFO")?;
            // Bits 80-99: sample rate; 100-102: channels - 1 (big endian, from byte 10).
            let rate = (u32::from(info[10]) << 12)
                | (u32::from(info[11]) << 4)
                | (u32::from(info[12]) >> 4);
            let channels = u32::from((info[12] >> 1) & 0x07) + 1;
            format = Some(Format {
                sample_format: "i16".into(),
                rate,
                channels,
            });
        }
        pos += 4 + len;
        file.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
        if last {
            return Ok((format.ok_or("no STREAMINFO")?, pos));
        }
    }
}

/// The format of a recording from its header, without reading its audio.
pub fn probe_format(path: &Path) -> Option<Format> {
    PcmReader::open(path).ok()?.format
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize) -> Vec<i16> {
        let mut x: u32 = 7;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 16) as i16
            })
            .collect()
    }

    fn read_all(path: &Path) -> (Option<Format>, Vec<u8>) {
        let mut r = PcmReader::open(path).unwrap();
        let mut out = Vec::new();
        // Small reads, to cross every boundary.
        let mut buf = [0u8; 1000];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        (r.format().cloned(), out)
    }

    #[test]
    fn a_wav_file_reads_back_as_its_samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audio.wav");
        let samples = noise(48_000);
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for s in &samples {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
        let (format, bytes) = read_all(&path);
        assert_eq!(
            format,
            Some(Format {
                sample_format: "i16".into(),
                rate: 48_000,
                channels: 2
            })
        );
        let want: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        assert!(bytes == want);
    }

    #[test]
    fn an_unknown_format_is_an_error_not_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audio.ogg");
        std::fs::write(&path, b"OggS....").unwrap();
        let e = PcmReader::open(&path).err().unwrap();
        assert!(e.contains("unsupported format"), "{e}");
    }
}
