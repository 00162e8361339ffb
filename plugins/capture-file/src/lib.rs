//! `capture-file`: WAV files as a capture source, for the demo and the tests. Configuration
//! (`key=value` lines): `path` (one file, any channels: a stereo file feeds both sides of a
//! call), or `left` and `right` (two mono files of the same format, played as the two sides;
//! the shorter is padded with silence); `pace` (`realtime`, the default, or `fast`);
//! `chunk_ms` (frames per delivery, default 20); `speed` (a real-time pace this many times
//! faster, 1 to 100: minutes of a call in seconds, without overrunning the recorder). For tests of timed capture: `device` (the same
//! as `path`), `clock_ppm` (a real-time pace this many parts per million fast, as a device
//! whose clock runs off), and `gap_at_ms` with `gap_ms` (the device is lost for `gap_ms`:
//! the audio of that time is not delivered, and the host is told `SOURCE_LOST`, then
//! `SOURCE_BACK`).
//!
//! Paced in real time, each delivery carries its first frame's capture time on the file's
//! clock (the start, plus the frames before it at the paced rate), as a sound server's
//! devices do: the host places the frames by that clock, not by when this thread woke.
//!
//! A `path` file is read as it plays, a quarter of a second ahead (an hour of audio is
//! hundreds of MB); `left` and `right` are read whole at open and interleaved.

use onrecord_plugin::{AudioFormat, CaptureSource, SAMPLE_F32, SAMPLE_I16, Sink, export, mono_ns};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where the samples come from.
#[derive(Clone)]
enum Audio {
    /// Interleaved in memory (`left` and `right`).
    Memory(Arc<Vec<u8>>),
    /// The data chunk of a WAV file: `len` bytes from `offset`, already interleaved.
    File { path: String, offset: u64, len: u64 },
}

pub struct FileSource {
    audio: Audio,
    format: AudioFormat,
    realtime: bool,
    chunk_frames: usize,
    clock_ppm: f64,
    speed: f64,
    gap: Option<(u64, u64)>,
    sink: Sink,
    running: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn config(text: &str) -> Result<Vec<(&str, &str)>, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| format!("not key=value: {l:?}"))
        })
        .collect()
}

/// A WAV file's format and interleaved little-endian samples.
fn read(path: &str) -> Result<(AudioFormat, Vec<u8>), String> {
    let mut reader = hound::WavReader::open(path).map_err(|e| format!("{path}: {e}"))?;
    let spec = reader.spec();
    let (sample_format, bytes) = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => {
            let s: Result<Vec<i16>, _> = reader.samples::<i16>().collect();
            (
                SAMPLE_I16,
                s.map_err(|e| e.to_string())?
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<u8>>(),
            )
        }
        (hound::SampleFormat::Float, 32) => {
            let s: Result<Vec<f32>, _> = reader.samples::<f32>().collect();
            (
                SAMPLE_F32,
                s.map_err(|e| e.to_string())?
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<u8>>(),
            )
        }
        (f, b) => {
            return Err(format!(
                "{path}: {b}-bit {f:?} is not supported (16-bit integer or 32-bit float)"
            ));
        }
    };
    Ok((
        AudioFormat {
            sample_format,
            rate: spec.sample_rate,
            channels: spec.channels as u32,
        },
        bytes,
    ))
}

/// A WAV file's format and where its samples are, without reading them.
fn locate(path: &str) -> Result<(AudioFormat, Audio), String> {
    use std::io::Seek;
    let reader = hound::WavReader::open(path).map_err(|e| format!("{path}: {e}"))?;
    let spec = reader.spec();
    let sample_format = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => SAMPLE_I16,
        (hound::SampleFormat::Float, 32) => SAMPLE_F32,
        (f, b) => {
            return Err(format!(
                "{path}: {b}-bit {f:?} is not supported (16-bit integer or 32-bit float)"
            ));
        }
    };
    let format = AudioFormat {
        sample_format,
        rate: spec.sample_rate,
        channels: spec.channels as u32,
    };
    let len = u64::from(reader.len()) * format.bytes_per_sample() as u64;
    // The header is read: the file is where the samples begin.
    let offset = reader
        .into_inner()
        .stream_position()
        .map_err(|e| format!("{path}: {e}"))?;
    Ok((
        format,
        Audio::File {
            path: path.to_owned(),
            offset,
            len,
        },
    ))
}

