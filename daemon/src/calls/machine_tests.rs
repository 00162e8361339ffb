//! Every state against every event (STYLE 3), and random event sequences against the
//! invariants.

use onrecord_interface::{Answer, DetectedBy, TimelineKind, Told};

use super::*;
use CallState::*;
use onrecord_interface::{Consent, GoverningRule, Location, Medium, NoticeCounts, Regime};
use proptest::prelude::*;

fn party(input: &str) -> Party {
    Party {
        input: input.into(),
        location: Location::Explicit,
        jurisdiction: input.into(),
        candidates: vec![],
        detail: "given".into(),
    }
}

fn decision(req: Requirement, notice_counts: bool) -> Decision {
    Decision {
        requirement: req,
        notice_counts_as_consent: notice_counts,
        accepted_notice: vec![],
        notice_required_by_law: req == Requirement::AllParty,
        medium: Medium::Phone,
        recorder: party("US-TX"),
        parties: vec![party("US-CA")],
        governing: vec![GoverningRule {
            jurisdiction: "US-CA".into(),
            name: "California".into(),
            rule: "all-party consent (phone, criminal)".into(),
            consent: Consent::AllParty,
            regime: Regime::Criminal,
            notice_counts_as_consent: NoticeCounts::Unsettled,
            citations: vec!["Cal. Penal Code § 632.7".into()],
        }],
        warnings: vec![],
        tables_digest: "sha256:test".into(),
    }
}

pub(crate) fn at(t: u64) -> Stamp {
    Stamp {
        utc_us: 1_800_000_000_000_000 + t * 1_000_000,
        mono_us: 5_000_000 + t * 1_000_000,
        audio_us: None,
    }
}

fn fresh(req: Requirement) -> Call {
    Call::new(
        "abc".into(),
        "Acme".into(),
        party("US-TX"),
        vec![party("US-CA")],
        decision(req, false),
        Policy::default(),
        at(0),
    )
}

pub(crate) fn proposal(req: Requirement) -> Call {
    fresh(req).propose(Detected {
        by: DetectedBy::Modem,
        key: "/org/freedesktop/ModemManager1/Call/1".into(),
        application: "QUECTEL EG25".into(),
        direction: "incoming".into(),
        far_side: String::new(),
        microphone: String::new(),
        pipewire_app: String::new(),
        address: String::new(),
        pid: None,
        linked: Vec::new(),
    })
}

pub(crate) fn transfer() -> Event {
    Event::Transfer {
        parties: vec![party("US-WA")],
        decision: Box::new(decision(Requirement::OneParty, true)),
    }
}

pub(crate) fn step(c: &Call, e: Event, t: u64) -> Call {
    c.apply(&e, at(t))
        .unwrap_or_else(|r| panic!("{e:?} in {}: {r}", c.state))
        .0
}

/// A call in `state` under `req`, reached by real events.
fn in_state(state: CallState, req: Requirement) -> Call {
    let c = fresh(req);
    let noticed = step(&c, Event::Notice(NoticeBy::Me), 1);
    let ready = if req == Requirement::AllParty {
        step(&noticed, Event::Consent(true), 2)
    } else {
        noticed.clone()
    };
    let recording = step(&ready, Event::Start, 3);
    let c = match state {
        Proposed => proposal(req),
        AwaitingNotice => c,
        AwaitingConsent => noticed,
        Ready => ready,
        Recording => recording,
        Paused => step(&recording, Event::Pause, 4),
        Held => step(&recording, transfer(), 4),
        Stopped => step(&recording, Event::Stop, 4),
        Refused => step(&noticed, Event::Consent(false), 2),
        Withdrawn => step(&recording, Event::Withdraw, 4),
        Interrupted => step(&recording, Event::Interrupt, 4),
    };
    assert_eq!(c.state, state);
    c
}

#[derive(Debug, PartialEq, Clone, Copy)]
enum Want {
    To(CallState),
    /// The proposal is forgotten.
    Forgotten,
    NoticeRequired,
    ConsentRequired,
    WrongState,
    Ended,
    Invalid,
}

