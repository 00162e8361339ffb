//! A call's consent state machine: a pure function from (call, event, time) to the next call
//! and the effects to carry out, or a refusal that names the missing step (STYLE 3).
//!
//! The product's stance, which every transition keeps:
//! - notice before recording, always, in every jurisdiction: no covert recording;
//! - under all-party law, recording only once every present party has consented (or a company
//!   notice stands in, when both the law and the user's policy allow it);
//! - a refusal is final and stays in the timeline;
//! - audio is written only in `Recording`: the effects start, pause, resume and stop capture
//!   exactly on the transitions into and out of it.

pub use super::detected::{Detected, Linked};
use onrecord_interface::{
    Answer, CallParty, CallState, Decision, NoticeBy, Party, Requirement, TimelineEntry,
    TimelineKind, Told,
};
use serde::{Deserialize, Serialize};

/// When something happened: UTC wall clock and the monotonic clock, in microseconds, and where
/// the recording was, when a capture counts its frames.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Stamp {
    pub utc_us: u64,
    pub mono_us: u64,
    /// The audio captured so far (from frames), in microseconds; `None` when nothing counts
    /// frames, and the offset is then taken from the monotonic clock.
    pub audio_us: Option<u64>,
}

/// The user's policy for this call, from the configuration when it was created.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Let the company's own "this call may be recorded" message stand in for explicit consent,
    /// where the law says a notice counts as consent. Off by default: onrecord asks.
    #[serde(default)]
    pub accept_company_notice: bool,
}

#[derive(Clone, PartialEq, Debug)]
pub enum Event {
    Notice(NoticeBy),
    Consent(bool),
    Start,
    Confirm,
    Mark(String),
    Pause,
    Resume,
    /// New parties replace the present ones; `decision` is the law for the whole call now.
    Transfer {
        parties: Vec<Party>,
        decision: Box<Decision>,
    },
    Withdraw,
    Stop,
    /// The daemon found the call capturing when it started again.
    Interrupt,
    /// A proposed call is taken up: its consent flow begins.
    Take,
    /// Not this call: a proposal is forgotten.
    Dismiss,
    /// The call ended where it happens (the modem hung up, the streams are gone): why.
    HangUp(String),
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::Notice(_) => "notice",
            Event::Consent(_) => "consent",
            Event::Start => "start",
            Event::Confirm => "confirm",
            Event::Mark(_) => "mark",
            Event::Pause => "pause",
            Event::Resume => "resume",
            Event::Transfer { .. } => "transfer",
            Event::Withdraw => "withdraw",
            Event::Stop => "stop",
            Event::Interrupt => "interrupt",
            Event::Take => "take",
            Event::Dismiss => "dismiss",
            Event::HangUp(_) => "hang up",
        }
    }
}

/// What the owner must do after a transition.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Effect {
    StartCapture,
    PauseCapture,
    ResumeCapture,
    /// Finalize what was captured.
    StopCapture,
    /// Tell the user on the desktop that recording started, paused, resumed or stopped.
    Notify(Notice),
    /// A proposal is over (dismissed, hung up): the call is forgotten, with no trace on disk.
    Forget,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Notice {
    Started,
    Paused,
    Resumed,
    Stopped,
}

/// Why an event was refused; each maps to a typed D-Bus error.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    NoticeRequired(String),
    #[error("{0}")]
    ConsentRequired(String),
    #[error("{0}")]
    WrongState(String),
    #[error("{0}")]
    Ended(String),
    #[error("{0}")]
    Invalid(String),
}

/// The longest mark text accepted.
pub const MAX_MARK: usize = 500;

/// A call: who is on it, what the law requires, what was said, and its history.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Call {
    pub id: String,
    pub label: String,
    pub recorder: Party,
    /// The decision the call was made with; a transfer can only make it stricter.
    pub decision: Decision,
    pub policy: Policy,
    pub parties: Vec<CallParty>,
    pub state: CallState,
    pub timeline: Vec<TimelineEntry>,
    /// Audio captured before the current recording stretch, microseconds.
    pub recorded_us: u64,
    /// Monotonic time the current recording stretch began, while recording.
    pub stretch_start_mono: Option<u64>,
    /// When recording first started, UTC microseconds, or 0.
    pub started_us: u64,
    pub recording_files: Vec<String>,
    /// Kept by the user: never deleted by retention.
    #[serde(default)]
    pub kept: bool,
    /// When retention deleted the audio (µs since the epoch), or 0.
    #[serde(default)]
    pub audio_deleted_us: u64,
    /// The far side is on hold (music, tones, announcements, a long silence), by the call
    /// analysis while recording.
    #[serde(default)]
    pub on_hold: bool,
    /// When the present hold began (µs since the epoch, UTC), or 0.
    #[serde(default)]
    pub hold_since_us: u64,
    /// What noticed the call, when it was proposed rather than created by a client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<Detected>,
    /// Days after the end its audio is deleted, when a rule says so (else `[retention]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<f64>,
    /// The storage plugin for its audio, when a rule says so (else `[capture]`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
}

