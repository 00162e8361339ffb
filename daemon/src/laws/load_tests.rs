use super::*;
use std::fs;

const OK_US: &str = r#"
schema_version = 1

[[jurisdiction]]
id = "US"
name = "United States"
confidence = "high"
last_verified = "2026-01-01"
notes = "federal"

[[jurisdiction.rule]]
media = ["phone", "in-person"]
regime = "criminal"
consent = "one-party"
citations = ["18 U.S.C. § 2511"]

[[jurisdiction.source]]
url = "https://example.org/us"
publisher = "Example"

[[jurisdiction]]
id = "US-CA"
name = "California"
parent = "US"
confidence = "high"
last_verified = "2026-01-01"
notes = "strict"

[[jurisdiction.rule]]
media = ["phone"]
regime = "criminal"
consent = "all-party"
notice_counts_as_consent = "unsettled"
citations = ["Cal. Penal Code § 632.7"]

[[jurisdiction.source]]
url = "https://example.org/ca"
publisher = "Example"
updated = "2021-04"
"#;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = d.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    d
}

fn problems(files: &[(&str, &str)]) -> Vec<Problem> {
    let d = dir_with(files);
    load(d.path(), None)
        .expect_err("the set should be rejected")
        .0
}

#[test]
fn a_valid_set_loads() {
    let d = dir_with(&[("us.toml", OK_US)]);
    let set = load(d.path(), None).unwrap();
    assert_eq!(set.jurisdictions.len(), 2);
    assert_eq!(set.subdivisions("US"), ["US-CA".to_owned()]);
    assert!(set.digest.starts_with("sha256:"));
    assert_eq!(set.chain("US-CA").collect::<Vec<_>>(), ["US-CA", "US"]);
}

#[test]
fn unknown_field_names_file_line_and_field() {
    let text = OK_US.replace("notes = \"strict\"", "notes = \"strict\"\ncolour = \"red\"");
    let p = problems(&[("us.toml", &text)]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].file.ends_with("us.toml"));
    let line = text.lines().position(|l| l.starts_with("colour")).unwrap() + 1;
    assert_eq!(p[0].line, line, "{}", p[0]);
    assert!(p[0].message.contains("unknown field `colour`"), "{}", p[0]);
}

#[test]
fn unknown_value_is_rejected() {
    let text = OK_US.replace("consent = \"all-party\"", "consent = \"two-party\"");
    let p = problems(&[("us.toml", &text)]);
    assert!(p[0].message.contains("two-party"), "{}", p[0]);
    let line = text.lines().position(|l| l.contains("two-party")).unwrap() + 1;
    assert_eq!(p[0].line, line);
}

#[test]
fn duplicate_id_in_one_layer_is_rejected() {
    let dup = OK_US.split("[[jurisdiction]]").nth(2).unwrap();
    let other = format!("schema_version = 1\n\n[[jurisdiction]]{dup}");
    let p = problems(&[("us.toml", OK_US), ("zz.toml", &other)]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].file.ends_with("zz.toml"));
    assert_eq!(p[0].field, "jurisdiction.id");
    assert!(p[0].message.contains("duplicate id \"US-CA\""), "{}", p[0]);
    assert!(p[0].message.contains("us.toml"), "{}", p[0]);
}

#[test]
fn dangling_parent_is_rejected() {
    let text = OK_US
        .replace("id = \"US-CA\"", "id = \"XX-CA\"")
        .replace("parent = \"US\"", "parent = \"XX\"");
    let p = problems(&[("us.toml", &text)]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].field, "jurisdiction.parent");
    assert!(p[0].message.contains("unknown parent \"XX\""), "{}", p[0]);
    let line = text.lines().position(|l| l == "parent = \"XX\"").unwrap() + 1;
    assert_eq!(p[0].line, line);
}

