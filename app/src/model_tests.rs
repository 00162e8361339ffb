use super::*;
use onrecord_interface::{Decision, Location, Medium, Party};

fn party(input: &str, present: bool, notice: Told, consent: Answer) -> CallParty {
    CallParty {
        party: Party {
            input: input.into(),
            location: Location::Number,
            jurisdiction: "US-CA".into(),
            candidates: vec![],
            detail: "area code 415".into(),
        },
        present,
        notice,
        consent,
    }
}

fn entry(utc_s: u64, kind: TimelineKind) -> TimelineEntry {
    TimelineEntry {
        utc_us: utc_s * 1_000_000,
        monotonic_us: 0,
        audio_offset_us: -1,
        kind,
        state: CallState::Recording,
        detail: String::new(),
    }
}

fn call(state: CallState, requirement: Requirement, parties: Vec<CallParty>) -> CallInfo {
    let nobody = Party {
        input: "US-TX".into(),
        location: Location::Explicit,
        jurisdiction: "US-TX".into(),
        candidates: vec![],
        detail: String::new(),
    };
    CallInfo {
        id: "c1".into(),
        label: "Acme".into(),
        state,
        requirement,
        next_step: String::new(),
        decision: Decision {
            requirement,
            notice_counts_as_consent: false,
            accepted_notice: vec![],
            notice_required_by_law: false,
            medium: Medium::Phone,
            recorder: nobody,
            parties: vec![],
            governing: vec![],
            warnings: vec![],
            tables_digest: String::new(),
        },
        parties,
        timeline: vec![],
        started_us: 0,
        recording_files: vec![],
    }
}

#[test]
fn each_state_has_its_step() {
    let rep = party("+14155550100", true, Told::No, Answer::None);
    let all = Requirement::AllParty;
    for (state, want) in [
        (CallState::Proposed, Step::TellThem),
        (CallState::AwaitingNotice, Step::TellThem),
        (CallState::AwaitingConsent, Step::Answer),
        (CallState::Ready, Step::StartRecording),
        (CallState::Recording, Step::Confirm),
        (CallState::Paused, Step::Resume),
        (CallState::Held, Step::TellThem),
        (CallState::Stopped, Step::None),
        (CallState::Refused, Step::None),
        (CallState::Withdrawn, Step::None),
        (CallState::Interrupted, Step::None),
    ] {
        assert_eq!(step(&call(state, all, vec![rep.clone()])), want, "{state}");
    }
}

#[test]
fn a_held_call_asks_the_new_party_then_waits() {
    let old = party("+14155550100", false, Told::Me, Answer::Yes);
    let told = party("+13105550100", true, Told::Me, Answer::None);
    let all = call(
        CallState::Held,
        Requirement::AllParty,
        vec![old.clone(), told.clone()],
    );
    assert_eq!(step(&all), Step::Answer);
    let one = call(CallState::Held, Requirement::OneParty, vec![old, told]);
    assert_eq!(step(&one), Step::None, "one-party: it resumes by itself");
}

#[test]
fn confirmation_is_due_again_after_a_transfer() {
    let mut c = call(CallState::Recording, Requirement::AllParty, vec![]);
    c.timeline = vec![entry(1, TimelineKind::Started)];
    assert_eq!(step(&c), Step::Confirm);
    c.timeline.push(entry(2, TimelineKind::Confirmed));
    assert_eq!(step(&c), Step::Stop);
    c.timeline.push(entry(3, TimelineKind::Transfer));
    c.timeline.push(entry(4, TimelineKind::Resumed));
    assert_eq!(step(&c), Step::Confirm);
}

#[test]
fn recorded_time_leaves_out_pauses_and_holds() {
    let t = vec![
        entry(100, TimelineKind::Started),
        entry(130, TimelineKind::Paused),
        entry(200, TimelineKind::Resumed),
        entry(210, TimelineKind::Transfer),
        entry(210, TimelineKind::Held),
        entry(250, TimelineKind::Resumed),
    ];
    // 30 + 10, and 50 s since the last resume.
    assert_eq!(recorded_us(&t, 300_000_000), 90_000_000);
    let mut ended = t.clone();
    ended.push(entry(260, TimelineKind::Stopped));
    assert_eq!(recorded_us(&ended, 999_000_000), 50_000_000);
    assert_eq!(recorded_us(&[], 5), 0);
}

#[test]
fn clocks_and_spans_read_as_people_write_them() {
    assert_eq!(clock(0), "0:00");
    assert_eq!(clock(751_000_000), "12:31");
    assert_eq!(clock(3_725_000_000), "1:02:05");
    assert_eq!(span(12.4), "12 s");
    assert_eq!(span(125.0), "2 min 05 s");
    assert_eq!(span(3_900.0), "1 h 05 min");
    assert_eq!(span(-3.0), "0 s");
}

#[test]
fn who_names_present_parties_and_where() {
    let gone = party("+14155550100", false, Told::Me, Answer::Yes);
    let mut here = party("+13105550100", true, Told::No, Answer::None);
    here.party.detail = "area code 310".into();
    assert_eq!(who(&[gone, here]), "+13105550100 (US-CA, area code 310)");
}

#[test]
fn guidance_names_the_buttons_and_the_sentence() {
    let rep = party("+14155550100", true, Told::No, Answer::None);
    let c = call(
        CallState::AwaitingNotice,
        Requirement::AllParty,
        vec![rep.clone()],
    );
    let g = guidance(&c);
    assert!(
        g.contains("“I'd like to record this call for my records. Do you agree?”"),
        "{g}"
    );
    assert!(g.contains("Tell them"), "{g}");
    let c = call(
        CallState::Recording,
        Requirement::AllParty,
        vec![rep.clone()],
    );
    assert!(guidance(&c).contains("Confirmed on tape"));
    let c = call(CallState::Stopped, Requirement::AllParty, vec![rep]);
    assert_eq!(guidance(&c), "The call has ended.");
}