/// What to ask the representative.
pub const ASK: &str = "\"I'd like to record this call for my records. Do you agree?\"";

impl Call {
    /// A new call, awaiting notice.
    pub fn new(
        id: String,
        label: String,
        recorder: Party,
        parties: Vec<Party>,
        decision: Decision,
        policy: Policy,
        at: Stamp,
    ) -> Call {
        let mut call = Call {
            id,
            label,
            recorder,
            decision,
            policy,
            parties: parties.into_iter().map(joined).collect(),
            state: CallState::AwaitingNotice,
            timeline: Vec::new(),
            recorded_us: 0,
            stretch_start_mono: None,
            started_us: 0,
            recording_files: Vec::new(),
            kept: false,
            audio_deleted_us: 0,
            on_hold: false,
            hold_since_us: 0,
            detected: None,
            retention_days: None,
            storage: None,
        };
        let why = call.requirement_reason();
        call.log(
            at,
            TimelineKind::Created,
            format!("{}: {why}", call.decision.requirement),
        );
        call
    }

    /// This new call as a proposal of what noticed it: it waits for the user to take it up.
    pub fn propose(mut self, detected: Detected) -> Call {
        self.state = CallState::Proposed;
        for e in &mut self.timeline {
            e.state = CallState::Proposed;
        }
        self.detected = Some(detected);
        self
    }

    pub fn requirement(&self) -> Requirement {
        self.decision.requirement
    }

    /// Applies `event` at `at`: the next call and its effects, or why not.
    pub fn apply(&self, event: &Event, at: Stamp) -> Result<(Call, Vec<Effect>), Refusal> {
        if !self.state.is_active() {
            let when = self.timeline.last().map(|e| e.utc_us).unwrap_or_default();
            return Err(Refusal::Ended(format!(
                "the call has ended ({}, at {}); it can no longer {}",
                self.state,
                crate::calls::utc_text(when),
                event.name()
            )));
        }
        let mut next = self.clone();
        let mut fx = Vec::new();
        if self.state == CallState::Proposed {
            next.while_proposed(event, at, &mut fx)?;
            return Ok((next, fx));
        }
        match event {
            Event::Notice(by) => next.on_notice(*by, at, &mut fx)?,
            Event::Consent(yes) => next.on_consent(*yes, at, &mut fx)?,
            Event::Start => next.on_start(at, &mut fx)?,
            Event::Confirm => next.on_confirm(at)?,
            Event::Mark(text) => next.on_mark(text, at)?,
            Event::Pause => next.on_pause(at, &mut fx)?,
            Event::Resume => next.on_resume(at, &mut fx)?,
            Event::Transfer { parties, decision } => {
                next.on_transfer(parties, decision, at, &mut fx)?
            }
            Event::Withdraw => next.on_withdraw(at, &mut fx)?,
            Event::Stop => next.on_stop(at, &mut fx)?,
            Event::Interrupt => next.on_interrupt(at, &mut fx)?,
            Event::HangUp(why) => next.on_hang_up(why, at, &mut fx),
            Event::Take => {
                return Err(Refusal::WrongState(format!(
                    "only a proposed call is taken up; this one is {}",
                    self.state
                )));
            }
            Event::Dismiss => {
                return Err(Refusal::WrongState(format!(
                    "only a proposed call is dismissed; this one is {}: stop it instead",
                    self.state
                )));
            }
        }
        Ok((next, fx))
    }

