//! `onrecordctl export ID --format vcon`: the call as a vCon, validated by the vcon library of
//! the format's authors (PyPI `vcon`, in target/pyenv), and still checkable as onrecord's
//! evidence: `onrecordctl verify` of the vCon passes, and fails once its recording is changed.

use onrecord_tests::{TestEnv, noise_clip};
use std::path::Path;
use std::process::Command;

fn validate(vcon: &Path) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(root.join("target/pyenv/bin/python"))
        .arg("-W")
        .arg("ignore")
        .arg(root.join("tests/python/validate_vcon.py"))
        .arg(vcon)
        .output()
        .expect("target/pyenv (make test runs scripts/pyenv.sh)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_call_exports_as_a_valid_vcon_that_still_verifies() {
    let mut env = TestEnv::new();
    let (clip, _) = noise_clip(env.dir.path(), 4.0);
    env.configure_capture(&clip, "fast", 1000, "storage-wav", "");
    env.start_daemon();
    let id = env.ctl_json(&[
        "call",
        "new",
        "--them",
        "+1 415 555 0100",
        "--label",
        "Acme",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.call(&["notice", &id]);
    env.call(&["consent", "yes", &id]);
    env.call(&["start", &id]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    env.call(&["confirm", &id]);
    env.call(&["stop", &id]);

    let out = env.dir.path().join("acme.vcon.json");
    let (code, _, err) = env.ctl_run(&[
        "export",
        &id,
        "--format",
        "vcon",
        "--to",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (ok, said) = validate(&out);
    assert!(ok, "the vcon library says: {said}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["subject"], "Acme");
    assert_eq!(v["parties"][1]["tel"], "+14155550100");
    assert_eq!(v["parties"][1]["consent"], "yes");
    assert_eq!(v["dialog"][0]["type"], "recording");
    assert_eq!(v["dialog"][0]["mediatype"], "audio/x-wav");
    let kinds: Vec<&str> = v["analysis"][0]["body"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"consent") && kinds.contains(&"confirmed"),
        "{kinds:?}"
    );
    assert_eq!(v["analysis"][1]["type"], "hold-analysis");

    // onrecord's evidence travels with it: the vCon verifies as the call does...
    let (code, stdout, err) = env.ctl_run(&["verify", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{err}");
    // ...and a changed recording does not.
    let mut tampered = v.clone();
    let body = tampered["dialog"][0]["body"].as_str().unwrap().to_owned();
    let at = body.len() / 2;
    let flipped = if &body[at..at + 1] == "A" { "B" } else { "A" };
    tampered["dialog"][0]["body"] =
        serde_json::json!(format!("{}{flipped}{}", &body[..at], &body[at + 1..]));
    let bad = env.dir.path().join("tampered.vcon.json");
    std::fs::write(&bad, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let (code, stdout, _) = env.ctl_run(&["verify", bad.to_str().unwrap()]);
    assert_ne!(code, 0, "{stdout}");
    assert!(stdout.contains("SHA-256 differs"), "{stdout}");

    // By reference: the file's URL and its SHA-512, and still a valid vCon.
    let by_ref = env.dir.path().join("ref.vcon.json");
    let (code, _, err) = env.ctl_run(&[
        "export",
        &id,
        "--format",
        "vcon",
        "--reference",
        "--to",
        by_ref.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (ok, said) = validate(&by_ref);
    assert!(ok, "{said}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&by_ref).unwrap()).unwrap();
    assert!(
        r["dialog"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("file:///")
    );
    assert!(
        r["dialog"][0]["content_hash"]
            .as_str()
            .unwrap()
            .starts_with("sha512-")
    );
    assert!(r["dialog"][0].get("body").is_none());
}
