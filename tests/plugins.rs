//! Plugin discovery and loading: what is loaded, what is refused and why, and that a plugin
//! that panics everywhere leaves the daemon serving.

use onrecord_tests::{TestEnv, plugin, test_plugin};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

fn listing(env: &TestEnv) -> Vec<Value> {
    env.ctl_json(&["plugins"]).as_array().unwrap().clone()
}

fn by_file<'a>(list: &'a [Value], file: &str) -> &'a Value {
    list.iter()
        .find(|p| p["path"].as_str().unwrap().ends_with(file))
        .unwrap_or_else(|| panic!("{file} not listed: {list:?}"))
}

/// What the notification peer was sent, once it was sent anything (or after 2 s).
async fn notifications(seen: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    for _ in 0..100 {
        let told = seen.lock().unwrap().clone();
        if !told.is_empty() {
            return told;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Vec::new()
}

fn install(env: &TestEnv, from: &std::path::Path, name: &str) -> std::path::PathBuf {
    let to = env.plugin_dir.join(name);
    std::fs::copy(from, &to).unwrap();
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    to
}

#[test]
fn the_built_in_plugins_load() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let list = listing(&env);
    let wav = by_file(&list, "libonrecord_storage_wav.so");
    assert_eq!(wav["status"], "loaded", "{wav}");
    assert_eq!(wav["id"], "storage-wav");
    assert_eq!(wav["interfaces"][0], "storage-backend.v1");
    // It reads back what it writes, for verify and export.
    assert_eq!(wav["interfaces"][1], "storage-reader.v1");
    let file = by_file(&list, "libonrecord_capture_file.so");
    assert_eq!(file["status"], "loaded", "{file}");
    assert_eq!(file["interfaces"][0], "capture-source.v1");
    let (code, out, _) = env.ctl_run(&["plugins"]);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("loaded") && l.contains("storage-wav")),
        "{out}"
    );
}

#[test]
fn another_abi_major_is_refused() {
    let mut env = TestEnv::new();
    install(&env, &test_plugin("testplugin_abi_mismatch"), "libabi.so");
    env.start_daemon();
    let p = by_file(&listing(&env), "libabi.so").clone();
    assert_eq!(p["status"], "refused");
    assert!(
        p["detail"].as_str().unwrap().contains("plugin ABI 99.0"),
        "{p}"
    );
    assert!(env.daemon_alive());
}

#[test]
fn a_plugin_that_panics_everywhere_leaves_the_daemon_serving() {
    let mut env = TestEnv::new();
    install(&env, &test_plugin("testplugin_panicky"), "libpanicky.so");
    env.start_daemon();
    let p = by_file(&listing(&env), "libpanicky.so").clone();
    assert_eq!(p["status"], "failed", "{p}");
    assert!(p["detail"].as_str().unwrap().contains("panicked"), "{p}");
    assert!(env.daemon_alive());
    assert_eq!(
        env.ctl_json(&["laws", "check", "--them", "US-CA"])["requirement"],
        "all-party"
    );
}

#[test]
fn a_world_writable_plugin_is_refused() {
    let mut env = TestEnv::new();
    let path = install(&env, &plugin("onrecord_storage_wav"), "libwritable.so");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    env.start_daemon();
    let p = by_file(&listing(&env), "libwritable.so").clone();
    assert_eq!(p["status"], "refused");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("writable by group or others"),
        "{p}"
    );
}

#[test]
fn a_library_that_is_not_a_plugin_is_refused() {
    let mut env = TestEnv::new();
    // Any shared library without the entry symbol: the C library's math library.
    let libm = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",
    ]
    .iter()
    .map(std::path::Path::new)
    .find(|p| p.exists())
    .expect("libm");
    install(&env, libm, "libnotaplugin.so");
    env.start_daemon();
    let p = by_file(&listing(&env), "libnotaplugin.so").clone();
    assert_eq!(p["status"], "refused");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("not an onrecord plugin"),
        "{p}"
    );
}

