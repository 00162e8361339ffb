//! `[encryption] recipients`: once sealed, a call's audio and chain journals are encrypted to
//! the user's age keys and the plaintext removed; the manifest keeps the plaintext's hashes.
//! Checked against Debian's `age` command, the format's reference implementation: what
//! onrecord encrypts `age -d` decrypts, and what `age` encrypts onrecord decrypts.

use onrecord_tests::{TestEnv, noise_clip};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A new age key pair (`age-keygen`): its identity file and its public key.
fn keygen(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("key.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .expect("age-keygen (make test installs age)");
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&key).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("a public key")
        .to_owned();
    (key, public)
}

/// The SHA-256 of `bytes` in hex, by coreutils' sha256sum.
fn sha256(dir: &Path, bytes: &[u8]) -> String {
    let path = dir.join("hashed");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("sha256sum").arg(&path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn sealed_audio_is_encrypted_and_opens_with_age_and_with_onrecord() {
    let mut env = TestEnv::new();
    let (clip, _) = noise_clip(env.dir.path(), 5.0);
    let (key, public) = keygen(env.dir.path());
    env.configure_capture(
        &clip,
        "fast",
        1000,
        "storage-wav",
        &format!("[encryption]\nrecipients = [\"{public}\"]\n"),
    );
    env.start_daemon();
    let id = env.record_call("secret", 300);
    let dir = env.call_dir();
    let call = env.ctl_json(&["call", "show", &id]);
    let entry = call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "encrypted")
        .unwrap_or_else(|| panic!("no encrypted entry: {call}"));
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("audio.wav, audio.wav.chain"),
        "{entry}"
    );
    // No plaintext is left; the files are age files.
    assert!(!dir.join("audio.wav").exists() && !dir.join("audio.wav.chain").exists());
    let sealed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    // Debian's age decrypts it to exactly the audio the manifest sealed.
    let out = Command::new("age")
        .args(["-d", "-i"])
        .arg(&key)
        .arg(dir.join("audio.wav.age"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha256(env.dir.path(), &out.stdout),
        sealed["files"][0]["sha256"]
    );

    // Without the identity, verify says the audio is encrypted and how to check it.
    let (code, stdout, _) = env.ctl_run(&["verify", &id]);
    assert_ne!(code, 0);
    assert!(
        stdout.contains("encrypted (audio.wav.age)") && stdout.contains("--identity"),
        "{stdout}"
    );
    // With it, the evidence verifies.
    let key_arg = key.to_str().unwrap();
    let (code, stdout, err) = env.ctl_run(&["verify", &id, "--identity", key_arg]);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.contains("verified"), "{stdout}");
    // A plaintext copy, elsewhere.
    let copy = env.dir.path().join("plain");
    let (code, stdout, err) = env.ctl_run(&[
        "decrypt",
        &id,
        "--identity",
        key_arg,
        "--to",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("audio.wav, audio.wav.chain"), "{stdout}");
    assert_eq!(std::fs::read(copy.join("audio.wav")).unwrap(), out.stdout);

    // The bundle: refused without the identity (nothing half-written), made with it.
    let bundle = env.dir.path().join("secret.zip");
    let bundle_arg = bundle.to_str().unwrap();
    let (code, _, err) = env.ctl_run(&["export", &id, "--to", bundle_arg]);
    assert_ne!(code, 0);
    assert!(
        err.contains("encrypted") && err.contains("--identity"),
        "{err}"
    );
    assert!(!bundle.exists());
    let (code, _, err) = env.ctl_run(&["export", &id, "--to", bundle_arg, "--identity", key_arg]);
    assert_eq!(code, 0, "{err}");
    let (code, stdout, err) = env.ctl_run(&["verify", bundle_arg]);
    assert_eq!(code, 0, "{stdout}{err}");

    // And back: audio that Debian's age encrypted, onrecord decrypts and verifies.
    let by_age = env.dir.path().join("by-age");
    std::fs::create_dir(&by_age).unwrap();
    for f in std::fs::read_dir(&copy).unwrap() {
        let f = f.unwrap();
        let name = f.file_name().to_string_lossy().into_owned();
        if name.starts_with("audio.wav") {
            let status = Command::new("age")
                .args(["-r", &public, "-o"])
                .arg(by_age.join(format!("{name}.age")))
                .arg(f.path())
                .status()
                .unwrap();
            assert!(status.success());
        } else {
            std::fs::copy(f.path(), by_age.join(&name)).unwrap();
        }
    }
    let (code, stdout, err) =
        env.ctl_run(&["verify", by_age.to_str().unwrap(), "--identity", key_arg]);
    assert_eq!(code, 0, "{stdout}{err}");

    // The wrong identity is a clear error.
    let elsewhere = env.dir.path().join("other");
    std::fs::create_dir(&elsewhere).unwrap();
    let (other, _) = keygen(&elsewhere);
    let (code, _, err) = env.ctl_run(&["verify", &id, "--identity", other.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot decrypt"), "{err}");
}

#[test]
fn a_recipient_that_is_not_an_age_key_is_refused_at_start() {
    let env = TestEnv::new();
    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[encryption]\nrecipients = [\"age1notakey\"]\n",
    )
    .unwrap();
    let out = env.daemon_command().output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[encryption] recipient 1") && err.contains("not an age public key"),
        "{err}"
    );
}
