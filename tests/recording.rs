//! The recording path end to end: the capture-file plugin feeds a call, storage-wav writes it,
//! and the call's consent decides when anything is written.

use onrecord_tests::TestEnv;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn clip(dir: &Path, seconds: f64) -> (PathBuf, Vec<i16>) {
    onrecord_tests::noise_clip(dir, seconds)
}

fn configure(env: &TestEnv, clip: &Path, pace: &str, sync_ms: u64) {
    env.configure_capture(clip, pace, sync_ms, "storage-wav", "");
}

fn configure_storage(env: &TestEnv, clip: &Path, pace: &str, sync_ms: u64, storage: &str) {
    env.configure_capture(clip, pace, sync_ms, storage, "");
}

fn call_dir(env: &TestEnv) -> PathBuf {
    env.call_dir()
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn read_wav(path: &Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_wav_recording_is_bit_exact_and_nothing_is_written_before_consent() {
    let mut env = TestEnv::new();
    let (clip, samples) = clip(env.dir.path(), 2.0);
    configure(&env, &clip, "fast", 1000);
    env.start_daemon();
    env.ctl_json(&[
        "call",
        "new",
        "--them",
        "+1 415 555 0100",
        "--label",
        "exact",
    ]);
    env.call(&["notice"]);
    let dir = call_dir(&env);
    // Told, not yet agreed: the start is refused and no audio file exists.
    assert_eq!(env.ctl_run(&["call", "start"]).0, 4);
    assert_eq!(files(&dir), ["call.json"]);
    env.call(&["consent", "yes"]);
    assert_eq!(files(&dir), ["call.json"]);
    env.call(&["start"]);
    // The fast file source delivers the clip at once; let the writer drain it.
    std::thread::sleep(Duration::from_millis(500));
    env.call(&["stop"]);
    let show = env.ctl_json(&["call", "show"]);
    assert_eq!(show["recording_files"][0], "audio.wav");
    // Offsets come from the frames captured: the whole 2 s clip was in when the call stopped.
    let stopped = show["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "stopped")
        .unwrap()
        .clone();
    assert_eq!(stopped["audio_offset_us"], 2_000_000, "{stopped}");
    // What capture did is in the timeline, overruns included.
    let last = show["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "capture");
    assert_eq!(
        last["detail"],
        format!(
            "{} frames written, 0 lost to overruns, 0 not written while paused",
            samples.len() / 2
        )
    );
    let recorded = read_wav(&dir.join("audio.wav"));
    assert_eq!(
        recorded.len(),
        samples.len(),
        "every frame, and nothing else"
    );
    assert!(recorded == samples, "the recording differs from the clip");
    let spec = hound::WavReader::open(dir.join("audio.wav"))
        .unwrap()
        .spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 48_000, 16)
    );
    assert_eq!(onrecord_tests::mode(&dir.join("audio.wav")), 0o600);
}

#[test]
fn a_flac_recording_is_bit_exact() {
    let mut env = TestEnv::new();
    let (clip, samples) = clip(env.dir.path(), 1.5);
    configure_storage(&env, &clip, "fast", 1000, "storage-flac");
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "flac"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(500));
    env.call(&["stop"]);
    let dir = call_dir(&env);
    assert_eq!(
        files(&dir),
        [
            "audio.flac",
            "audio.flac.chain",
            "call.json",
            "manifest.json",
            "manifest.sig"
        ]
    );
    // The chain seals the PCM, so a FLAC recording verifies by decoding it.
    let (code, out, err) = env.ctl_run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let mut r = claxon::FlacReader::open(dir.join("audio.flac")).unwrap();
    assert_eq!(
        (r.streaminfo().channels, r.streaminfo().sample_rate),
        (2, 48_000)
    );
    let decoded: Vec<i16> = r.samples().map(|s| s.unwrap() as i16).collect();
    assert_eq!(decoded.len(), samples.len());
    assert!(
        decoded == samples,
        "the FLAC recording differs from the clip"
    );
}

#[test]
fn a_recording_killed_mid_call_is_repaired_and_holds_what_was_synced() {
    let mut env = TestEnv::new();
    let (clip, samples) = clip(env.dir.path(), 6.0);
    configure(&env, &clip, "realtime", 500);
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "crash"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(1800));
    env.kill9_daemon();
    let dir = call_dir(&env);
    env.start_daemon();
    let show = env.ctl_json(&["call", "show"]);
    assert_eq!(show["state"], "interrupted");
    assert!(
        env.log().contains("recording repaired after a crash"),
        "{}",
        env.log()
    );
    let recorded = read_wav(&dir.join("audio.wav"));
    // Synced every 0.5 s and killed after 1.8 s: at least a second survives, all of it exact.
    assert!(
        recorded.len() >= 48_000 * 2,
        "only {} samples survived",
        recorded.len()
    );
    assert!(recorded.len() < samples.len());
    assert!(
        recorded[..] == samples[..recorded.len()],
        "the surviving audio differs from the clip"
    );
}

