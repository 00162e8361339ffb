//! `storage-flac`: 16-bit audio into FLAC files with libFLAC at compression level 5 without
//! mid-side stereo, with LPC up to order 7, in 3584-frame blocks (`flac -5 --no-mid-side -l 7
//! -b 3584`), written as libFLAC makes them (whole blocks straight to the disk through the
//! SDK's [`AppendFile`], what is left of a block at each sync), so memory stays bounded however
//! long the call. The header's totals are written at finish (libFLAC seeks back); until then
//! (and after a crash) it says "length unknown", which decoders accept, and every complete
//! frame already written decodes. No MD5 of the audio is computed (the header says "unset"):
//! the evidence's SHA-256 chain already covers every block, and the MD5 was a quarter of the
//! encoder's time.

mod frames;

use frames::complete_frames;
use libflac_sys as sys;
use onrecord_plugin::append::AppendFile;
use onrecord_plugin::{AudioFormat, SAMPLE_I16, StorageBackend, StorageReader, export};
use std::ffi::{CStr, c_void};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

unsafe extern "C" {
    /// libFLAC's switch for the MD5 of the audio: exported by every libFLAC since 1.1.3 (the
    /// `flac` tool's `--no-md5-sum` uses it), but declared in its "protected" header only, so
    /// libflac-sys has no binding for it.
    fn FLAC__stream_encoder_set_do_md5(
        encoder: *mut sys::FLAC__StreamEncoder,
        value: sys::FLAC__bool,
    ) -> sys::FLAC__bool;
}

/// The compression level: `flac -5`'s (residual partitions up to order 5), without its
/// mid-side stereo, with LPC up to order 7 and in shorter blocks.
const LEVEL: u32 = 5;

/// LPC up to order 7 rather than -5's 8: on the bench's ten minutes of call audio (FLAC
/// bench, same machine, one run each) the encoding cost 0.39 s of CPU against 0.46 s, for a
/// file 0.25 % larger than `flac -5`'s instead of 0.01 % (the target allows 2 %).
const LPC_ORDER: u32 = 7;

/// Frames per block. `-5`'s 4096 cost libFLAC (Debian's 1.4.2, on the bench's ten minutes of
/// call audio) 0.56 s of CPU where 3584 cost 0.41 s, for a file 0.04 % larger (2048: 0.43 s,
/// +1.1 %): a recording spent a third less on its encoding. With the 1.5.0 built here the gap
/// is smaller and 3584 still wins (a harness, per second of the calls: 4096 frames and order
/// 8 cost 0.67 ms of CPU, 3584 and order 7 0.61 ms). A multiple of 32, as residual
/// partitions of order 5 need.
const BLOCK_FRAMES: u32 = 3584;

/// Where libFLAC's callbacks write: the file (whole blocks straight to the disk, see
/// [`AppendFile`]), and the first error they met.
struct Sink {
    file: AppendFile,
    error: Option<std::io::Error>,
}

pub struct Flac {
    encoder: *mut sys::FLAC__StreamEncoder,
    /// Boxed: libFLAC holds its address as the callbacks' client data.
    sink: Box<Sink>,
    /// The samples of one write, widened for libFLAC, one buffer per channel (kept: no
    /// allocation per write). libFLAC's interleaved entry point would copy them apart again.
    planes: Vec<Vec<i32>>,
}

// SAFETY: the encoder and the sink it points to are owned by this value alone and used by
// whichever one thread holds it (the host calls a storage from one thread at a time).
unsafe impl Send for Flac {}

unsafe extern "C" fn write_cb(
    _: *const sys::FLAC__StreamEncoder,
    buffer: *const sys::FLAC__byte,
    bytes: usize,
    _samples: u32,
    _frame: u32,
    data: *mut c_void,
) -> sys::FLAC__StreamEncoderWriteStatus {
    // SAFETY: `data` is the boxed sink given at init, alive while the encoder is; `buffer`
    // holds `bytes` bytes for the length of this call.
    let (sink, bytes) = unsafe {
        (
            &mut *(data as *mut Sink),
            std::slice::from_raw_parts(buffer, bytes),
        )
    };
    match sink.file.write_all(bytes) {
        Ok(()) => sys::FLAC__STREAM_ENCODER_WRITE_STATUS_OK,
        Err(e) => {
            sink.error.get_or_insert(e);
            sys::FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR
        }
    }
}

