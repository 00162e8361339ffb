use super::*;

const USERS: &str = "# my onrecord\njurisdiction = \"US-TX\" # home\n\n[capture]\nsource = \"capture-file\"\nsync_interval_ms = 500\n\n[[rule]]\nname = \"doctor\"\nnumber = \"+14155550123\"\naction = \"ignore\"\n";

#[test]
fn reads_what_is_set_and_defaults_the_rest() {
    let s = read(USERS).unwrap();
    assert_eq!(s.jurisdiction, "US-TX");
    assert!(!s.accept_company_notice);
    assert_eq!(s.storage, "");
    assert_eq!(s.retention_days, None);
    let s = read("[retention]\ndays = 30\n[naming]\ndirectory = \"{id}\"\n").unwrap();
    assert_eq!(s.retention_days, Some(30.0));
    assert_eq!(s.naming, "{id}");
}

#[test]
fn writing_keeps_comments_rules_and_other_keys() {
    let mut s = read(USERS).unwrap();
    s.jurisdiction = "US-CA".into();
    s.accept_company_notice = true;
    s.storage = "storage-flac".into();
    s.retention_days = Some(90.0);
    let out = apply(USERS, &s).unwrap();
    assert!(
        out.starts_with("# my onrecord\njurisdiction = \"US-CA\" # home\n"),
        "{out}"
    );
    assert!(out.contains("source = \"capture-file\""), "{out}");
    assert!(out.contains("sync_interval_ms = 500"), "{out}");
    assert!(out.contains("[[rule]]\nname = \"doctor\""), "{out}");
    assert_eq!(read(&out).unwrap(), s, "read back as written");
}

#[test]
fn clearing_removes_the_keys() {
    let mut s = read(USERS).unwrap();
    s.jurisdiction.clear();
    let out = apply(USERS, &s).unwrap();
    assert!(!out.contains("jurisdiction"), "{out}");
    assert_eq!(read(&out).unwrap(), s);
}

#[test]
fn choosing_a_device_turns_live_capture_on() {
    let s = Settings {
        microphone: "alsa:hw:1".into(),
        ..Settings::default()
    };
    let out = apply("", &s).unwrap();
    let back: toml_edit::DocumentMut = out.parse().unwrap();
    assert_eq!(back["capture"]["source"].as_str(), Some("capture-cpal"));
    assert_eq!(back["capture"]["microphone"].as_str(), Some("alsa:hw:1"));
    // An existing source is never replaced.
    let out = apply(USERS, &s).unwrap();
    assert!(out.contains("source = \"capture-file\""), "{out}");
}

#[test]
fn bad_values_and_bad_files_are_refused() {
    let bad_days = Settings {
        retention_days: Some(-1.0),
        ..Settings::default()
    };
    assert!(apply("", &bad_days).unwrap_err().contains("retention"));
    let bad_name = Settings {
        naming: "a/b".into(),
        ..Settings::default()
    };
    assert!(apply("", &bad_name).unwrap_err().contains("naming"));
    let no_id = Settings {
        naming: "{date}_{label}".into(),
        ..Settings::default()
    };
    assert!(apply("", &no_id).unwrap_err().contains("{id}"));
    assert!(
        read("jurisdiction = ")
            .unwrap_err()
            .starts_with("config.toml")
    );
}

#[test]
fn save_writes_a_new_file_and_replaces_an_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onrecord/config.toml");
    let s = Settings {
        jurisdiction: "DE".into(),
        ..Settings::default()
    };
    save(&path, &s).unwrap();
    assert_eq!(read(&std::fs::read_to_string(&path).unwrap()).unwrap(), s);
    std::fs::write(&path, USERS).unwrap();
    save(&path, &s).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("jurisdiction = \"DE\" # home"), "{text}");
}
