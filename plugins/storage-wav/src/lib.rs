//! `storage-wav`: audio into WAV files. hound makes the header; the samples go into the file
//! as they come (a WAV's samples are the host's little-endian bytes as they are), through the
//! SDK's [`AppendFile`] (whole blocks straight to the disk). `sync` rewrites the header's sizes
//! and fdatasyncs, so a crash loses at most what came after the last sync; `repair` fixes the
//! header of a file left open by a crash from the file's size.

use onrecord_plugin::append::AppendFile;
use onrecord_plugin::{AudioFormat, SAMPLE_F32, SAMPLE_I16, StorageBackend, StorageReader, export};
use std::ffi::CStr;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

pub struct Wav {
    file: AppendFile,
    path: std::path::PathBuf,
    format: AudioFormat,
    /// Where the data chunk's size is, and the data's bytes so far.
    size_at: u64,
    data_bytes: u64,
}

fn spec(format: AudioFormat) -> hound::WavSpec {
    let (bits, sample_format) = if format.sample_format == SAMPLE_F32 {
        (32, hound::SampleFormat::Float)
    } else {
        (16, hound::SampleFormat::Int)
    };
    hound::WavSpec {
        channels: format.channels as u16,
        sample_rate: format.rate,
        bits_per_sample: bits,
        sample_format,
    }
}

/// hound's header for `format` with no data yet, and where its data chunk's size is.
fn header(format: AudioFormat) -> Result<(Vec<u8>, u64), String> {
    let mut out = std::io::Cursor::new(Vec::new());
    hound::WavWriter::new(&mut out, spec(format))
        .and_then(hound::WavWriter::finalize)
        .map_err(|e| e.to_string())?;
    out.set_position(0);
    let (_, data_at, _) = wav_header(&mut out)?;
    Ok((out.into_inner(), data_at - 4))
}

impl Wav {
    /// The RIFF size and the data chunk's size, from the data written so far.
    fn write_sizes(&mut self) -> std::io::Result<()> {
        let riff = (self.size_at + 4 + self.data_bytes - 8) as u32;
        self.file.seek(SeekFrom::Start(4))?;
        self.file.write_all(&riff.to_le_bytes())?;
        self.file.seek(SeekFrom::Start(self.size_at))?;
        self.file
            .write_all(&(self.data_bytes as u32).to_le_bytes())?;
        self.file.seek(SeekFrom::End(0))?;
        Ok(())
    }
}

impl StorageBackend for Wav {
    const EXTENSION: &'static CStr = c"wav";

    fn accepts(format: AudioFormat) -> Result<(), AudioFormat> {
        if format.is_valid() {
            Ok(())
        } else {
            Err(AudioFormat {
                sample_format: SAMPLE_I16,
                rate: 48_000,
                channels: format.channels.clamp(1, 2),
            })
        }
    }

    fn create(path: &Path, format: AudioFormat) -> Result<Self, String> {
        if !format.is_valid() {
            return Err(format!("unsupported format {format:?}"));
        }
        let (head, size_at) = header(format)?;
        let mut file = AppendFile::create(path)?;
        // The header reaches the file now, not with the first audio: a recording killed in
        // its first milliseconds is an empty WAV that repairs, not an empty file.
        file.write_all(&head)
            .and_then(|()| file.flush())
            .map_err(|e| e.to_string())?;
        Ok(Wav {
            file,
            path: path.to_owned(),
            format,
            size_at,
            data_bytes: 0,
        })
    }

    fn frame_bytes(&self) -> usize {
        self.format.bytes_per_frame()
    }

    fn write(&mut self, data: &[u8], _frames: usize) -> Result<(), String> {
        let total = self.data_bytes + data.len() as u64;
        // The RIFF sizes are 32-bit: about 6 hours of 48 kHz stereo 16-bit audio.
        if self.size_at + 4 + total - 8 > u64::from(u32::MAX) {
            return Err("a WAV file holds at most 4 GiB of audio".into());
        }
        self.file.write_all(data).map_err(|e| e.to_string())?;
        self.data_bytes = total;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), String> {
        self.write_sizes()
            .and_then(|()| self.file.sync_data())
            .map_err(|e| e.to_string())
    }

