use super::*;
use crate::laws::load;
use onrecord_interface::NoticeMechanism as M;
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

fn set() -> &'static LawSet {
    static SET: OnceLock<LawSet> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../laws");
        load(&dir, None).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn decide(me: &str, them: &[&str], medium: Medium) -> Decision {
    let s = set();
    let recorder = resolve_recorder(s, me).unwrap();
    let parties: Vec<Party> = them
        .iter()
        .map(|t| resolve(s, t, Some("US")).unwrap())
        .collect();
    evaluate(s, &recorder, &parties, medium)
}

fn governs(d: &Decision, id: &str) -> bool {
    d.governing.iter().any(|g| g.jurisdiction == id)
}

fn has_warning(d: &Decision, kind: &str) -> bool {
    d.warnings.iter().any(|w| w.kind == kind)
}

#[test]
fn one_party_pair() {
    let d = decide("US-TX", &["+1 214 555 0100"], Medium::Phone);
    assert_eq!(d.requirement, Requirement::OneParty);
    assert!(d.notice_counts_as_consent);
    assert!(!d.notice_required_by_law);
    assert!(governs(&d, "US-TX") && governs(&d, "US"));
    assert_eq!(d.parties[0].jurisdiction, "US-TX");
    assert_eq!(d.tables_digest, set().digest);
}

#[test]
fn all_party_pair() {
    let d = decide("US-TX", &["+1 (415) 555-0100"], Medium::Phone);
    assert_eq!(d.requirement, Requirement::AllParty);
    assert_eq!(d.governing.len(), 1, "{:?}", d.governing);
    assert!(governs(&d, "US-CA"));
    assert!(d.governing[0].citations.iter().any(|c| c.contains("632.7")));
    assert!(
        !d.notice_counts_as_consent,
        "California leaves it unsettled"
    );
    assert!(has_warning(&d, "choice-of-law"));
}

#[test]
fn the_recorders_own_state_counts() {
    let d = decide("US-CA", &["+1 214 555 0100"], Medium::Phone);
    assert_eq!(d.requirement, Requirement::AllParty);
    assert!(governs(&d, "US-CA"));
}

#[test]
fn toll_free_is_unknown_location_so_all_party() {
    let d = decide("US-TX", &["1-800-555-0199"], Medium::Phone);
    assert_eq!(d.requirement, Requirement::AllParty);
    assert_eq!(d.parties[0].location, Location::Unknown);
    assert!(has_warning(&d, "unknown-location"));
    assert!(!d.notice_counts_as_consent);
    assert!(
        d.governing.iter().any(|g| g.jurisdiction.is_empty()),
        "the policy rule governs"
    );
}

#[test]
fn a_party_nobody_can_place_is_all_party_even_from_a_one_party_state() {
    for input in ["unknown", "Unknown", " UNKNOWN "] {
        let d = decide("US-TX", &[input], Medium::Phone);
        assert_eq!(d.requirement, Requirement::AllParty, "{input}");
        assert_eq!(d.parties[0].location, Location::Unknown);
        assert_eq!(d.parties[0].input, "unknown");
        assert!(has_warning(&d, "unknown-location"));
    }
}

#[test]
fn unsettled_state_is_all_party_with_a_warning() {
    for id in ["US-MI", "US-DE"] {
        let d = decide("US-TX", &[id], Medium::Phone);
        assert_eq!(d.requirement, Requirement::AllParty, "{id}");
        assert!(
            d.warnings
                .iter()
                .any(|w| w.kind == "unsettled" && w.jurisdiction == id),
            "{id}: {:?}",
            d.warnings
        );
        assert!(has_warning(&d, "disputed"));
    }
}

#[test]
fn oregon_in_person_needs_notice_not_consent() {
    let d = decide("US-OR", &["US-OR"], Medium::InPerson);
    assert_eq!(d.requirement, Requirement::OneParty);
    assert!(d.notice_required_by_law);
    assert_eq!(d.governing.len(), 1);
    assert_eq!(d.governing[0].consent, Consent::Notice);
    assert!(
        d.governing[0]
            .citations
            .iter()
            .any(|c| c.contains("165.540(1)(c)"))
    );
    // By phone Oregon is one-party without any notice duty.
    let phone = decide("US-OR", &["US-OR"], Medium::Phone);
    assert_eq!(phone.requirement, Requirement::OneParty);
    assert!(!phone.notice_required_by_law);
}

