//! `[hooks] after_seal`: the user's program runs once a call is sealed, with the call's
//! directory and id as its arguments say, never through a shell; its output goes to the log,
//! and how it ended into the call's timeline. A program that hangs is killed.

use onrecord_tests::{TestEnv, noise_clip};
use std::time::{Duration, Instant};

/// A program of the test's: writes its arguments and what is in the call's directory.
fn script(env: &TestEnv, body: &str) -> std::path::PathBuf {
    let path = env.dir.path().join("after-seal");
    onrecord_tests::executable(&path, body);
    path
}

/// The `hook` entry of call `id`'s timeline, once there (10 s at most).
fn hook_entry(env: &TestEnv, id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let call = env.ctl_json(&["call", "show", id]);
        let hook = call["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "hook")
            .map(|e| e["detail"].as_str().unwrap().to_owned());
        if let Some(detail) = hook {
            return detail;
        }
        assert!(Instant::now() < deadline, "no hook entry: {call}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_program_runs_after_the_seal_with_the_calls_directory_and_id() {
    let mut env = TestEnv::new();
    let (clip, _) = noise_clip(env.dir.path(), 5.0);
    let out = env.dir.path().join("hook-saw");
    let program = script(
        &env,
        &format!(
            "printf '%s\\n' \"$@\" > {out}\nls \"$1\" >> {out}\necho \"env $ONRECORD_CALL_ID\" >> {out}\necho hello from the hook\necho a warning >&2",
            out = out.display()
        ),
    );
    env.configure_capture(
        &clip,
        "fast",
        1000,
        "storage-wav",
        &format!(
            "[hooks]\nafter_seal = [\"{}\", \"{{dir}}\", \"call {{id}}; $(rm -rf /)\"]\n",
            program.display()
        ),
    );
    env.start_daemon();
    let id = env.record_call("hooked", 300);
    let detail = hook_entry(&env, &id);
    assert!(detail.contains("exited with status 0"), "{detail}");
    let saw = std::fs::read_to_string(&out).unwrap();
    let mut lines = saw.lines();
    let dir = lines.next().unwrap();
    assert_eq!(
        std::path::Path::new(dir),
        env.call_dir(),
        "{{dir}} is the call's directory: {saw}"
    );
    // One argument, as written: no shell saw it.
    assert_eq!(
        lines.next(),
        Some(format!("call {id}; $(rm -rf /)").as_str()),
        "{saw}"
    );
    // The evidence was sealed before the program ran.
    assert!(saw.contains("manifest.json"), "{saw}");
    assert!(saw.contains(&format!("env {id}")), "{saw}");
    let log = env.log();
    assert!(
        log.contains("after_seal stdout: hello from the hook"),
        "{log}"
    );
    assert!(log.contains("after_seal stderr: a warning"), "{log}");
    // The sealed evidence still verifies: the hook's entry came after the seal.
    let (code, _, err) = env.ctl_run(&["verify", &id]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_program_that_hangs_is_killed_and_said_so() {
    let mut env = TestEnv::new();
    let (clip, _) = noise_clip(env.dir.path(), 5.0);
    let program = script(&env, "sleep 60");
    env.configure_capture(
        &clip,
        "fast",
        1000,
        "storage-wav",
        &format!(
            "[hooks]\nafter_seal = [\"{}\"]\ntimeout_s = 0.5\n",
            program.display()
        ),
    );
    env.start_daemon();
    let id = env.record_call("hangs", 200);
    let detail = hook_entry(&env, &id);
    assert!(
        detail.contains("killed after its timeout of 0.5 s"),
        "{detail}"
    );
}

#[test]
fn a_hook_that_is_not_an_absolute_program_is_refused_at_start() {
    let env = TestEnv::new();
    for (hooks, says) in [
        (
            "after_seal = [\"rsync\", \"{dir}\"]",
            "must be an absolute path",
        ),
        (
            "after_seal = [\"/nonexistent/x\"]",
            "/nonexistent/x is not a file",
        ),
        (
            "after_seal = [\"/bin/true\", \"{path}\"]",
            "\"{path}\" in \"{path}\" is not a placeholder",
        ),
        ("after_seal = [\"/bin/true\"]\ntimeout_s = 0", "timeout_s"),
    ] {
        std::fs::write(
            &env.config,
            format!("jurisdiction = \"US-TX\"\n[hooks]\n{hooks}\n"),
        )
        .unwrap();
        let out = env.daemon_command().output().unwrap();
        assert!(!out.status.success(), "{hooks}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("[hooks]") && err.contains(says),
            "{hooks}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}
