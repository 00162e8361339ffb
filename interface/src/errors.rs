use zbus::DBusError;

/// The typed errors of every onrecord interface, on the wire as `org.onrecord.Error.<Variant>`.
///
/// A client matches the variant, never the text; the text is one line meant for a person.
#[derive(DBusError, Debug, Clone, PartialEq)]
#[zbus(prefix = "org.onrecord.Error")]
pub enum Error {
    /// A failure of the bus itself (not sent by the daemon).
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The jurisdiction id is not in the law tables (or not a well-formed id).
    UnknownJurisdiction(String),
    /// The text could not be read as a phone number.
    InvalidNumber(String),
    /// An argument is out of its domain (an unknown medium, an empty list, ...).
    InvalidArgument(String),
    /// The user's own jurisdiction is needed, but neither given nor configured.
    NoJurisdiction(String),
    /// The law tables on disk are invalid; the last good tables stay in use.
    ReloadFailed(String),
    /// No call has that id.
    UnknownCall(String),
    /// Someone present has not been told the call is recorded: give notice first.
    NoticeRequired(String),
    /// The law requires every present party's consent, and some is missing. The message
    /// names the jurisdiction and citation.
    ConsentRequired(String),
    /// The event does not apply in the call's current state (pause when not recording, ...).
    WrongState(String),
    /// The call has ended (stopped, refused, withdrawn or interrupted) and cannot change.
    CallEnded(String),
    /// Recording could not start or resume (no device opened, the capture plugin is not
    /// loaded): the call stays where it was (API 1.5).
    CaptureFailed(String),
    /// No announcement could be played: the virtual microphone is off, or PipeWire is not
    /// running, or the clip cannot be read (API 1.7).
    AnnouncementFailed(String),
    /// A bug or an unexpected failure inside the daemon.
    Internal(String),
}

impl Error {
    /// The short name of the variant (`UnknownJurisdiction`), as in the D-Bus error name.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::ZBus(_) => "Bus",
            Error::UnknownJurisdiction(_) => "UnknownJurisdiction",
            Error::InvalidNumber(_) => "InvalidNumber",
            Error::InvalidArgument(_) => "InvalidArgument",
            Error::NoJurisdiction(_) => "NoJurisdiction",
            Error::ReloadFailed(_) => "ReloadFailed",
            Error::UnknownCall(_) => "UnknownCall",
            Error::NoticeRequired(_) => "NoticeRequired",
            Error::ConsentRequired(_) => "ConsentRequired",
            Error::WrongState(_) => "WrongState",
            Error::CallEnded(_) => "CallEnded",
            Error::CaptureFailed(_) => "CaptureFailed",
            Error::AnnouncementFailed(_) => "AnnouncementFailed",
            Error::Internal(_) => "Internal",
        }
    }

    /// True for errors caused by what the caller passed (as opposed to the daemon or bus).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::UnknownJurisdiction(_)
                | Error::InvalidNumber(_)
                | Error::InvalidArgument(_)
                | Error::NoJurisdiction(_)
                | Error::UnknownCall(_)
        )
    }

    /// True when the consent rules refused a call's event (the step named is missing, the
    /// state is wrong, or the call has ended).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::NoticeRequired(_)
                | Error::ConsentRequired(_)
                | Error::WrongState(_)
                | Error::CallEnded(_)
        )
    }

    /// The human message, without the error name.
    pub fn message(&self) -> String {
        match self {
            Error::ZBus(e) => e.to_string(),
            Error::UnknownJurisdiction(m)
            | Error::InvalidNumber(m)
            | Error::InvalidArgument(m)
            | Error::NoJurisdiction(m)
            | Error::ReloadFailed(m)
            | Error::UnknownCall(m)
            | Error::NoticeRequired(m)
            | Error::ConsentRequired(m)
            | Error::WrongState(m)
            | Error::CallEnded(m)
            | Error::CaptureFailed(m)
            | Error::AnnouncementFailed(m)
            | Error::Internal(m) => m.clone(),
        }
    }
}
