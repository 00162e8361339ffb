//! The smallest useful plugin: a storage backend that writes the frames it is given, as they
//! are, to a `.raw` file. See plugins/README.md, which walks through it.

use onrecord_plugin::{AudioFormat, StorageBackend, StorageReader, export};
use std::ffi::CStr;
use std::io::Write;
use std::path::Path;

pub struct Raw {
    file: std::fs::File,
    frame_bytes: usize,
}

impl StorageBackend for Raw {
    const EXTENSION: &'static CStr = c"raw";

    fn accepts(format: AudioFormat) -> Result<(), AudioFormat> {
        // Raw PCM holds any valid format (the format itself is not recorded in the file).
        if format.is_valid() {
            Ok(())
        } else {
            Err(AudioFormat {
                sample_format: onrecord_plugin::SAMPLE_I16,
                rate: 48_000,
                channels: 2,
            })
        }
    }

    fn create(path: &Path, format: AudioFormat) -> Result<Self, String> {
        let file =
            std::fs::File::create_new(path).map_err(|e| format!("{}: {e}", path.display()))?;
        onrecord_plugin::log(3, &format!("writing raw {format:?} to {}", path.display()));
        Ok(Raw {
            file,
            frame_bytes: format.bytes_per_frame(),
        })
    }

    fn frame_bytes(&self) -> usize {
        self.frame_bytes
    }

    fn write(&mut self, data: &[u8], _frames: usize) -> Result<(), String> {
        self.file.write_all(data).map_err(|e| e.to_string())
    }

    fn sync(&mut self) -> Result<(), String> {
        self.file.sync_data().map_err(|e| e.to_string())
    }

    fn finish(self) -> Result<(), String> {
        self.file.sync_all().map_err(|e| e.to_string())
    }

    fn repair(path: &Path) -> Result<u64, String> {
        // A raw file has no header to mend, and does not record its format, so its frames
        // cannot be counted here: say so rather than guess.
        Err(format!(
            "{}: raw files have no header to repair; they hold what reached the disk",
            path.display()
        ))
    }
}

/// Reads back what `Raw` wrote: the file is the PCM; it does not say its format.
pub struct RawReader(std::io::BufReader<std::fs::File>);

impl StorageReader for RawReader {
    const EXTENSION: &'static CStr = c"raw";

    fn open(path: &Path) -> Result<(Self, Option<AudioFormat>), String> {
        let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((RawReader(std::io::BufReader::new(f)), None))
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        std::io::Read::read(&mut self.0, buf).map_err(|e| e.to_string())
    }
}

export!(id: "storage-raw", description: "Raw PCM, as given (the SDK's example)", storage: Raw, reader: RawReader);
