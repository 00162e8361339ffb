//! A capture source and a storage backend that fail where they are told: the environment
//! variable `ONRECORD_TEST_FAULT=<entry>:<panic|error>` names one entry point (`open`, `start`,
//! `stop`, `deliver` of the source; `create`, `write`, `sync`, `finish` of the storage) and how
//! it fails; `load:crash` aborts whatever process loads the library. `<entry>:wait` does not
//! fail but holds that entry, as a device slow to open: it creates `entered` in the directory
//! `ONRECORD_TEST_FAULT_DIR` names, and returns once `release` appears there. Everything else works: the source delivers 48 kHz stereo noise in real time from
//! its own thread, the storage writes raw PCM. The daemon must contain each failure.

use onrecord_plugin::{AudioFormat, CaptureSource, SAMPLE_I16, Sink, StorageBackend, export};
use std::ffi::CStr;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Fails here if told to: panics, or returns an error naming the entry.
fn fault(entry: &str) -> Result<(), String> {
    let Ok(spec) = std::env::var("ONRECORD_TEST_FAULT") else {
        return Ok(());
    };
    match spec.split_once(':') {
        Some((e, "panic")) if e == entry => panic!("faulty {entry}"),
        Some((e, "error")) if e == entry => Err(format!("faulty {entry} failed on purpose")),
        Some((e, "wait")) if e == entry => {
            let dir = std::path::PathBuf::from(
                std::env::var_os("ONRECORD_TEST_FAULT_DIR").ok_or("no ONRECORD_TEST_FAULT_DIR")?,
            );
            std::fs::write(dir.join("entered"), b"").map_err(|e| e.to_string())?;
            // Bounded: a test that forgets to release fails instead of hanging.
            for _ in 0..6000 {
                if dir.join("release").exists() {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(format!("faulty {entry} was never released"))
        }
        _ => Ok(()),
    }
}

pub struct Source {
    sink: Option<Sink>,
    running: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const FORMAT: AudioFormat = AudioFormat {
    sample_format: SAMPLE_I16,
    rate: 48_000,
    channels: 2,
};

impl CaptureSource for Source {
    fn open(_config: &str, _want: AudioFormat, sink: Sink) -> Result<(Self, AudioFormat), String> {
        fault("open")?;
        Ok((
            Source {
                sink: Some(sink),
                running: Arc::new(AtomicBool::new(false)),
                thread: None,
            },
            FORMAT,
        ))
    }

    fn start(&mut self) -> Result<(), String> {
        fault("start")?;
        let sink = self.sink.take().ok_or("started twice")?;
        let running = self.running.clone();
        running.store(true, Ordering::Release);
        self.thread = Some(std::thread::spawn(move || {
            // 20 ms periods of noise, paced by the clock.
            let mut x: u32 = 1;
            let frames = 960;
            let mut buf = vec![0u8; frames * 4];
            let start = std::time::Instant::now();
            let mut sent = 0u64;
            while running.load(Ordering::Acquire) {
                if fault("deliver").is_err() {
                    // An error has nowhere to go from a data thread: the source stops.
                    return;
                }
                for b in buf.chunks_exact_mut(2) {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    b.copy_from_slice(&((x >> 16) as i16).to_le_bytes());
                }
                sink.deliver(&buf, frames);
                sent += frames as u64;
                let due = std::time::Duration::from_secs_f64(sent as f64 / 48_000.0);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
        }));
        Ok(())
    }

    fn stop(&mut self) {
        self.running.store(false, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = fault("stop");
    }
}

pub struct Storage {
    file: std::fs::File,
    frame_bytes: usize,
}

impl StorageBackend for Storage {
    const EXTENSION: &'static CStr = c"pcm";

    fn accepts(format: AudioFormat) -> Result<(), AudioFormat> {
        if format.is_valid() { Ok(()) } else { Err(FORMAT) }
    }

    fn create(path: &Path, format: AudioFormat) -> Result<Self, String> {
        fault("create")?;
        Ok(Storage {
            file: onrecord_plugin::create_private_file(path)?,
            frame_bytes: format.bytes_per_frame(),
        })
    }

    fn frame_bytes(&self) -> usize {
        self.frame_bytes
    }

    fn write(&mut self, data: &[u8], _frames: usize) -> Result<(), String> {
        fault("write")?;
        self.file.write_all(data).map_err(|e| e.to_string())
    }

    fn sync(&mut self) -> Result<(), String> {
        fault("sync")?;
        self.file.sync_data().map_err(|e| e.to_string())
    }

    fn finish(self) -> Result<(), String> {
        fault("finish")?;
        self.file.sync_all().map_err(|e| e.to_string())
    }

    fn repair(path: &Path) -> Result<u64, String> {
        Err(format!("{}: raw PCM is not repaired", path.display()))
    }
}

export!(id: "faulty", description: "fails where ONRECORD_TEST_FAULT says", capture: Source, storage: Storage);

/// `ONRECORD_TEST_FAULT=load:crash`: the library aborts the process that loads it, from its
/// initializer (`load:hang`: it never returns from it), before any onrecord code runs (as a plugin built against a missing library or
/// with a bad static constructor would).
#[used]
#[unsafe(link_section = ".init_array")]
static ON_LOAD: extern "C" fn() = {
    extern "C" fn on_load() {
        match std::env::var("ONRECORD_TEST_FAULT").as_deref() {
            Ok("load:crash") => std::process::abort(),
            // `load:hang`: never returns, as a plugin waiting on a server that never answers.
            Ok("load:hang") => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            _ => {}
        }
    }
    on_load
};