    fn finish(mut self) -> Result<(), String> {
        let done = self
            .write_sizes()
            .and_then(|()| self.file.sync_all())
            .map_err(|e| e.to_string());
        if done.is_err() {
            // Some of the audio never reached the file (a full disk): the header is made to
            // count what it holds, whole frames, so the file stays a valid WAV of the start.
            let Wav { file, path, .. } = self;
            drop(file);
            let _ = repair(&path);
        }
        done
    }

    fn repair(path: &Path) -> Result<u64, String> {
        repair(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Rewrites the RIFF and data sizes of `path` from its length; returns its whole frames.
fn repair(path: &Path) -> std::io::Result<u64> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let len = f.metadata()?.len();
    let mut head = [0u8; 12];
    f.read_exact(&mut head)?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Err(bad("not a WAV file"));
    }
    let mut block_align = 0u64;
    let mut pos = 12u64;
    loop {
        f.seek(SeekFrom::Start(pos))?;
        let mut ch = [0u8; 8];
        f.read_exact(&mut ch).map_err(|_| bad("no data chunk"))?;
        let size = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]) as u64;
        if &ch[0..4] == b"fmt " {
            let mut fmt = [0u8; 16];
            f.read_exact(&mut fmt)?;
            block_align = u16::from_le_bytes([fmt[12], fmt[13]]) as u64;
        } else if &ch[0..4] == b"data" {
            if block_align == 0 {
                return Err(bad("data before fmt"));
            }
            let data_start = pos + 8;
            let frames = len.saturating_sub(data_start) / block_align;
            let data_len = frames * block_align;
            f.set_len(data_start + data_len)?;
            f.seek(SeekFrom::Start(pos + 4))?;
            f.write_all(&(data_len as u32).to_le_bytes())?;
            f.seek(SeekFrom::Start(4))?;
            f.write_all(&((data_start + data_len - 8) as u32).to_le_bytes())?;
            f.sync_all()?;
            return Ok(frames);
        }
        pos += 8 + size + (size & 1);
    }
}

/// Reads back what `Wav` wrote: the data chunk, as it is, a piece at a time. A file cut by a
/// crash may be shorter than its header says: the read ends there.
pub struct WavReader {
    data: std::io::Take<std::io::BufReader<File>>,
}

impl StorageReader for WavReader {
    const EXTENSION: &'static CStr = c"wav";

    fn open(path: &Path) -> Result<(Self, Option<AudioFormat>), String> {
        let err = |e: String| format!("{}: {e}", path.display());
        let mut file = File::open(path).map_err(|e| err(e.to_string()))?;
        let (format, offset, len) = wav_header(&mut file).map_err(err)?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| err(e.to_string()))?;
        let data = std::io::BufReader::with_capacity(1 << 16, file).take(len);
        Ok((WavReader { data }, Some(format)))
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        self.data.read(buf).map_err(|e| e.to_string())
    }
}

fn read_exact_at(file: &mut impl Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut b = vec![0; n];
    file.read_exact(&mut b)?;
    Ok(b)
}

