//! The reliability suite: crashes at random moments, a full disk, a clean shutdown. Bounded
//! here (CI); `make reliability` runs it at full size (`ONRECORD_RELIABILITY=full`: 20 killed
//! recordings). `ONRECORD_RELIABILITY_SEED` replays a run's random moments.

use onrecord_tests::TestEnv;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn full() -> bool {
    std::env::var("ONRECORD_RELIABILITY").is_ok_and(|v| v == "full")
}

/// SplitMix64: the random moments, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("ONRECORD_RELIABILITY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("reliability seed: ONRECORD_RELIABILITY_SEED={seed}");
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The recording's samples (interleaved i16), WAV or FLAC.
fn samples(path: &Path) -> Vec<i16> {
    if path.extension().is_some_and(|e| e == "flac") {
        let mut r = claxon::FlacReader::open(path).unwrap();
        r.samples().map(|s| s.unwrap() as i16).collect()
    } else {
        hound::WavReader::open(path)
            .unwrap()
            .samples::<i16>()
            .map(Result::unwrap)
            .collect()
    }
}

/// The directory of call `id` (named `<date>_<label>_<id>`).
fn dir_of(env: &TestEnv, id: &str) -> std::path::PathBuf {
    std::fs::read_dir(env.data_dir.join("calls"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().ends_with(id))
        .unwrap_or_else(|| panic!("no directory for call {id}"))
}

fn verify(env: &TestEnv, id: &str) -> (i32, String) {
    let (code, out, err) = env.ctl_run(&["verify", id]);
    (code, format!("{out}{err}"))
}

/// Where the moment of the kill fell.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// While recording, this long after it started.
    Recording(Duration),
    /// While the call was being stopped (the file finished, the evidence sealed).
    Stopping(Duration),
}

#[test]
fn kill9_at_random_moments_leaves_every_recording_recoverable_and_verified() {
    let n = if full() { 20 } else { 4 };
    let mut rng = Rng::new();
    let mut env = TestEnv::new();
    // Eight seconds of noise, every sample distinct, played in real time.
    let (clip, clip_samples) = onrecord_tests::noise_clip(env.dir.path(), 8.0);
    let mut kills = Vec::new();
    for i in 0..n {
        // Every other recording is FLAC.
        let storage = if i % 2 == 0 {
            "storage-wav"
        } else {
            "storage-flac"
        };
        env.configure_capture(&clip, "realtime", 1000, storage, "");
        env.start_daemon();
        let created = env.ctl_json(&[
            "call",
            "new",
            "--them",
            "US-TX",
            "--label",
            &format!("r{i}"),
        ]);
        let id = created["id"].as_str().expect("an id").to_owned();
        env.call(&["notice", &id]);
        env.call(&["start", &id]);
        let started = Instant::now();
        let moment = if rng.below(4) == 0 {
            // Stop, and kill while the daemon finishes and seals the recording.
            std::thread::sleep(Duration::from_millis(500 + rng.below(2500)));
            let mut stop = env.ctl_spawn(&["call", "stop", &id]);
            let after = Duration::from_millis(rng.below(60));
            std::thread::sleep(after);
            let m = Moment::Stopping(started.elapsed());
            env.kill9_daemon();
            let _ = stop.wait();
            m
        } else {
            std::thread::sleep(Duration::from_millis(rng.below(4000)));
            let m = Moment::Recording(started.elapsed());
            env.kill9_daemon();
            m
        };
        kills.push((id, storage, moment));
    }
    // The daemon that comes back restores every call; each verifies, and holds the clip from its
    // start up to about its last synced second.
    env.start_daemon();
    let mut recovered = 0;
    for (id, storage, moment) in &kills {
        let show = env.ctl_json(&["call", "show", id]);
        let state = show["state"].as_str().unwrap().to_owned();
        assert!(
            state == "interrupted" || state == "stopped",
            "{id} ({moment:?}): {state}"
        );
        let (code, report) = verify(&env, id);
        assert_eq!(
            code, 0,
            "{id} ({storage}, {moment:?}) does not verify:\n{report}"
        );
        let dir = dir_of(&env, id);
        let ext = if *storage == "storage-flac" {
            "flac"
        } else {
            "wav"
        };
        let audio = samples(&dir.join(format!("audio.{ext}")));
        assert!(
            audio[..] == clip_samples[..audio.len()],
            "{id}: the recovered audio is not the clip"
        );
        let seconds = audio.len() as f64 / 2.0 / 48_000.0;
        let killed_at = match moment {
            Moment::Recording(d) | Moment::Stopping(d) => d.as_secs_f64(),
        };
        // Synced every second; the writer runs a quarter of a second behind the source.
        assert!(
            seconds >= killed_at - 1.5,
            "{id} ({storage}, {moment:?}): only {seconds:.2} s of {killed_at:.2} s recovered\n{report}"
        );
        // What the evidence seals: every block, or (interrupted) whole seconds up to the last
        // sync before the kill.
        let sealed = match report.split("verified up to block ").nth(1) {
            Some(rest) => {
                let n: f64 = rest.split_whitespace().next().unwrap().parse().unwrap();
                n + 1.0
            }
            None => {
                assert!(report.contains("every block of audio matches"), "{report}");
                seconds
            }
        };
        assert!(
            sealed >= killed_at - 2.0,
            "{id} ({storage}, {moment:?}): {sealed} s sealed of {killed_at:.2} s\n{report}"
        );
        if state == "interrupted" {
            recovered += 1;
        }
        eprintln!(
            "{id}: {storage} killed {moment:?}: {state}, {seconds:.2} s recovered, {sealed} s sealed"
        );
    }
    eprintln!(
        "{} recordings killed, {recovered} repaired after the crash, {} stopped before it; all verified",
        kills.len(),
        kills.len() - recovered
    );
    assert!(env.daemon_alive());
}