#[test]
fn a_missing_capture_plugin_is_a_clear_error_and_the_daemon_serves() {
    // It used to be fatal at start: the law queries and every call went with it.
    let mut env = TestEnv::new();
    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[capture]\nsource = \"capture-nothing\"\n",
    )
    .unwrap();
    env.start_daemon();
    assert!(
        env.log()
            .contains("\"capture-nothing\", which is not loaded (see `onrecordctl plugins`): recording is unavailable"),
        "{}",
        env.log()
    );
    env.ctl_json(&["call", "new", "--them", "US-TX"]);
    env.call(&["notice"]);
    let (code, _, err) = env.ctl_run(&["call", "start"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("CaptureFailed") && err.contains("\"capture-nothing\", which is not loaded"),
        "{err}"
    );
    assert_eq!(env.ctl_json(&["call", "show"])["state"], "ready");
}

#[test]
fn a_pause_leaves_a_gap_of_the_paused_time() {
    let mut env = TestEnv::new();
    let (clip, samples) = clip(env.dir.path(), 4.0);
    configure(&env, &clip, "realtime", 1000);
    // Deliver in 5 ms pieces, so that the gap can be measured finely.
    let config = std::fs::read_to_string(&env.config).unwrap() + "chunk_ms = \"5\"\n";
    std::fs::write(&env.config, config).unwrap();
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "pause"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(800));
    env.call(&["pause"]);
    std::thread::sleep(Duration::from_millis(1000));
    env.call(&["resume"]);
    std::thread::sleep(Duration::from_millis(700));
    env.call(&["stop"]);
    let show = env.ctl_json(&["call", "show"]);
    let at = |kind: &str| -> i64 {
        show["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap()["monotonic_us"]
            .as_i64()
            .unwrap()
    };
    let paused_us = at("resumed") - at("paused");

    let recorded = read_wav(&call_dir(&env).join("audio.wav"));
    let frames = |s: &[i16]| s.len() / 2;
    // The recording is the clip up to the pause, then the clip from where the resume found it.
    let a = recorded
        .iter()
        .zip(&samples)
        .position(|(r, s)| r != s)
        .expect("a gap")
        / 2
        * 2;
    let probe = &recorded[a..a + 200];
    let b = (a..samples.len() - 200)
        .step_by(2)
        .find(|&i| &samples[i..i + 200] == probe)
        .expect("the audio after the gap comes from the clip");
    let rest = recorded.len() - a;
    assert!(
        recorded[a..] == samples[b..b + rest],
        "after the gap, the recording follows the clip exactly"
    );
    let gap_us = (frames(&samples[a..b]) as i64) * 1_000_000 / 48_000;
    assert!(
        (gap_us - paused_us).abs() <= 30_000,
        "the gap in the audio ({gap_us} µs) should be the paused time ({paused_us} µs)"
    );
    assert!(frames(&recorded) > 48_000, "about 1.5 s were recorded");
}

