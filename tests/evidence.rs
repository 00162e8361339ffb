//! Sealed evidence: a recorded call verifies; tampering with the audio or the manifest is
//! found and located; an interrupted recording verifies up to its last sealed block.

use onrecord_tests::TestEnv;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn clip(dir: &Path, seconds: usize) -> PathBuf {
    onrecord_tests::noise_clip(dir, seconds as f64).0
}

fn configure(env: &TestEnv, clip: &Path, pace: &str, sync_ms: u64) {
    env.configure_capture(clip, pace, sync_ms, "storage-wav", "");
}

fn call_dir(env: &TestEnv) -> PathBuf {
    env.call_dir()
}

/// A copy of a call directory, to tamper with.
fn copy(dir: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    to.to_owned()
}

/// Where the WAV's audio data starts (hound writes a 44-byte header for 16-bit stereo).
const DATA: usize = 44;
const SECOND: usize = 48_000 * 4;

fn verify(env: &TestEnv, target: &Path) -> (i32, String) {
    let (code, out, err) = env.ctl_run(&["verify", target.to_str().unwrap()]);
    (code, format!("{out}{err}"))
}

#[test]
fn a_recorded_call_verifies_and_tampering_is_found_where_it_is() {
    let mut env = TestEnv::new();
    let clip = clip(env.dir.path(), 3);
    configure(&env, &clip, "fast", 1000);
    env.start_daemon();
    let id = env.record_call("evidence", 500);
    let dir = call_dir(&env);

    // Untouched: by call id (through the daemon) and by directory.
    let (code, out, err) = env.ctl_run(&["verify", &id]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("verified")
            && out.contains("chain of 3 blocks intact")
            && out.contains("this installation's"),
        "{out}"
    );
    let (code, out) = verify(&env, &dir);
    assert_eq!(code, 0, "{out}");
    let key = env.ctl_run(&["key"]).1;
    assert_eq!(key.trim().len(), 64);
    assert!(
        out.contains(key.trim()),
        "the manifest names the installation's key"
    );
    let key_file = env.data_dir.join("signing.key");
    assert_eq!(onrecord_tests::mode(&key_file), 0o600);

    let t = env.dir.path();
    // One byte of audio flipped, in the second block.
    let flipped = copy(&dir, &t.join("flipped"));
    let mut audio = std::fs::read(flipped.join("audio.wav")).unwrap();
    audio[DATA + SECOND + 1000] ^= 0x01;
    std::fs::write(flipped.join("audio.wav"), &audio).unwrap();
    let (code, out) = verify(&env, &flipped);
    assert_eq!(code, 1);
    assert!(out.contains("FAIL  audio.wav: SHA-256 differs"), "{out}");
    assert!(
        out.contains(&format!(
            "block 1 (bytes {SECOND}..{} of the audio data",
            2 * SECOND
        )),
        "{out}"
    );

    // One byte of the manifest changed.
    let forged = copy(&dir, &t.join("forged"));
    let m = std::fs::read_to_string(forged.join("manifest.json"))
        .unwrap()
        .replacen("\"US-TX\"", "\"US-CA\"", 1);
    std::fs::write(forged.join("manifest.json"), m).unwrap();
    let (code, out) = verify(&env, &forged);
    assert_eq!(code, 1);
    assert!(
        out.contains("the signature does not match the manifest"),
        "{out}"
    );

    // Truncated.
    let cut = copy(&dir, &t.join("cut"));
    let audio = std::fs::read(cut.join("audio.wav")).unwrap();
    std::fs::write(cut.join("audio.wav"), &audio[..DATA + 2 * SECOND + 500]).unwrap();
    let (code, out) = verify(&env, &cut);
    assert_eq!(code, 1);
    assert!(
        out.contains("inside block 2") && out.contains("truncated"),
        "{out}"
    );

    // Two blocks swapped.
    let swapped = copy(&dir, &t.join("swapped"));
    let mut audio = std::fs::read(swapped.join("audio.wav")).unwrap();
    let (first, rest) = audio[DATA..].split_at_mut(SECOND);
    first.swap_with_slice(&mut rest[..SECOND]);
    std::fs::write(swapped.join("audio.wav"), &audio).unwrap();
    let (code, out) = verify(&env, &swapped);
    assert_eq!(code, 1);
    assert!(out.contains("block 0 (bytes 0.."), "{out}");
}

