//! `onrecordctl laws ...` against a running daemon.

use onrecord_tests::TestEnv;
use serde_json::Value;

fn governing_ids(d: &Value) -> Vec<String> {
    d["governing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["jurisdiction"].as_str().unwrap().to_owned())
        .collect()
}

fn warning_kinds(d: &Value) -> Vec<String> {
    d["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn check_one_party_pair() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let d = env.ctl_json(&[
        "laws",
        "check",
        "--me",
        "US-TX",
        "--them",
        "+1 214 555 0100",
    ]);
    assert_eq!(d["requirement"], "one-party");
    assert_eq!(d["notice_counts_as_consent"], true);
    assert!(governing_ids(&d).contains(&"US-TX".to_owned()));
    let status = env.ctl_json(&["status"]);
    assert_eq!(d["tables_digest"], status["tables_digest"]);
    assert!(d["tables_digest"].as_str().unwrap().starts_with("sha256:"));
}

#[test]
fn check_all_party_pair_explains_with_citations() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let d = env.ctl_json(&[
        "laws",
        "check",
        "--me",
        "US-TX",
        "--them",
        "+1 (415) 555-0100",
    ]);
    assert_eq!(d["requirement"], "all-party");
    assert_eq!(governing_ids(&d), ["US-CA"]);
    let cites = d["governing"][0]["citations"].as_array().unwrap();
    assert!(
        cites.iter().any(|c| c.as_str().unwrap().contains("632.7")),
        "{cites:?}"
    );
    assert_eq!(d["parties"][0]["jurisdiction"], "US-CA");
    assert_eq!(d["parties"][0]["location"], "number");

    let (code, out, err) = env.ctl_run(&[
        "laws",
        "check",
        "--me",
        "US-TX",
        "--them",
        "+1 (415) 555-0100",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ALL-PARTY"), "{out}");
    assert!(out.contains("US-CA California"), "{out}");
    assert!(out.contains("Cal. Penal Code § 632.7"), "{out}");
}

#[test]
fn check_toll_free_number_is_all_party_with_unknown_location() {
    let mut env = TestEnv::new();
    env.start_daemon();
    // No --me: the configured jurisdiction (US-TX) is used, and the national form is read in
    // its country.
    let d = env.ctl_json(&["laws", "check", "--them", "1-800-555-0199"]);
    assert_eq!(d["recorder"]["jurisdiction"], "US-TX");
    assert_eq!(d["requirement"], "all-party");
    assert_eq!(d["parties"][0]["location"], "unknown");
    assert!(warning_kinds(&d).contains(&"unknown-location".to_owned()));
    assert_eq!(d["notice_counts_as_consent"], false);
}

#[test]
fn check_unsettled_state_is_all_party_and_says_so() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let d = env.ctl_json(&["laws", "check", "--me", "US-TX", "--them", "US-MI"]);
    assert_eq!(d["requirement"], "all-party");
    assert!(warning_kinds(&d).contains(&"unsettled".to_owned()), "{d}");
    assert!(warning_kinds(&d).contains(&"disputed".to_owned()), "{d}");
}

#[test]
fn check_in_person_in_oregon_needs_notice() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let d = env.ctl_json(&[
        "laws",
        "check",
        "--me",
        "US-OR",
        "--them",
        "US-OR",
        "--medium",
        "in-person",
    ]);
    assert_eq!(d["medium"], "in-person");
    assert_eq!(d["requirement"], "one-party");
    assert_eq!(d["notice_required_by_law"], true);
    assert_eq!(governing_ids(&d), ["US-OR"]);
    assert_eq!(d["governing"][0]["consent"], "notice");
    let (_, out, _) = env.ctl_run(&[
        "laws",
        "check",
        "--me",
        "US-OR",
        "--them",
        "US-OR",
        "--medium",
        "in-person",
    ]);
    assert!(out.contains("requires telling everyone"), "{out}");
}

