//! The archive's upload (release build, over a private bus): a call of `BENCH_ARCHIVE_MINUTES`
//! (default 60) of 48 kHz stereo, recorded by onrecordd into WAV through capture-file at 100x
//! real time, sealed, then archived into a local moto S3 server with Object Lock; in the same
//! run, boto3 (the AWS SDK for Python) puts the same audio file into the same server, as the
//! reference.
//!
//! - upload throughput: every byte of the call's objects over the time from the archive's
//!   first record (archive.json written) to its last (archived), against boto3's on the audio;
//! - the daemon's CPU seconds while uploading, per GB;
//! - the daemon's resident memory while uploading: its peak, and the peak over what it held
//!   just before (the upload streams from disk: no copy of the file in memory).

use onrecord_tests::TestEnv;
use onrecord_tests::s3::{Moto, free_port};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A stereo 48 kHz 16-bit WAV of `seconds` of noise, written a block at a time.
fn clip(path: &Path, seconds: u64) {
    let spec = onrecord_tests::STEREO_48K;
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut x: u32 = 0x2545_f491;
    let mut block = w.get_i16_writer((seconds * 48_000 * 2) as u32);
    for _ in 0..seconds * 48_000 * 2 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        block.write_sample((x >> 20) as i16 - 2048);
    }
    block.flush().unwrap();
    w.finalize().unwrap();
}

/// Samples `pid`'s resident memory every 10 ms until `done`; the largest seen (KiB).
fn sample_peak(pid: u32, done: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let peak = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        while !done.load(Ordering::SeqCst) {
            if let Some(k) = onrecord_tests::status_kib(pid, "VmRSS:") {
                peak.fetch_max(k, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        peak.load(Ordering::SeqCst)
    })
}

fn read_state(dir: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(dir.join("archive.json")).ok()?).ok()
}

fn main() {
    let minutes: u64 = std::env::var("BENCH_ARCHIVE_MINUTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mut env = TestEnv::new();
    let moto = Moto::start(free_port(), &env.dir.path().join("moto.log"));
    moto.boto("calls", &["mkbucket"]);
    let source = env.dir.path().join("call.wav");
    clip(&source, minutes * 60);
    let credentials = env.dir.path().join("s3-credentials");
    std::fs::write(
        &credentials,
        "access_key_id = \"test\"\nsecret_access_key = \"test\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(
        &env.config,
        format!(
            "jurisdiction = \"US-TX\"\n[detect]\nmodem = false\npipewire = false\ngnome_calls = false\n\
             [capture]\nsource = \"capture-file\"\nstorage = \"storage-wav\"\n\
             [capture.source_options]\npath = \"{}\"\nspeed = \"100\"\n\
             [archive]\nendpoint = \"{}\"\nbucket = \"calls\"\ncredentials_file = \"{}\"\n\
             object_lock = \"compliance\"\nretention_days = 1\n",
            source.display(),
            moto.endpoint,
            credentials.display()
        ),
    )
    .unwrap();
    env.start_daemon();
    std::thread::sleep(Duration::from_secs(1));
    let pid = env.daemon_pid().unwrap();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "archive-bench"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    let dir = env.call_dir();
    let audio = dir.join("audio.wav");
    // Recorded once the file stops growing (the clip has ended).
    let (mut last, mut still) = (0, Instant::now());
    loop {
        let have = std::fs::metadata(&audio).map_or(0, |m| m.len());
        if have != last {
            (last, still) = (have, Instant::now());
        } else if have > 0 && still.elapsed() > Duration::from_secs(2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    env.call(&["stop"]);

    // The upload: from archive.json's first write to the archived record.
    let deadline = Instant::now() + Duration::from_secs(3600);
    while read_state(&dir).is_none() {
        assert!(Instant::now() < deadline, "never queued");
        std::thread::sleep(Duration::from_millis(5));
    }
    let started = Instant::now();
    let cpu_before = onrecord_tests::cpu_seconds(pid);
    let rss_before = onrecord_tests::status_kib(pid, "VmRSS:").unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let peak = sample_peak(pid, done.clone());
    loop {
        let state = read_state(&dir);
        if state
            .as_ref()
            .is_some_and(|s| s["archived_us"].as_u64().unwrap_or(0) > 0)
        {
            break;
        }
        if let Some(s) = &state {
            assert!(
                s["attempts"].as_u64().unwrap_or(0) == 0,
                "an attempt failed: {s}"
            );
        }
        assert!(Instant::now() < deadline, "never archived");
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = started.elapsed().as_secs_f64();
    let cpu = onrecord_tests::cpu_seconds(pid) - cpu_before;
    done.store(true, Ordering::SeqCst);
    let peak = peak.join().unwrap();
    let bytes: u64 = onrecordd_files(&dir)
        .iter()
        .map(|n| std::fs::metadata(dir.join(n)).unwrap().len())
        .sum();
    let audio_bytes = std::fs::metadata(&audio).unwrap().len();
    env.stop_daemon();

    // The reference: boto3 puts the same audio file (one PUT, with its SHA-256).
    let t = Instant::now();
    let out =
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/python"))
            .args(["-W", "ignore"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/s3.py"))
            .args([
                moto.endpoint.as_str(),
                "calls",
                "put-sha256",
                "reference/audio.wav",
            ])
            .arg(&audio)
            .output()
            .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference_s = t.elapsed().as_secs_f64();

    let mb_s = bytes as f64 / 1e6 / took;
    let reference_mb_s = audio_bytes as f64 / 1e6 / reference_s;
    let gb = bytes as f64 / 1e9;
    let rows = vec![
        onrecord_tests::bench_row(
            &format!("archive upload of a {minutes}-minute call (WAV) to a local moto"),
            format!(
                "{:.0} MB in {took:.1} s: {mb_s:.0} MB/s vs boto3 {reference_mb_s:.0} MB/s ({:.2}x)",
                bytes as f64 / 1e6,
                mb_s / reference_mb_s
            ),
            "",
            None,
        ),
        onrecord_tests::bench_row(
            "onrecordd CPU while uploading",
            format!(
                "{cpu:.2} s ({:.2} s per GB, {:.0} % of a core)",
                cpu / gb,
                cpu / took * 100.0
            ),
            "",
            None,
        ),
        onrecord_tests::bench_row(
            "onrecordd resident memory while uploading: peak, and over before",
            format!(
                "{:.1} MiB, +{:.1} MiB",
                peak as f64 / 1024.0,
                peak.saturating_sub(rss_before) as f64 / 1024.0
            ),
            "",
            None,
        ),
    ];
    onrecord_tests::print_bench_rows(
        "the archive's upload (release; moto S3 with Object Lock on loopback)",
        &rows,
    );
    onrecord_tests::write_bench_rows("archive", &rows);
}

/// The files the archive holds for the call in `dir`, as archive.json lists them.
fn onrecordd_files(dir: &Path) -> Vec<String> {
    read_state(dir).unwrap()["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect()
}
