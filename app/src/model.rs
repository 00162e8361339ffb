//! What the window shows, decided from the daemon's answers: pure code, tested without a
//! display.

use onrecord_interface::{
    Answer, CallInfo, CallParty, CallState, Requirement, TimelineEntry, TimelineKind, Told,
};

/// The one large button's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Tell the present parties (`Notice(me)`; a proposal is taken up by it).
    TellThem,
    /// Their answer: "They agreed", with "They refused" beside it.
    Answer,
    /// `Start`.
    StartRecording,
    /// `Confirm`: the representative confirmed consent on the recording.
    Confirm,
    /// `Resume` a paused recording.
    Resume,
    /// `Stop`: nothing else is due.
    Stop,
    /// Nothing to do: the call is over, or held until the new party is handled elsewhere.
    None,
}

/// Whether some present party has not been told.
fn untold(parties: &[CallParty]) -> bool {
    parties.iter().any(|p| p.present && p.notice == Told::No)
}

/// Whether some present party's consent is missing (`yes` not given).
fn unanswered(parties: &[CallParty]) -> bool {
    parties
        .iter()
        .any(|p| p.present && p.consent != Answer::Yes)
}

/// Whether the present representative has confirmed consent on the recording: a `confirmed`
/// entry after the last transfer.
pub fn confirmed(timeline: &[TimelineEntry]) -> bool {
    for e in timeline.iter().rev() {
        match e.kind {
            TimelineKind::Confirmed => return true,
            TimelineKind::Transfer => return false,
            _ => {}
        }
    }
    false
}

/// The next step of a call.
pub fn step(call: &CallInfo) -> Step {
    match call.state {
        CallState::Proposed | CallState::AwaitingNotice => Step::TellThem,
        CallState::AwaitingConsent => Step::Answer,
        CallState::Ready => Step::StartRecording,
        CallState::Recording if confirmed(&call.timeline) => Step::Stop,
        CallState::Recording => Step::Confirm,
        CallState::Paused => Step::Resume,
        CallState::Held if untold(&call.parties) => Step::TellThem,
        CallState::Held
            if call.requirement == Requirement::AllParty && unanswered(&call.parties) =>
        {
            Step::Answer
        }
        _ => Step::None,
    }
}

/// What to say and do next, for a person on the call (the daemon's `NextStep` names
/// onrecordctl's commands; the window names its own buttons).
pub fn guidance(call: &CallInfo) -> String {
    use crate::i18n::tr;
    let proposed = call.state == CallState::Proposed;
    let held = call.state == CallState::Held;
    match step(call) {
        Step::TellThem if held => tr(
            "A new representative is on the line. Tell them: “I'd like to record this call for my records. Do you agree?” Then press Tell them; recording resumes once the law allows.",
        ),
        Step::TellThem if proposed => tr(
            "onrecord noticed this call. To record it, tell the representative: “I'd like to record this call for my records. Do you agree?” Then press Tell them.",
        ),
        Step::TellThem => tr(
            "Tell the representative: “I'd like to record this call for my records. Do you agree?” Then press Tell them.",
        ),
        Step::Answer => tr(
            "Everyone must agree. Press what they answered: They agreed, or They refused (the call is then never recorded).",
        ),
        Step::StartRecording => tr(
            "Start recording, then ask: “Now that we are recording, do you agree to this call being recorded?”",
        ),
        Step::Confirm => tr(
            "Ask them to confirm on the recording: “Now that we are recording, do you agree to this call being recorded?” Then press Confirmed on tape.",
        ),
        Step::Resume => tr("Paused: nothing is recorded. Press Resume when you are ready."),
        Step::Stop => tr("Recording, with their consent on tape. Press Stop when the call ends."),
        Step::None if held => {
            tr("Held for the new representative: recording resumes by itself once the law allows.")
        }
        Step::None => tr("The call has ended."),
    }
}

/// Microseconds of audio recorded so far: the spans between `started`/`resumed` and the
/// next `paused`, `held` or end, counted up to `now_us` (UTC µs) while recording.
pub fn recorded_us(timeline: &[TimelineEntry], now_us: u64) -> u64 {
    let mut total = 0;
    let mut since: Option<u64> = None;
    for e in timeline {
        match e.kind {
            TimelineKind::Started | TimelineKind::Resumed => {
                since.get_or_insert(e.utc_us);
            }
            TimelineKind::Paused
            | TimelineKind::Held
            | TimelineKind::Stopped
            | TimelineKind::Withdrawn
            | TimelineKind::Interrupted
            | TimelineKind::Refused => {
                if let Some(s) = since.take() {
                    total += e.utc_us.saturating_sub(s);
                }
            }
            // A transfer while recording leaves the call recording or held: `held` ends the
            // span, a later `resumed` or `started` begins the next.
            _ => {}
        }
    }
    if let Some(s) = since {
        total += now_us.saturating_sub(s);
    }
    total
}

/// `m:ss`, or `h:mm:ss` from an hour.
pub fn clock(us: u64) -> String {
    let s = us / 1_000_000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Seconds as the calls list shows them: `12 s`, `4 min`, `1 h 05 min`.
pub fn span(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, s / 60 % 60)
    }
}

/// A UTC time in µs as local `YYYY-MM-DD HH:MM` (GLib knows the time zone).
pub fn local_time(utc_us: u64) -> String {
    gtk::glib::DateTime::from_unix_local((utc_us / 1_000_000) as i64)
        .and_then(|t| t.format("%Y-%m-%d %H:%M"))
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// The other side as a line: each present party's number (or id) and where the law places
/// it (`+1 415 555 0100 (US-CA, area code 415)`, `unknown location`).
pub fn who(parties: &[CallParty]) -> String {
    let lines: Vec<String> = parties
        .iter()
        .filter(|p| p.present)
        .map(|p| {
            let place = match (p.party.jurisdiction.as_str(), p.party.detail.as_str()) {
                ("", "") => crate::i18n::tr("where: unknown"),
                ("", d) => d.to_owned(),
                (j, "") => j.to_owned(),
                (j, d) => format!("{j}, {d}"),
            };
            let input = if p.party.input.is_empty() {
                crate::i18n::tr("no number")
            } else {
                p.party.input.clone()
            };
            format!("{input} ({place})")
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