#[test]
fn a_plugin_dir_comes_first_and_shadows_the_build() {
    let mut env = TestEnv::new();
    install(&env, &plugin("onrecord_storage_wav"), "libmywav.so");
    env.start_daemon();
    let list = listing(&env);
    assert_eq!(by_file(&list, "libmywav.so")["status"], "loaded");
    assert_eq!(
        by_file(&list, "libonrecord_storage_wav.so")["status"],
        "shadowed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_panics_when_a_call_records_is_contained_and_noted() {
    let mut env = TestEnv::new();
    let (_peer, seen) = env.notification_peer().await;
    install(
        &env,
        &test_plugin("testplugin_panicky_source"),
        "libpanickysource.so",
    );
    std::fs::write(&env.config, "jurisdiction = \"US-TX\"\n[capture]\nsource = \"panicky-source\"\nstorage = \"storage-wav\"\n").unwrap();
    env.start_daemon();
    assert_eq!(
        by_file(&listing(&env), "libpanickysource.so")["status"],
        "loaded"
    );
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "panics"]);
    let (code, _, err) = env.ctl_run(&["call", "notice"]);
    assert_eq!(code, 0, "{err}");
    // The start fails, typed, and the call does not claim to record: it stays ready.
    let (code, _, err) = env.ctl_run(&["call", "start"]);
    assert_ne!(code, 0);
    assert!(
        err.starts_with("onrecordctl: org.onrecord.Error.CaptureFailed:")
            && err.contains("panicked: open"),
        "{err}"
    );
    assert!(env.daemon_alive());
    let show = env.ctl_json(&["call", "show"]);
    assert_eq!(show["state"], "ready", "{show}");
    let failure = show["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "capture")
        .expect("the failure is in the timeline")
        .clone();
    let detail = failure["detail"].as_str().unwrap();
    assert!(
        detail.contains("recording did not start") && detail.contains("panicked: open"),
        "{detail}"
    );
    assert_eq!(show["recording_files"].as_array().unwrap().len(), 0);
    // The desktop is told the truth: not "recording started".
    let told = notifications(&seen).await;
    assert!(
        told.first().is_some_and(
            |t| t.starts_with("onrecord: NOT recording") && t.contains("panicked: open")
        ),
        "{told:?}"
    );
    assert!(
        !told.iter().any(|t| t.contains("recording started")),
        "{told:?}"
    );
}

#[test]
fn a_plugin_with_no_known_interface_is_refused() {
    let mut env = TestEnv::new();
    install(
        &env,
        &test_plugin("testplugin_no_interface"),
        "libnothing.so",
    );
    env.start_daemon();
    let p = by_file(&listing(&env), "libnothing.so").clone();
    assert_eq!(p["status"], "refused");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("neither capture-source.v1 nor storage-backend.v1"),
        "{p}"
    );
}

#[test]
fn another_users_plugin_is_refused() {
    let mut env = TestEnv::new();
    let path = install(&env, &plugin("onrecord_storage_wav"), "libtheirs.so");
    // Staging another user's file needs root, which this project's machines and CI are.
    std::os::unix::fs::chown(&path, Some(65534), None).expect("chown needs root (CI runs as root)");
    env.start_daemon();
    let p = by_file(&listing(&env), "libtheirs.so").clone();
    assert_eq!(p["status"], "refused");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("owned by user 65534"),
        "{p}"
    );
}

/// A plugin that fails in each entry point in turn, by panicking or by returning an error, while
/// a call records through it: the daemon contains every failure, says it in the call's
/// timeline, ends or keeps the call in a consistent state, keeps serving, and stops cleanly.
#[test]
fn a_plugin_failing_in_each_entry_point_is_contained() {
    let faults: &[(&str, &[&str])] = &[
        ("open", &["panic", "error"]),
        ("start", &["panic", "error"]),
        ("deliver", &["panic", "error"]),
        ("stop", &["panic"]),
        ("create", &["panic", "error"]),
        ("write", &["panic", "error"]),
        ("sync", &["panic", "error"]),
        ("finish", &["panic", "error"]),
    ];
    let mut survived = 0;
    for (entry, modes) in faults {
        for mode in *modes {
            let mut env = TestEnv::new();
            install(&env, &test_plugin("testplugin_faulty"), "libfaulty.so");
            std::fs::write(
                &env.config,
                "jurisdiction = \"US-TX\"\n[capture]\nsource = \"faulty\"\nstorage = \"faulty\"\nsync_interval_ms = 200\n",
            )
            .unwrap();
            env.daemon_env
                .push(("ONRECORD_TEST_FAULT".into(), format!("{entry}:{mode}")));
            env.start_daemon();
            let what = format!("{entry}:{mode}");
            env.ctl_json(&["call", "new", "--them", "US-TX"]);
            env.call(&["notice"]);
            let (code, _, err) = env.ctl_run(&["call", "start"]);
            // A fault on the way to the first byte written refuses the start: the call stays
            // ready and never claims to record. Later faults stop the recording that ran.
            if ["open", "start", "create"].contains(entry) {
                assert_ne!(code, 0, "{what}");
                assert!(
                    err.contains("org.onrecord.Error.CaptureFailed"),
                    "{what}: {err}"
                );
                assert_eq!(env.ctl_json(&["call", "show"])["state"], "ready", "{what}");
            } else {
                assert_eq!(code, 0, "{what}: {err}");
            }
            std::thread::sleep(std::time::Duration::from_millis(800));
            let show = env.ctl_json(&["call", "show"]);
            if show["state"] == "recording" || show["state"] == "ready" {
                env.call(&["stop"]);
            }
            let show = env.ctl_json(&["call", "show"]);
            assert_eq!(show["state"], "stopped", "{what}: {show}");
            let timeline = show["timeline"].to_string();
            // What failed is said, except for a source that dies in its own thread: its
            // channel simply falls silent, which the recording's counts show.
            let said = match *mode {
                "panic" if *entry == "stop" => {
                    "the capture source did not stop cleanly: the plugin panicked".into()
                }
                "panic" => format!("panicked: faulty {entry}"),
                _ => format!("faulty {entry} failed on purpose"),
            };
            if *entry != "deliver" {
                assert!(timeline.contains(&said), "{what}: {timeline}");
            }
            assert!(env.daemon_alive(), "{what}: the daemon died\n{}", env.log());
            let d = env.ctl_json(&["laws", "check", "--them", "US-CA"]);
            assert_eq!(d["requirement"], "all-party", "{what}");
            let status = env.stop_daemon();
            assert!(status.success(), "{what}: {status}\n{}", env.log());
            survived += 1;
        }
    }
    eprintln!("faulty plugin: {survived} faults contained");
}