/// A WAV file's format, and where its data chunk starts and how long it is.
fn wav_header(file: &mut (impl Read + Seek)) -> Result<(AudioFormat, u64, u64), String> {
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
                // 0xFFFE (extensible) names the encoding in its sub-format's first two bytes.
                let encoding = if tag == 0xFFFE && f.len() >= 26 {
                    u16::from_le_bytes([f[24], f[25]])
                } else {
                    tag
                };
                // What this plugin writes: 16-bit integers (1) or 32-bit IEEE floats (3).
                let sample_format = match (encoding, bits) {
                    (1, 16) => SAMPLE_I16,
                    (3, 32) => SAMPLE_F32,
                    (3, _) => return Err(format!("unsupported format: {bits}-bit float WAV")),
                    (1, _) => {
                        return Err(format!(
                            "unsupported format: {bits}-bit WAV (this plugin writes and reads 16-bit and 32-bit float)"
                        ));
                    }
                    _ => return Err(format!("unsupported format: WAV encoding {encoding:#x}")),
                };
                format = Some(AudioFormat {
                    sample_format,
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

export!(id: "storage-wav", description: "WAV files (16-bit or float), synced every interval", storage: Wav, reader: WavReader);

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(channels: u32) -> AudioFormat {
        AudioFormat {
            sample_format: SAMPLE_I16,
            rate: 48_000,
            channels,
        }
    }

    #[test]
    fn writes_samples_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let samples: Vec<i16> = (0..4800).map(|i| (i * 7 % 65536 - 32768) as i16).collect();
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut w = Wav::create(&p, fmt(2)).unwrap();
        w.write(&bytes, samples.len() / 2).unwrap();
        w.finish().unwrap();
        let read: Vec<i16> = hound::WavReader::open(&p)
            .unwrap()
            .samples::<i16>()
            .map(Result::unwrap)
            .collect();
        assert_eq!(read, samples);
    }

    /// Byte for byte the file hound writes for the same samples (16-bit stereo and float
    /// mono), written in uneven pieces with syncs between them.
    #[test]
    fn the_file_is_hounds_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let float = AudioFormat {
            sample_format: SAMPLE_F32,
            rate: 16_000,
            channels: 1,
        };
        for (name, format) in [("i16", fmt(2)), ("f32", float)] {
            let frames = 100_003;
            let bytes: Vec<u8> = (0..frames * format.bytes_per_frame())
                .map(|i| (i * 31 % 251) as u8)
                .collect();
            let ours = dir.path().join(format!("{name}.wav"));
            let mut w = Wav::create(&ours, format).unwrap();
            let step = 777 * format.bytes_per_frame();
            for (k, piece) in bytes.chunks(step).enumerate() {
                w.write(piece, piece.len() / format.bytes_per_frame())
                    .unwrap();
                if k % 50 == 0 {
                    w.sync().unwrap();
                }
            }
            w.finish().unwrap();
            let theirs = dir.path().join(format!("{name}-hound.wav"));
            let mut h = hound::WavWriter::create(&theirs, spec(format)).unwrap();
            if format.sample_format == SAMPLE_F32 {
                for s in bytes.chunks_exact(4) {
                    h.write_sample(f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
                        .unwrap();
                }
            } else {
                for s in bytes.chunks_exact(2) {
                    h.write_sample(i16::from_le_bytes([s[0], s[1]])).unwrap();
                }
            }
            h.finalize().unwrap();
            assert!(
                std::fs::read(&ours).unwrap() == std::fs::read(&theirs).unwrap(),
                "{name}"
            );
        }
    }

    /// Past what the header's 32-bit sizes can count, a write is refused (hound's counter
    /// would wrap around): the recording stops with a reason, its file still valid.
    #[test]
    fn a_file_past_4_gib_is_refused_not_wrapped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let mut w = Wav::create(&p, fmt(2)).unwrap();
        w.write(&[1, 2, 3, 4], 1).unwrap();
        // As if six hours had been written (the file itself stays small).
        w.data_bytes = u64::from(u32::MAX) - 40;
        // The last frame that fits: the RIFF size (36 + data) is then 2^32 - 1.
        w.write(&[0; 4], 1).unwrap();
        let e = w.write(&[0; 4], 1).unwrap_err();
        assert!(e.contains("at most 4 GiB"), "{e}");
        w.data_bytes = 8;
        w.finish().unwrap();
        assert_eq!(hound::WavReader::open(&p).unwrap().len(), 4);
    }

    #[test]
    fn a_synced_file_killed_before_finish_is_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let samples: Vec<i16> = (0..1000).map(|i| i as i16).collect();
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut w = Wav::create(&p, fmt(1)).unwrap();
        w.write(&bytes, 1000).unwrap();
        w.sync().unwrap();
        // A crash: the writer is never finished, and more audio reached the file after the
        // last sync, which its header does not count.
        std::mem::forget(w);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(&bytes[..201])
            .unwrap();
        assert_eq!(
            hound::WavReader::open(&p).unwrap().len(),
            1000,
            "the header still says 1000"
        );
        let frames = Wav::repair(&p).unwrap();
        assert_eq!(frames, 1100);
        let read: Vec<i16> = hound::WavReader::open(&p)
            .unwrap()
            .samples::<i16>()
            .map(Result::unwrap)
            .collect();
        assert_eq!(&read[..1000], &samples[..]);
        assert_eq!(read.len(), 1100);
    }

    fn read_all(rd: &mut WavReader, piece: usize) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buf = vec![0; piece];
        loop {
            match rd.read(&mut buf).unwrap() {
                0 => return all,
                n => all.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// The plugin's reader gives back exactly the bytes written, with their format, for
    /// 16-bit and float files, and a file cut short reads up to the cut.
    #[test]
    fn the_reader_gives_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        for (name, format, bytes) in [
            (
                "i16.wav",
                fmt(2),
                (0..9_600i32)
                    .flat_map(|i| ((i * 13 % 65_536) as i16).to_le_bytes())
                    .collect::<Vec<u8>>(),
            ),
            (
                "f32.wav",
                AudioFormat {
                    sample_format: SAMPLE_F32,
                    rate: 16_000,
                    channels: 1,
                },
                (0..4_000)
                    .flat_map(|i| (i as f32 / 4_000.0 - 0.5).to_le_bytes())
                    .collect(),
            ),
        ] {
            let p = dir.path().join(name);
            let mut w = Wav::create(&p, format).unwrap();
            w.write(&bytes, bytes.len() / format.bytes_per_frame())
                .unwrap();
            w.finish().unwrap();
            let (mut rd, got) = WavReader::open(&p).unwrap();
            assert_eq!(got, Some(format), "{name}");
            assert!(read_all(&mut rd, 777) == bytes, "{name}");
            // Cut inside the data: the read ends at the cut, not at the header's length.
            let whole = std::fs::read(&p).unwrap();
            std::fs::write(&p, &whole[..whole.len() - 100]).unwrap();
            let (mut rd, _) = WavReader::open(&p).unwrap();
            assert!(
                read_all(&mut rd, 4096) == bytes[..bytes.len() - 100],
                "{name}"
            );
        }
        std::fs::write(dir.path().join("x.wav"), b"fLaC").unwrap();
        assert!(WavReader::open(&dir.path().join("x.wav")).is_err());
        // An encoding it never writes is refused, not read as 16-bit.
        let p = dir.path().join("24.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8_000,
            bits_per_sample: 24,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&p, spec).unwrap();
        w.write_sample(1i32).unwrap();
        w.finalize().unwrap();
        let e = WavReader::open(&p).err().expect("refused");
        assert!(e.contains("unsupported format: 24-bit"), "{e}");
    }

    /// Killed right after it was created (no write, no sync, no finish): the file already has
    /// its header, so it repairs to an empty recording.
    #[test]
    fn a_file_killed_before_its_first_frame_repairs_to_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let w = Wav::create(&p, fmt(2)).unwrap();
        // A kill -9 runs no destructor: hound's would finalize the header.
        std::mem::forget(w);
        assert_eq!(Wav::repair(&p), Ok(0));
        let (mut rd, format) = WavReader::open(&p).unwrap();
        assert_eq!(format, Some(fmt(2)));
        assert!(read_all(&mut rd, 64).is_empty());
    }

    #[test]
    fn refuses_to_overwrite_and_to_repair_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        std::fs::write(&p, b"hello").unwrap();
        assert!(Wav::create(&p, fmt(1)).is_err());
        assert!(Wav::repair(&p).is_err());
    }
}
