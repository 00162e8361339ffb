//! `storage-wav`: audio into WAV files with hound. `sync` rewrites the header's sizes and
//! fsyncs, so a crash loses at most what came after the last sync; `repair` fixes the header
//! of a file left open by a crash from the file's size.

use onrecord_plugin::{AudioFormat, SAMPLE_F32, SAMPLE_I16, StorageBackend, export};
use std::ffi::CStr;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

pub struct Wav {
    writer: hound::WavWriter<BufWriter<File>>,
    /// The same file, to fsync after hound has flushed.
    file: File,
    format: AudioFormat,
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
        let file = onrecord_plugin::create_private_file(path)?;
        let clone = file.try_clone().map_err(|e| e.to_string())?;
        let writer = hound::WavWriter::new(BufWriter::new(clone), spec(format))
            .map_err(|e| e.to_string())?;
        Ok(Wav {
            writer,
            file,
            format,
        })
    }

    fn frame_bytes(&self) -> usize {
        self.format.bytes_per_frame()
    }

    fn write(&mut self, data: &[u8], _frames: usize) -> Result<(), String> {
        if self.format.sample_format == SAMPLE_F32 {
            for s in data.chunks_exact(4) {
                self.writer
                    .write_sample(f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
                    .map_err(|e| e.to_string())?;
            }
        } else {
            let mut w = self.writer.get_i16_writer((data.len() / 2) as u32);
            for s in data.chunks_exact(2) {
                w.write_sample(i16::from_le_bytes([s[0], s[1]]));
            }
            w.flush().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), String> {
        self.writer.flush().map_err(|e| e.to_string())?;
        self.file.sync_data().map_err(|e| e.to_string())
    }

    fn finish(self) -> Result<(), String> {
        self.writer.finalize().map_err(|e| e.to_string())?;
        self.file.sync_all().map_err(|e| e.to_string())
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

export!(id: "storage-wav", description: "WAV files (16-bit or float), synced every interval", storage: Wav);

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

    #[test]
    fn refuses_to_overwrite_and_to_repair_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        std::fs::write(&p, b"hello").unwrap();
        assert!(Wav::create(&p, fmt(1)).is_err());
        assert!(Wav::repair(&p).is_err());
    }
}
