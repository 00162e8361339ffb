//! The bodies of the fuzz targets (`fuzz/`, cargo fuzz), here so that they are built and tested
//! with the code they exercise: `fuzz/fuzz_targets/*.rs` call them with libFuzzer's input, and
//! the `fuzz_regressions` tests run them on stable over every input in `fuzz/regressions/`
//! (crashes found, committed).
//!
//! Each takes arbitrary bytes and must neither panic nor break the invariant it asserts.

use crate::laws::{self, LawSet};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Scratch directories under /dev/shm when it exists (the loader reads files).
fn scratch() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let mut b = tempfile::Builder::new();
        b.prefix("onrecord-fuzz-");
        if shm.is_dir() {
            b.tempdir_in(shm)
        } else {
            b.tempdir()
        }
        .expect("a scratch directory")
    })
}

/// The law TOML loader: the input is a shipped table file, or (split at the first 0xFF byte) a
/// shipped file and a user overlay file. Loading either succeeds or reports problems, each
/// with a line and column inside the file it names.
pub fn law_toml(data: &[u8]) {
    let (shipped, user) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let root = scratch().path();
    let (sdir, udir) = (root.join("shipped"), root.join("user"));
    for d in [&sdir, &udir] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).expect("scratch");
    }
    std::fs::write(sdir.join("t.toml"), shipped).expect("scratch");
    if let Some(u) = user {
        std::fs::write(udir.join("u.toml"), u).expect("scratch");
    }
    match laws::load::load(&sdir, user.map(|_| udir.as_path())) {
        Ok(set) => {
            // A valid set answers for every jurisdiction it holds.
            for id in set.jurisdictions.keys() {
                assert!(set.chain(id).count() >= 1);
            }
        }
        Err(e) => {
            assert!(!e.0.is_empty(), "an error without a problem");
            for p in &e.0 {
                let text = std::fs::read(&p.file).unwrap_or_default();
                let lines = text.split(|&b| b == b'\n').count().max(1);
                // Line 0 is a problem of the whole file (unreadable, not UTF-8).
                assert!(p.line <= lines + 1, "line {} of {lines}: {p}", p.line);
                assert!(p.line > 0 || p.column == 0, "{p}");
                let _ = p.to_string();
            }
        }
    }
}

/// The shipped tables of this source tree, loaded once.
fn shipped() -> &'static Arc<LawSet> {
    static SET: OnceLock<Arc<LawSet>> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../laws"));
        Arc::new(laws::load::load(&dir, None).expect("the shipped tables load"))
    })
}

/// Phone numbers and jurisdiction ids, as a D-Bus client may send them: the input (lossy
/// UTF-8) is looked up, resolved with and without a default country, and evaluated. A party
/// that resolves is in the tables; a decision lists at least one governing rule or says why
/// not.
pub fn phone_number(data: &[u8]) {
    let set = shipped();
    let text = String::from_utf8_lossy(data);
    for country in [None, Some("US"), Some("DE"), Some("GB")] {
        let _ = laws::number::lookup(set, &text, country);
        if let Ok(party) = laws::eval::resolve(set, &text, country) {
            let recorder = laws::eval::resolve_recorder(set, "US-TX").expect("US-TX");
            let d = laws::eval::evaluate(
                set,
                &recorder,
                std::slice::from_ref(&party),
                onrecord_interface::Medium::Phone,
            );
            let _ = serde_json::to_string(&d).expect("a decision serializes");
        }
    }
}

