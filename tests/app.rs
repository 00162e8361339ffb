//! The desktop app, used as a person would: a headless X server, the real daemon on a private
//! bus (D-Bus activatable, not running at first), and `tests/app/drive.py` clicking through a
//! whole call over AT-SPI by accessible names, checking the daemon after each click, and
//! taking a screenshot of each screen (kept in `target/app-shots/`).

use onrecord_tests::display::Display;
use onrecord_tests::{Bus, activating_bus_config, bin, noise_clip, shipped_laws};
use std::path::Path;
use std::process::Command;

/// The screens drive.py photographs.
const SHOTS: &[&str] = &[
    "absent",
    "now-idle",
    "now-awaiting-notice",
    "now-refused",
    "now-awaiting-consent",
    "now-ready",
    "now-recording",
    "now-paused",
    "now-ended",
    "calls",
    "call-page",
    "check",
    "settings",
    "narrow-dark",
];

#[test]
fn a_whole_call_through_the_window() {
    let dir = tempfile::Builder::new()
        .prefix("onrecord-app-")
        .tempdir()
        .unwrap();
    let root = dir.path();
    for d in [
        "home",
        "config/onrecord",
        "data-home",
        "run",
        "data",
        "services",
        "shots",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let (clip, _) = noise_clip(root, 60.0);
    let config = root.join("config/onrecord/config.toml");
    std::fs::write(
        &config,
        format!(
            "jurisdiction = \"US-TX\"\n\n[capture]\nsource = \"capture-file\"\nstorage = \"storage-wav\"\n\n[capture.source_options]\npath = \"{}\"\npace = \"realtime\"\n",
            clip.display()
        ),
    )
    .unwrap();
    // onrecordd as D-Bus activates it, reading config.toml where the app edits it.
    std::fs::write(
        root.join("services/org.onrecord.OnRecord1.service"),
        format!(
            "[D-BUS Service]\nName=org.onrecord.OnRecord1\nExec={} --laws-dir {} --data-dir {}\n",
            bin("onrecordd").display(),
            shipped_laws().display(),
            root.join("data").display()
        ),
    )
    .unwrap();
    let display = Display::start(root);
    let log = root.join("bus.log");
    let env: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("HOME", root.join("home").into_os_string().leak()),
        (
            "XDG_CONFIG_HOME",
            root.join("config").into_os_string().leak(),
        ),
        (
            "XDG_DATA_HOME",
            root.join("data-home").into_os_string().leak(),
        ),
        ("XDG_RUNTIME_DIR", root.join("run").into_os_string().leak()),
        ("DISPLAY", display.name.as_ref()),
        ("RUST_LOG", "info".as_ref()),
        ("DBUS_DEBUG_OUTPUT", "1".as_ref()),
    ];
    let conf = activating_bus_config(root, &root.join("services"), true);
    let bus = Bus::start_configured(&conf, &env, &log);
    let export = root.join("acme.zip");
    let out = Command::new("/usr/bin/python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("app/drive.py"))
        .env_clear()
        .envs(env.iter().copied())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("GSK_RENDERER", "cairo")
        .env("ONRECORD_APP", bin("onrecord"))
        .env("ONRECORD_CTL", bin("onrecordctl"))
        .env("SHOTS", root.join("shots"))
        .env("CONFIG", &config)
        .env("EXPORT", &export)
        .output()
        .expect("/usr/bin/python3 with pyatspi (make test installs python3-pyatspi)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    // The screenshots are the test's artifacts, also when it failed.
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/app-shots");
    let _ = std::fs::remove_dir_all(&kept);
    std::fs::create_dir_all(&kept).unwrap();
    for entry in std::fs::read_dir(root.join("shots")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), kept.join(entry.file_name())).unwrap();
    }
    assert!(
        out.status.success(),
        "drive.py failed:\n{stdout}\n{stderr}\nbus and daemon log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(stdout.trim_end().ends_with("done"), "{stdout}");
    for name in SHOTS {
        let png = std::fs::read(root.join("shots").join(format!("{name}.png")))
            .unwrap_or_else(|e| panic!("no screenshot {name}: {e}"));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
    }
    let daemon_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!daemon_log.contains("panicked"), "{daemon_log}");
    drop(bus);
    drop(display);
}

/// The string literals of `tr("...")` and `trf("...", ...)` calls in `source`, unescaped as
/// gettext reads them.
fn translatable(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for start in ["tr(", "trf("] {
        let mut rest = source;
        while let Some(i) = rest.find(start) {
            // A call, not the end of another name (`attr(`).
            let before = rest[..i].chars().last();
            rest = &rest[i + start.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let Some(open) = rest.trim_start().strip_prefix('"') else {
                continue;
            };
            let mut text = String::new();
            let mut chars = open.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => text.push('\n'),
                        Some(other) => text.push(other),
                        None => break,
                    },
                    c => text.push(c),
                }
            }
            found.push(text);
        }
    }
    found
}

/// The app's translation template and English catalogue are what `make po` makes from the
/// sources now, and every string the app translates is in them (xgettext reads Rust with its C
/// parser: this checks it missed none).
#[test]
fn the_translations_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(root.join("scripts/po.sh"))
        .arg(dir.path())
        .output()
        .expect("scripts/po.sh (make test installs gettext)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in ["onrecord.pot", "en.po"] {
        let committed = std::fs::read_to_string(root.join("app/po").join(file)).unwrap();
        let fresh = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(
            committed == fresh,
            "app/po/{file} is out of date: run `make po` and commit it"
        );
    }
    let catalogue = std::fs::read_to_string(root.join("app/po/en.po")).unwrap();
    // msgids as the catalogue writes them: joined lines, escapes as in the source.
    let mut msgids = std::collections::HashSet::new();
    let mut current: Option<String> = None;
    for line in catalogue.lines() {
        if let Some(first) = line.strip_prefix("msgid ") {
            current = Some(first.trim_matches('"').to_owned());
        } else if let (Some(id), Some(more)) = (current.as_mut(), line.strip_prefix('"')) {
            id.push_str(more.trim_end_matches('"'));
        } else if let Some(id) = current.take() {
            msgids.insert(id.replace("\\n", "\n").replace("\\\"", "\""));
        }
    }
    let mut count = 0;
    for entry in std::fs::read_dir(root.join("app/src")).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        for text in translatable(&source) {
            count += 1;
            assert!(
                msgids.contains(&text),
                "{}: {text:?} is not in app/po/en.po",
                path.display()
            );
        }
    }
    assert!(count > 100, "only {count} translatable strings found");
}