    /// Indexes of the parties on the call now.
    fn present(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.parties.len()).filter(|&i| self.parties[i].present)
    }

    fn names(&self, idx: &[usize]) -> String {
        idx.iter()
            .map(|&i| self.parties[i].party.input.clone())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether a present party's consent is given, explicitly or by a company notice that the
    /// law and the policy both accept.
    fn consented(&self, p: &CallParty) -> bool {
        p.consent == Answer::Yes
            || (p.notice == Told::CompanyMessage
                && self.decision.notice_counts_as_consent
                && self.policy.accept_company_notice)
    }

    /// Refuses recording unless every present party was told and, under all-party law,
    /// consented.
    fn may_record(&self) -> Result<(), Refusal> {
        if let Some(i) = self.present().find(|&i| self.parties[i].notice == Told::No) {
            return Err(Refusal::NoticeRequired(format!(
                "{} has not been told the call is recorded: give notice first (onrecordctl call notice)",
                self.parties[i].party.input
            )));
        }
        if self.requirement() == Requirement::AllParty
            && let Some(i) = self.present().find(|&i| !self.consented(&self.parties[i]))
        {
            return Err(Refusal::ConsentRequired(format!(
                "all-party consent is required ({}): record the consent of {} first (onrecordctl call consent yes)",
                self.requirement_basis(),
                self.parties[i].party.input
            )));
        }
        Ok(())
    }

    /// "US-CA, Cal. Penal Code § 632.7" or "location unknown": what makes the call all-party.
    pub fn requirement_basis(&self) -> String {
        let parts: Vec<String> = self
            .decision
            .governing
            .iter()
            .map(|g| match (g.jurisdiction.is_empty(), g.citations.first()) {
                (true, _) => g.rule.clone(),
                (false, Some(c)) => format!("{}, {c}", g.jurisdiction),
                (false, None) => format!("{}: {}", g.jurisdiction, g.rule),
            })
            .collect();
        if parts.is_empty() {
            "onrecord policy".into()
        } else {
            parts.join("; ")
        }
    }

    /// One sentence: why the requirement is what it is.
    pub fn requirement_reason(&self) -> String {
        let unknown: Vec<&str> = self
            .decision
            .parties
            .iter()
            .filter(|p| p.location == onrecord_interface::Location::Unknown)
            .map(|p| p.input.as_str())
            .collect();
        match (self.requirement(), unknown.is_empty()) {
            (Requirement::AllParty, false) => format!(
                "the location of {} is unknown, so everyone's consent is needed ({})",
                unknown.join(", "),
                self.requirement_basis()
            ),
            (Requirement::AllParty, true) => format!(
                "the law requires everyone's consent ({})",
                self.requirement_basis()
            ),
            (Requirement::OneParty, _) => format!(
                "your consent is enough in law ({}), but onrecord always tells the other side first",
                self.requirement_basis()
            ),
        }
    }

    fn consent_basis(&self) -> String {
        let company: Vec<String> = self
            .present()
            .filter(|&i| self.parties[i].consent != Answer::Yes && self.consented(&self.parties[i]))
            .map(|i| self.parties[i].party.input.clone())
            .collect();
        match (self.requirement(), company.is_empty()) {
            (Requirement::AllParty, true) => "all present parties consented".into(),
            (Requirement::AllParty, false) => format!(
                "the company's recording notice stands in for the consent of {} (the law accepts it; accept_company_notice is on)",
                company.join(", ")
            ),
            (Requirement::OneParty, _) => "one-party law; everyone present was told".into(),
        }
    }

    /// After notice, consent or a transfer: the pre-recording state that the parties' answers
    /// give, or the end of a hold once its conditions are met.
    fn settle(&mut self, at: Stamp, kind: TimelineKind, detail: String, fx: &mut Vec<Effect>) {
        use CallState::*;
        match self.state {
            AwaitingNotice | AwaitingConsent | Ready => {
                self.state = if self.present().any(|i| self.parties[i].notice == Told::No) {
                    AwaitingNotice
                } else if self.may_record().is_err() {
                    AwaitingConsent
                } else {
                    Ready
                };
                self.log(at, kind, detail);
            }
            Held => {
                self.log(at, kind, detail);
                if self.may_record().is_ok() {
                    self.resume(at, fx);
                }
            }
            _ => self.log(at, kind, detail),
        }
    }

    fn resume(&mut self, at: Stamp, fx: &mut Vec<Effect>) {
        self.stretch_start_mono = Some(at.mono_us);
        self.state = CallState::Recording;
        fx.extend([Effect::ResumeCapture, Effect::Notify(Notice::Resumed)]);
        self.log(at, TimelineKind::Resumed, "recording resumed".into());
    }

    fn end(
        &mut self,
        state: CallState,
        at: Stamp,
        kind: TimelineKind,
        detail: String,
        fx: &mut Vec<Effect>,
    ) {
        let capturing = self.state.is_capturing();
        self.stop_stretch(at);
        self.state = state;
        if capturing {
            fx.extend([Effect::StopCapture, Effect::Notify(Notice::Stopped)]);
        }
        self.log(at, kind, detail);
    }

    fn stop_stretch(&mut self, at: Stamp) {
        if let Some(start) = self.stretch_start_mono.take() {
            self.recorded_us += at.mono_us.saturating_sub(start);
        }
    }

    /// The offset into the recording at `at`, or -1 before anything was recorded.
    pub fn audio_offset(&self, at: Stamp) -> i64 {
        if let (Some(audio), true) = (at.audio_us, self.started_us > 0) {
            return audio as i64;
        }
        match self.stretch_start_mono {
            Some(start) => (self.recorded_us + at.mono_us.saturating_sub(start)) as i64,
            None if self.started_us > 0 => self.recorded_us as i64,
            None => -1,
        }
    }

    /// A transfer's decision can only make the call stricter.
    fn tighten(&mut self, new: &Decision) {
        if new.requirement > self.decision.requirement {
            self.decision = new.clone();
        } else if new.requirement == self.decision.requirement {
            self.decision.notice_counts_as_consent &= new.notice_counts_as_consent;
        }
    }

    fn log(&mut self, at: Stamp, kind: TimelineKind, detail: String) {
        self.timeline.push(TimelineEntry {
            utc_us: at.utc_us,
            monotonic_us: at.mono_us,
            audio_offset_us: self.audio_offset(at),
            kind: kind.to_owned(),
            state: self.state,
            detail,
        });
    }

    /// Keeps the call from automatic deletion; says so in the timeline once.
    pub fn keep(&mut self, at: Stamp) {
        if !self.kept {
            self.kept = true;
            self.log(
                at,
                TimelineKind::Kept,
                "kept: never deleted automatically".into(),
            );
        }
    }

    /// When the call ended (its final timeline entry), if it has.
    pub fn ended_us(&self) -> Option<u64> {
        if self.state.is_active() {
            return None;
        }
        self.timeline
            .iter()
            .rev()
            .find(|e| Some(e.kind) == self.state_kind())
            .map(|e| e.utc_us)
    }

    /// The timeline entry that a final state ends with.
    fn state_kind(&self) -> Option<TimelineKind> {
        match self.state {
            CallState::Stopped => Some(TimelineKind::Stopped),
            CallState::Refused => Some(TimelineKind::Refused),
            CallState::Withdrawn => Some(TimelineKind::Withdrawn),
            CallState::Interrupted => Some(TimelineKind::Interrupted),
            _ => None,
        }
    }

    /// Adds a note that changes no state (what capture reports, a repair) to the timeline.
    pub fn note(&mut self, at: Stamp, kind: TimelineKind, detail: String) {
        self.log(at, kind, detail);
    }

    /// What the user should do next.
    pub fn next_step(&self) -> String {
        use CallState::*;
        match self.state {
            Proposed => format!(
                "onrecord noticed this call. To record it, tell the representative, for example: {ASK} Then `onrecordctl call notice`. Not this call: `onrecordctl call dismiss`."
            ),
            AwaitingNotice => format!(
                "Tell the representative you are recording, for example: {ASK} Then run `onrecordctl call notice` (or `--by company-message` if the company's own recording message played)."
            ),
            AwaitingConsent => "Ask for consent and record the answer: `onrecordctl call consent yes` (or `no`).".into(),
            Ready => "Start recording: `onrecordctl call start`. Then ask the representative to confirm on the recording and run `onrecordctl call confirm`.".into(),
            Recording => "Recording. `onrecordctl call mark TEXT`, `pause`, `transfer --them ...`, `stop`.".into(),
            Paused => "Paused: `onrecordctl call resume` when you are ready.".into(),
            Held => format!("Held for the new representative: tell them ({ASK}), then `onrecordctl call notice` and `onrecordctl call consent yes`; recording resumes by itself."),
            Stopped | Refused | Withdrawn | Interrupted => "The call has ended.".into(),
        }
    }
}

fn joined(party: Party) -> CallParty {
    CallParty {
        party,
        present: true,
        notice: Told::No,
        consent: Answer::None,
    }
}

#[path = "transitions.rs"]
mod transitions;

#[cfg(test)]
#[path = "machine_tests.rs"]
pub(crate) mod tests;
