use super::*;
use crate::laws::load;
use phonenumber::Type as T;
use phonenumber::metadata::DATABASE;
use std::path::Path;
use std::sync::OnceLock;

fn set() -> &'static LawSet {
    static SET: OnceLock<LawSet> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../laws");
        load(&dir, None).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn info(input: &str) -> NumberInfo {
    lookup(set(), input, Some("US")).unwrap_or_else(|e| panic!("{input}: {e}"))
}

/// Freephone lines of countries without numbering areas in the tables came out as ordinary,
/// located numbers of their country (one-party): the review's headline finding.
#[test]
fn freephone_numbers_of_every_country_have_no_location() {
    for (input, country) in [
        ("+44 800 123 4567", "GB"),
        ("+44 808 157 0192", "GB"),
        ("+31 800 1234", "NL"),
        ("+353 1800 123 456", "IE"),
        ("+64 800 123 456", "NZ"),
        ("+81 120 123 456", "JP"),
        ("+34 900 123 456", "ES"),
        ("+61 1800 123 456", "AU"),
        ("+1 800 555 0199", "US"),
    ] {
        let n = info(input);
        assert_eq!(
            n.party.location,
            Location::Unknown,
            "{input}: {:?}",
            n.party
        );
        assert_eq!(n.kind, "toll-free", "{input}");
        assert_eq!(n.country, country, "{input}");
        assert!(
            n.party.detail.contains("toll-free"),
            "{input}: the detail names the type: {}",
            n.party.detail
        );
    }
}

#[test]
fn australian_local_rate_numbers_are_unknown_because_of_their_type() {
    for input in ["+61 1300 123 456", "+61 13 12 34"] {
        let n = info(input);
        assert_eq!(
            n.party.location,
            Location::Unknown,
            "{input}: {:?}",
            n.party
        );
        assert_ne!(n.kind, "geographic", "{input}");
        assert!(n.party.detail.contains("can ring anywhere"), "{input}");
    }
}

#[test]
fn fixed_lines_and_mobiles_are_located_as_before() {
    let n = info("+49 30 1234567");
    assert_eq!(
        (n.party.location, n.party.jurisdiction.as_str()),
        (Location::Number, "DE")
    );
    assert_eq!(n.kind, "geographic");
    let n = info("+44 7400 123456");
    assert_eq!(
        (n.party.location, n.kind.as_str()),
        (Location::Number, "mobile")
    );
    assert_eq!(n.party.jurisdiction, "GB");
    // The tables say more: an area that names a place wins over the type.
    let n = info("+61 7 3123 4567");
    assert_eq!(n.party.jurisdiction, "AU-QLD");
    let n = info("+1 415 555 0100");
    assert_eq!(n.party.jurisdiction, "US-CA");
    // An Australian mobile is somewhere in Australia.
    let n = info("+61 412 345 678");
    assert_eq!(n.party.location, Location::Ambiguous);
    assert!(n.party.candidates.iter().all(|c| c.starts_with("AU-")));
}

#[test]
fn a_number_of_a_territory_sharing_a_calling_code_is_placed_there() {
    // Jersey shares +44 with the United Kingdom; its law is not the UK's.
    let n = info("+44 1534 456789");
    assert_eq!(n.country, "JE");
    assert_eq!(n.party.jurisdiction, "JE");
}

#[test]
fn numbers_that_are_not_valid_in_their_country_are_refused() {
    for input in ["+12125", "+1212555010", "+1 212 555 01000", "+44 20 1234"] {
        match lookup(set(), input, None) {
            Err(NumberError::NotValid { .. }) | Err(NumberError::NotANumber(_)) => {}
            other => panic!("{input}: {other:?}"),
        }
    }
}

#[test]
fn a_national_number_of_another_country_gets_a_hint() {
    // A Berlin number typed by a caller in Texas.
    let e = lookup(set(), "030 1234567", Some("US")).unwrap_err();
    assert!(
        matches!(&e, NumberError::NotValidHere { country, .. } if country == "US"),
        "{e:?}"
    );
    assert!(e.to_string().contains("country code"), "{e}");
    // The same number in its own country is a Berlin line.
    let n = lookup(set(), "030 1234567", Some("DE")).unwrap();
    assert_eq!(n.party.jurisdiction, "DE");
}

