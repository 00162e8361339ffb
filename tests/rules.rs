//! Rules per number (`[[rule]]` in config.toml): ignore, label, retention and storage take
//! effect on the calls they match; `onrecordctl rules` lists and tests them; a broken change
//! keeps the last good rules.

use onrecord_tests::modem::{FakeModemManager, RINGING_IN};
use onrecord_tests::{TestEnv, noise_clip};
use serde_json::Value;
use std::time::{Duration, Instant};

const RULES: &str = r#"
[[rule]]
name = "my doctor"
number = "+1 415 555 0123"
action = "ignore"

[[rule]]
number = "+1212*"
label = "New York {number}"
retention_days = 0
storage = "storage-flac"
"#;

fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "never {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_label_retention_and_storage_take_effect() {
    let mut env = TestEnv::new();
    let (clip, _) = noise_clip(env.dir.path(), 10.0);
    env.configure_capture(&clip, "realtime", 200, "storage-wav", RULES);
    env.start_daemon();
    let mut mm = FakeModemManager::start(&env.bus.address).await;
    // The doctor's call comes first; only the second is proposed.
    mm.add_call("+14155550123", RINGING_IN).await;
    mm.add_call("+12125550123", RINGING_IN).await;
    let mut list = Vec::new();
    until("proposed", || {
        list = env.ctl_json(&["call", "list"]).as_array().unwrap().clone();
        !list.is_empty()
    });
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["label"], "New York +12125550123");
    let id = list[0]["id"].as_str().unwrap().to_owned();

    // Recorded in the rule's storage, and its audio deleted at once (0 days) after the end.
    env.call(&["notice", &id]);
    env.call(&["consent", "yes", &id]);
    env.call(&["start", &id]);
    std::thread::sleep(Duration::from_millis(500));
    env.call(&["stop", &id]);
    let show = env.ctl_json(&["call", "show", &id]);
    assert_eq!(show["recording_files"][0], "audio.flac", "{show}");
    let dir = env.call_dir();
    until("deleted by retention", || !dir.join("audio.flac").exists());
    assert!(dir.join("manifest.json").exists());
    let show = env.ctl_json(&["call", "show", &id]);
    assert!(
        show["timeline"].to_string().contains("older than 0 days"),
        "{show}"
    );

    // The ctl says which rule decides a number, and why.
    let (code, out, _) = env.ctl_run(&["rules", "test", "(415) 555-0123"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "+14155550123: ignore (rule 1 (\"my doctor\"): the number +14155550123 matches +14155550123)\n"
    );
    let m = env.ctl_json(&["rules", "test", "+1 212 555 0100"]);
    assert_eq!(
        (
            m["index"].as_u64(),
            m["action"].as_str(),
            m["label"].as_str()
        ),
        (Some(2), Some("propose"), Some("New York +12125550100"))
    );
    let m = env.ctl_json(&["rules", "test", "+44 20 7946 0000"]);
    assert_eq!(m["index"], 0);
    let (code, _, err) = env.ctl_run(&["rules", "test", "+12125"]);
    assert_ne!(code, 0);
    assert!(err.contains("org.onrecord.Error.InvalidNumber"), "{err}");
    let (_, out, _) = env.ctl_run(&["rules"]);
    assert!(
        out.contains("1 (\"my doctor\"): number +14155550123 -> ignore"),
        "{out}"
    );
}

#[test]
fn a_broken_change_keeps_the_last_good_rules_and_says_where() {
    let mut env = TestEnv::new();
    let good = "jurisdiction = \"US-TX\"\n[[rule]]\nnumber = \"+1415*\"\naction = \"ignore\"\n";
    std::fs::write(&env.config, good).unwrap();
    env.start_daemon();
    let rules = |env: &TestEnv| env.ctl_json(&["rules", "list"]);
    assert_eq!(rules(&env)["rules"].as_array().unwrap().len(), 1);

    let dir = env.config.parent().unwrap().to_owned();
    let broken = format!("{good}\n[[rule]]\nnumber = \"415 555\"\n");
    TestEnv::write_by_rename(&dir, "config.toml", &broken);
    let mut seen = Value::Null;
    until("the error reported", || {
        seen = rules(&env);
        seen["last_error"] != ""
    });
    let error = seen["last_error"].as_str().unwrap();
    assert!(
        error.contains("config.toml:6:") && error.contains("E.164"),
        "{error}"
    );
    // The last good rules stay in force.
    assert_eq!(seen["rules"].as_array().unwrap().len(), 1);
    assert_eq!(
        env.ctl_json(&["rules", "test", "+14155550100"])["action"],
        "ignore"
    );

    // Fixed: the new rules take over and the error clears.
    let fixed = format!("{good}\n[[rule]]\nnumber = \"+1212*\"\nlabel = \"NY\"\n");
    TestEnv::write_by_rename(&dir, "config.toml", &fixed);
    until("the fix taken", || {
        seen = rules(&env);
        seen["last_error"] == "" && seen["rules"].as_array().unwrap().len() == 2
    });
    assert_eq!(
        env.ctl_json(&["rules", "test", "+12125550100"])["label"],
        "NY"
    );
}