#[test]
fn nevada_is_strict_by_phone_only() {
    assert_eq!(
        decide("US-TX", &["US-NV"], Medium::Phone).requirement,
        Requirement::AllParty
    );
    assert_eq!(
        decide("US-TX", &["US-NV"], Medium::InPerson).requirement,
        Requirement::OneParty
    );
}

#[test]
fn connecticut_civil_rule_accepts_a_recorded_notice() {
    let d = decide("US-TX", &["+1 203 555 0100"], Medium::Phone);
    assert_eq!(d.requirement, Requirement::AllParty);
    assert_eq!(d.governing[0].regime, Regime::Civil);
    assert!(d.notice_counts_as_consent);
    assert!(d.accepted_notice.contains(&M::RecordedAnnouncement));
    assert!(d.accepted_notice.contains(&M::BeepTone));
}

#[test]
fn accepted_notice_is_what_every_governing_rule_accepts() {
    let d = decide("US-WA", &["US-CT"], Medium::Phone);
    assert!(d.notice_counts_as_consent);
    assert_eq!(d.accepted_notice, vec![M::RecordedAnnouncement]);
    // One governing rule that does not say yes takes the stand-in away.
    let d = decide("US-WA", &["US-CT", "US-CA"], Medium::Phone);
    assert!(!d.notice_counts_as_consent);
    assert!(d.accepted_notice.is_empty());
}

#[test]
fn ambiguous_without_a_strict_candidate_stays_one_party() {
    let d = decide("US-TX", &["+1 902 555 0100"], Medium::Phone);
    assert_eq!(d.parties[0].location, Location::Ambiguous);
    assert_eq!(d.parties[0].candidates, ["CA-NS", "CA-PE"]);
    assert_eq!(d.requirement, Requirement::OneParty);
    assert!(has_warning(&d, "ambiguous-location"));
}

#[test]
fn ambiguous_with_a_strict_candidate_is_all_party() {
    // Australian (0)2: New South Wales (all-party) or the ACT.
    let d = decide("NZ", &["+61 2 9999 0000"], Medium::InPerson);
    assert_eq!(d.requirement, Requirement::AllParty);
    assert!(governs(&d, "AU-NSW"));
    // A mobile number: somewhere in Australia.
    let m = decide("NZ", &["+61 412 345 678"], Medium::InPerson);
    assert_eq!(m.parties[0].location, Location::Ambiguous);
    assert_eq!(m.parties[0].candidates.len(), 8);
    assert_eq!(m.requirement, Requirement::AllParty);
}

#[test]
fn a_province_inherits_canada() {
    let d = decide("CA-ON", &["+1 416 555 0100"], Medium::Phone);
    assert_eq!(d.parties[0].jurisdiction, "CA-ON");
    assert_eq!(d.requirement, Requirement::OneParty);
    assert!(governs(&d, "CA"));
}

#[test]
fn vermont_inherits_the_federal_rule() {
    let d = decide("US-VT", &["US-VT"], Medium::Phone);
    assert_eq!(d.requirement, Requirement::OneParty);
    assert_eq!(
        d.governing
            .iter()
            .map(|g| g.jurisdiction.as_str())
            .collect::<Vec<_>>(),
        ["US"]
    );
}

#[test]
fn a_place_without_a_table_is_all_party() {
    let d = decide("US-TX", &["+1 876 555 0100"], Medium::Phone);
    assert_eq!(d.parties[0].jurisdiction, "JM");
    assert_eq!(d.requirement, Requirement::AllParty);
    assert!(has_warning(&d, "no-table"));
}

#[test]
fn an_unresearched_medium_is_all_party() {
    let d = decide("US-TX", &["US-TX"], Medium::Electronic);
    assert_eq!(d.requirement, Requirement::AllParty);
    assert!(has_warning(&d, "not-researched"));
}

#[test]
fn germany_by_number_is_all_party() {
    let d = decide("US-TX", &["+49 30 1234567"], Medium::Phone);
    assert_eq!(d.parties[0].jurisdiction, "DE");
    assert_eq!(d.requirement, Requirement::AllParty);
    assert!(governs(&d, "DE"));
}