/// Hands out the audio a piece at a time: from memory, or read from the file.
enum Pieces {
    Memory(Arc<Vec<u8>>, usize),
    File(std::io::Take<std::io::BufReader<std::fs::File>>, Vec<u8>),
}

impl Pieces {
    fn open(audio: &Audio, piece: usize) -> Result<Pieces, String> {
        use std::io::{Read, Seek, SeekFrom};
        Ok(match audio {
            Audio::Memory(bytes) => Pieces::Memory(bytes.clone(), 0),
            Audio::File { path, offset, len } => {
                let mut f = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
                f.seek(SeekFrom::Start(*offset))
                    .map_err(|e| format!("{path}: {e}"))?;
                let reader = std::io::BufReader::with_capacity(piece.max(1 << 16), f);
                Pieces::File(reader.take(*len), vec![0; piece])
            }
        })
    }

    /// The next piece of at most `n` bytes (whole frames), or `None` at the end.
    fn next(&mut self, n: usize) -> Option<&[u8]> {
        use std::io::Read;
        match self {
            Pieces::Memory(bytes, at) => {
                let piece = bytes.get(*at..(*at + n).min(bytes.len()))?;
                *at += piece.len();
                (!piece.is_empty()).then_some(piece)
            }
            Pieces::File(reader, buf) => {
                let mut filled = 0;
                while filled < n {
                    match reader.read(&mut buf[filled..n]) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => filled += k,
                    }
                }
                (filled > 0).then_some(&buf[..filled])
            }
        }
    }
}

