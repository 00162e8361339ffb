//! Calls and their consent, driven over a private bus by onrecordctl, busctl and zbus.

use futures_util::StreamExt;
use onrecord_tests::TestEnv;
use onrecord_tests::timeline_kinds as kinds;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

fn show(env: &TestEnv, id: &str) -> Value {
    env.ctl_json(&["call", "show", id])
}

fn new_call(env: &TestEnv, them: &str, label: &str) -> String {
    let v = env.ctl_json(&["call", "new", "--them", them, "--label", label]);
    v["id"].as_str().unwrap().to_owned()
}

#[test]
fn the_whole_flow_through_onrecordctl() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let out = env.call(&[
        "new",
        "--them",
        "+1 800 555 0199",
        "--label",
        "Acme billing",
    ]);
    // The text is wrapped for the terminal: compare it as one line.
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.contains("all-party") && out.contains("unknown"),
        "{out}"
    );
    assert!(
        out.contains("I'd like to record this call for my records. Do you agree?"),
        "{out}"
    );
    let id = env.ctl_json(&["call", "list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Follow the call live, until it ends.
    let mut watch = std::process::Command::new(onrecord_tests::bin("onrecordctl"));
    env.hermetic(&mut watch);
    let watch = watch
        .args(["call", "watch", &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    // No recording before notice, nor before consent: typed errors that name the step.
    let (code, _, err) = env.ctl_run(&["call", "start"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.starts_with("onrecordctl: org.onrecord.Error.NoticeRequired:"),
        "{err}"
    );
    env.call(&["notice"]);
    let (code, _, err) = env.ctl_run(&["call", "start"]);
    assert_eq!(code, 4);
    assert!(
        err.starts_with(
            "onrecordctl: org.onrecord.Error.ConsentRequired: all-party consent is required"
        ),
        "{err}"
    );
    env.call(&["consent", "yes"]);
    assert!(env.call(&["start"]).contains("Now recording"));
    env.call(&["confirm"]);
    env.call(&["mark", "case 12345"]);
    env.call(&["pause"]);
    env.call(&["resume"]);
    // A new representative: recording holds until they are told and consent.
    assert!(
        env.call(&["transfer", "--them", "+1 415 555 0100"])
            .contains("Now held")
    );
    env.call(&["notice"]);
    assert!(env.call(&["consent", "yes"]).contains("Now recording"));
    env.call(&["stop"]);

    let c = show(&env, &id);
    assert_eq!(c["state"], "stopped");
    assert_eq!(c["requirement"], "all-party");
    assert_eq!(
        kinds(&c),
        [
            "created",
            "notice",
            "consent",
            "started",
            "confirmed",
            "mark",
            "paused",
            "resumed",
            "transfer",
            "held",
            "notice",
            "consent",
            "resumed",
            "stopped"
        ]
    );
    let timeline = c["timeline"].as_array().unwrap();
    assert!(
        timeline
            .iter()
            .all(|e| e["utc_us"].as_u64().unwrap() > 0 && e["monotonic_us"].as_u64().unwrap() > 0)
    );
    assert!(
        timeline[..3].iter().all(|e| e["audio_offset_us"] == -1),
        "no offset before recording"
    );
    assert!(
        timeline[4]["audio_offset_us"].as_i64().unwrap() >= 0,
        "confirmation has its offset"
    );
    assert_eq!(c["parties"].as_array().unwrap().len(), 2);
    assert_eq!(c["parties"][0]["present"], false);
    assert!(c["started_us"].as_u64().unwrap() > 0);

    let out = watch.wait_with_output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout).into_owned();
    for change in [
        "awaiting-notice -> awaiting-consent",
        "ready -> recording",
        "recording -> held",
        "held -> recording",
        "recording -> stopped",
    ] {
        assert!(lines.contains(change), "watch missed {change}:\n{lines}");
    }

    // The record on disk: a private directory named from the date, label and id.
    let calls = env.data_dir.join("calls");
    let dir = std::fs::read_dir(&calls)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(&format!("_acme-billing_{id}")), "{name}");
    assert_eq!(onrecord_tests::mode(&dir), 0o700);
    assert_eq!(onrecord_tests::mode(&dir.join("call.json")), 0o600);
}

#[test]
fn a_refusal_is_final_and_kept_as_evidence() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let id = new_call(&env, "US-CA", "refused");
    env.call(&["notice"]);
    env.call(&["consent", "no"]);
    let (code, _, err) = env.ctl_run(&["call", "start", &id]);
    assert_eq!(code, 4);
    assert!(err.contains("org.onrecord.Error.CallEnded"), "{err}");
    let c = show(&env, &id);
    assert_eq!(c["state"], "refused");
    assert_eq!(kinds(&c).last().unwrap(), "refused");
}

#[test]
fn one_party_calls_need_notice_but_not_consent() {
    let mut env = TestEnv::new();
    env.start_daemon();
    new_call(&env, "+1 214 555 0100", "texas");
    let (code, _, err) = env.ctl_run(&["call", "start"]);
    assert_eq!(code, 4);
    assert!(err.contains("NoticeRequired"), "{err}");
    env.call(&["notice"]);
    assert!(env.call(&["start"]).contains("Now recording"));
}

#[test]
fn without_an_id_several_active_calls_must_be_named() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let a = new_call(&env, "US-TX", "first");
    let b = new_call(&env, "US-TX", "second");
    let (code, _, err) = env.ctl_run(&["call", "notice"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("2 calls are active") && err.contains(&a) && err.contains(&b),
        "{err}"
    );
    env.call(&["notice", &b]);
    assert_eq!(show(&env, &b)["state"], "ready");
    assert_eq!(show(&env, &a)["state"], "awaiting-notice");
    let (code, _, err) = env.ctl_run(&["call", "notice", "000000000000"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_company_notice_stands_in_only_when_the_policy_allows() {
    // Washington: a recorded announcement counts as consent by statute.
    for (policy, starts) in [(false, false), (true, true)] {
        let mut env = TestEnv::new();
        std::fs::write(
            &env.config,
            // No audio (the machine has no devices): the policy decides, not capture.
            format!(
                "jurisdiction = \"US-TX\"\n[policy]\naccept_company_notice = {policy}\n[capture]\nsource = \"none\"\n"
            ),
        )
        .unwrap();
        env.start_daemon();
        let id = new_call(&env, "US-WA", "wa");
        env.call(&["notice", "--by", "company-message"]);
        let (code, _, err) = env.ctl_run(&["call", "start"]);
        if starts {
            assert_eq!(code, 0, "{err}");
            let c = show(&env, &id);
            let started = c["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == "started")
                .unwrap();
            assert!(
                started["detail"]
                    .as_str()
                    .unwrap()
                    .contains("company's recording notice stands in"),
                "{started}"
            );
        } else {
            assert_eq!(code, 4);
            assert!(err.contains("ConsentRequired"), "{err}");
        }
    }
}

#[test]
fn a_call_recording_when_the_daemon_dies_is_interrupted_after_restart() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let id = new_call(&env, "US-TX", "crash");
    env.call(&["notice"]);
    env.call(&["mark", "before the crash"]);
    env.call(&["start"]);
    env.kill9_daemon();
    env.start_daemon();
    let c = show(&env, &id);
    assert_eq!(c["state"], "interrupted");
    assert_eq!(
        kinds(&c),
        ["created", "notice", "mark", "started", "interrupted"]
    );
    let (code, _, err) = env.ctl_run(&["call", "resume", &id]);
    assert_eq!(code, 4);
    assert!(err.contains("CallEnded"), "{err}");
    // Ended calls can be removed.
    env.call(&["remove", &id]);
    assert_eq!(env.ctl_json(&["call", "list"]).as_array().unwrap().len(), 0);
}

#[test]
fn a_non_rust_client_drives_a_call() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let busctl = |args: &[&str]| {
        let mut cmd = std::process::Command::new("busctl");
        env.hermetic(&mut cmd);
        let out = cmd
            .arg("--user")
            .arg("--json=short")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "busctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null)
    };
    let dest = ["org.onrecord.OnRecord1"];
    let created = busctl(&[
        "call",
        dest[0],
        "/org/onrecord/OnRecord1",
        "org.onrecord.Calls1",
        "CreateCall",
        "a{sv}",
        "2",
        "them",
        "as",
        "1",
        "+18005550199",
        "label",
        "s",
        "via busctl",
    ]);
    let path = created["data"][0].as_str().unwrap().to_owned();
    assert!(
        path.starts_with("/org/onrecord/OnRecord1/calls/"),
        "{created}"
    );
    busctl(&[
        "call",
        dest[0],
        &path,
        "org.onrecord.Call1",
        "Notice",
        "s",
        "me",
    ]);
    busctl(&[
        "call",
        dest[0],
        &path,
        "org.onrecord.Call1",
        "Consent",
        "b",
        "true",
    ]);
    busctl(&["call", dest[0], &path, "org.onrecord.Call1", "Start"]);
    let state = busctl(&[
        "get-property",
        dest[0],
        &path,
        "org.onrecord.Call1",
        "State",
    ]);
    assert_eq!(state["data"], "recording");
    let req = busctl(&[
        "get-property",
        dest[0],
        &path,
        "org.onrecord.Call1",
        "Requirement",
    ]);
    assert_eq!(req["data"], "all-party");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_is_told_when_recording_starts_pauses_and_stops() {
    let mut env = TestEnv::new();
    let (_server, seen) = env.notification_peer().await;
    env.start_daemon();
    let conn = env.connection().await;
    let calls = onrecord_interface::CallsProxy::new(&conn).await.unwrap();
    let mut added = calls.receive_call_added().await.unwrap();
    let id = new_call(&env, "US-TX", "Acme");
    let signal = tokio::time::timeout(Duration::from_secs(2), added.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(signal.args().unwrap().id, id);
    for step in [
        &["notice"][..],
        &["start"],
        &["pause"],
        &["resume"],
        &["stop"],
    ] {
        env.call(step);
    }
    let want = [
        "recording started",
        "recording paused",
        "recording resumed",
        "recording stopped",
    ];
    let mut got = Vec::new();
    for _ in 0..100 {
        got = seen.lock().unwrap().clone();
        if got.len() >= want.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.contains(w) && g.contains("Acme"), "{g} should say {w}");
    }
}

#[test]
fn no_notification_server_is_not_an_error() {
    let mut env = TestEnv::new();
    env.start_daemon();
    new_call(&env, "US-TX", "quiet");
    env.call(&["notice"]);
    env.call(&["start"]);
    env.call(&["stop"]);
    assert!(env.daemon_alive());
    assert!(!env.log().contains("ERROR"), "{}", env.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_call_arguments_are_typed_errors() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let conn = env.connection().await;
    let calls = onrecord_interface::CallsProxy::new(&conn).await.unwrap();
    let err = calls.create_call(HashMap::new()).await.unwrap_err();
    assert!(
        matches!(err, onrecord_interface::Error::InvalidArgument(_)),
        "{err:?}"
    );
    let err = calls
        .create_call(HashMap::from([("them", zbus::Variant::from(7u32))]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, onrecord_interface::Error::InvalidArgument(_)),
        "{err:?}"
    );
    let err = calls
        .create_call(HashMap::from([
            ("them", zbus::Variant::from(vec!["US-TX"])),
            ("colour", zbus::Variant::from("red")),
        ]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, onrecord_interface::Error::InvalidArgument(_)),
        "{err:?}"
    );
    let err = calls
        .create_call(HashMap::from([(
            "them",
            zbus::Variant::from(vec!["garbage!"]),
        )]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, onrecord_interface::Error::InvalidNumber(_)),
        "{err:?}"
    );
    assert!(matches!(
        calls.remove_call("nope").await,
        Err(onrecord_interface::Error::UnknownCall(_))
    ));
    let (path, id) = calls
        .create_call(HashMap::from([(
            "them",
            zbus::Variant::from(vec!["US-TX"]),
        )]))
        .await
        .unwrap();
    let c = onrecord_interface::CallProxy::builder(&conn)
        .path(path)
        .build()
        .await
        .unwrap();
    assert!(matches!(
        c.notice("shouting").await,
        Err(onrecord_interface::Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.mark(&"x".repeat(10_000)).await,
        Err(onrecord_interface::Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.pause().await,
        Err(onrecord_interface::Error::WrongState(_))
    ));
    assert!(matches!(
        calls.remove_call(&id).await,
        Err(onrecord_interface::Error::WrongState(_))
    ));
    assert!(env.daemon_alive());
}

#[test]
fn a_call_keeps_its_decision_when_the_tables_change() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let id = new_call(&env, "US-WA", "before the change");
    assert_eq!(show(&env, &id)["requirement"], "all-party");
    // The user's overlay makes Washington one-party.
    let overlay = "schema_version = 1\n\n[[jurisdiction]]\nid = \"US-WA\"\nname = \"Washington\"\nparent = \"US\"\n\
        confidence = \"low\"\nlast_verified = \"2026-11-28\"\nnotes = \"test\"\n\n[[jurisdiction.rule]]\n\
        media = [\"phone\"]\nregime = \"criminal\"\nconsent = \"one-party\"\n\n[[jurisdiction.source]]\n\
        url = \"https://example.org\"\npublisher = \"test\"\n";
    TestEnv::write_by_rename(&env.user_laws_dir, "wa.toml", overlay);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while env.ctl_json(&["laws", "check", "--them", "US-WA"])["requirement"] != "one-party" {
        assert!(
            std::time::Instant::now() < deadline,
            "the new tables were not served"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // New calls use the new tables; the call in progress keeps the decision it was made with.
    let c = show(&env, &id);
    assert_eq!(c["requirement"], "all-party");
    assert_ne!(
        c["decision"]["tables_digest"],
        env.ctl_json(&["status"])["tables_digest"]
    );
    env.call(&["notice", &id]);
    let (code, _, err) = env.ctl_run(&["call", "start", &id]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("ConsentRequired") && err.contains("US-WA, Wash. Rev. Code § 9.73.030"),
        "{err}"
    );
    let later = new_call(&env, "US-WA", "after the change");
    assert_eq!(show(&env, &later)["requirement"], "one-party");
}

#[test]
fn call_directories_follow_the_naming_template() {
    let mut env = TestEnv::new();
    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[naming]\ndirectory = \"{jurisdiction}_{them}_{date}_{id}\"\n",
    )
    .unwrap();
    env.start_daemon();
    let id = new_call(&env, "+1 (415) 555-0100", "../../escape");
    let dir = std::fs::read_dir(env.data_dir.join("calls"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let name = dir.to_string_lossy();
    assert!(
        name.starts_with("us-ca_1-415-555-0100_2") && name.ends_with(&format!("_{id}")),
        "{name}"
    );
    env.stop_daemon();

    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[naming]\ndirectory = \"{label}/{date}\"\n",
    )
    .unwrap();
    let out = env.daemon_command().output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[naming] directory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `org.freedesktop.DBus.ObjectManager` on the daemon's object: every call and its properties in
/// one round trip, and InterfacesAdded when a call is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_object_manager_lists_every_call_with_its_properties() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let conn = env.connection().await;
    let om = zbus::fdo::ObjectManagerProxy::builder(&conn)
        .destination(onrecord_interface::BUS_NAME)
        .path(onrecord_interface::OBJECT_PATH)
        .build()
        .await
        .unwrap();
    let mut added = om.receive_interfaces_added().await.unwrap();
    let first = new_call(&env, "US-TX", "first");
    let signal = tokio::time::timeout(Duration::from_secs(2), added.next())
        .await
        .expect("InterfacesAdded")
        .unwrap();
    let args = signal.args().unwrap();
    assert_eq!(
        args.object_path.as_str(),
        onrecord_interface::call_path(&first).as_str()
    );
    assert!(
        args.interfaces_and_properties
            .keys()
            .any(|i| i.as_str() == "org.onrecord.Call1")
    );
    let second = new_call(&env, "US-CA", "second");
    let managed = om.get_managed_objects().await.unwrap();
    for (id, label) in [(&first, "first"), (&second, "second")] {
        let path = onrecord_interface::call_path(id);
        let ifaces = managed
            .iter()
            .find(|(p, _)| p.as_str() == path.as_str())
            .map(|(_, i)| i)
            .unwrap_or_else(|| panic!("{path} not managed: {managed:?}"));
        let props = ifaces
            .iter()
            .find(|(i, _)| i.as_str() == "org.onrecord.Call1")
            .map(|(_, p)| p)
            .expect("Call1");
        let get = |name: &str| -> String {
            let v = props.get(name).unwrap_or_else(|| panic!("no {name}"));
            String::try_from(v.try_clone().unwrap()).unwrap()
        };
        assert_eq!(get("Label"), label);
        assert_eq!(get("Id"), *id);
    }
}

/// `PropertiesChanged` names exactly the properties whose values changed, computed from the
/// object's getters (a property added later cannot go unannounced).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_changed_names_exactly_what_changed() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let conn = env.connection().await;
    let id = new_call(&env, "US-TX", "props");
    let props = zbus::fdo::PropertiesProxy::builder(&conn)
        .destination(onrecord_interface::BUS_NAME)
        .path(onrecord_interface::call_path(&id))
        .build()
        .await
        .unwrap();
    let mut changes = props.receive_properties_changed().await.unwrap();
    let mut next = async || -> Vec<String> {
        let signal = tokio::time::timeout(Duration::from_secs(2), changes.next())
            .await
            .expect("PropertiesChanged")
            .unwrap();
        let args = signal.args().unwrap();
        assert_eq!(args.interface_name.as_str(), "org.onrecord.Call1");
        let mut names: Vec<String> = args
            .changed_properties
            .keys()
            .map(|k| k.to_string())
            .collect();
        names.sort();
        names
    };
    env.call(&["notice"]);
    assert_eq!(next().await, ["NextStep", "Parties", "State", "Timeline"]);
    env.call(&["mark", "a note"]);
    assert_eq!(next().await, ["Timeline"]);
    env.call(&["start"]);
    let started = next().await;
    for p in ["NextStep", "StartedAt", "State", "Timeline"] {
        assert!(started.iter().any(|s| s == p), "{p} missing: {started:?}");
    }
    assert!(
        !started.iter().any(|s| s == "Label" || s == "Id"),
        "{started:?}"
    );
}
