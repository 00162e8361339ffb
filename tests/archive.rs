//! The archive: its S3 client against a real local S3 server with Object Lock (moto), and the
//! daemon archiving sealed calls into it, checked with boto3 as the independent client; wrong
//! credentials against s3s-fs, a second server, which checks signatures (moto does not check
//! presigned ones); a server that goes down mid-upload through a relay that cuts it.

use onrecord_archive::s3::{Error, Lock, LockMode, Target};
use onrecord_tests::s3::{Moto, Outage, S3s, free_port, private_ca};
use onrecord_tests::{TestEnv, noise_clip};
use std::time::{Duration, Instant, SystemTime};

#[test]
fn uploads_carry_checksums_and_retention_and_a_locked_object_stays() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(free_port(), &dir.path().join("moto.log"));
    moto.boto("calls", &["mkbucket"]);
    let lock = Lock {
        mode: LockMode::Compliance,
        days: 30.0,
    };
    let target = Target::new(
        &moto.endpoint,
        "calls",
        "us-east-1",
        true,
        ("test", "test"),
        Some(lock),
    )
    .unwrap();
    let audio = dir.path().join("audio.wav");
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 253) as u8).collect();
    std::fs::write(&audio, &bytes).unwrap();
    let key = "onrecord/2026-11-30_acme_abc/audio.wav";
    let now = SystemTime::now();
    let (sha, _, _) = target.put_file(key, &audio, now).unwrap();

    // The storage holds it, with the retention asked for (boto3 and the client agree).
    let head = target.head(key).unwrap().expect("the object");
    assert_eq!(head.length, bytes.len() as u64);
    assert_eq!(head.lock_mode.as_deref(), Some("COMPLIANCE"));
    // The body the storage holds has the upload's MD5 (its entity tag); a storage that keeps
    // the SHA-256 the upload carried says the same one (moto keeps none).
    let (sha_of_file, md5, _) = onrecord_archive::s3::digests(&audio).unwrap();
    assert_eq!(sha, sha_of_file);
    assert_eq!(head.etag, onrecord_archive::s3::etag_of(&md5));
    assert!(head.sha256.is_none_or(|s| s == sha));
    let seen: serde_json::Value =
        serde_json::from_str(&moto.boto("calls", &["head", key])).unwrap();
    assert_eq!(seen["length"], bytes.len());
    assert_eq!(seen["mode"], "COMPLIANCE");
    let until = humantime::parse_rfc3339_weak(&seen["until"].as_str().unwrap()[..19]).unwrap();
    let days = until.duration_since(now).unwrap_or_default().as_secs_f64() / 86_400.0;
    assert!((29.9..30.1).contains(&days), "retained {days} days");

    // Nobody deletes a locked version, the test's own credentials included.
    let said = moto.boto("calls", &["delete", key]);
    assert!(said.starts_with("refused:"), "{said}");

    // What comes back is what went up.
    let back = dir.path().join("back.wav");
    target.get_to(key, &back).unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), bytes);
    assert_eq!(target.head("onrecord/nothing").unwrap(), None);
}