unsafe extern "C" fn seek_cb(
    _: *const sys::FLAC__StreamEncoder,
    offset: sys::FLAC__uint64,
    data: *mut c_void,
) -> sys::FLAC__StreamEncoderSeekStatus {
    // SAFETY: as in `write_cb`.
    let sink = unsafe { &mut *(data as *mut Sink) };
    match sink.file.seek(SeekFrom::Start(offset)) {
        Ok(_) => sys::FLAC__STREAM_ENCODER_SEEK_STATUS_OK,
        Err(e) => {
            sink.error.get_or_insert(e);
            sys::FLAC__STREAM_ENCODER_SEEK_STATUS_ERROR
        }
    }
}

unsafe extern "C" fn tell_cb(
    _: *const sys::FLAC__StreamEncoder,
    offset: *mut sys::FLAC__uint64,
    data: *mut c_void,
) -> sys::FLAC__StreamEncoderTellStatus {
    // SAFETY: as in `write_cb`; `offset` points to where libFLAC wants the answer.
    let sink = unsafe { &mut *(data as *mut Sink) };
    match sink.file.stream_position() {
        Ok(at) => {
            unsafe { *offset = at };
            sys::FLAC__STREAM_ENCODER_TELL_STATUS_OK
        }
        Err(_) => sys::FLAC__STREAM_ENCODER_TELL_STATUS_ERROR,
    }
}

impl Flac {
    /// Why libFLAC stopped: the file's error if there was one, else its state.
    fn failure(&mut self, what: &str) -> String {
        if let Some(e) = self.sink.error.take() {
            return format!("{what}: {e}");
        }
        // SAFETY: a live encoder; the state's text is a static string.
        let state = unsafe {
            let s = sys::FLAC__stream_encoder_get_state(self.encoder);
            CStr::from_ptr(sys::FLAC__StreamEncoderStateString[s as usize]).to_string_lossy()
        };
        format!("{what}: libFLAC {state}")
    }
}

/// Interleaved 16-bit little-endian frames of `planes.len()` channels into one widened
/// buffer per channel. A call's two channels have a loop of their own, over whole frames into
/// buffers of their length, which the compiler vectorizes (the general one, sample by sample
/// with a stride it does not know, was a tenth of the live FLAC path's CPU).
fn split_planes(data: &[u8], planes: &mut [Vec<i32>]) {
    let sample = |b: &[u8]| i32::from(i16::from_le_bytes([b[0], b[1]]));
    let frames = data.len() / (2 * planes.len());
    for plane in planes.iter_mut() {
        // Every sample is written below: only a change of length touches the buffer here
        // (zeroing it first was 1.4 % of the live FLAC path's CPU).
        plane.resize(frames, 0);
    }
    if let [left, right] = planes {
        for ((f, l), r) in data
            .chunks_exact(4)
            .zip(left.iter_mut())
            .zip(right.iter_mut())
        {
            *l = sample(&f[..2]);
            *r = sample(&f[2..]);
        }
        return;
    }
    let stride = 2 * planes.len();
    for (c, plane) in planes.iter_mut().enumerate() {
        for (f, v) in data.chunks_exact(stride).zip(plane.iter_mut()) {
            *v = sample(&f[2 * c..]);
        }
    }
}

impl Drop for Flac {
    fn drop(&mut self) {
        // SAFETY: the encoder is ours and deleted once; the sink outlives it (dropped after).
        unsafe { sys::FLAC__stream_encoder_delete(self.encoder) };
    }
}

impl StorageBackend for Flac {
    const EXTENSION: &'static CStr = c"flac";

    fn accepts(format: AudioFormat) -> Result<(), AudioFormat> {
        if format.is_valid() && format.sample_format == SAMPLE_I16 {
            Ok(())
        } else {
            Err(AudioFormat {
                sample_format: SAMPLE_I16,
                rate: format.rate.clamp(8_000, 192_000),
                channels: format.channels.clamp(1, 8),
            })
        }
    }