#[test]
fn a_float_source_is_converted_for_a_16_bit_storage() {
    let mut env = TestEnv::new();
    // A float clip whose samples are exact multiples of 1/32768, so the conversion is exact.
    let path = env.dir.path().join("float.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    let expected: Vec<i16> = (0..48_000 * 2)
        .map(|i| ((i * 37) % 65536 - 32768) as i16)
        .collect();
    for s in &expected {
        w.write_sample(*s as f32 / 32768.0).unwrap();
    }
    w.finalize().unwrap();
    configure_storage(&env, &path, "fast", 1000, "storage-flac");
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "float"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(500));
    env.call(&["stop"]);
    assert!(
        env.log().contains("stored=AudioFormat { sample_format: 1"),
        "{}",
        env.log()
    );
    let mut r = claxon::FlacReader::open(call_dir(&env).join("audio.flac")).unwrap();
    let decoded: Vec<i16> = r.samples().map(|s| s.unwrap() as i16).collect();
    assert_eq!(decoded.len(), expected.len());
    assert!(decoded == expected, "the converted recording differs");
}

#[test]
fn a_source_at_another_rate_is_resampled_for_a_storage_that_needs_48k() {
    let mut env = TestEnv::new();
    std::fs::copy(
        onrecord_tests::test_plugin("testplugin_storage_48k"),
        env.plugin_dir.join("lib48k.so"),
    )
    .unwrap();
    // One second of a 1 kHz tone, stereo, at 44.1 kHz.
    let path = env.dir.path().join("tone.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..44_100 {
        let v = ((i as f32 * 1000.0 * std::f32::consts::TAU / 44_100.0).sin() * 16_000.0) as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    configure_storage(&env, &path, "fast", 1000, "storage-48k");
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "resample"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(500));
    env.call(&["stop"]);
    let raw = std::fs::read(call_dir(&env).join("audio.pcm48")).unwrap();
    let left: Vec<i16> = raw
        .chunks_exact(4)
        .map(|f| i16::from_le_bytes([f[0], f[1]]))
        .collect();
    assert_eq!(left.len(), 48_000, "one second at 48 kHz");
    let mid = &left[4_800..43_200];
    let crossings = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    let expected = 2.0 * 1000.0 * mid.len() as f64 / 48_000.0;
    assert!(
        (crossings as f64 - expected).abs() <= 2.0,
        "{crossings} zero crossings, expected {expected}: the pitch moved"
    );
}

