use super::*;

#[test]
fn missing_optional_config_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        Config::load(&dir.path().join("none.toml"), false).unwrap(),
        Config::default()
    );
    assert!(Config::load(&dir.path().join("none.toml"), true).is_err());
}

#[test]
fn unknown_key_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, "jurisdiction = \"US-TX\"\ncolour = \"blue\"\n").unwrap();
    let e = Config::load(&p, true).unwrap_err().to_string();
    assert!(e.contains("c.toml:2:1"), "{e}");
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn live_capture_has_two_sides_by_default_and_each_can_be_left_out() {
    let c = CaptureSection::default();
    let sides = c.sides();
    assert_eq!(sides.len(), 2);
    assert_eq!(sides[0], (Role::Microphone, "device=default\n".to_owned()));
    assert_eq!(sides[1], (Role::FarSide, "device=monitor\n".to_owned()));
    let c: CaptureSection = toml::from_str(
        "far_side = \"none\"\nmicrophone = \"alsa:clip\"\nsource_options = { period_ms = 200 }\n",
    )
    .unwrap();
    assert_eq!(
        c.sides(),
        vec![(
            Role::Microphone,
            "device=alsa:clip\nperiod_ms=200\n".to_owned()
        )]
    );
    // Another plugin without sides is one untimed source.
    let c: CaptureSection = toml::from_str("source = \"capture-file\"\n").unwrap();
    assert!(c.sides().is_empty() && c.enabled());
    let c: CaptureSection = toml::from_str(
        "source = \"capture-file\"\nmicrophone = \"a.wav\"\nfar_side = \"b.wav\"\n[far_side_options]\nclock_ppm = 300\n",
    )
    .unwrap();
    assert_eq!(c.sides()[1].1, "clock_ppm=300\ndevice=b.wav\n");
    let c: CaptureSection = toml::from_str("source = \"none\"\n").unwrap();
    assert!(!c.enabled());
}

/// The sample configuration that `make install` ships (`dist/config.toml`): as shipped,
/// every setting commented out, it is the default; with every setting line (`#key = ...`,
/// `#[section]`) uncommented, it parses (so it names no key the daemon does not know) and
/// says what the defaults are.
#[test]
fn the_sample_config_parses_and_tells_the_defaults() {
    let text = include_str!("../../dist/config.toml");
    let shipped: Config = toml::from_str(text).unwrap();
    assert_eq!(shipped, Config::default());
    let settings: String = text
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase() || c == '['))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(settings.lines().count() >= 15, "{settings}");
    let all: Config = toml::from_str(&settings).unwrap();
    let capture = all.capture.clone().unwrap();
    let default = CaptureSection::default();
    assert_eq!(capture.source, default.source);
    assert_eq!(capture.storage, default.storage);
    assert_eq!(capture.sync_interval_ms, default.sync_interval_ms);
    assert_eq!(
        capture.sides(),
        vec![
            (
                Role::Microphone,
                "device=default\nperiod_ms=100\n".to_owned()
            ),
            (Role::FarSide, "device=monitor\nperiod_ms=100\n".to_owned()),
        ]
    );
    assert_eq!(all.naming, NamingSection::default());
    assert_eq!(all.policy, crate::calls::Policy::default());
    assert_eq!(all.retention.days, Some(90.0));
    assert_eq!(all.hooks.after_seal[0], "/usr/bin/rsync");
    assert_eq!(all.hooks.timeout_s, Some(Hooks::DEFAULT_TIMEOUT_S));
    assert_eq!(
        all.encryption.recipients().unwrap().len(),
        1,
        "the example is a key"
    );
    let a = all.announcement;
    let d = Announcement::default();
    assert_eq!(
        (
            a.microphone,
            a.default_source,
            &a.language,
            a.on_start,
            a.monitor_gain
        ),
        (
            d.microphone,
            d.default_source,
            &d.language,
            d.on_start,
            d.monitor_gain
        )
    );
}

#[test]
fn reads_jurisdiction_and_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(
        &p,
        "jurisdiction = \"US-TX\"\ndata_dir = \"/tmp/x\"\n[policy]\naccept_company_notice = true\n",
    )
    .unwrap();
    let c = Config::load(&p, true).unwrap();
    assert!(c.policy.accept_company_notice);
    assert_eq!(c.jurisdiction.as_deref(), Some("US-TX"));
    assert_eq!(c.data_dir.as_deref(), Some(Path::new("/tmp/x")));
}

#[test]
fn values_out_of_their_domain_are_refused_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (text, says) in [
        ("[retention]\ndays = -1\n", "[retention] days"),
        (
            "[announcement]\nlanguage = \"it\"\n",
            "[announcement] language",
        ),
        (
            "[announcement]\nmonitor_gain = 2.0\n",
            "[announcement] monitor_gain",
        ),
        (
            "[announcement]\npath = \"/nonexistent/notice.wav\"\n",
            "[announcement] path",
        ),
        (
            "[retention]\nmin_duration_s = nan\n",
            "[retention] min_duration_s",
        ),
        ("[capture]\nsync_interval_ms = 0\n", "sync_interval_ms"),
        ("[naming]\ndirectory = \"{date}\"\n", "[naming] directory"),
        ("[policy]\naccept_company_notes = true\n", "unknown field"),
    ] {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let e = Config::load(&path, true).unwrap_err().to_string();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        assert!(e.contains(says), "{text}: {e}");
    }
}