    fn create(path: &Path, format: AudioFormat) -> Result<Self, String> {
        if Self::accepts(format).is_err() {
            return Err(format!(
                "FLAC here stores 16-bit integer audio, not {format:?}"
            ));
        }
        let file = AppendFile::create(path)?;
        // SAFETY: plain constructor; null when out of memory.
        let encoder = unsafe { sys::FLAC__stream_encoder_new() };
        if encoder.is_null() {
            return Err("libFLAC: no memory for an encoder".into());
        }
        let mut f = Flac {
            encoder,
            sink: Box::new(Sink { file, error: None }),
            planes: vec![Vec::new(); format.channels as usize],
        };
        // SAFETY: a new encoder, set up before init; the callbacks' client data is the boxed
        // sink, which lives (and stays put) as long as the encoder.
        let status = unsafe {
            let e = f.encoder;
            let ok = sys::FLAC__stream_encoder_set_channels(e, format.channels)
                & sys::FLAC__stream_encoder_set_bits_per_sample(e, 16)
                & sys::FLAC__stream_encoder_set_sample_rate(e, format.rate)
                & sys::FLAC__stream_encoder_set_compression_level(e, LEVEL)
                & sys::FLAC__stream_encoder_set_blocksize(e, BLOCK_FRAMES)
                & sys::FLAC__stream_encoder_set_max_lpc_order(e, LPC_ORDER)
                // The two channels of a call are two people: mid-side coding finds nothing to
                // share (0.01 % on the bench's calls) for a quarter of the encoder's time.
                & sys::FLAC__stream_encoder_set_do_mid_side_stereo(e, 0)
                // The evidence's hash chain covers the audio; libFLAC's MD5 would cost a
                // quarter of its time again (`flac -5 --no-md5-sum`: 0.91 s against 1.20 s).
                & FLAC__stream_encoder_set_do_md5(e, 0);
            if ok == 0 {
                return Err(f.failure("libFLAC refused the format"));
            }
            sys::FLAC__stream_encoder_init_stream(
                e,
                Some(write_cb),
                Some(seek_cb),
                Some(tell_cb),
                None,
                &mut *f.sink as *mut Sink as *mut c_void,
            )
        };
        if status != sys::FLAC__STREAM_ENCODER_INIT_STATUS_OK {
            return Err(f.failure("libFLAC cannot start the stream"));
        }
        Ok(f)
    }

    fn frame_bytes(&self) -> usize {
        2 * self.planes.len()
    }

    fn write(&mut self, data: &[u8], _frames: usize) -> Result<(), String> {
        split_planes(data, &mut self.planes);
        // At most 8 channels (`accepts`): their buffers' addresses without an allocation.
        let mut planes = [std::ptr::null::<i32>(); 8];
        for (p, plane) in planes.iter_mut().zip(&self.planes) {
            *p = plane.as_ptr();
        }
        let frames = self.planes[0].len() as u32;
        // SAFETY: a live encoder; each of its channels has a buffer of `frames` samples.
        let ok =
            unsafe { sys::FLAC__stream_encoder_process(self.encoder, planes.as_ptr(), frames) };
        if ok == 0 {
            return Err(self.failure("cannot write the FLAC file"));
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), String> {
        self.sink.file.sync_data().map_err(|e| e.to_string())
    }

    fn finish(mut self) -> Result<(), String> {
        // SAFETY: a live encoder: the last frame is written and the header rewritten.
        if unsafe { sys::FLAC__stream_encoder_finish(self.encoder) } == 0 {
            return Err(self.failure("cannot finish the FLAC file"));
        }
        if let Some(e) = self.sink.error.take() {
            return Err(e.to_string());
        }
        self.sink.file.sync_all().map_err(|e| e.to_string())
    }

    /// After a crash: the file is cut after its last complete frame (each checked by its
    /// CRC-16), so every frame left decodes; returns how many audio frames it holds. The header
    /// keeps "length unknown", which FLAC allows.
    fn repair(path: &Path) -> Result<u64, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (end, frames) = complete_frames(&bytes)
            .ok_or_else(|| format!("{}: not a FLAC stream", path.display()))?;
        if end < bytes.len() {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            f.set_len(end as u64).map_err(|e| e.to_string())?;
            f.sync_all().map_err(|e| e.to_string())?;
        }
        Ok(frames)
    }
}