fn events() -> Vec<Event> {
    vec![
        Event::Notice(NoticeBy::Me),
        Event::Notice(NoticeBy::CompanyMessage),
        Event::Consent(true),
        Event::Consent(false),
        Event::Start,
        Event::Confirm,
        Event::Mark("case 12345".into()),
        Event::Mark("".into()),
        Event::Pause,
        Event::Resume,
        transfer(),
        Event::Withdraw,
        Event::Stop,
        Event::Interrupt,
        Event::Take,
        Event::Dismiss,
        Event::HangUp("the modem hung up".into()),
    ]
}

/// The specification, written as a table independent of the implementation.
fn want(state: CallState, req: Requirement, e: &Event) -> Want {
    use Want::*;
    let all = req == Requirement::AllParty;
    if !state.is_active() {
        return Ended;
    }
    match (state, e) {
        // A proposal: taken up, or forgotten; nothing else before it is taken up.
        (Proposed, Event::Take) => To(AwaitingNotice),
        (Proposed, Event::Notice(_)) => To(if all { AwaitingConsent } else { Ready }),
        (Proposed, Event::Dismiss | Event::HangUp(_) | Event::Stop) => Forgotten,
        (Proposed, Event::Consent(_) | Event::Start) => NoticeRequired,
        (Proposed, _) => WrongState,
        (_, Event::Take | Event::Dismiss) => WrongState,
        (_, Event::HangUp(_)) => To(Stopped),

        (_, Event::Mark(t)) if t.is_empty() => Invalid,
        (s, Event::Mark(_)) => To(s),
        (_, Event::Withdraw) => To(Withdrawn),
        (_, Event::Stop) => To(Stopped),
        (Recording | Paused | Held, Event::Interrupt) => To(Interrupted),
        (_, Event::Interrupt) => WrongState,

        (AwaitingNotice, Event::Notice(_)) => To(if all { AwaitingConsent } else { Ready }),
        (AwaitingNotice, Event::Consent(_)) => NoticeRequired,
        (AwaitingNotice, Event::Start) => NoticeRequired,
        (AwaitingNotice | AwaitingConsent | Ready, Event::Transfer { .. }) => To(AwaitingNotice),
        (
            AwaitingNotice | AwaitingConsent | Ready,
            Event::Confirm | Event::Pause | Event::Resume,
        ) => WrongState,

        (AwaitingConsent, Event::Notice(_)) => WrongState,
        (AwaitingConsent, Event::Consent(true)) => To(Ready),
        (AwaitingConsent, Event::Consent(false)) => To(Refused),
        (AwaitingConsent, Event::Start) => ConsentRequired,

        (Ready, Event::Notice(_)) => WrongState,
        (Ready, Event::Consent(yes)) => match (all, yes) {
            (true, _) => WrongState,
            (false, true) => To(Ready),
            (false, false) => To(Refused),
        },
        (Ready, Event::Start) => To(Recording),

        (Recording | Paused, Event::Notice(_)) => WrongState,
        (Recording | Paused, Event::Consent(yes)) => match (all, yes) {
            (true, _) => WrongState,
            (false, true) => To(state),
            (false, false) => To(Refused),
        },
        (Recording | Paused | Held, Event::Start) => WrongState,
        (Recording, Event::Confirm) => To(Recording),
        (Paused | Held, Event::Confirm) => WrongState,
        (Recording, Event::Pause) => To(Paused),
        (Paused | Held, Event::Pause) => WrongState,
        (Recording, Event::Resume) => WrongState,
        (Paused, Event::Resume) => To(Recording),
        (Recording | Held, Event::Transfer { .. }) => To(Held),
        (Paused, Event::Transfer { .. }) => To(Paused),

        (Held, Event::Notice(_)) => To(if all { Held } else { Recording }),
        (Held, Event::Consent(_)) => NoticeRequired,
        (Held, Event::Resume) => NoticeRequired,
        (s, e) => panic!("the table has no entry for {e:?} in {s}"),
    }
}

