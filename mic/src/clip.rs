//! Announcement clips: the embedded defaults, or the user's own WAV or FLAC file, read whole
//! into mono floats before anything plays (the playback callback only copies).

/// A clip ready to play: mono samples in [-1, 1] at `rate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub rate: u32,
    pub samples: Vec<f32>,
}

impl Clip {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.rate.max(1) as f64
    }
}

/// The default clips, `<language>-<what>`: what the script `scripts/make-clips.sh` made.
const BUILTIN: &[(&str, &[u8])] = &[
    ("en-notice", include_bytes!("../clips/en-notice.flac")),
    ("en-started", include_bytes!("../clips/en-started.flac")),
    ("de-notice", include_bytes!("../clips/de-notice.flac")),
    ("de-started", include_bytes!("../clips/de-started.flac")),
    ("fr-notice", include_bytes!("../clips/fr-notice.flac")),
    ("fr-started", include_bytes!("../clips/fr-started.flac")),
    ("es-notice", include_bytes!("../clips/es-notice.flac")),
    ("es-started", include_bytes!("../clips/es-started.flac")),
];

/// A clip the longest a notice should be; a longer file is refused (a wrong file chosen).
pub const MAX_SECONDS: f64 = 120.0;

/// Reads `what`: `builtin:<name>` or a file's path (WAV of any sample format, or FLAC).
pub fn load(what: &str) -> Result<Clip, String> {
    let clip = match what.strip_prefix("builtin:") {
        Some(name) => {
            let bytes = BUILTIN
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, b)| *b)
                .ok_or_else(|| format!("no built-in clip {name:?}"))?;
            flac(std::io::Cursor::new(bytes)).map_err(|e| format!("built-in clip {name}: {e}"))?
        }
        None => {
            let file = std::fs::File::open(what).map_err(|e| format!("{what}: {e}"))?;
            let mut head = [0u8; 4];
            use std::io::{Read, Seek};
            let mut file = std::io::BufReader::new(file);
            file.read_exact(&mut head)
                .map_err(|e| format!("{what}: {e}"))?;
            file.seek(std::io::SeekFrom::Start(0))
                .map_err(|e| format!("{what}: {e}"))?;
            match &head {
                b"fLaC" => flac(file),
                b"RIFF" => wav(file),
                _ => Err("neither a WAV nor a FLAC file".into()),
            }
            .map_err(|e| format!("{what}: {e}"))?
        }
    };
    if clip.samples.is_empty() {
        return Err(format!("{what}: the clip holds no audio"));
    }
    if clip.seconds() > MAX_SECONDS {
        return Err(format!(
            "{what}: the clip is {:.0} s long; an announcement is at most {MAX_SECONDS:.0} s",
            clip.seconds()
        ));
    }
    Ok(clip)
}

/// Channels averaged into one.
fn mono(channels: usize, interleaved: impl Iterator<Item = f32>) -> Vec<f32> {
    let mut out = Vec::new();
    let (mut sum, mut n) = (0.0f32, 0usize);
    for v in interleaved {
        sum += v;
        n += 1;
        if n == channels {
            out.push(sum / channels as f32);
            (sum, n) = (0.0, 0);
        }
    }
    out
}

fn wav(r: impl std::io::Read) -> Result<Clip, String> {
    let mut r = hound::WavReader::new(r).map_err(|e| e.to_string())?;
    let spec = r.spec();
    let channels = spec.channels.max(1) as usize;
    let samples = match spec.sample_format {
        hound::SampleFormat::Float => {
            let all: Result<Vec<f32>, _> = r.samples::<f32>().collect();
            mono(channels, all.map_err(|e| e.to_string())?.into_iter())
        }
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            let all: Result<Vec<i32>, _> = r.samples::<i32>().collect();
            mono(
                channels,
                all.map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|v| v as f32 * scale),
            )
        }
    };
    Ok(Clip {
        rate: spec.sample_rate,
        samples,
    })
}

fn flac(r: impl std::io::Read) -> Result<Clip, String> {
    let mut r = claxon::FlacReader::new(r).map_err(|e| e.to_string())?;
    let info = r.streaminfo();
    let channels = info.channels.max(1) as usize;
    let scale = 1.0 / (1u64 << (info.bits_per_sample.clamp(1, 32) - 1)) as f32;
    let all: Result<Vec<i32>, _> = r.samples().collect();
    Ok(Clip {
        rate: info.sample_rate,
        samples: mono(
            channels,
            all.map_err(|e| e.to_string())?
                .into_iter()
                .map(|v| v as f32 * scale),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_clip_reads_as_speech_length_audio() {
        for (name, _) in BUILTIN {
            let clip = load(&format!("builtin:{name}")).unwrap();
            assert_eq!(clip.rate, 22_050, "{name}");
            // A notice says a sentence or three; "recording has started" a few words.
            let (lo, hi) = if name.ends_with("notice") {
                (4.0, 15.0)
            } else {
                (1.0, 5.0)
            };
            assert!(
                (lo..hi).contains(&clip.seconds()),
                "{name}: {}",
                clip.seconds()
            );
            let peak = clip.samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(peak > 0.1 && peak <= 1.0, "{name}: peak {peak}");
        }
        assert!(load("builtin:xx-notice").is_err());
    }

    /// The committed clips are what the script makes (with the tool versions it recorded).
    #[test]
    fn the_default_clips_are_reproduced_by_their_script() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("sh")
            .arg(root.join("scripts/make-clips.sh"))
            .arg(out.path())
            .status()
            .expect("sh");
        assert!(
            status.success(),
            "make-clips.sh (espeak-ng and flac installed?)"
        );
        let committed = root.join("mic/clips");
        let versions = |d: &std::path::Path| std::fs::read_to_string(d.join("VERSIONS")).unwrap();
        assert_eq!(
            versions(out.path()),
            versions(&committed),
            "other tool versions than those that made the committed clips"
        );
        for (name, bytes) in BUILTIN {
            let made = std::fs::read(out.path().join(format!("{name}.flac"))).unwrap();
            assert!(
                made == *bytes,
                "{name}.flac differs from what the script makes"
            );
        }
    }

    #[test]
    fn user_files_of_any_format_become_mono_floats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 24,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for _ in 0..800 {
            w.write_sample(1 << 22).unwrap(); // 0.5
            w.write_sample(0).unwrap();
        }
        w.finalize().unwrap();
        let clip = load(path.to_str().unwrap()).unwrap();
        assert_eq!((clip.rate, clip.samples.len()), (8000, 800));
        assert!(clip.samples.iter().all(|&v| (v - 0.25).abs() < 1e-6));

        let text = dir.path().join("t.wav");
        std::fs::write(&text, "not audio").unwrap();
        let e = load(text.to_str().unwrap()).unwrap_err();
        assert!(e.contains("neither a WAV nor a FLAC"), "{e}");
        assert!(load("/nonexistent/clip.wav").is_err());
    }
}