/// Reads back what `Flac` wrote: decoded frame by frame to 16-bit little-endian, a piece at a
/// time. A file cut by a crash ends with the last frame that decodes.
pub struct FlacReader {
    frames: claxon::frame::FrameReader<claxon::input::BufferedReader<File>>,
    /// Decoded bytes not yet read, from `at`.
    pending: Vec<u8>,
    at: usize,
    buffer: Vec<i32>,
    done: bool,
}

impl StorageReader for FlacReader {
    const EXTENSION: &'static CStr = c"flac";

    fn open(path: &Path) -> Result<(Self, Option<AudioFormat>), String> {
        let err = |e: String| format!("{}: {e}", path.display());
        let mut file = File::open(path).map_err(|e| err(e.to_string()))?;
        let (format, offset) = flac_header(&mut file).map_err(err)?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| err(e.to_string()))?;
        let frames = claxon::frame::FrameReader::new(claxon::input::BufferedReader::new(file));
        Ok((
            FlacReader {
                frames,
                pending: Vec::new(),
                at: 0,
                buffer: Vec::new(),
                done: false,
            },
            Some(format),
        ))
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
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
        Ok(n)
    }
}

fn read_exact_at(file: &mut File, n: usize) -> std::io::Result<Vec<u8>> {
    let mut b = vec![0; n];
    file.read_exact(&mut b)?;
    Ok(b)
}

