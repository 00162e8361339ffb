//! Wire types of `org.onrecord.Calls1` and `org.onrecord.Call1`.

use crate::{Decision, Party, Requirement};
use serde::{Deserialize, Serialize};
use zbus::Type;

string_enum! {
    /// Where a call stands. The first seven are active; the last four are final.
    CallState {
        /// onrecord noticed a call (a modem, a softphone) and proposes to record it: nothing is
        /// on disk until it is taken up (`Take`, or `Notice`), and a proposal dismissed or hung
        /// up leaves no trace (API 1.6).
        Proposed = "proposed",
        /// Someone present has not been told that the call will be recorded.
        AwaitingNotice = "awaiting-notice",
        /// Everyone was told; all-party consent is still missing.
        AwaitingConsent = "awaiting-consent",
        /// Recording may start.
        Ready = "ready",
        Recording = "recording",
        /// Paused by the user.
        Paused = "paused",
        /// Paused because a new party joined who has not been told or has not consented;
        /// recording resumes by itself once they have.
        Held = "held",
        /// Ended by the user.
        Stopped = "stopped",
        /// A party said no: this call can never record.
        Refused = "refused",
        /// A party withdrew consent: recording stopped for good.
        Withdrawn = "withdrawn",
        /// The daemon ended while the call was recording.
        Interrupted = "interrupted",
    }
}

impl CallState {
    /// Whether the call can still change.
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            CallState::Stopped | CallState::Refused | CallState::Withdrawn | CallState::Interrupted
        )
    }

    /// Whether the call holds its recording open (recording, or paused by the user or for a
    /// new party).
    pub fn is_capturing(self) -> bool {
        matches!(
            self,
            CallState::Recording | CallState::Paused | CallState::Held
        )
    }
}

string_enum! {
    /// What noticed a call and proposed it (API 1.6).
    DetectedBy {
        /// Created by a client (`CreateCall`), not detected.
        Client = "",
        /// A modem's voice call (ModemManager).
        Modem = "modem",
        /// A calling application's audio streams on PipeWire.
        PipeWire = "pipewire",
        /// GNOME Calls' call objects (`org.gnome.Calls`): SIP calls and their addresses.
        GnomeCalls = "gnome-calls",
    }
}

string_enum! {
    /// Who told the other side that the call is recorded.
    NoticeBy {
        /// The user said it.
        Me = "me",
        /// The company's own "this call may be recorded" message was heard.
        CompanyMessage = "company-message",
        /// onrecord played an announcement.
        Announcement = "announcement",
    }
}

string_enum! {
    /// Whether and how a party was told that the call is recorded.
    Told {
        /// Not yet.
        No = "",
        Me = "me",
        CompanyMessage = "company-message",
        Announcement = "announcement",
    }
}

impl From<NoticeBy> for Told {
    fn from(by: NoticeBy) -> Told {
        match by {
            NoticeBy::Me => Told::Me,
            NoticeBy::CompanyMessage => Told::CompanyMessage,
            NoticeBy::Announcement => Told::Announcement,
        }
    }
}

string_enum! {
    /// A party's answer to "may I record?".
    Answer {
        /// Not asked yet.
        None = "",
        Yes = "yes",
        No = "no",
    }
}

string_enum! {
    /// What a timeline entry records: a consent event, or what the daemon noted.
    TimelineKind {
        Created = "created",
        /// A proposed call was taken up (API 1.6).
        Taken = "taken",
        Notice = "notice",
        Consent = "consent",
        Refused = "refused",
        Started = "started",
        Confirmed = "confirmed",
        Mark = "mark",
        Paused = "paused",
        Resumed = "resumed",
        Transfer = "transfer",
        Held = "held",
        Withdrawn = "withdrawn",
        Stopped = "stopped",
        Interrupted = "interrupted",
        /// What capture reported: a device lost, a gap, the counts at the end, a failure.
        Capture = "capture",
        /// A hold began or ended on the far side.
        Hold = "hold",
        /// The call analysis at the end of the recording.
        Analysis = "analysis",
        Kept = "kept",
        /// onrecord played an announcement into the call (API 1.7): what, in which language,
        /// and whether anything but onrecord took it from the virtual microphone.
        Announcement = "announcement",
        /// Retention deleted the audio.
        Retention = "retention",
        /// The audio and chain journals were encrypted to the `[encryption]` recipients after
        /// the seal (or could not be) (API 1.8).
        Encrypted = "encrypted",
        /// Every file of the sealed call is in the `[archive]` bucket, confirmed (API 1.8).
        Archived = "archived",
        /// The `[hooks] after_seal` program ran after the call was sealed: how it ended (API
        /// 1.8).
        Hook = "hook",
    }
}

/// One other party of a call, with what they were told and said.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct CallParty {
    pub party: Party,
    /// Still on the call (a transfer replaces the representative).
    pub present: bool,
    /// How they were told, or empty when they were not.
    pub notice: Told,
    /// `yes`, `no`, or empty when not asked yet.
    pub consent: Answer,
}

/// One event of a call's history: the evidence of how it was recorded.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct TimelineEntry {
    /// UTC wall clock, microseconds since the Unix epoch.
    pub utc_us: u64,
    /// The daemon's monotonic clock, microseconds (for intervals; not comparable across
    /// restarts).
    pub monotonic_us: u64,
    /// Offset into the recording, microseconds, or -1 before anything was recorded.
    pub audio_offset_us: i64,
    pub kind: TimelineKind,
    /// The state after the event.
    pub state: CallState,
    /// One line for a person.
    pub detail: String,
}

/// A line of `ListCalls`.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct CallSummary {
    pub id: String,
    pub label: String,
    pub state: CallState,
    pub requirement: Requirement,
    /// When the call was created, microseconds since the Unix epoch (UTC).
    pub created_us: u64,
    pub path: zbus::OwnedObjectPath,
}

/// The whole of a call in one round trip (`Call1.Describe`); also what
/// `onrecordctl call show --json` prints.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Debug)]
pub struct CallInfo {
    pub id: String,
    pub label: String,
    pub state: CallState,
    pub requirement: Requirement,
    /// What the user should do next, in a sentence or two.
    pub next_step: String,
    pub decision: Decision,
    pub parties: Vec<CallParty>,
    pub timeline: Vec<TimelineEntry>,
    /// When recording first started (µs since the epoch), or 0.
    pub started_us: u64,
    pub recording_files: Vec<String>,
}