/// A call recording 6 s of noise in real time, 1.5 s in: its id and the clip's samples.
fn recording_under_way(env: &mut TestEnv) -> (String, Vec<i16>) {
    let (clip, clip_samples) = onrecord_tests::noise_clip(env.dir.path(), 6.0);
    env.configure_capture(&clip, "realtime", 1000, "storage-wav", "");
    env.start_daemon();
    let created = env.ctl_json(&["call", "new", "--them", "US-TX"]);
    let id = created["id"].as_str().unwrap().to_owned();
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(1500));
    (id, clip_samples)
}

#[test]
fn sigterm_finishes_and_seals_a_recording_in_progress() {
    let mut env = TestEnv::new();
    let (id, clip_samples) = recording_under_way(&mut env);
    let status = env.stop_daemon();
    assert!(status.success(), "{status}");
    assert!(
        env.log().contains("recordings finished and sealed"),
        "{}",
        env.log()
    );
    let dir = env.call_dir();
    // Sealed by the daemon that stopped, not repaired by the next: the manifest is there now.
    assert!(dir.join("manifest.json").is_file() && dir.join("manifest.sig").is_file());
    env.start_daemon();
    assert!(
        !env.log().contains("recording repaired after a crash"),
        "{}",
        env.log()
    );
    let show = env.ctl_json(&["call", "show", &id]);
    assert_eq!(show["state"], "interrupted");
    let (code, report) = verify(&env, &id);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("every block of audio matches"), "{report}");
    let audio = samples(&dir.join("audio.wav"));
    assert!(audio.len() >= 48_000 * 2, "{}", audio.len());
    assert!(audio[..] == clip_samples[..audio.len()]);
}

#[test]
fn losing_the_session_bus_finishes_and_seals_the_recording_and_exits() {
    let mut env = TestEnv::new();
    let (id, clip_samples) = recording_under_way(&mut env);
    env.bus.kill();
    let status = env
        .wait_daemon_exit(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("still running 20 s after its bus went away:\n{}", env.log()));
    assert!(status.success(), "{status}\n{}", env.log());
    let log = env.log();
    assert!(log.contains("the session bus went away"), "{log}");
    assert!(log.contains("recordings finished and sealed"), "{log}");
    let dir = env.call_dir();
    assert!(dir.join("manifest.json").is_file() && dir.join("manifest.sig").is_file());
    // A new session: the call is there, interrupted, and its evidence verifies.
    env.bus = onrecord_tests::Bus::start();
    env.start_daemon();
    assert!(!env.log().contains("recording repaired after a crash"));
    let show = env.ctl_json(&["call", "show", &id]);
    assert_eq!(show["state"], "interrupted");
    let (code, report) = verify(&env, &id);
    assert_eq!(code, 0, "{report}");
    let audio = samples(&dir.join("audio.wav"));
    assert!(audio.len() >= 48_000 * 2, "{}", audio.len());
    assert!(audio[..] == clip_samples[..audio.len()]);
}

/// A tmpfs of `size` mounted at `at` (root, as CI runs), unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .expect("mount")
            .success();
        assert!(ok, "mounting a tmpfs needs root (CI runs as root)");
        Tmpfs(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_recording_cleanly_and_the_daemon_keeps_serving() {
    let mut env = TestEnv::new();
    let (clip, clip_samples) = onrecord_tests::noise_clip(env.dir.path(), 30.0);
    // 2 MiB: the records and the key fit, about 10 s of 48 kHz stereo does not. Played 8x.
    let _disk = Tmpfs::mount(&env.data_dir, "2m");
    env.configure_capture(&clip, "realtime", 1000, "storage-wav", "");
    let config = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace("pace = \"realtime\"", "speed = \"8\"");
    std::fs::write(&env.config, config).unwrap();
    env.start_daemon();
    let created = env.ctl_json(&["call", "new", "--them", "US-TX"]);
    let id = created["id"].as_str().unwrap().to_owned();
    env.call(&["notice"]);
    env.call(&["start"]);
    // The disk fills within about a second and a half of recording; the call stops itself.
    let deadline = Instant::now() + Duration::from_secs(20);
    let show: Value = loop {
        let show = env.ctl_json(&["call", "show", &id]);
        if show["state"] != "recording" {
            break show;
        }
        assert!(
            Instant::now() < deadline,
            "the call still records on a full disk"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(show["state"], "stopped", "{show}");
    let timeline = show["timeline"].to_string();
    assert!(
        // A full disk is a failed write, told apart from a refused format.
        timeline.contains("the recording failed and stopped (writing failed)")
            && timeline.contains("No space left"),
        "{timeline}"
    );
    // The file is valid and holds the clip's start, exactly.
    let dir = dir_of(&env, &id);
    let audio = samples(&dir.join("audio.wav"));
    assert!(audio.len() > 48_000, "{}", audio.len());
    assert!(audio[..] == clip_samples[..audio.len()]);
    // The daemon keeps serving: queries answer, and a new call is refused with a clear error
    // or accepted, never a crash.
    assert!(env.daemon_alive());
    let d = env.ctl_json(&["laws", "check", "--them", "US-CA"]);
    assert_eq!(d["requirement"], "all-party");
    let (code, _, err) = env.ctl_run(&["call", "new", "--them", "US-TX"]);
    assert!(
        code == 0 || (code == 1 && err.lines().count() == 1),
        "{code}: {err}"
    );
    assert!(env.daemon_alive());
    eprintln!(
        "full disk: stopped after {:.2} s recorded",
        audio.len() as f64 / 96_000.0
    );
}
