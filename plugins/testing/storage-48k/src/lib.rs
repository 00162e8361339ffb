//! A storage that takes only 16-bit 48 kHz audio (raw, interleaved), so that the daemon must
//! convert and resample whatever else a source delivers. It writes `.pcm48` files and has no
//! reader: what it writes is a format no installed plugin reads.

use onrecord_plugin::{AudioFormat, SAMPLE_I16, StorageBackend, export};
use std::ffi::CStr;
use std::io::Write;
use std::path::Path;

pub struct Only48k(std::fs::File, usize);

impl StorageBackend for Only48k {
    const EXTENSION: &'static CStr = c"pcm48";
    fn accepts(f: AudioFormat) -> Result<(), AudioFormat> {
        let want = AudioFormat { sample_format: SAMPLE_I16, rate: 48_000, channels: f.channels };
        if f == want { Ok(()) } else { Err(want) }
    }
    fn create(path: &Path, f: AudioFormat) -> Result<Self, String> {
        Self::accepts(f).map_err(|w| format!("only {w:?}"))?;
        Ok(Only48k(std::fs::File::create_new(path).map_err(|e| e.to_string())?, f.bytes_per_frame()))
    }
    fn frame_bytes(&self) -> usize {
        self.1
    }
    fn write(&mut self, data: &[u8], _: usize) -> Result<(), String> {
        self.0.write_all(data).map_err(|e| e.to_string())
    }
    fn sync(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn finish(self) -> Result<(), String> {
        self.0.sync_all().map_err(|e| e.to_string())
    }
    fn repair(_: &Path) -> Result<u64, String> {
        Err("not repaired".into())
    }
}

export!(id: "storage-48k", description: "16-bit 48 kHz raw only", storage: Only48k);