#[test]
fn an_area_code_the_metadata_does_not_know_yet_is_located_by_the_tables() {
    // A table of the user's may name a new area code before libphonenumber has it; a number of
    // a possible length there is placed by the table, one of another length is refused.
    let mut s = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../laws"), None).unwrap();
    assert!(
        lookup(&s, "+1 999 234 5678", None).is_err(),
        "999 is no area code today"
    );
    s.plans.get_mut(&1).unwrap().areas.insert(
        "999".into(),
        Area {
            kind: NumberKind::Geographic,
            jurisdictions: vec!["US-TX".into()],
            note: None,
        },
    );
    let n = lookup(&s, "+1 999 234 5678", None).unwrap();
    assert_eq!(
        (n.party.location, n.party.jurisdiction.as_str()),
        (Location::Number, "US-TX")
    );
    assert!(lookup(&s, "+1 999 234 567", None).is_err());
}

/// Every type of full number libphonenumber knows, and the kind onrecord gives it.
const TYPES: [(T, NumberKind); 10] = [
    (T::FixedLine, NumberKind::Geographic),
    (T::Mobile, NumberKind::Mobile),
    (T::TollFree, NumberKind::TollFree),
    (T::PremiumRate, NumberKind::Premium),
    (T::SharedCost, NumberKind::SharedCost),
    (T::PersonalNumber, NumberKind::Personal),
    (T::Voip, NumberKind::Voip),
    (T::Pager, NumberKind::Pager),
    (T::Uan, NumberKind::Uan),
    (T::Voicemail, NumberKind::Voicemail),
];

/// libphonenumber's own example number of every type, for every country in the law tables:
/// fixed lines and mobiles are placed in their country, every other type has no location.
#[test]
fn every_example_number_of_every_covered_country_is_located_by_its_type() {
    let s = set();
    let mut checked = 0;
    for country in s.jurisdictions.values().filter(|j| j.parent.is_none()) {
        let meta = DATABASE
            .by_id(country.id.as_str())
            .unwrap_or_else(|| panic!("no metadata for {}", country.id));
        for (t, kind) in TYPES {
            let Some(example) = meta.descriptors().get(t).and_then(|d| d.example()) else {
                continue;
            };
            let input = format!("+{} {example}", meta.country_code());
            let n = lookup(s, &input, None).unwrap_or_else(|e| panic!("{input} ({t:?}): {e}"));
            let at = |p: &Party| -> Vec<String> {
                if p.jurisdiction.is_empty() {
                    p.candidates.clone()
                } else {
                    vec![p.jurisdiction.clone()]
                }
            };
            if kind.has_location() {
                assert_ne!(n.party.location, Location::Unknown, "{input} ({t:?})");
                let places = at(&n.party);
                assert!(
                    !places.is_empty() && places.iter().all(|p| country_of(p) == country.id),
                    "{input} ({t:?}) is in {}, not at {places:?}",
                    country.id
                );
            } else {
                assert_eq!(
                    n.party.location,
                    Location::Unknown,
                    "{input} ({t:?}): {:?}",
                    n.party
                );
                assert!(
                    n.party.detail.contains("can ring anywhere"),
                    "{input}: {}",
                    n.party.detail
                );
                assert!(!n.kind.starts_with("geographic") && n.kind != "mobile");
            }
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} example numbers");
}

#[test]
fn only_fixed_lines_and_mobiles_have_a_place() {
    for (t, kind) in TYPES {
        assert_eq!(
            kind.has_location(),
            matches!(t, T::FixedLine | T::Mobile),
            "{t:?}"
        );
        assert!(kind.describe().starts_with("a "));
    }
    assert!(NumberKind::GeographicOrMobile.has_location());
}

#[test]
fn the_metadata_sees_leading_zeros() {
    // The crate's own typing drops the zero of Italian numbers and finds no type.
    let n = info("+39 06 4881 2345");
    assert_eq!((n.country.as_str(), n.kind.as_str()), ("IT", "geographic"));
    assert_eq!(n.party.jurisdiction, "IT");
    // 06 698 is the Vatican's, inside Rome's numbers and +39.
    assert_eq!(info("+39 06 6988 1234").party.jurisdiction, "VA");
}