/// Whether audio is being written, as the capture effects leave it.
fn writing_after(before: bool, fx: &[Effect]) -> bool {
    fx.iter().fold(before, |w, e| match e {
        Effect::StartCapture | Effect::ResumeCapture => true,
        Effect::PauseCapture | Effect::StopCapture => false,
        Effect::Notify(_) | Effect::Forget => w,
    })
}

#[test]
fn every_state_against_every_event() {
    let mut checked = 0;
    for req in [Requirement::OneParty, Requirement::AllParty] {
        for &state in CallState::ALL {
            if state == AwaitingConsent && req == Requirement::OneParty {
                continue; // one-party calls never wait for consent
            }
            let call = in_state(state, req);
            for e in events() {
                let expected = want(state, req, &e);
                let got = match call.apply(&e, at(10)) {
                    // Forgotten: nothing is written, and nothing is kept to write a trace in.
                    Ok((_, fx)) if fx.contains(&Effect::Forget) => {
                        assert_eq!(fx, [Effect::Forget], "{e:?} in {state}");
                        Want::Forgotten
                    }
                    Ok((next, fx)) => {
                        // Audio is written exactly while recording.
                        assert_eq!(
                            writing_after(state == Recording, &fx),
                            next.state == Recording,
                            "{e:?} in {state}"
                        );
                        assert!(
                            next.timeline.len() > call.timeline.len(),
                            "{e:?} in {state} left no timeline entry"
                        );
                        let last = next.timeline.last().unwrap();
                        assert_eq!((last.utc_us, last.state), (at(10).utc_us, next.state));
                        Want::To(next.state)
                    }
                    Err(Refusal::NoticeRequired(_)) => Want::NoticeRequired,
                    Err(Refusal::ConsentRequired(m)) => {
                        assert!(m.contains("US-CA, Cal. Penal Code § 632.7"), "{m}");
                        Want::ConsentRequired
                    }
                    Err(Refusal::WrongState(_)) => Want::WrongState,
                    Err(Refusal::Ended(_)) => Want::Ended,
                    Err(Refusal::Invalid(_)) => Want::Invalid,
                };
                assert_eq!(got, expected, "{e:?} in {state} under {req}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, (11 + 10) * 17);
}

#[test]
fn a_proposal_is_taken_up_by_telling_the_representative() {
    let c = proposal(Requirement::AllParty);
    assert_eq!((c.state, c.timeline[0].state), (Proposed, Proposed));
    assert!(c.next_step().contains("call dismiss"), "{}", c.next_step());
    let c = step(&c, Event::Notice(NoticeBy::Me), 1);
    let kinds: Vec<&str> = c.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "taken", "notice"]);
    assert_eq!(
        c.timeline[1].detail,
        "taken up: an incoming call on the modem (QUECTEL EG25)"
    );
    assert_eq!(c.state, AwaitingConsent);
    // Once taken up, the call ends like any other when the other side hangs up.
    let c = step(&c, Event::HangUp("the modem hung up".into()), 2);
    assert_eq!(c.state, Stopped);
    assert_eq!(c.ended_us(), Some(at(2).utc_us));
}

#[test]
fn the_whole_flow_and_its_timeline() {
    let c = fresh(Requirement::AllParty);
    assert_eq!(c.timeline[0].kind, TimelineKind::Created);
    assert!(
        c.next_step()
            .contains("I'd like to record this call for my records. Do you agree?")
    );
    let c = step(&c, Event::Notice(NoticeBy::Me), 1);
    let c = step(&c, Event::Consent(true), 2);
    let (c, fx) = c.apply(&Event::Start, at(3)).unwrap();
    assert_eq!(fx, [Effect::StartCapture, Effect::Notify(Notice::Started)]);
    assert_eq!(c.started_us, at(3).utc_us);
    let c = step(&c, Event::Confirm, 5);
    assert_eq!(
        c.timeline.last().unwrap().audio_offset_us,
        2_000_000,
        "confirmed 2 s into the recording"
    );
    let c = step(&c, Event::Pause, 6);
    let c = step(&c, Event::Mark("card number read out".into()), 8);
    assert_eq!(
        c.timeline.last().unwrap().audio_offset_us,
        3_000_000,
        "nothing is recorded while paused"
    );
    let c = step(&c, Event::Resume, 10);
    let c = step(&c, Event::Stop, 12);
    assert_eq!(c.recorded_us, 5_000_000);
    let kinds: Vec<&str> = c.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "notice",
            "consent",
            "started",
            "confirmed",
            "paused",
            "mark",
            "resumed",
            "stopped"
        ]
    );
    assert!(
        c.timeline.iter().take(3).all(|e| e.audio_offset_us == -1),
        "no offset before recording"
    );
}

