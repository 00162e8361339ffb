//! The layers have no arrow upward: the interface, the client, the plugins, the evidence and
//! the analysis never depend on the daemon crate (they are what the daemon is built from, or
//! talk to it over D-Bus only). Read from `cargo metadata`, so a new crate is checked too.

use serde_json::Value;
use std::process::Command;

fn metadata(manifest: &str) -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(format!("{}/../{manifest}", env!("CARGO_MANIFEST_DIR")))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn nothing_below_the_daemon_depends_on_it() {
    // The daemon itself and what exists to test or fuzz it may depend on it.
    let allowed = ["onrecordd", "onrecord-tests", "onrecord-fuzz"];
    let mut checked = Vec::new();
    let mut upward = Vec::new();
    for manifest in ["Cargo.toml", "plugins/testing/Cargo.toml"] {
        let meta = metadata(manifest);
        for p in meta["packages"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            if allowed.contains(&name) {
                continue;
            }
            checked.push(name.to_owned());
            for d in p["dependencies"].as_array().unwrap() {
                if d["name"] == "onrecordd" {
                    upward.push(format!("{name} -> onrecordd ({})", d["kind"]));
                }
            }
        }
    }
    for crate_ in [
        "onrecord-interface",
        "onrecordctl",
        "onrecord-evidence",
        "onrecord-analysis",
        "onrecord-plugin",
    ] {
        assert!(
            checked.iter().any(|c| c == crate_),
            "{crate_} not in the workspace: {checked:?}"
        );
    }
    assert!(
        checked.iter().any(|c| c.starts_with("onrecord-capture-"))
            && checked.iter().any(|c| c.starts_with("onrecord-storage-")),
        "{checked:?}"
    );
    assert!(upward.is_empty(), "dependencies upward: {upward:?}");
}