/// A FLAC file's format (from its STREAMINFO), and where its first frame starts.
fn flac_header(file: &mut File) -> Result<(AudioFormat, u64), String> {
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
            // Bits 103-107: bits per sample - 1. This storage writes 16 only.
            let bits = (((info[12] & 1) << 4) | (info[13] >> 4)) + 1;
            if bits != 16 {
                return Err(format!(
                    "unsupported format: {bits}-bit FLAC (this plugin writes and reads 16-bit)"
                ));
            }
            format = Some(AudioFormat {
                sample_format: SAMPLE_I16,
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

export!(id: "storage-flac", description: "FLAC files (16-bit), encoded block by block", storage: Flac, reader: FlacReader);

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: usize = BLOCK_FRAMES as usize;

    /// `n` samples of xorshift noise from `seed`, and their little-endian bytes.
    fn noise(n: usize, seed: u32) -> (Vec<i16>, Vec<u8>) {
        let mut x = seed;
        let samples: Vec<i16> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 16) as i16
            })
            .collect();
        let bytes = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        (samples, bytes)
    }

    fn roundtrip(channels: u32, frames: usize) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.flac");
        let (samples, bytes) = noise(frames * channels as usize, 99);
        let mut f = Flac::create(
            &p,
            AudioFormat {
                sample_format: SAMPLE_I16,
                rate: 48_000,
                channels,
            },
        )
        .unwrap();
        // Uneven writes, as a ring delivers them.
        for piece in bytes.chunks(2 * channels as usize * 1000) {
            f.write(piece, piece.len() / (2 * channels as usize))
                .unwrap();
        }
        f.finish().unwrap();
        let mut r = claxon::FlacReader::open(&p).unwrap();
        assert_eq!(r.streaminfo().samples, Some(frames as u64));
        assert_eq!(r.streaminfo().channels, channels);
        let decoded: Vec<i16> = r.samples().map(|s| s.unwrap() as i16).collect();
        assert_eq!(decoded.len(), samples.len());
        assert!(decoded == samples);
        // The plugin's own reader gives back the bytes written, in reads of any size.
        let (mut rd, format) = FlacReader::open(&p).unwrap();
        assert_eq!(
            format,
            Some(AudioFormat {
                sample_format: SAMPLE_I16,
                rate: 48_000,
                channels,
            })
        );
        assert!(read_all(&mut rd, 999) == bytes);
    }

    fn read_all(rd: &mut FlacReader, piece: usize) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buf = vec![0; piece];
        loop {
            match rd.read(&mut buf).unwrap() {
                0 => return all,
                n => all.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn the_reader_refuses_what_is_not_flac() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.flac");
        std::fs::write(&p, b"RIFF....WAVEfmt ").unwrap();
        let e = FlacReader::open(&p).err().expect("refused");
        assert!(e.contains("a.flac"), "{e}");
        assert!(FlacReader::open(&dir.path().join("missing.flac")).is_err());
        // A FLAC of another depth (here its STREAMINFO says 24 bits) is refused, not misread.
        let p = dir.path().join("b.flac");
        let mut f = Flac::create(
            &p,
            AudioFormat {
                sample_format: SAMPLE_I16,
                rate: 48_000,
                channels: 1,
            },
        )
        .unwrap();
        f.write(&noise(4096, 3).1, 4096).unwrap();
        f.finish().unwrap();
        assert!(FlacReader::open(&p).is_ok());
        let mut bytes = std::fs::read(&p).unwrap();
        // "fLaC", the block header, then STREAMINFO: bits - 1 = 23 across bytes 12 and 13.
        bytes[8 + 12] |= 1;
        bytes[8 + 13] = (bytes[8 + 13] & 0x0F) | (0b0111 << 4);
        std::fs::write(&p, &bytes).unwrap();
        let e = FlacReader::open(&p).err().expect("refused");
        assert!(e.contains("unsupported format: 24-bit"), "{e}");
    }

    /// A file cut anywhere by a crash (no `finish`: the header says the length is unknown) is
    /// repaired to its complete frames, which decode to the start of what was written.
    #[test]
    fn a_file_cut_anywhere_is_repaired_to_its_complete_frames() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.flac");
        // Five blocks and a frame: libFLAC encodes a block once the next frame has come.
        let (samples, bytes) = noise(2 * (5 * BLOCK + 1), 7);
        let format = AudioFormat {
            sample_format: SAMPLE_I16,
            rate: 48_000,
            channels: 2,
        };
        let mut f = Flac::create(&p, format).unwrap();
        f.write(&bytes, 5 * BLOCK + 1).unwrap();
        f.sync().unwrap();
        // Dropped unfinished, as by a crash: libFLAC writes nothing more.
        drop(f);
        let whole = std::fs::read(&p).unwrap();
        let mut cuts: Vec<usize> = (0..40)
            .map(|i| 100 + i * (whole.len() - 100) / 40)
            .collect();
        cuts.push(whole.len());
        for cut in cuts {
            std::fs::write(&p, &whole[..cut]).unwrap();
            let frames = Flac::repair(&p).unwrap();
            let decoded: Vec<i16> = claxon::FlacReader::open(&p)
                .unwrap()
                .samples()
                .map(|s| s.unwrap() as i16)
                .collect();
            assert_eq!(decoded.len() as u64, 2 * frames, "cut at {cut}");
            assert!(decoded[..] == samples[..decoded.len()], "cut at {cut}");
            if cut == whole.len() {
                assert_eq!(frames, 5 * BLOCK as u64);
            }
        }
        std::fs::write(&p, b"RIFF....").unwrap();
        assert!(Flac::repair(&p).is_err());
    }

    #[test]
    fn stereo_is_bit_exact() {
        roundtrip(2, 48_000 + 123);
    }

    #[test]
    fn mono_shorter_than_a_block_is_bit_exact() {
        roundtrip(1, 1000);
    }

    /// More channels than a call has take the general loop.
    #[test]
    fn three_channels_are_bit_exact() {
        roundtrip(3, 10_000);
    }

    #[test]
    fn float_audio_is_not_accepted_but_a_format_is_offered() {
        let f = AudioFormat {
            sample_format: onrecord_plugin::SAMPLE_F32,
            rate: 48_000,
            channels: 2,
        };
        assert_eq!(
            Flac::accepts(f),
            Err(AudioFormat {
                sample_format: SAMPLE_I16,
                rate: 48_000,
                channels: 2
            })
        );
    }
}