/// A library that crashes the process loading it (an abort in its initializer) fails its probe,
/// which runs in a child process: the daemon starts, serves and says why.
#[test]
fn a_plugin_that_crashes_while_loading_fails_its_probe_not_the_daemon() {
    let mut env = TestEnv::new();
    install(&env, &test_plugin("testplugin_faulty"), "libfaulty.so");
    env.daemon_env
        .push(("ONRECORD_TEST_FAULT".into(), "load:crash".into()));
    env.start_daemon();
    let p = by_file(&listing(&env), "libfaulty.so").clone();
    assert_eq!(p["status"], "failed", "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("crashed the probe (signal 6)"),
        "{p}"
    );
    // The other plugins are there and the daemon serves.
    assert_eq!(
        by_file(&listing(&env), "libonrecord_storage_wav.so")["status"],
        "loaded"
    );
    assert!(env.daemon_alive());
}

/// A library that never returns from loading fails its probe after a bounded time: the daemon
/// starts and serves.
#[test]
fn a_plugin_that_hangs_while_loading_fails_its_probe_in_bounded_time() {
    let mut env = TestEnv::new();
    install(&env, &test_plugin("testplugin_faulty"), "libfaulty.so");
    env.daemon_env
        .push(("ONRECORD_TEST_FAULT".into(), "load:hang".into()));
    let started = std::time::Instant::now();
    env.start_daemon();
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let p = by_file(&listing(&env), "libfaulty.so").clone();
    assert_eq!(p["status"], "failed", "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("did not finish within"),
        "{p}"
    );
    assert_eq!(
        env.ctl_json(&["laws", "check", "--them", "US-CA"])["requirement"],
        "all-party"
    );
}

/// A configured capture plugin that is refused (unsafe permissions) costs recording, not the
/// daemon: it starts, serves the law queries and calls, and a start says why it cannot record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_configured_plugin_leaves_the_daemon_serving_and_the_start_says_why() {
    let mut env = TestEnv::new();
    let (_peer, seen) = env.notification_peer().await;
    let path = install(&env, &plugin("onrecord_storage_wav"), "libwritable.so");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    // The refused copy comes first and shadows nothing: the build's own storage-wav would be
    // found after it, so the configuration names a plugin only the refused file could be.
    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[capture]\nsource = \"capture-file\"\nstorage = \"storage-nowhere\"\n",
    )
    .unwrap();
    env.start_daemon();
    assert_eq!(
        by_file(&listing(&env), "libwritable.so")["status"],
        "refused"
    );
    assert_eq!(
        env.ctl_json(&["laws", "check", "--them", "US-CA"])["requirement"],
        "all-party"
    );
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "no storage"]);
    env.call(&["notice"]);
    let (code, _, err) = env.ctl_run(&["call", "start"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("org.onrecord.Error.CaptureFailed") && err.contains("storage-nowhere"),
        "{err}"
    );
    assert_eq!(env.ctl_json(&["call", "show"])["state"], "ready");
    let told = notifications(&seen).await;
    assert!(
        told.iter()
            .any(|t| t.starts_with("onrecord: NOT recording") && t.contains("storage-nowhere")),
        "{told:?}"
    );
}
