//! The archive's S3 client against a real local S3 server with Object Lock (moto's server
//! mode, from target/pyenv), checked with boto3 as the independent client: an upload carries
//! its checksums and its retention, a locked version cannot be deleted, what comes back is
//! what went up, and a server that is down is said as such.

use onrecord_archive::s3::{Error, Lock, LockMode, Target};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

fn pyenv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin")
}

/// moto's S3 server on a free loopback port, ended on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start(log: &Path) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(pyenv().join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .expect("moto_server in target/pyenv (make test runs scripts/pyenv.sh)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// boto3's answer to `s3.py ENDPOINT BUCKET ARGS...`.
fn boto(endpoint: &str, bucket: &str, args: &[&str]) -> String {
    let out = Command::new(pyenv().join("python"))
        .args(["-W", "ignore"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/s3.py"))
        .args([endpoint, bucket])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "s3.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn uploads_carry_checksums_and_retention_and_a_locked_object_stays() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(&dir.path().join("moto.log"));
    boto(&moto.endpoint, "calls", &["mkbucket"]);
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
    let sha = target.put_file(key, &audio, now).unwrap();

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
        serde_json::from_str(&boto(&moto.endpoint, "calls", &["head", key])).unwrap();
    assert_eq!(seen["length"], bytes.len());
    assert_eq!(seen["mode"], "COMPLIANCE");
    let until = humantime::parse_rfc3339_weak(&seen["until"].as_str().unwrap()[..19]).unwrap();
    let days = until.duration_since(now).unwrap_or_default().as_secs_f64() / 86_400.0;
    assert!((29.9..30.1).contains(&days), "retained {days} days");

    // Nobody deletes a locked version, the test's own credentials included.
    let said = boto(&moto.endpoint, "calls", &["delete", key]);
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