#[test]
fn strict_rule_without_citation_is_rejected() {
    let text = OK_US.replace(
        "citations = [\"Cal. Penal Code § 632.7\"]",
        "citations = []",
    );
    let p = problems(&[("us.toml", &text)]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].field, "rule.citations");
    assert!(
        p[0].message.contains("all-party rule must cite"),
        "{}",
        p[0]
    );
}

#[test]
fn one_party_rule_may_go_without_citation() {
    let text = OK_US.replace("citations = [\"18 U.S.C. § 2511\"]", "");
    let d = dir_with(&[("us.toml", &text)]);
    assert!(load(d.path(), None).is_ok());
}

#[test]
fn all_party_rule_must_say_whether_notice_counts() {
    let text = OK_US.replace("notice_counts_as_consent = \"unsettled\"\n", "");
    let p = problems(&[("us.toml", &text)]);
    assert_eq!(p[0].field, "rule.notice_counts_as_consent");
}

#[test]
fn other_schema_versions_are_rejected() {
    let text = OK_US.replacen("schema_version = 1", "schema_version = 2", 1);
    let p = problems(&[("us.toml", &text)]);
    assert!(
        p[0].message.contains("unsupported schema version 2"),
        "{}",
        p[0]
    );
}

#[test]
fn subdivision_must_name_its_country_as_parent() {
    let text = OK_US.replace("parent = \"US\"\n", "");
    let p = problems(&[("us.toml", &text)]);
    assert!(
        p[0].message.contains("must name its parent \"US\""),
        "{}",
        p[0]
    );
}

#[test]
fn malformed_toml_is_reported_with_its_line() {
    let p = problems(&[
        ("us.toml", OK_US),
        ("bad.toml", "schema_version = 1\n[[jurisdiction]\n"),
    ]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].file.ends_with("bad.toml"));
    assert_eq!(p[0].line, 2);
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let bad1 = OK_US.replace(
        "citations = [\"Cal. Penal Code § 632.7\"]",
        "citations = []",
    );
    let p = problems(&[
        ("us.toml", &bad1),
        ("x.toml", "schema_version = 1\nnope = 1\n"),
    ]);
    assert_eq!(p.len(), 2, "{p:?}");
}

#[test]
fn user_overlay_replaces_by_id() {
    let shipped = dir_with(&[("us.toml", OK_US)]);
    let relaxed = OK_US
        .split("[[jurisdiction]]")
        .nth(2)
        .unwrap()
        .replace("consent = \"all-party\"", "consent = \"one-party\"");
    let user = dir_with(&[(
        "mine.toml",
        &format!("schema_version = 1\n[[jurisdiction]]{relaxed}"),
    )]);
    let set = load(shipped.path(), Some(user.path())).unwrap();
    let ca = set.get("US-CA").unwrap();
    assert_eq!(ca.origin, Origin::User);
    assert_eq!(ca.rules[0].consent, Consent::OneParty);
    assert_eq!(set.get("US").unwrap().origin, Origin::Shipped);
    // The digest covers both layers.
    assert_ne!(set.digest, load(shipped.path(), None).unwrap().digest);
}

#[test]
fn missing_user_dir_is_no_overlay() {
    let shipped = dir_with(&[("us.toml", OK_US)]);
    let set = load(shipped.path(), Some(&shipped.path().join("nope"))).unwrap();
    assert_eq!(set.digest, load(shipped.path(), None).unwrap().digest);
}

#[test]
fn area_naming_an_unknown_subdivision_is_rejected() {
    let plan = "schema_version = 1\n[[plan]]\ncalling_code = 1\nname = \"NANP\"\n[[plan.area]]\nkind = \"geographic\"\njurisdictions = [\"US-ZZ\"]\nprefixes = [\"999\"]\n";
    let p = problems(&[("us.toml", OK_US), ("numbering/nanp.toml", plan)]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].message.contains("unknown jurisdiction \"US-ZZ\""),
        "{}",
        p[0]
    );
    assert_eq!(p[0].line, 7);
}