#[test]
fn an_interrupted_recording_verifies_up_to_its_last_sealed_block() {
    let mut env = TestEnv::new();
    let clip = clip(env.dir.path(), 6);
    configure(&env, &clip, "realtime", 500);
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "interrupted"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(2600));
    env.kill9_daemon();
    env.start_daemon();
    let dir = call_dir(&env);
    let (code, out) = verify(&env, &dir);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("verified up to block") && out.contains("interrupted"),
        "{out}"
    );
}

/// A daemon killed after a call's end was saved but before its seal (the seal runs after the
/// record is saved) leaves an ended call with audio and no manifest: the next start seals it.
#[test]
fn a_call_that_ended_but_was_never_sealed_is_sealed_at_the_next_start() {
    for storage in ["storage-wav", "storage-flac"] {
        let mut env = TestEnv::new();
        let clip = clip(env.dir.path(), 2);
        env.configure_capture(&clip, "fast", 1000, storage, "");
        env.start_daemon();
        let id = env.record_call("unsealed", 500);
        env.kill9_daemon();
        // What the kill between the saved end and the seal leaves.
        let dir = call_dir(&env);
        for f in ["manifest.json", "manifest.sig"] {
            std::fs::remove_file(dir.join(f)).unwrap();
        }
        let (code, _) = verify(&env, &dir);
        assert_ne!(code, 0, "no manifest: nothing to verify yet");
        env.start_daemon();
        let show = env.ctl_json(&["call", "show", &id]);
        assert_eq!(show["state"], "stopped", "{show}");
        let (code, out) = verify(&env, &dir);
        assert_eq!(code, 0, "{storage}: {out}\n{}", env.log());
        assert!(
            out.contains("every block of audio matches"),
            "{storage}: {out}"
        );
        assert!(env.log().contains("never sealed"), "{}", env.log());
    }
}

#[test]
fn an_export_bundle_verifies_and_its_report_shows_the_timeline() {
    let mut env = TestEnv::new();
    let clip = clip(env.dir.path(), 2);
    configure(&env, &clip, "fast", 1000);
    env.start_daemon();
    let id = env.ctl_json(&[
        "call",
        "new",
        "--them",
        "+1 415 555 0100",
        "--label",
        "Acme billing",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.call(&["notice"]);
    env.call(&["consent", "yes"]);
    env.call(&["start"]);
    env.call(&["confirm"]);
    env.call(&["mark", "case 12345"]);
    std::thread::sleep(Duration::from_millis(300));
    env.call(&["stop"]);
    let bundle = env.dir.path().join("acme.zip");
    let (code, out, err) = env.ctl_run(&["export", &id, "--to", bundle.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("exported to") && err.contains("adding audio.wav"),
        "{out}{err}"
    );

    // The bundle verifies on its own, without the daemon.
    env.stop_daemon();
    let (code, out) = verify(&env, &bundle);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verified"), "{out}");

    // The report opens in a browser and shows the timeline and the law basis.
    let unpacked = env.dir.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let zip = std::fs::File::open(&bundle).unwrap();
    let mut archive = zip::ZipArchive::new(zip).unwrap();
    archive.extract(&unpacked).unwrap();
    let report = unpacked.join(&id).join("report.html");
    let url = format!("file://{}", report.display());
    let profile = env.dir.path().join("chromium");
    let dom = onrecord_tests::chromium(&["--dump-dom", &url], &profile);
    let text = String::from_utf8_lossy(&dom.stdout);
    for expected in [
        "Call record: Acme billing",
        "id=\"timeline\"",
        "case 12345",
        "confirmed",
        "Cal. Penal Code",
        "intact",
    ] {
        assert!(
            text.contains(expected),
            "the report lacks {expected:?}:\n{text}"
        );
    }
    let shot = env.dir.path().join("report.png");
    let out = onrecord_tests::chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1000,1400",
            &url,
        ],
        &profile,
    );
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "the screenshot is empty"
    );
}

fn record_short_call(env: &mut TestEnv, retention: &str, keep: bool) -> PathBuf {
    let clip = clip(env.dir.path(), 1);
    env.configure_capture(
        &clip,
        "fast",
        1000,
        "storage-wav",
        &format!("[retention]\n{retention}\n"),
    );
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "retention"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    if keep {
        env.call(&["keep"]);
    }
    std::thread::sleep(Duration::from_millis(300));
    env.call(&["stop"]);
    call_dir(env)
}

fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

#[test]
fn retention_deletes_expired_audio_and_leaves_the_record() {
    let mut env = TestEnv::new();
    // About 0.9 s.
    let dir = record_short_call(&mut env, "days = 0.00001", false);
    assert!(
        dir.join("audio.wav").is_file(),
        "the audio exists until it expires"
    );
    assert!(
        wait_for(Duration::from_secs(5), || !dir.join("audio.wav").exists()),
        "retention did not delete the audio"
    );
    assert!(!dir.join("audio.wav.chain").exists());
    assert!(dir.join("call.json").is_file() && dir.join("manifest.json").is_file());
    let show = env.ctl_json(&["call", "show"]);
    let last = show["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "retention");
    assert!(
        last["detail"].as_str().unwrap().contains("older than"),
        "{last}"
    );
}

#[test]
fn a_kept_call_is_never_deleted() {
    let mut env = TestEnv::new();
    let dir = record_short_call(&mut env, "days = 0.00001\nmin_duration_s = 3600", true);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        dir.join("audio.wav").is_file(),
        "a kept call lost its audio"
    );
    let show = env.ctl_json(&["call", "show"]);
    assert!(
        show["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "kept")
    );
    assert!(
        !show["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "retention")
    );
}

#[test]
fn recordings_shorter_than_the_minimum_are_deleted() {
    let mut env = TestEnv::new();
    let dir = record_short_call(&mut env, "min_duration_s = 3600", false);
    assert!(
        wait_for(Duration::from_secs(5), || !dir.join("audio.wav").exists()),
        "the short recording was kept"
    );
    // Retention waits for the seal: the manifest names the audio it deleted (sealing runs on a
    // worker now, and retention used to be free to delete the file while it was hashed).
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("sealed")).unwrap();
    assert_eq!(manifest["files"][0]["name"], "audio.wav", "{manifest}");
    assert_eq!(
        manifest["files"][0]["sha256"].as_str().map(str::len),
        Some(64)
    );
    let show = env.ctl_json(&["call", "show"]);
    let last = show["timeline"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains("shorter than the minimum"),
        "{last}"
    );
}

#[test]
fn verify_and_key_speak_json_and_colour_only_on_a_terminal() {
    let mut env = TestEnv::new();
    let clip = clip(env.dir.path(), 2);
    configure(&env, &clip, "fast", 1000);
    env.start_daemon();
    let id = env.ctl_json(&["call", "new", "--them", "US-TX"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(300));
    env.call(&["stop"]);
    let dir = call_dir(&env);

    let key = env.ctl_json(&["key"]);
    assert_eq!(key["public_key"], env.ctl_run(&["key"]).1.trim());
    let v = env.ctl_json(&["verify", &id]);
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["directory"], dir.display().to_string());
    let checks = v["checks"].as_array().unwrap();
    assert!(
        checks.len() >= 4 && checks.iter().all(|c| c["ok"] == true),
        "{v}"
    );
    // A changed file: exit 1, and the JSON says which check failed.
    let copy = copy(&dir, env.dir.path());
    let audio = copy.join("audio.wav");
    let mut bytes = std::fs::read(&audio).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0x40;
    std::fs::write(&audio, bytes).unwrap();
    let (code, out, err) = env.ctl_run(&["verify", "--json", copy.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verified"], false);
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["ok"] == false && c["what"].as_str().unwrap().contains("block")),
        "{v}"
    );

    // Piped: plain text. On a terminal (a pseudo-terminal from `script`): colour, unless
    // NO_COLOR is set.
    let (_, out, _) = env.ctl_run(&["verify", &id]);
    assert!(!out.contains('\x1b'), "{out:?}");
    let on_terminal = |no_colour: bool| {
        let mut cmd = std::process::Command::new("script");
        env.hermetic(&mut cmd);
        if no_colour {
            cmd.env("NO_COLOR", "1");
        }
        let ctl = onrecord_tests::bin("onrecordctl");
        let out = cmd
            .args(["-qec"])
            .arg(format!("{} verify {id}", ctl.display()))
            .arg("/dev/null")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_terminal(false);
    assert!(
        coloured.contains("\x1b[") && coloured.contains("verified"),
        "{coloured:?}"
    );
    let plain = on_terminal(true);
    assert!(
        !plain.contains("\x1b[") && plain.contains("verified"),
        "{plain:?}"
    );
}