/// The evidence verifier against a hostile manifest: the input is `manifest.json`, signed with a
/// fixed key so verification goes past the signature, beside a real recording (a WAV and its
/// journal). The report must name its checks; it may pass only if the manifest's files are the
/// ones on disk.
pub fn manifest(data: &[u8]) {
    use onrecord_evidence::key;
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = scratch().path().join("call");
        std::fs::create_dir_all(&d).expect("scratch");
        // A tiny recording: 16-bit mono 8 kHz, one block, chained as the recorder does.
        let pcm: Vec<u8> = (0..1600u32)
            .flat_map(|i| (i as i16).to_le_bytes())
            .collect();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(d.join("audio.wav"), spec).expect("wav");
        for s in pcm.chunks(2) {
            w.write_sample(i16::from_le_bytes([s[0], s[1]]))
                .expect("wav");
        }
        w.finalize().expect("wav");
        let mut chain = onrecord_evidence::Chain::new(1600);
        let mut journal = String::new();
        chain.update(&pcm, |b| {
            journal.push_str(&serde_json::to_string(&b).expect("block"));
            journal.push('\n');
        });
        if let Some(b) = chain.finish() {
            journal.push_str(&serde_json::to_string(&b).expect("block"));
            journal.push('\n');
        }
        std::fs::write(
            d.join(onrecord_evidence::journal_name("audio.wav")),
            journal,
        )
        .expect("journal");
        d
    });
    let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    std::fs::write(dir.join("manifest.json"), data).expect("scratch");
    std::fs::write(dir.join("manifest.sig"), key::sign_hex(&signing, data)).expect("scratch");
    static WAV: onrecord_plugin::StorageReaderV1 =
        onrecord_plugin::ffi::reader_vtable::<onrecord_storage_wav::WavReader>();
    let readers = onrecord_evidence::Readers::from_vtables([&WAV]);
    let report = onrecord_evidence::verify::verify_dir(dir, &readers);
    assert!(!report.checks.is_empty(), "a report says what it checked");
}

/// The host's side of the plugin ABI: what a capture plugin hands the daemon. The input chooses
/// a format the plugin negotiated (refused unless valid), then deliveries (frame counts within
/// the buffer, per the ABI, capture times of any value), events with any bytes, and a device
/// list's text. The daemon takes them without panicking; the clock fitted to the deliveries'
/// times gives finite frames or none.
pub fn plugin_abi(data: &[u8]) {
    crate::recording::fuzz_sink(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(d) = onrecord_plugin::DeviceInfo::from_lines(text)
    {
        assert_eq!(
            onrecord_plugin::DeviceInfo::from_lines(&d.to_lines()).as_ref(),
            Ok(&d),
            "a device's lines read back as the device"
        );
    }
}

/// What PipeWire's server sends the call detector: the bytes are read as the reader reads its
/// socket, message after message. Each is whole before it is read, takes bytes (the reader
/// always moves on), and means something or nothing; nothing panics.
pub fn pipewire_wire(data: &[u8]) {
    use crate::service::detect::pw_wire::{Event, next_message};
    let mut at = 0;
    while let Ok(Some((msg, used))) = next_message(&data[at..]) {
        assert!(
            used >= 16 && at + used <= data.len(),
            "{used} bytes of {}",
            data.len() - at
        );
        at += used;
        let _ = Event::of(&msg);
    }
}

#[cfg(test)]
mod tests {
    /// Every input committed under `fuzz/regressions/<target>/` (crashes the fuzzers found,
    /// and inputs written by hand for cases they did not reach) runs through its target.
    #[test]
    fn fuzz_regressions() {
        let root =
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/regressions"));
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 5] = [
            ("law_toml", super::law_toml),
            ("phone_number", super::phone_number),
            ("manifest", super::manifest),
            ("plugin_abi", super::plugin_abi),
            ("pipewire_wire", super::pipewire_wire),
        ];
        let mut ran = 0;
        for (name, target) in targets {
            let dir = root.join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                eprintln!("{name}: {}", path.display());
                target(&std::fs::read(&path).unwrap());
                ran += 1;
            }
        }
        let _ = std::fs::remove_dir_all(super::scratch().path());
        assert!(
            ran >= 4,
            "only {ran} regression inputs found under {}",
            root.display()
        );
    }
}