#[test]
fn toll_free_area_must_not_name_a_place() {
    let plan = "schema_version = 1\n[[plan]]\ncalling_code = 1\nname = \"NANP\"\n[[plan.area]]\nkind = \"toll-free\"\njurisdictions = [\"US-CA\"]\nprefixes = [\"800\"]\n";
    let p = problems(&[("us.toml", OK_US), ("numbering/nanp.toml", plan)]);
    assert!(
        p[0].message.contains("toll-free area has no location"),
        "{}",
        p[0]
    );
}

#[test]
fn ids_must_be_iso_shaped() {
    assert!(is_jurisdiction_id("US"));
    assert!(is_jurisdiction_id("AU-NSW"));
    assert!(is_jurisdiction_id("CA-ON"));
    assert!(!is_jurisdiction_id("us"));
    assert!(!is_jurisdiction_id("USA"));
    assert!(!is_jurisdiction_id("US-"));
    assert!(!is_jurisdiction_id("US-ABCD"));
    assert!(!is_jurisdiction_id("US-CA-X"));
}

// The shipped tables.

fn shipped() -> LawSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../laws");
    load(&dir, None).unwrap_or_else(|e| panic!("the shipped tables are invalid:\n{e}"))
}

#[test]
fn every_shipped_file_parses_and_validates() {
    let set = shipped();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../laws");
    let mut files = Vec::new();
    collect_toml(&dir, &mut files).unwrap();
    assert!(files.len() >= 8, "{files:?}");
    // Each file on its own is well-formed too (not only the merged set).
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        toml::from_str::<super::super::model::LawFile>(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    assert!(set.jurisdictions.len() >= 80);
}

#[test]
fn all_fifty_states_dc_and_the_federal_layer_are_present() {
    let set = shipped();
    const STATES: [&str; 50] = [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
        "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
        "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
        "VA", "WA", "WV", "WI", "WY",
    ];
    for s in STATES {
        let id = format!("US-{s}");
        let j = set.get(&id).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(j.parent.as_deref(), Some("US"));
    }
    assert!(set.get("US-DC").is_some());
    assert!(set.get("US").is_some());
    assert_eq!(
        set.jurisdictions
            .keys()
            .filter(|k| k.starts_with("US-"))
            .count(),
        51
    );
}

#[test]
fn the_other_countries_of_the_issue_are_present() {
    let set = shipped();
    for id in [
        "CA", "GB", "IE", "DE", "FR", "NL", "ES", "IT", "AU", "AU-NSW", "AU-VIC", "AU-QLD",
        "AU-WA", "AU-SA", "AU-TAS", "AU-ACT", "AU-NT", "NZ", "IN", "JP", "BR", "CA-ON", "CA-QC",
        "CA-BC", "CA-NU",
    ] {
        assert!(set.get(id).is_some(), "{id} missing");
    }
    assert_eq!(set.subdivisions("CA").len(), 13);
    assert_eq!(set.subdivisions("AU").len(), 8);
}

#[test]
fn disagreements_in_the_sources_are_in_the_tables() {
    let set = shipped();
    for id in ["US-CT", "US-DE", "US-MI", "US-NV", "US-OR", "FR"] {
        assert!(
            set.get(id).unwrap().disputed.is_some(),
            "{id} should say where sources disagree"
        );
    }
}

#[test]
fn every_us_state_area_code_resolves_to_that_state() {
    let set = shipped();
    let nanp = &set.plans[&1];
    let mut states_with_codes = std::collections::BTreeSet::new();
    for area in nanp.areas.values() {
        for j in &area.jurisdictions {
            if j.starts_with("US-") {
                assert!(set.get(j).is_some(), "{j}");
                states_with_codes.insert(j.clone());
            }
        }
    }
    assert_eq!(
        states_with_codes.len(),
        51,
        "every state and DC has an area code"
    );
    assert_eq!(
        nanp.areas["800"].kind,
        super::super::model::NumberKind::TollFree
    );
}