#[test]
fn counted_audio_gives_the_offset_when_there_is_any() {
    let c = in_state(Recording, Requirement::OneParty);
    let counted = Stamp {
        audio_us: Some(1_234_567),
        ..at(9)
    };
    let (c, _) = c.apply(&Event::Confirm, counted).unwrap();
    assert_eq!(c.timeline.last().unwrap().audio_offset_us, 1_234_567);
    // Before recording, a count means nothing: no offset.
    let fresh = fresh(Requirement::OneParty);
    let (n, _) = fresh.apply(&Event::Notice(NoticeBy::Me), counted).unwrap();
    assert_eq!(n.timeline.last().unwrap().audio_offset_us, -1);
}

#[test]
fn consent_required_names_the_law() {
    let c = step(
        &fresh(Requirement::AllParty),
        Event::Notice(NoticeBy::Me),
        1,
    );
    let err = c.apply(&Event::Start, at(2)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "all-party consent is required (US-CA, Cal. Penal Code § 632.7): record the consent of US-CA first (onrecordctl call consent yes)"
    );
}

#[test]
fn a_company_notice_stands_in_only_when_law_and_policy_allow() {
    for (law, policy, can_start) in [
        (false, false, false),
        (true, false, false),
        (false, true, false),
        (true, true, true),
    ] {
        let c = Call::new(
            "abc".into(),
            "Acme".into(),
            party("US-TX"),
            vec![party("US-CA")],
            decision(Requirement::AllParty, law),
            Policy {
                accept_company_notice: policy,
            },
            at(0),
        );
        let c = step(&c, Event::Notice(NoticeBy::CompanyMessage), 1);
        let started = c.apply(&Event::Start, at(2));
        assert_eq!(started.is_ok(), can_start, "law {law}, policy {policy}");
        if let Ok((c, _)) = started {
            let detail = &c.timeline.last().unwrap().detail;
            assert!(
                detail.contains("company's recording notice stands in"),
                "the timeline says which: {detail}"
            );
        }
    }
}

#[test]
fn a_transfer_holds_until_the_new_party_consents_and_keeps_the_audio() {
    let c = in_state(Recording, Requirement::AllParty);
    let strict = Event::Transfer {
        parties: vec![party("US-WA")],
        decision: Box::new(decision(Requirement::AllParty, false)),
    };
    let (c, fx) = c.apply(&strict, at(5)).unwrap();
    assert_eq!(c.state, Held);
    assert_eq!(fx, [Effect::PauseCapture, Effect::Notify(Notice::Paused)]);
    assert_eq!(c.recorded_us, 2_000_000);
    let c = step(&c, Event::Notice(NoticeBy::Me), 6);
    assert_eq!(c.state, Held);
    let (c, fx) = c.apply(&Event::Consent(true), at(7)).unwrap();
    assert_eq!(c.state, Recording);
    assert_eq!(fx, [Effect::ResumeCapture, Effect::Notify(Notice::Resumed)]);
    assert!(c.parties[0].consent == Answer::Yes && !c.parties[0].present);
}

