//! Bad input gets a clear, typed error, and the daemon keeps serving.

use onrecord_interface::Error;
use onrecord_tests::TestEnv;

#[test]
fn unknown_id_and_garbage_number_are_typed_errors_and_the_daemon_keeps_serving() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let (code, out, err) = env.ctl_run(&["laws", "check", "--them", "US-ZZ"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.starts_with("onrecordctl: org.onrecord.Error.UnknownJurisdiction:"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);

    let (code, _, err) = env.ctl_run(&["laws", "check", "--them", "call me maybe"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("onrecordctl: org.onrecord.Error.InvalidNumber:"),
        "{err}"
    );

    let (code, _, err) =
        env.ctl_run(&["laws", "check", "--them", "US-CA", "--medium", "telepathy"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("org.onrecord.Error.InvalidArgument") && err.contains("in-person"),
        "{err}"
    );

    let (code, _, err) = env.ctl_run(&["laws", "show", "XX-YY"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = env.ctl_run(&["laws", "lookup", "not a number"]);
    assert_eq!(code, 2, "{err}");

    assert!(env.daemon_alive());
    let d = env.ctl_json(&["laws", "check", "--them", "US-CA"]);
    assert_eq!(d["requirement"], "all-party");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_on_the_bus_are_typed_errors() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let conn = env.connection().await;
    let laws = env.laws(&conn).await;

    let huge = "9".repeat(100_000);
    match laws.evaluate("US-TX", &[huge.as_str()], "phone").await {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("longer than"), "{m}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert!(matches!(
        laws.evaluate("US-TX", &[], "").await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        laws.evaluate("+14155550100", &["US-CA"], "").await,
        Err(Error::UnknownJurisdiction(_))
    ));
    assert!(matches!(
        laws.get_jurisdiction("").await,
        Err(Error::UnknownJurisdiction(_))
    ));

    // Wrong argument types never reach the handler, and do not hurt the daemon.
    let reply = conn
        .call_method(
            Some(onrecord_interface::BUS_NAME),
            onrecord_interface::OBJECT_PATH,
            Some("org.onrecord.Laws1"),
            "Evaluate",
            &(42u32,),
        )
        .await;
    assert!(reply.is_err(), "a call with the wrong signature must fail");

    let d = laws.evaluate("US-TX", &["US-TX"], "").await.unwrap();
    assert_eq!(d.requirement, onrecord_interface::Requirement::OneParty);
    assert!(env.daemon_alive());
}

#[test]
fn invalid_shipped_tables_stop_the_daemon_with_file_and_line() {
    let env = TestEnv::new().with_own_shipped_copy();
    std::fs::write(
        env.laws_dir.join("broken.toml"),
        "schema_version = 1\n\n[[jurisdiction]]\nid = 7\n",
    )
    .unwrap();
    let out = env.daemon_command().output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid law tables") && err.contains("broken.toml:4:"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_broken_user_overlay_at_start_serves_the_shipped_tables_and_says_why() {
    let mut env = TestEnv::new();
    std::fs::create_dir_all(&env.user_laws_dir).unwrap();
    std::fs::write(
        env.user_laws_dir.join("mine.toml"),
        "schema_version = 1\nbogus = true\n",
    )
    .unwrap();
    env.start_daemon();
    let status = env.ctl_json(&["status"]);
    assert!(
        status["last_reload_error"]
            .as_str()
            .unwrap()
            .contains("mine.toml:2:"),
        "{status}"
    );
    let d = env.ctl_json(&["laws", "check", "--them", "US-CA"]);
    assert_eq!(d["requirement"], "all-party");
}

#[test]
fn an_invalid_config_is_a_clear_error_at_start() {
    let env = TestEnv::new();
    std::fs::write(&env.config, "jurisdiction = \"US-TX\"\nvolume = 11\n").unwrap();
    let out = env.daemon_command().output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid configuration") && err.contains("config.toml:2:1"),
        "{err}"
    );

    std::fs::write(&env.config, "jurisdiction = \"US-ZZ\"\n").unwrap();
    let out = env.daemon_command().output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"US-ZZ\" is not in the law tables"));
}

#[test]
fn a_second_daemon_refuses_to_start() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let out = env.daemon_command().output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot serve org.onrecord.OnRecord1"));
    assert!(env.daemon_alive());
}