impl CaptureSource for FileSource {
    fn open(text: &str, _want: AudioFormat, sink: Sink) -> Result<(Self, AudioFormat), String> {
        let (mut path, mut left, mut right, mut realtime, mut chunk_ms) =
            (None, None, None, true, 20u32);
        let (mut clock_ppm, mut gap_at, mut gap_len, mut speed) = (0.0f64, None, None, 1.0f64);
        for (k, v) in config(text)? {
            match k {
                "path" | "device" => path = Some(v.to_owned()),
                "clock_ppm" => {
                    clock_ppm = v
                        .parse()
                        .ok()
                        .filter(|p: &f64| p.abs() <= 10_000.0)
                        .ok_or("clock_ppm must be a number from -10000 to 10000")?
                }
                "speed" => {
                    speed = v
                        .parse()
                        .ok()
                        .filter(|p: &f64| (1.0..=100.0).contains(p))
                        .ok_or("speed must be a number from 1 to 100")?
                }
                "gap_at_ms" => {
                    gap_at = Some(v.parse::<u64>().map_err(|_| "gap_at_ms must be a number")?)
                }
                "gap_ms" => {
                    gap_len = Some(v.parse::<u64>().map_err(|_| "gap_ms must be a number")?)
                }
                "left" => left = Some(v.to_owned()),
                "right" => right = Some(v.to_owned()),
                "pace" => {
                    realtime = match v {
                        "realtime" => true,
                        "fast" => false,
                        _ => return Err(format!("pace must be realtime or fast, not {v:?}")),
                    }
                }
                "chunk_ms" => {
                    chunk_ms = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=1000).contains(n))
                        .ok_or("chunk_ms must be 1 to 1000")?
                }
                _ => {
                    return Err(format!(
                        "unknown option {k:?} (path, device, left, right, pace, chunk_ms, speed, clock_ppm, gap_at_ms, gap_ms)"
                    ));
                }
            }
        }
        let (format, audio) = match (path, left, right) {
            (Some(path), None, None) => locate(&path)?,
            (None, Some(l), Some(r)) => {
                let (lf, lb) = read(&l)?;
                let (rf, rb) = read(&r)?;
                if lf != rf || lf.channels != 1 {
                    return Err(format!(
                        "left and right must be mono files of one format: {l} is {lf:?}, {r} is {rf:?}"
                    ));
                }
                let size = lf.bytes_per_sample();
                let frames = lb.len().max(rb.len()) / size;
                let mut both = Vec::with_capacity(frames * 2 * size);
                for i in 0..frames {
                    for side in [&lb, &rb] {
                        match side.get(i * size..(i + 1) * size) {
                            Some(s) => both.extend_from_slice(s),
                            None => both.extend(std::iter::repeat_n(0u8, size)),
                        }
                    }
                }
                (
                    AudioFormat { channels: 2, ..lf },
                    Audio::Memory(Arc::new(both)),
                )
            }
            _ => return Err("give path=FILE, or left=FILE and right=FILE".into()),
        };
        let chunk_frames = (format.rate as usize * chunk_ms as usize / 1000).max(1);
        let gap = match (gap_at, gap_len) {
            (None, None) => None,
            (Some(at), Some(len)) => Some((
                at * format.rate as u64 / 1000,
                (at + len) * format.rate as u64 / 1000,
            )),
            _ => return Err("give gap_at_ms and gap_ms together".into()),
        };
        Ok((
            FileSource {
                audio,
                format,
                realtime,
                chunk_frames,
                clock_ppm,
                speed,
                gap,
                sink,
                running: Arc::new(AtomicBool::new(false)),
                thread: None,
            },
            format,
        ))
    }

    fn start(&mut self) -> Result<(), String> {
        if self.thread.is_some() {
            return Err("already started".into());
        }
        self.running.store(true, Ordering::Release);
        let (audio, running, sink) = (self.audio.clone(), self.running.clone(), self.sink);
        let (frame, chunk, realtime, gap) = (
            self.format.bytes_per_frame(),
            self.chunk_frames,
            self.realtime,
            self.gap,
        );
        // The pace of a clock `clock_ppm` fast.
        let rate = self.format.rate as f64 * (1.0 + self.clock_ppm * 1e-6) * self.speed;
        let mut pieces = Pieces::open(&audio, chunk * frame)?;
        // The device starts now, when asked: not when its thread first runs (a new thread may
        // wait a scheduler tick, 4 ms, on a busy machine).
        let (start, start_ns) = (Instant::now(), mono_ns());
        let thread = std::thread::Builder::new()
            .name("capture-file".into())
            .spawn(move || {
                let mut sent = 0usize;
                let mut lost = false;
                while let Some(piece) = pieces.next(chunk * frame) {
                    if !running.load(Ordering::Acquire) {
                        return;
                    }
                    let frames = piece.len() / frame;
                    let in_gap = gap.is_some_and(|(a, b)| (a..b).contains(&(sent as u64)));
                    if in_gap && !lost {
                        sink.event(
                            onrecord_plugin::SOURCE_LOST,
                            "the file's device was lost (gap_at_ms)",
                        );
                    } else if !in_gap && lost {
                        sink.event(onrecord_plugin::SOURCE_BACK, "the file's device is back");
                    }
                    lost = in_gap;
                    if !in_gap && realtime {
                        // As a device stamps its periods: the first frame's capture time on
                        // this clock (when its schedule made it), not when the thread woke.
                        let captured = start_ns + (sent as f64 / rate * 1e9) as u64;
                        sink.deliver_at(piece, frames, captured);
                    } else if !in_gap {
                        // Fast: no clock to tell.
                        sink.deliver(piece, frames);
                    }
                    sent += frames;
                    if realtime {
                        // An absolute schedule: no drift from sleeping late.
                        let due = start + Duration::from_secs_f64(sent as f64 / rate);
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        self.thread = Some(thread);
        Ok(())
    }

    fn stop(&mut self) {
        self.running.store(false, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FileSource {
    fn drop(&mut self) {
        self.stop();
    }
}

export!(id: "capture-file", description: "Plays a WAV file as a capture source (real time or fast)", capture: FileSource);