#[test]
fn a_server_that_is_down_is_unreachable_not_a_failure_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let target = Target::new(
        &format!("http://127.0.0.1:{port}"),
        "calls",
        "us-east-1",
        true,
        ("test", "test"),
        None,
    )
    .unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    match target.put_file("k", &file, SystemTime::now()) {
        Err(Error::Unreachable(m)) => assert!(m.contains("PUT s3://calls/k"), "{m}"),
        other => panic!("{other:?}"),
    }
    match target.put_file("k", &dir.path().join("missing"), SystemTime::now()) {
        Err(Error::Failed(m)) => assert!(m.contains("missing"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(Target::new("not a url", "b", "r", true, ("a", "b"), None).is_err());
}

/// Writes the 0600 credentials file the configs name.
fn write_credentials(env: &TestEnv, (id, secret): (&str, &str)) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let credentials = env.dir.path().join("s3-credentials");
    std::fs::write(
        &credentials,
        format!("access_key_id = \"{id}\"\nsecret_access_key = \"{secret}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o600)).unwrap();
    credentials
}

/// config.toml's `[archive]` for the moto at `endpoint`, with a 0600 credentials file.
fn archive_config(env: &TestEnv, endpoint: &str) -> String {
    let credentials = write_credentials(env, ("test", "test"));
    format!(
        "[archive]\nendpoint = \"{endpoint}\"\nbucket = \"calls\"\ncredentials_file = \"{}\"\nobject_lock = \"compliance\"\nretention_days = 1\n",
        credentials.display()
    )
}

/// The daemon records `seconds` of noise from a file, as fast as it can, into WAV, with
/// `extra` (the `[archive]` section, hooks) in its config.
fn records_into(env: &TestEnv, seconds: f64, extra: &str) {
    let (clip, _) = noise_clip(env.dir.path(), seconds);
    env.configure_capture(&clip, "fast", 1000, "storage-wav", extra);
}

/// archive.json of the call in `dir` once an attempt failed (within 20 s).
fn failed_attempt(env: &TestEnv, dir: &std::path::Path) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state: Option<serde_json::Value> = std::fs::read(dir.join("archive.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(s) = state
            && s["attempts"].as_u64().unwrap_or(0) >= 1
        {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "no failed attempt: {}",
            env.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `onrecordctl archive verify ID` passes: the bucket holds the call's audio as recorded.
fn verifies_from_the_bucket(env: &TestEnv, id: &str) {
    let (code, stdout, err) = env.ctl_run(&["archive", "verify", id]);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(
        stdout.contains("audio.wav: the archived copy is the local file"),
        "{stdout}"
    );
}

fn confirmed(state: &serde_json::Value) -> usize {
    state["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["confirmed"] == true)
        .count()
}

/// The `archived` entry of call `id`'s timeline, once there.
fn archived_entry(env: &TestEnv, id: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let call = env.ctl_json(&["call", "show", id]);
        if let Some(e) = call["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "archived")
        {
            return e["detail"].as_str().unwrap().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "not archived: {call}\n{}",
            env.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_sealed_call_is_archived_locked_and_the_hook_runs_after() {
    let mut env = TestEnv::new();
    let moto = Moto::start(free_port(), &env.dir.path().join("moto.log"));
    moto.boto("calls", &["mkbucket"]);
    let hook_saw = env.dir.path().join("hook-saw");
    let hook = env.dir.path().join("hook");
    onrecord_tests::executable(
        &hook,
        &format!("cat \"$1/archive.json\" > {}", hook_saw.display()),
    );
    records_into(
        &env,
        4.0,
        &format!(
            "{}\n[hooks]\nafter_seal = [\"{}\", \"{{dir}}\"]\n",
            archive_config(&env, &moto.endpoint),
            hook.display()
        ),
    );
    env.start_daemon();
    let id = env.record_call("archived", 300);
    let detail = archived_entry(&env, &id, Duration::from_secs(20));
    let dir = env.call_dir();
    let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        detail.contains(&format!("s3://calls/onrecord/{folder}/")),
        "{detail}"
    );
    // Every file of the sealed call, confirmed, and each locked in the bucket.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("archive.json")).unwrap()).unwrap();
    let names: Vec<&str> = state["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for want in [
        "audio.wav",
        "audio.wav.chain",
        "manifest.json",
        "manifest.sig",
        "call.json",
    ] {
        assert!(names.contains(&want), "{want} not archived: {names:?}");
    }
    assert!(state["archived_us"].as_u64().unwrap() > 0);
    let audio_key = format!("onrecord/{folder}/audio.wav");
    let head: serde_json::Value =
        serde_json::from_str(&moto.boto("calls", &["head", &audio_key])).unwrap();
    assert_eq!(head["mode"], "COMPLIANCE");
    assert_eq!(
        head["length"].as_u64().unwrap(),
        std::fs::metadata(dir.join("audio.wav")).unwrap().len()
    );
    let said = moto.boto("calls", &["delete", &audio_key]);
    assert!(said.starts_with("refused:"), "{said}");
    // The after-seal program ran once the call was archived.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !hook_saw.exists() {
        assert!(Instant::now() < deadline, "the hook did not run");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let saw = std::fs::read_to_string(&hook_saw).unwrap();
    assert!(!saw.contains("\"archived_us\": 0"), "{saw}");
    // Credentials never reach the log.
    assert!(!env.log().contains("secret_access_key"));

    // The record, as onrecordctl shows it, and the archive checked from the bucket.
    let status = env.ctl_json(&["archive", "status"]);
    let entry = &status.as_array().unwrap()[0];
    assert_eq!(entry["state"], "archived", "{status}");
    assert_eq!(entry["confirmed"], entry["objects"], "{status}");
    let (code, stdout, err) = env.ctl_run(&["archive", "verify", &id]);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(
        stdout.contains("audio.wav: the archived copy is the local file")
            && stdout.contains("archived copy: manifest.json: signed by"),
        "{stdout}"
    );
    // A new version written over an archived object (Object Lock keeps the old one, but the
    // bucket now serves this): verify says so.
    let changed = env.dir.path().join("changed.wav");
    let mut bytes = std::fs::read(dir.join("audio.wav")).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&changed, bytes).unwrap();
    moto.boto("calls", &["put", &audio_key, changed.to_str().unwrap()]);
    let (code, stdout, _) = env.ctl_run(&["archive", "verify", &id]);
    assert_ne!(code, 0, "{stdout}");
    assert!(
        stdout.contains("audio.wav: the archived copy differs from the local file")
            && stdout.contains("archived copy: audio.wav: SHA-256 differs"),
        "{stdout}"
    );
    let (code, _, err) = env.ctl_run(&["archive", "retry", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("UnknownCall"), "{err}");
    let (code, _, err) = env.ctl_run(&["archive", "retry"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_call_sealed_while_the_storage_is_down_is_archived_after_a_restart() {
    let mut env = TestEnv::new();
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    records_into(&env, 4.0, &archive_config(&env, &endpoint));
    env.start_daemon();
    let id = env.record_call("offline", 300);
    let dir = env.call_dir();
    // The attempt failed and was recorded, nothing is lost locally.
    let s = failed_attempt(&env, &dir);
    assert!(
        s["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot be reached"),
        "{s}"
    );
    assert!(env.log().contains("not archived yet"));
    assert!(dir.join("audio.wav").exists());
    env.stop_daemon();

    // The storage is back, the daemon starts again: it picks the call up from archive.json.
    let moto = Moto::start(port, &env.dir.path().join("moto.log"));
    moto.boto("calls", &["mkbucket"]);
    env.start_daemon();
    archived_entry(&env, &id, Duration::from_secs(20));
    let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
    let head: serde_json::Value = serde_json::from_str(&moto.boto(
        "calls",
        &["head", &format!("onrecord/{folder}/manifest.json")],
    ))
    .unwrap();
    assert_eq!(head["mode"], "COMPLIANCE");
}

/// The helper the daemon runs for each attempt, started by hand with no request: a one-line
/// error and a non-zero exit, not a panic.
#[test]
fn the_archive_helper_refuses_what_is_not_a_request() {
    let helper = onrecord_tests::bin("onrecord-archive");
    let out = std::process::Command::new(&helper)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the helper runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not a request"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn credentials_readable_by_others_are_refused_at_start() {
    let env = TestEnv::new();
    let config = archive_config(&env, "http://127.0.0.1:9");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            env.dir.path().join("s3-credentials"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    std::fs::write(&env.config, format!("jurisdiction = \"US-TX\"\n{config}")).unwrap();
    let out = env.daemon_command().output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("readable by others") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains("\"test\""), "{err}");
}

#[test]
fn a_server_down_mid_upload_gets_the_whole_call_when_it_is_back() {
    let mut env = TestEnv::new();
    let moto = Moto::start(free_port(), &env.dir.path().join("moto.log"));
    moto.boto("calls", &["mkbucket"]);
    let upstream: u16 = moto.endpoint.rsplit(':').next().unwrap().parse().unwrap();
    // audio.wav goes first (the objects go in name order); the server dies 600 kB into it.
    let outage = Outage::start(upstream, 600_000);
    records_into(&env, 8.0, &archive_config(&env, &outage.endpoint));
    env.start_daemon();
    let id = env.record_call("cut", 300);
    let dir = env.call_dir();
    let audio_len = std::fs::metadata(dir.join("audio.wav")).unwrap().len();
    assert!(
        audio_len > 1_200_000,
        "the cut must fall inside audio.wav: {audio_len}"
    );
    let s = failed_attempt(&env, &dir);
    assert!(outage.is_down());
    assert!(
        s["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot be reached"),
        "{s}"
    );
    assert_eq!(confirmed(&s), 0, "{s}");
    assert_eq!(s["archived_us"], 0, "{s}");
    let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
    let audio_key = format!("onrecord/{folder}/audio.wav");
    assert_eq!(moto.boto("calls", &["exists", &audio_key]), "no");
    assert!(dir.join("audio.wav").exists());

    // The server is back: a retry uploads the whole call, audio.wav from its first byte.
    outage.up();
    let (code, _, err) = env.ctl_run(&["archive", "retry", &id]);
    assert_eq!(code, 0, "{err}");
    archived_entry(&env, &id, Duration::from_secs(30));
    let head: serde_json::Value =
        serde_json::from_str(&moto.boto("calls", &["head", &audio_key])).unwrap();
    assert_eq!(head["length"].as_u64().unwrap(), audio_len);
    verifies_from_the_bucket(&env, &id);
}

#[test]
fn wrong_credentials_are_a_clear_error_nothing_is_lost_and_corrected_ones_are_used_next() {
    let mut env = TestEnv::new();
    let server = S3s::start(
        &env.dir.path().join("s3s"),
        "calls",
        ("AKONRECORDTEST", "the-secret-7c3a"),
        &env.dir.path().join("s3s.log"),
    );
    // The right key id with a secret that is not its own.
    let credentials = write_credentials(&env, ("AKONRECORDTEST", "not-the-secret-1f2e"));
    records_into(
        &env,
        4.0,
        &format!(
            "[archive]\nendpoint = \"{}\"\nbucket = \"calls\"\ncredentials_file = \"{}\"\n",
            server.endpoint,
            credentials.display()
        ),
    );
    env.start_daemon();
    let id = env.record_call("wrong keys", 300);
    let dir = env.call_dir();
    let s = failed_attempt(&env, &dir);
    let error = s["last_error"].as_str().unwrap();
    assert!(
        error.contains("refused it (credentials or policy)")
            && error.contains("SignatureDoesNotMatch"),
        "{error}"
    );
    assert_eq!(confirmed(&s), 0, "{s}");
    // Where the user looks: the status says pending and why.
    let status = env.ctl_json(&["archive", "status"]);
    let entry = &status.as_array().unwrap()[0];
    assert_eq!(entry["state"], "pending", "{status}");
    assert!(
        entry["last_error"]
            .as_str()
            .unwrap()
            .contains("SignatureDoesNotMatch"),
        "{status}"
    );
    // The secret is nowhere: log, queue, call record.
    for text in [
        env.log(),
        std::fs::read_to_string(dir.join("archive.json")).unwrap(),
        std::fs::read_to_string(dir.join("call.json")).unwrap(),
    ] {
        assert!(!text.contains("not-the-secret-1f2e"));
    }
    // Nothing is lost locally: the evidence is whole.
    let (code, stdout, err) = env.ctl_run(&["verify", &id]);
    assert_eq!(code, 0, "{stdout}{err}");

    // The file is corrected; the next retry uses it, without a restart.
    write_credentials(&env, ("AKONRECORDTEST", "the-secret-7c3a"));
    let (code, _, err) = env.ctl_run(&["archive", "retry"]);
    assert_eq!(code, 0, "{err}");
    archived_entry(&env, &id, Duration::from_secs(20));
    verifies_from_the_bucket(&env, &id);
}

#[test]
fn an_https_storage_of_a_private_ca_is_trusted_once_the_system_trusts_the_ca() {
    let mut env = TestEnv::new();
    let tls = env.dir.path().join("tls");
    std::fs::create_dir(&tls).unwrap();
    let (ca, cert, key) = private_ca(&tls);
    let moto = Moto::start_tls(
        free_port(),
        &env.dir.path().join("moto.log"),
        &ca,
        &cert,
        &key,
    );
    moto.boto("calls", &["mkbucket"]);
    records_into(&env, 4.0, &archive_config(&env, &moto.endpoint));
    // The system's trust store does not hold the CA: the certificate is refused.
    env.start_daemon();
    let id = env.record_call("tls", 300);
    let dir = env.call_dir();
    let s = failed_attempt(&env, &dir);
    let error = s["last_error"].as_str().unwrap();
    assert!(error.contains("certificate"), "{error}");
    assert_eq!(confirmed(&s), 0, "{s}");
    env.stop_daemon();

    // The CA in the system's trust store (here named by SSL_CERT_FILE, which the system's TLS
    // libraries read): the call left pending is archived after the restart.
    env.daemon_env
        .push(("SSL_CERT_FILE".into(), ca.to_string_lossy().into_owned()));
    env.start_daemon();
    archived_entry(&env, &id, Duration::from_secs(20));
    verifies_from_the_bucket(&env, &id);
}