/// Evidence is read back only through a storage plugin that reads its format: a recording in a
/// format no installed plugin reads is "unsupported format", never its bytes taken as audio,
/// while the checks that need no reading (hashes, the chain) still run.
#[test]
fn a_recording_no_installed_plugin_reads_is_an_unsupported_format() {
    let mut env = TestEnv::new();
    std::fs::copy(
        onrecord_tests::test_plugin("testplugin_storage_48k"),
        env.plugin_dir.join("lib48k.so"),
    )
    .unwrap();
    let (clip, _) = clip(env.dir.path(), 1.0);
    configure_storage(&env, &clip, "fast", 1000, "storage-48k");
    env.start_daemon();
    let id = env.record_call("unreadable", 300);
    let dir = call_dir(&env);
    assert!(dir.join("audio.pcm48").exists());
    for target in [id.as_str(), dir.to_str().unwrap()] {
        let (code, out, err) = env.ctl_run(&["verify", target]);
        assert_ne!(code, 0, "{out}{err}");
        assert!(
            out.contains("audio.pcm48: SHA-256 matches the manifest")
                && out.contains("chain of ")
                && out.contains("unsupported format \"pcm48\"")
                && out.contains("wav")
                && out.contains("flac"),
            "{out}{err}"
        );
    }
    // Export still bundles what was recorded, and says the same of the audio.
    let bundle = env.dir.path().join("call.zip");
    let (code, out, err) = env.ctl_run(&["export", &id, "--to", bundle.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = env.ctl_run(&["verify", bundle.to_str().unwrap()]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(out.contains("unsupported format"), "{out}{err}");
    // Analysis reads through the same readers: nothing to read here, said in one line.
    let (code, _, err) = env.ctl_run(&["analyze", dir.join("audio.pcm48").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unsupported format \"pcm48\"") && err.lines().count() == 1,
        "{err}"
    );
    let (code, _, err) = env.ctl_run(&["analyze", &id]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no recording in this call's directory"),
        "{err}"
    );
}

/// A storage plugin with a reader needs nothing else: the SDK example's raw PCM (no header,
/// its format only in the manifest) verifies and analyzes like a WAV of the same audio.
#[test]
fn a_storage_plugins_own_reader_serves_verify_and_analyze() {
    let mut env = TestEnv::new();
    let (clip, samples) = clip(env.dir.path(), 2.0);
    configure_storage(&env, &clip, "fast", 1000, "storage-raw");
    env.start_daemon();
    let id = env.record_call("raw", 500);
    let dir = call_dir(&env);
    let raw = std::fs::read(dir.join("audio.raw")).unwrap();
    let pcm: Vec<i16> = raw
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(pcm == samples, "the raw recording differs from the clip");
    let (code, out, err) = env.ctl_run(&["verify", &id]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("audio.raw: every block of audio matches"),
        "{out}"
    );
    // The same audio as a WAV, analysed by the general decoder: the same summary.
    let wav = env.dir.path().join("same.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for s in &pcm {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
    let from_raw = env.ctl_json(&["analyze", &id]);
    let from_wav = env.ctl_json(&["analyze", wav.to_str().unwrap()]);
    assert_eq!(from_raw["summary"], from_wav["summary"]);
    assert_eq!(
        (from_raw["rate"].as_u64(), from_raw["channels"].as_u64()),
        (Some(48_000), Some(2))
    );
    assert!((from_raw["summary"]["duration_s"].as_f64().unwrap() - 2.0).abs() < 0.1);
}

#[test]
fn two_mono_files_feed_the_two_sides_of_a_call() {
    let mut env = TestEnv::new();
    let mono = |name: &str, n: usize, seed: i32| -> (PathBuf, Vec<i16>) {
        let path = env.dir.path().join(name);
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        let s: Vec<i16> = (0..n as i32)
            .map(|i| ((i * seed) % 30_000) as i16)
            .collect();
        for v in &s {
            w.write_sample(*v).unwrap();
        }
        w.finalize().unwrap();
        (path, s)
    };
    let (customer, left) = mono("customer.wav", 16_000, 7);
    let (agent, right) = mono("agent.wav", 12_000, 13);
    std::fs::write(
        &env.config,
        format!(
            "jurisdiction = \"US-TX\"\n[capture]\nsource = \"capture-file\"\n[capture.source_options]\nleft = \"{}\"\nright = \"{}\"\npace = \"fast\"\n",
            customer.display(),
            agent.display()
        ),
    )
    .unwrap();
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "sides"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(400));
    env.call(&["stop"]);
    let recorded = read_wav(&call_dir(&env).join("audio.wav"));
    assert_eq!(
        recorded.len(),
        2 * 16_000,
        "as long as the longer side, in stereo"
    );
    let l: Vec<i16> = recorded.iter().step_by(2).copied().collect();
    let r: Vec<i16> = recorded.iter().skip(1).step_by(2).copied().collect();
    assert!(l == left, "the left channel is the customer's file");
    assert!(
        r[..12_000] == right[..] && r[12_000..].iter().all(|&v| v == 0),
        "the right channel is the agent's, then silence"
    );
}

/// Entries written after the stop (what capture did, the call analysis) took their offset from
/// the wall clock: with a source faster than real time they sat before the recording's end.
#[test]
fn entries_after_the_stop_sit_at_the_end_of_the_recording_not_the_wall_clock() {
    let mut env = TestEnv::new();
    let (clip, _) = clip(env.dir.path(), 3.0);
    configure(&env, &clip, "fast", 1000);
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-TX"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(500));
    env.call(&["stop"]);
    let show = env.ctl_json(&["call", "show"]);
    let timeline = show["timeline"].as_array().unwrap();
    let at_stop = timeline
        .iter()
        .position(|e| e["kind"] == "stopped")
        .unwrap();
    let after: Vec<&serde_json::Value> = timeline[at_stop + 1..].iter().collect();
    assert!(after.iter().any(|e| e["kind"] == "analysis"), "{show}");
    for e in after {
        assert_eq!(e["audio_offset_us"], 3_000_000, "{e}");
    }
}