#[test]
fn show_list_and_lookup() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let ca = env.ctl_json(&["laws", "show", "us-ca"]);
    assert_eq!(ca["id"], "US-CA");
    assert_eq!(ca["parent"], "US");
    assert!(!ca["sources"].as_array().unwrap().is_empty());
    let (code, out, _) = env.ctl_run(&["laws", "show", "US-CT"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Conn. Gen. Stat. § 52-570d") && out.contains("Sources disagree"),
        "{out}"
    );

    let list = env.ctl_json(&["laws", "list"]);
    let status = env.ctl_json(&["status"]);
    assert_eq!(
        list.as_array().unwrap().len() as u64,
        status["jurisdiction_count"].as_u64().unwrap()
    );
    let (_, out, _) = env.ctl_run(&["laws", "list"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("US-WA") && l.contains("all-party")),
        "{out}"
    );

    let n = env.ctl_json(&["laws", "lookup", "+18005550199"]);
    assert_eq!(n["kind"], "toll-free");
    assert_eq!(n["party"]["location"], "unknown");
    assert_eq!(n["e164"], "+18005550199");
    let toronto = env.ctl_json(&["laws", "lookup", "+1 416 555 0100"]);
    assert_eq!(toronto["party"]["jurisdiction"], "CA-ON");
}

#[test]
fn unreachable_daemon_exits_3_with_a_hint() {
    let env = TestEnv::new();
    let (code, _, err) = env.ctl_run(&["laws", "list"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.starts_with("onrecordctl: onrecordd is not running"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // No bus at all.
    let out = env
        .ctl()
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args(["status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn bad_usage_exits_2() {
    let env = TestEnv::new();
    let out = env.ctl().args(["laws", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--them"));
}

#[test]
fn a_non_rust_client_can_evaluate() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut cmd = std::process::Command::new("busctl");
    env.hermetic(&mut cmd);
    let out = cmd
        .args([
            "--user",
            "--json=short",
            "call",
            "org.onrecord.OnRecord1",
            "/org/onrecord/OnRecord1",
        ])
        .args([
            "org.onrecord.Laws1",
            "Evaluate",
            "sass",
            "US-TX",
            "1",
            "+14155550100",
            "phone",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The reply is one struct whose first member is the requirement.
    assert_eq!(v["data"][0][0], "all-party", "{v}");
}

#[test]
fn a_freephone_line_abroad_is_all_party_and_check_shows_its_type() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let d = env.ctl_json(&[
        "laws",
        "check",
        "--them",
        "+44 800 123 4567",
        "--them",
        "US-TX",
        "--them",
        "+49 30 1234567",
    ]);
    assert_eq!(d["requirement"], "all-party");
    assert_eq!(d["parties"][0]["location"], "unknown");
    let w = d["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "unknown-location")
        .expect("an unknown-location warning");
    assert!(w["message"].as_str().unwrap().contains("toll-free"), "{w}");
    // The number type of each party given as a number; null for a jurisdiction id.
    assert_eq!(d["numbers"][0]["kind"], "toll-free");
    assert_eq!(d["numbers"][0]["country"], "GB");
    assert!(d["numbers"][1].is_null(), "{d}");
    assert_eq!(d["numbers"][2]["kind"], "geographic");
    assert_eq!(d["numbers"][2]["party"]["jurisdiction"], "DE");
}

#[test]
fn laws_show_of_a_number_gives_its_type_and_its_table() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let (code, out, err) = env.ctl_run(&["laws", "show", "+44 808 157 0192"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("+448081570192: a toll-free number"),
        "{out}"
    );
    assert!(out.contains("can ring anywhere"), "{out}");
    let s = env.ctl_json(&["laws", "show", "+49 30 1234567"]);
    assert_eq!(s["number"]["kind"], "geographic");
    assert_eq!(s["jurisdiction"]["id"], "DE");
    let s = env.ctl_json(&["laws", "show", "+61 1300 123 456"]);
    assert_eq!(s["number"]["kind"], "shared-cost");
    assert!(s["jurisdiction"].is_null());
}

#[test]
fn invalid_numbers_are_refused_with_a_hint() {
    let mut env = TestEnv::new();
    env.start_daemon();
    for n in ["+12125", "+1212555010"] {
        let (code, out, err) = env.ctl_run(&["laws", "check", "--them", n]);
        assert_eq!(code, 2, "{n}: {out}");
        assert!(
            err.starts_with("onrecordctl: org.onrecord.Error.InvalidNumber:"),
            "{n}: {err}"
        );
    }
    // A Berlin number in national form, typed by a caller in Texas.
    let (code, _, err) = env.ctl_run(&["laws", "check", "--them", "030 1234567"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("InvalidNumber") && err.contains("country code"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