#[test]
fn a_bare_country_with_states_is_ambiguous() {
    let d = decide("US-TX", &["US"], Medium::Phone);
    assert_eq!(d.parties[0].location, Location::Ambiguous);
    assert_eq!(d.requirement, Requirement::AllParty);
}

#[test]
fn ids_are_case_insensitive_and_unknown_ids_are_errors() {
    assert_eq!(
        decide("us-tx", &["us-ca"], Medium::Phone).requirement,
        Requirement::AllParty
    );
    assert!(matches!(
        resolve(set(), "US-ZZ", None),
        Err(EvalError::UnknownJurisdiction(_))
    ));
    assert!(matches!(
        resolve_recorder(set(), "+14155550100"),
        Err(EvalError::UnknownJurisdiction(_))
    ));
}

#[test]
fn numbers_in_common_forms() {
    let s = set();
    for (input, want) in [
        ("+1 (415) 555-0100", "US-CA"),
        ("+14155550100", "US-CA"),
        ("1-415-555-0100", "US-CA"),
        ("(206) 555-0100", "US-WA"),
        ("+49 30 1234567", "DE"),
        ("+44 20 7946 0000", "GB"),
        ("+39 06 1234 5678", "IT"),
    ] {
        let p = resolve(s, input, Some("US")).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(p.jurisdiction, want, "{input}: {p:?}");
    }
    let it = crate::laws::number::lookup(s, "+39 06 1234 5678", None).unwrap();
    assert_eq!(
        it.e164, "+390612345678",
        "Italian numbers keep their leading zero"
    );
}

#[test]
fn garbage_numbers_are_errors() {
    let s = set();
    for bad in [
        "hello",
        "",
        "+",
        "1-800-FLOWERS",
        "12",
        "+1 415 555 0100 0000 0000 00",
        "++--()",
    ] {
        assert!(
            matches!(
                resolve(s, bad, Some("US")),
                Err(EvalError::InvalidNumber(_))
            ),
            "{bad:?} should be an invalid number"
        );
    }
    // A national number with no country to read it in.
    assert!(matches!(
        crate::laws::number::lookup(s, "415 555 0100", None),
        Err(crate::laws::number::NumberError::NoCountry(_))
    ));
}

// Property tests over the shipped tables.

fn inputs() -> Vec<String> {
    let mut v: Vec<String> = set().jurisdictions.keys().cloned().collect();
    v.extend(
        [
            "+1 800 555 0199",
            "+1 415 555 0100",
            "+1 902 555 0100",
            "+1 876 555 0100",
            "+61 2 9999 0000",
            "+61 412 345 678",
            "+49 30 1234567",
            "+7 495 123 4567",
        ]
        .map(String::from),
    );
    v
}

fn party(i: usize) -> Party {
    let all = inputs();
    resolve(set(), &all[i % all.len()], Some("US")).unwrap()
}

fn unknown(input: &str) -> Party {
    Party {
        input: input.into(),
        location: Location::Unknown,
        jurisdiction: String::new(),
        candidates: vec![],
        detail: "test".into(),
    }
}

fn medium() -> impl Strategy<Value = Medium> {
    prop::sample::select(Medium::ALL.to_vec())
}

/// How strict a decision is, as one comparable value: requirement, then whether a notice no
/// longer stands in for consent, then whether notice is a legal duty.
fn strictness(d: &Decision) -> (u8, bool, bool) {
    (
        matches!(d.requirement, Requirement::AllParty) as u8,
        !d.notice_counts_as_consent,
        d.notice_required_by_law,
    )
}

