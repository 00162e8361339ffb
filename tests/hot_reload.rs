//! Hot reload of the law tables: the user's overlay, written by rename and in place, invalid
//! files, the Reload method and SIGHUP.

use futures_util::StreamExt;
use onrecord_tests::TestEnv;
use std::time::{Duration, Instant};

/// Washington, made one-party: a user's overlay entry that changes a decision.
const WA_ONE_PARTY: &str = r#"schema_version = 1

[[jurisdiction]]
id = "US-WA"
name = "Washington (my reading)"
parent = "US"
confidence = "low"
last_verified = "2026-11-28"
notes = "A test overlay."

[[jurisdiction.rule]]
media = ["phone", "in-person"]
regime = "criminal"
consent = "one-party"
citations = ["Wash. Rev. Code § 9.73.030"]

[[jurisdiction.source]]
url = "https://example.org"
publisher = "test"
"#;

fn requirement(env: &TestEnv) -> String {
    let d = env.ctl_json(&["laws", "check", "--me", "US-TX", "--them", "US-WA"]);
    d["requirement"].as_str().unwrap().to_owned()
}

/// Waits up to `limit` for `f` to hold.
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlay_written_by_rename_is_served_within_a_second_with_the_signal() {
    let mut env = TestEnv::new();
    env.start_daemon();
    assert_eq!(requirement(&env), "all-party");
    let conn = env.connection().await;
    let laws = env.laws(&conn).await;
    let old_digest = laws.tables_digest().await.unwrap();
    let mut changed = laws.receive_tables_changed().await.unwrap();

    let start = Instant::now();
    TestEnv::write_by_rename(&env.user_laws_dir, "wa.toml", WA_ONE_PARTY);
    let signal = tokio::time::timeout(Duration::from_secs(1), changed.next())
        .await
        .expect("TablesChanged within 1 s of the rename")
        .expect("signal stream open");
    let args = signal.args().unwrap();
    assert_ne!(args.digest, old_digest);
    assert_eq!(args.digest, laws.tables_digest().await.unwrap());
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(requirement(&env), "one-party");
    let show = env.ctl_json(&["laws", "show", "US-WA"]);
    assert_eq!(show["origin"], "user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlay_rewritten_in_place_is_served() {
    let mut env = TestEnv::new();
    std::fs::create_dir_all(&env.user_laws_dir).unwrap();
    std::fs::write(env.user_laws_dir.join("wa.toml"), WA_ONE_PARTY).unwrap();
    env.start_daemon();
    assert_eq!(requirement(&env), "one-party");
    let conn = env.connection().await;
    let laws = env.laws(&conn).await;
    let mut changed = laws.receive_tables_changed().await.unwrap();

    let strict = WA_ONE_PARTY.replace(
        "consent = \"one-party\"",
        "consent = \"all-party\"\nnotice_counts_as_consent = \"yes\"",
    );
    std::fs::write(env.user_laws_dir.join("wa.toml"), strict).unwrap();
    tokio::time::timeout(Duration::from_secs(1), changed.next())
        .await
        .expect("TablesChanged within 1 s");
    assert_eq!(requirement(&env), "all-party");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_last_good_tables_on_parse_error() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let conn = env.connection().await;
    let laws = env.laws(&conn).await;
    let good_digest = laws.tables_digest().await.unwrap();
    let mut failed = laws.receive_reload_failed().await.unwrap();

    TestEnv::write_by_rename(
        &env.user_laws_dir,
        "wa.toml",
        "schema_version = 1\n[[jurisdiction]\nid = \"US-WA\"\n",
    );
    let signal = tokio::time::timeout(Duration::from_secs(2), failed.next())
        .await
        .expect("ReloadFailed signal")
        .unwrap();
    let error = signal.args().unwrap().error.to_owned();
    assert!(
        error.contains("wa.toml:2:"),
        "the error names file and line: {error}"
    );

    // The old tables are still served, and the failure is visible.
    assert_eq!(laws.tables_digest().await.unwrap(), good_digest);
    assert_eq!(requirement(&env), "all-party");
    let last = laws.last_reload_error().await.unwrap();
    assert!(last.contains("wa.toml:2:"), "{last}");
    let (_, status, _) = env.ctl_run(&["status"]);
    assert!(status.contains("last reload FAILED"), "{status}");
    let (code, _, err) = env.ctl_run(&["laws", "reload"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("org.onrecord.Error.ReloadFailed") && err.contains("wa.toml:2:"),
        "{err}"
    );

    // Fixing the file recovers.
    let mut changed = laws.receive_tables_changed().await.unwrap();
    TestEnv::write_by_rename(&env.user_laws_dir, "wa.toml", WA_ONE_PARTY);
    tokio::time::timeout(Duration::from_secs(2), changed.next())
        .await
        .expect("TablesChanged after the fix");
    assert_eq!(requirement(&env), "one-party");
    assert_eq!(laws.last_reload_error().await.unwrap(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_but_well_formed_change_is_rejected_too() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let conn = env.connection().await;
    let laws = env.laws(&conn).await;
    let mut failed = laws.receive_reload_failed().await.unwrap();
    // An all-party rule with no citation.
    let bad = WA_ONE_PARTY
        .replace(
            "consent = \"one-party\"",
            "consent = \"all-party\"\nnotice_counts_as_consent = \"no\"",
        )
        .replace(
            "citations = [\"Wash. Rev. Code § 9.73.030\"]",
            "citations = []",
        );
    TestEnv::write_by_rename(&env.user_laws_dir, "wa.toml", &bad);
    let s = tokio::time::timeout(Duration::from_secs(2), failed.next())
        .await
        .expect("ReloadFailed")
        .unwrap();
    let error = s.args().unwrap().error.to_owned();
    assert!(
        error.contains("rule.citations") && error.contains("must cite its law"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_the_reload_method_reload() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let conn = env.connection().await;
    let laws = env.laws(&conn).await;
    let first = laws.loaded_at().await.unwrap();

    env.signal_daemon("HUP");
    let laws2 = laws.clone();
    let reloaded = tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Handle::current();
        eventually(Duration::from_secs(5), || {
            rt.block_on(laws2.loaded_at()).unwrap() > first
        })
    })
    .await
    .unwrap();
    assert!(reloaded, "SIGHUP reloaded the tables");
    assert!(env.log().contains("why=\"SIGHUP\""), "{}", env.log());

    let second = laws.loaded_at().await.unwrap();
    let (code, out, err) = env.ctl_run(&["laws", "reload"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&laws.tables_digest().await.unwrap()), "{out}");
    assert!(laws.loaded_at().await.unwrap() > second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_directory_is_watched_too() {
    let mut env = TestEnv::new().with_own_shipped_copy();
    env.start_daemon();
    let conn = env.connection().await;
    let laws = env.laws(&conn).await;
    let mut changed = laws.receive_tables_changed().await.unwrap();
    let before = env.ctl_json(&["laws", "lookup", "+380 50 123 4567"]);
    // The metadata knows it is a Ukrainian mobile; no plan of the tables names its area yet.
    assert_eq!(before["kind"], "mobile");
    assert_eq!(before["party"]["detail"], "a mobile number, +380");
    // A new plan, in a new numbering file.
    let plan = "schema_version = 1\n[[plan]]\ncalling_code = 380\ncountry = \"UA\"\nname = \"Ukraine\"\n[[plan.area]]\nkind = \"mobile\"\nprefixes = [\"50\"]\n";
    TestEnv::write_by_rename(&env.laws_dir.join("numbering"), "ua.toml", plan);
    tokio::time::timeout(Duration::from_secs(2), changed.next())
        .await
        .expect("TablesChanged");
    let after = env.ctl_json(&["laws", "lookup", "+380 50 123 4567"]);
    assert_eq!(after["kind"], "mobile");
    assert_eq!(after["country"], "UA");
    assert_eq!(after["party"]["detail"], "a mobile number, +380 50");
}