#[test]
fn a_transfer_never_relaxes_the_requirement() {
    let c = in_state(Ready, Requirement::AllParty);
    let c = step(&c, transfer(), 4); // the transfer's own decision is one-party
    assert_eq!(c.requirement(), Requirement::AllParty);
}

#[test]
fn refusal_is_final_and_kept() {
    let c = in_state(Refused, Requirement::AllParty);
    let refused = c
        .timeline
        .iter()
        .find(|e| e.kind == TimelineKind::Refused)
        .expect("the refusal is in the timeline");
    assert_eq!(refused.utc_us, at(2).utc_us);
    for e in events() {
        assert!(matches!(c.apply(&e, at(9)), Err(Refusal::Ended(_))));
    }
}

// Random sequences of events against the invariants.

fn event_strategy() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => prop::sample::select(vec![NoticeBy::Me, NoticeBy::CompanyMessage, NoticeBy::Announcement]).prop_map(Event::Notice),
        3 => prop::bool::weighted(0.85).prop_map(Event::Consent),
        3 => Just(Event::Start),
        1 => Just(Event::Confirm),
        1 => "[a-z ]{0,8}".prop_map(Event::Mark),
        2 => Just(Event::Pause),
        2 => Just(Event::Resume),
        1 => (prop::bool::ANY, prop::bool::ANY).prop_map(|(all, counts)| Event::Transfer {
            parties: vec![party("US-WA")],
            decision: Box::new(decision(if all { Requirement::AllParty } else { Requirement::OneParty }, counts)),
        }),
        1 => Just(Event::Withdraw),
        1 => Just(Event::Stop),
        1 => Just(Event::Interrupt),
        1 => Just(Event::Take),
        1 => Just(Event::Dismiss),
        1 => Just(Event::HangUp("hung up".into())),
    ]
}

proptest! {
    #[test]
    fn random_sequences_keep_the_invariants(
        all in prop::bool::ANY,
        law_counts in prop::bool::ANY,
        policy in prop::bool::ANY,
        proposed in prop::bool::ANY,
        events in prop::collection::vec(event_strategy(), 1..40),
    ) {
        let req = if all { Requirement::AllParty } else { Requirement::OneParty };
        let mut call = Call::new("abc".into(), "x".into(), party("US-TX"), vec![party("US-CA")], decision(req, law_counts), Policy { accept_company_notice: policy }, at(0));
        if proposed {
            call = Call { state: Proposed, ..proposal(req) };
            call.decision = decision(req, law_counts);
            call.policy = Policy { accept_company_notice: policy };
        }
        let mut writing = false;
        let mut refused = false;
        for (t, e) in events.iter().enumerate() {
            let stamp = at(t as u64 + 1);
            if let Ok((next, fx)) = call.apply(e, stamp) {
                // Only a proposal is forgotten, and it never wrote anything.
                if fx.contains(&Effect::Forget) {
                    prop_assert_eq!(call.state, Proposed);
                    prop_assert!(!writing);
                    break;
                }
                writing = writing_after(writing, &fx);
                prop_assert!(next.timeline.len() > call.timeline.len());
                prop_assert!(next.timeline.windows(2).all(|w| w[0].utc_us <= w[1].utc_us));
                call = next;
            }
            // No audio is written unless the state permits it, and it is written when it does.
            prop_assert_eq!(writing, call.state == CallState::Recording);
            if call.state == CallState::Refused { refused = true; }
            if refused { prop_assert_eq!(call.state, CallState::Refused); }
            if call.state == CallState::Recording {
                for p in call.parties.iter().filter(|p| p.present) {
                    // Notice always comes before recording.
                    prop_assert!(p.notice != Told::No);
                    if call.requirement() == Requirement::AllParty {
                        let by_company = p.notice == Told::CompanyMessage && call.decision.notice_counts_as_consent && call.policy.accept_company_notice;
                        prop_assert!(p.consent == Answer::Yes || by_company);
                    }
                }
            }
            // The requirement never relaxes.
            if req == Requirement::AllParty { prop_assert_eq!(call.requirement(), Requirement::AllParty); }
        }
    }
}
