//! A plugin that panics in every function it implements: the SDK must contain every panic and
//! the daemon must go on serving.

use onrecord_plugin::{AudioFormat, CaptureSource, Sink, StorageBackend, export};
use std::ffi::CStr;
use std::path::Path;

pub struct Panicky;

impl CaptureSource for Panicky {
    fn open(_: &str, _: AudioFormat, _: Sink) -> Result<(Self, AudioFormat), String> {
        panic!("open")
    }
    fn start(&mut self) -> Result<(), String> {
        panic!("start")
    }
    fn stop(&mut self) {
        panic!("stop")
    }
}

impl StorageBackend for Panicky {
    const EXTENSION: &'static CStr = c"boom";
    fn accepts(_: AudioFormat) -> Result<(), AudioFormat> {
        panic!("accepts")
    }
    fn create(_: &Path, _: AudioFormat) -> Result<Self, String> {
        panic!("create")
    }
    fn frame_bytes(&self) -> usize {
        panic!("frame_bytes")
    }
    fn write(&mut self, _: &[u8], _: usize) -> Result<(), String> {
        panic!("write")
    }
    fn sync(&mut self) -> Result<(), String> {
        panic!("sync")
    }
    fn finish(self) -> Result<(), String> {
        panic!("finish")
    }
    fn repair(_: &Path) -> Result<u64, String> {
        panic!("repair")
    }
}

export!(id: "panicky", description: "panics everywhere", capture: Panicky, storage: Panicky);
