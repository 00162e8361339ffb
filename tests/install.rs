//! `make install` into a staging DESTDIR, unpacked where its PREFIX says (as a package manager
//! would), then: the layout, the unit verified by systemd-analyze, and the daemon started by
//! D-Bus activation on a private bus whose only service directory is the installed one.

use onrecord_tests::{Bus, TestEnv};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Installs the debug build with PREFIX `prefix`, staged under `stage`, then moves the staged
/// tree to `prefix`.
fn install(stage: &Path, prefix: &Path) {
    let out = Command::new("make")
        .current_dir(repo())
        .args(["-s", "install", "PROFILE=dev"])
        .arg(format!("DESTDIR={}", stage.display()))
        .arg(format!("PREFIX={}", prefix.display()))
        .output()
        .expect("make");
    assert!(
        out.status.success(),
        "make install failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let staged = stage.join(prefix.strip_prefix("/").unwrap());
    std::fs::rename(&staged, prefix).unwrap();
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn make_install_lays_out_everything_and_the_daemon_starts_by_dbus_activation() {
    let env = TestEnv::new();
    let root = env.dir.path();
    let prefix = root.join("prefix");
    install(&root.join("stage"), &prefix);

    // The layout.
    for (file, want) in [
        ("bin/onrecordd", 0o755),
        ("bin/onrecordctl", 0o755),
        ("libexec/onrecord/onrecord-mic", 0o755),
        ("libexec/onrecord/onrecord-archive", 0o755),
        ("libexec/onrecord/libonrecord_mic.so", 0o644),
        ("lib/onrecord/plugins/libonrecord_capture_cpal.so", 0o644),
        ("lib/onrecord/plugins/libonrecord_capture_file.so", 0o644),
        ("lib/onrecord/plugins/libonrecord_storage_wav.so", 0o644),
        ("lib/onrecord/plugins/libonrecord_storage_flac.so", 0o644),
        ("share/onrecord/laws/us.toml", 0o644),
        ("share/onrecord/laws/numbering/nanp.toml", 0o644),
        ("lib/systemd/user/onrecordd.service", 0o644),
        (
            "share/dbus-1/services/org.onrecord.OnRecord1.service",
            0o644,
        ),
        ("share/dbus-1/interfaces/org.onrecord.Calls1.xml", 0o644),
        ("share/dbus-1/interfaces/org.onrecord.Call1.xml", 0o644),
        ("share/dbus-1/interfaces/org.onrecord.Laws1.xml", 0o644),
        ("share/dbus-1/interfaces/org.onrecord.Daemon1.xml", 0o644),
        ("share/dbus-1/interfaces/org.onrecord.Rules1.xml", 0o644),
        ("share/man/man1/onrecordd.1", 0o644),
        ("share/man/man1/onrecordctl.1", 0o644),
        ("share/man/man1/onrecordctl-call-new.1", 0o644),
        ("share/bash-completion/completions/onrecordctl", 0o644),
        ("share/zsh/site-functions/_onrecordctl", 0o644),
        ("share/fish/vendor_completions.d/onrecordctl.fish", 0o644),
        ("share/doc/onrecord/config.toml", 0o644),
        ("bin/onrecord", 0o755),
        ("share/applications/org.onrecord.OnRecord.desktop", 0o644),
        (
            "share/icons/hicolor/scalable/apps/org.onrecord.OnRecord.svg",
            0o644,
        ),
        ("share/metainfo/org.onrecord.OnRecord.metainfo.xml", 0o644),
        ("share/locale/en/LC_MESSAGES/onrecord.mo", 0o644),
    ] {
        assert_eq!(mode(&prefix.join(file)), want, "{file}");
    }

    // The app as a desktop citizen: its .desktop file and AppStream metainfo validate as
    // installed, its icon is where the desktop file names it, and its catalogue is complete.
    for (tool, args, file) in [
        (
            "desktop-file-validate",
            &[][..],
            "share/applications/org.onrecord.OnRecord.desktop",
        ),
        (
            "appstreamcli",
            &["validate", "--no-net"][..],
            "share/metainfo/org.onrecord.OnRecord.metainfo.xml",
        ),
    ] {
        let out = Command::new(tool)
            .args(args)
            .arg(prefix.join(file))
            .output()
            .unwrap_or_else(|e| panic!("{tool} (make test installs it): {e}"));
        assert!(
            out.status.success(),
            "{tool} {file}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let desktop =
        std::fs::read_to_string(prefix.join("share/applications/org.onrecord.OnRecord.desktop"))
            .unwrap();
    assert!(
        desktop.contains("\nIcon=org.onrecord.OnRecord\n") && desktop.contains("\nExec=onrecord\n")
    );
    let messages = Command::new("msgunfmt")
        .arg(prefix.join("share/locale/en/LC_MESSAGES/onrecord.mo"))
        .output()
        .unwrap();
    let catalogue = String::from_utf8_lossy(&messages.stdout);
    assert!(
        catalogue.contains("msgid \"They agreed\"\nmsgstr \"They agreed\""),
        "{catalogue}"
    );
    let version = Command::new(prefix.join("bin/onrecord"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        version.status.success()
            && String::from_utf8_lossy(&version.stdout).starts_with("onrecord "),
        "{version:?}"
    );
    let unit = prefix.join("lib/systemd/user/onrecordd.service");
    let unit_text = std::fs::read_to_string(&unit).unwrap();
    assert!(
        unit_text.contains("Type=dbus\n") && unit_text.contains("BusName=org.onrecord.OnRecord1\n")
    );
    assert!(
        unit_text.contains(&format!("ExecStart={}/bin/onrecordd\n", prefix.display())),
        "{unit_text}"
    );

    // The man pages render, and the bash completion completes.
    let man = Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(prefix.join("share/man/man1/onrecordctl-call-new.1"))
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let man_text = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.status.success() && man_text.contains("--them"),
        "{man_text}"
    );
    let bash = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(onrecordctl ca); COMP_CWORD=1; _onrecordctl onrecordctl ca onrecordctl; echo \"${{COMPREPLY[@]}}\"",
            prefix.join("share/bash-completion/completions/onrecordctl").display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&bash.stdout).trim(), "call");

    // systemd-analyze verifies the user unit (its man: links resolve against the installed pages).
    let runtime = root.join("run");
    let verify = Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(&unit)
        .env("MANPATH", prefix.join("share/man"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .unwrap();
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // The unit's sandbox: systemd's own exposure score for it (was 9.8, "UNSAFE", with none).
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--user", "--threshold=25"])
        .arg(&unit)
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let score = report
        .lines()
        .find_map(|l| l.split("exposure level for onrecordd.service: ").nth(1))
        .unwrap_or_else(|| panic!("no score: {report}"));
    eprintln!("systemd-analyze security: {score}");
    assert!(
        security.status.success(),
        "exposure over 2.5: {score}\n{report}"
    );

    // A private bus that knows of onrecordd only through the installed service file. Its
    // activated services inherit its environment: the test's world.
    let conf =
        onrecord_tests::activating_bus_config(root, &prefix.join("share/dbus-1/services"), false);
    let config_home = root.join("config");
    std::fs::create_dir_all(config_home.join("onrecord")).unwrap();
    std::fs::write(
        config_home.join("onrecord/config.toml"),
        "jurisdiction = \"US-CA\"\n[capture]\nsource = \"capture-file\"\n",
    )
    .unwrap();
    let log = root.join("activated.log");
    let home = root.join("home");
    let data_home = root.join("data-home");
    let bus = Bus::start_configured(
        &conf,
        &[
            ("HOME", home.as_os_str()),
            ("XDG_CONFIG_HOME", config_home.as_os_str()),
            ("XDG_DATA_HOME", data_home.as_os_str()),
            ("XDG_RUNTIME_DIR", runtime.as_os_str()),
            ("RUST_LOG", "info".as_ref()),
            // Keeps the forked bus's stderr, which activated services inherit, in the log.
            ("DBUS_DEBUG_OUTPUT", "1".as_ref()),
        ],
        &log,
    );
    let ctl = |args: &[&str]| {
        let out = Command::new(prefix.join("bin/onrecordctl"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "onrecordctl {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };

    // The first call starts the daemon.
    let status = ctl(&["status", "--json"]);
    assert_eq!(status["user_jurisdiction"], "US-CA", "{status}");
    assert!(
        status["jurisdiction_count"].as_u64().unwrap() > 80,
        "{status}"
    );
    // It found its plugins and tables where they were installed, and keeps its data in the
    // user's XDG data directory.
    let plugins = ctl(&["plugins", "--json"]);
    let loaded: Vec<&str> = plugins
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "loaded")
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(loaded.len(), 4, "{plugins}");
    for f in loaded {
        assert!(
            Path::new(f).starts_with(prefix.join("lib/onrecord/plugins")),
            "{f}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let serving = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text
            .lines()
            .find(|l| l.contains("serving on the session bus"))
        {
            break line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no log from the activated daemon:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        serving.contains(&format!(
            "laws={}",
            prefix.join("share/onrecord/laws").display()
        )),
        "{serving}"
    );
    assert!(
        serving.contains(&format!("data={}", data_home.join("onrecord").display())),
        "{serving}"
    );
    assert!(data_home.join("onrecord/signing.key").is_file());

    // A second client finds the same daemon; it is stopped by SIGTERM and exits cleanly.
    let created = ctl(&["call", "new", "--them", "US-TX", "--json"]);
    let listed = ctl(&["call", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed} {created}");
    // The call runs the installed virtual microphone's library (here with no PipeWire to reach).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("the onrecord microphone could not start") {
            assert!(
                !text.contains("is not installed beside onrecordd"),
                "{text}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the microphone did not run:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = Command::new("busctl")
        .arg(format!("--address={}", bus.address))
        .args(["call", "org.freedesktop.DBus", "/org/freedesktop/DBus"])
        .args(["org.freedesktop.DBus", "GetConnectionUnixProcessID", "s"])
        .arg(onrecord_interface::BUS_NAME)
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pid.stdout)
        .split_whitespace()
        .nth(1)
        .expect("a pid")
        .to_owned();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "onrecordd did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(std::fs::read_to_string(&log).unwrap().contains("stopping"));

    // Without its installed tables, the daemon says where it expected them and stops; it never
    // falls back to the source tree its build came from.
    std::fs::rename(
        prefix.join("share/onrecord/laws"),
        root.join("laws-moved-away"),
    )
    .unwrap();
    let out = Command::new(prefix.join("bin/onrecordd"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &config_home)
        .env("XDG_DATA_HOME", &data_home)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "no law tables at {}",
            prefix.join("share/onrecord/laws").display()
        )),
        "{err}"
    );
    assert!(!err.contains("serving on the session bus"), "{err}");
}
