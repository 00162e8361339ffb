//! The owner never waits for a device: a call whose capture is slow to start holds up only
//! itself. The faulty test plugin's `open:wait` holds the source's `open` until the test
//! releases it, so every step here is ordered by the test, not by timing.

use onrecord_tests::timeline_kinds as kinds;
use onrecord_tests::{TestEnv, test_plugin};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// A daemon whose capture source (faulty) holds its `open` until `gate/release` exists; it
/// records into storage-wav, so what it writes is sealed and verifies.
fn held_open() -> (TestEnv, PathBuf) {
    held("open", "storage-wav")
}

/// A daemon that captures with the faulty source into `storage`, the faulty plugin's `entry`
/// held until `gate/release` exists; the daemon and the gate.
fn held(entry: &str, storage: &str) -> (TestEnv, PathBuf) {
    let mut env = TestEnv::new();
    let to = env.plugin_dir.join("libfaulty.so");
    std::fs::copy(test_plugin("testplugin_faulty"), &to).unwrap();
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        &env.config,
        format!("jurisdiction = \"US-TX\"\n[capture]\nsource = \"faulty\"\nstorage = \"{storage}\"\nsync_interval_ms = 200\n"),
    )
    .unwrap();
    let gate = env.dir.path().join("gate");
    std::fs::create_dir(&gate).unwrap();
    env.daemon_env
        .push(("ONRECORD_TEST_FAULT".into(), format!("{entry}:wait")));
    env.daemon_env
        .push(("ONRECORD_TEST_FAULT_DIR".into(), gate.display().to_string()));
    env.start_daemon();
    (env, gate)
}

/// Waits until the source's `open` is being held (the start is on the capture worker).
fn wait_entered(gate: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !gate.join("entered").exists() {
        assert!(Instant::now() < deadline, "the source was never opened");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn new_told_call(env: &TestEnv, label: &str) -> String {
    let id = env.ctl_json(&["call", "new", "--them", "US-TX", "--label", label])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.call(&["notice", &id]);
    id
}

fn still_running(child: &mut Child) -> bool {
    child.try_wait().unwrap().is_none()
}

fn finished_ok(mut child: Child) -> bool {
    child.wait().unwrap().success()
}

#[test]
fn a_call_whose_device_is_slow_to_open_holds_up_only_itself() {
    let (env, gate) = held_open();
    let slow = new_told_call(&env, "slow");
    let mut start = env.ctl_spawn(&["call", "start", &slow]);
    wait_entered(&gate);

    // While its device opens, the daemon serves everything else: a new call and its consent
    // steps, the list of calls, the law queries.
    let other = new_told_call(&env, "other");
    env.call(&["mark", "served while another call's device opened", &other]);
    let listed = env.ctl_json(&["call", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(
        env.ctl_json(&["laws", "check", "--them", "US-CA"])["requirement"],
        "all-party"
    );
    // The slow call does not claim to record before its device is open, and its start has
    // not been answered.
    let shown = env.ctl_json(&["call", "show", &slow]);
    assert_eq!(shown["state"], "ready", "{shown}");
    assert!(still_running(&mut start), "the start was answered early");

    // Its later commands wait for it, in order: a stop sent now ends the recording that the
    // start begins.
    let stop = env.ctl_spawn(&["call", "stop", &slow]);
    std::fs::write(gate.join("release"), b"").unwrap();
    assert!(
        finished_ok(start),
        "the start failed once the device opened"
    );
    assert!(finished_ok(stop), "the stop failed");

    let shown = env.ctl_json(&["call", "show", &slow]);
    assert_eq!(shown["state"], "stopped", "{shown}");
    let k = kinds(&shown);
    let started = k.iter().position(|k| k == "started").expect("started");
    let stopped = k.iter().position(|k| k == "stopped").expect("stopped");
    assert!(started < stopped, "{k:?}");
    // What was written is finished and sealed when the stop is answered.
    let (code, out, err) = env.ctl_run(&["verify", &slow]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verified"), "{out}");
}

#[test]
fn a_second_start_while_the_first_opens_the_device_is_refused_after_it() {
    let (env, gate) = held_open();
    let id = new_told_call(&env, "twice");
    let first = env.ctl_spawn(&["call", "start", &id]);
    wait_entered(&gate);
    let second = env.ctl_spawn_output(&["call", "start", &id]);
    std::fs::write(gate.join("release"), b"").unwrap();
    assert!(finished_ok(first));
    let out = second.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("org.onrecord.Error.WrongState"), "{err}");
    assert_eq!(env.ctl_json(&["call", "show", &id])["state"], "recording");
    env.call(&["stop", &id]);
}

/// SIGTERM while a call's device opens: the start completes, the recording is interrupted,
/// finished and sealed, and the daemon exits cleanly.
#[test]
fn stopping_the_daemon_while_a_call_starts_finishes_and_seals_it() {
    let (mut env, gate) = held_open();
    let id = new_told_call(&env, "at shutdown");
    let start = env.ctl_spawn(&["call", "start", &id]);
    wait_entered(&gate);
    env.signal_daemon("TERM");
    // The daemon does not leave before the start it is waiting for.
    assert_eq!(env.wait_daemon_exit(Duration::from_millis(500)), None);
    std::fs::write(gate.join("release"), b"").unwrap();
    let status = env
        .wait_daemon_exit(Duration::from_secs(30))
        .expect("the daemon did not exit");
    assert!(status.success(), "{status:?}\n{}", env.log());
    let _ = finished_ok(start);

    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(env.call_dir().join("call.json")).unwrap())
            .unwrap();
    assert_eq!(record["state"], "interrupted", "{record}");
    let (code, out, err) = env.ctl_run(&["verify", env.call_dir().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verified"), "{out}");
}

/// A stop whose files are slow to finish (the storage's `finish` held) holds up only its call,
/// and is answered once they are finished and sealed.
#[test]
fn a_call_whose_files_are_slow_to_finish_holds_up_only_itself() {
    let (env, gate) = held("finish", "faulty");
    let slow = new_told_call(&env, "slow to finish");
    env.call(&["start", &slow]);
    std::thread::sleep(Duration::from_millis(300));
    let mut stop = env.ctl_spawn(&["call", "stop", &slow]);
    wait_entered(&gate);

    let other = new_told_call(&env, "other");
    assert_eq!(env.ctl_json(&["call", "show", &other])["state"], "ready");
    assert!(
        still_running(&mut stop),
        "the stop was answered before its files were finished"
    );
    std::fs::write(gate.join("release"), b"").unwrap();
    assert!(finished_ok(stop));
    let shown = env.ctl_json(&["call", "show", &slow]);
    assert_eq!(shown["state"], "stopped", "{shown}");
    let dir = std::fs::read_dir(env.data_dir.join("calls"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| {
            std::fs::read_to_string(d.join("call.json"))
                .unwrap()
                .contains(&slow)
        })
        .unwrap();
    assert!(
        dir.join("manifest.json").exists(),
        "not sealed when the stop was answered"
    );
}