proptest! {
    #[test]
    fn adding_a_party_never_relaxes(me in 0usize..1000, ps in prop::collection::vec(0usize..1000, 1..5), extra in 0usize..1000, m in medium()) {
        let s = set();
        let recorder = resolve_recorder(s, s.jurisdictions.keys().nth(me % s.jurisdictions.len()).unwrap()).unwrap();
        let parties: Vec<Party> = ps.iter().map(|&i| party(i)).collect();
        let before = evaluate(s, &recorder, &parties, m);
        let mut more = parties.clone();
        more.push(party(extra));
        let after = evaluate(s, &recorder, &more, m);
        prop_assert!(strictness(&after).0 >= strictness(&before).0);
        if before.requirement == Requirement::AllParty {
            prop_assert!(after.notice_counts_as_consent <= before.notice_counts_as_consent);
        }
        prop_assert!(after.notice_required_by_law >= before.notice_required_by_law);
    }

    #[test]
    fn an_unknown_location_never_relaxes(me in 0usize..1000, ps in prop::collection::vec(0usize..1000, 1..5), which in 0usize..5, m in medium()) {
        let s = set();
        let recorder = resolve_recorder(s, s.jurisdictions.keys().nth(me % s.jurisdictions.len()).unwrap()).unwrap();
        let parties: Vec<Party> = ps.iter().map(|&i| party(i)).collect();
        let before = evaluate(s, &recorder, &parties, m);
        let mut replaced = parties.clone();
        let k = which % replaced.len();
        replaced[k] = unknown(&replaced[k].input.clone());
        let after = evaluate(s, &recorder, &replaced, m);
        prop_assert_eq!(after.requirement, Requirement::AllParty);
        prop_assert!(strictness(&after) >= strictness(&before));
        prop_assert!(!after.notice_counts_as_consent);
    }

    #[test]
    fn the_order_of_parties_does_not_matter(me in 0usize..1000, ps in prop::collection::vec(0usize..1000, 1..6), seed in any::<u64>(), m in medium()) {
        let s = set();
        let recorder = resolve_recorder(s, s.jurisdictions.keys().nth(me % s.jurisdictions.len()).unwrap()).unwrap();
        let parties: Vec<Party> = ps.iter().map(|&i| party(i)).collect();
        let mut shuffled = parties.clone();
        // A deterministic shuffle from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let a = evaluate(s, &recorder, &parties, m);
        let b = evaluate(s, &recorder, &shuffled, m);
        prop_assert_eq!(a.requirement, b.requirement);
        prop_assert_eq!(a.notice_counts_as_consent, b.notice_counts_as_consent);
        prop_assert_eq!(a.accepted_notice, b.accepted_notice);
        prop_assert_eq!(a.governing, b.governing);
        prop_assert_eq!(a.warnings, b.warnings);
    }
}

#[test]
fn a_call_within_queensland_is_one_party() {
    // The Commonwealth layer leaves calls between parties to the states (Green v R); it was
    // "unsettled" and made every Australian call all-party.
    let d = decide("AU-QLD", &["+61 7 3123 4567"], Medium::Phone);
    assert_eq!(d.requirement, Requirement::OneParty, "{:?}", d.governing);
    assert!(governs(&d, "AU") && governs(&d, "AU-QLD"));
    assert!(!has_warning(&d, "unsettled"));
    // A New South Wales party still makes it all-party.
    let d = decide("AU-QLD", &["+61 2 9999 0000"], Medium::Phone);
    assert_eq!(d.requirement, Requirement::AllParty);
    assert!(governs(&d, "AU-NSW"));
}

#[test]
fn a_freephone_line_abroad_is_all_party_with_a_warning_naming_its_type() {
    let d = decide("US-TX", &["+44 800 123 4567"], Medium::Phone);
    assert_eq!(d.requirement, Requirement::AllParty);
    assert_eq!(d.parties[0].location, Location::Unknown);
    let w = d
        .warnings
        .iter()
        .find(|w| w.kind == "unknown-location")
        .expect("an unknown-location warning");
    assert!(w.message.contains("toll-free"), "{}", w.message);
}

#[test]
fn illinois_calls_are_private_conversations_and_messages_only_bind_non_parties() {
    let phone = decide("US-IL", &["US-IL"], Medium::Phone);
    assert_eq!(phone.requirement, Requirement::AllParty);
    assert!(
        phone
            .governing
            .iter()
            .any(|g| g.citations.iter().any(|c| c.contains("14-1(d)")))
    );
    let electronic = decide("US-IL", &["US-IL"], Medium::Electronic);
    assert!(
        electronic
            .governing
            .iter()
            .all(|g| g.jurisdiction != "US-IL" || g.consent == Consent::OneParty),
        "{:?}",
        electronic.governing
    );
}

#[test]
fn missouri_in_person_is_disputed_so_all_party() {
    assert_eq!(
        decide("US-MO", &["US-MO"], Medium::Phone).requirement,
        Requirement::OneParty
    );
    let d = decide("US-MO", &["US-MO"], Medium::InPerson);
    assert_eq!(d.requirement, Requirement::AllParty);
    assert!(has_warning(&d, "disputed"));
}
