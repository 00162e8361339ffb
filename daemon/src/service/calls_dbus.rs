//! `org.onrecord.Calls1` (create, list, remove) and one `org.onrecord.Call1` object per call.
//! Handlers turn arguments into commands for the owner; a call object's properties read the
//! snapshot the owner last gave it.

use super::Command;
use super::decide::{MAX_ARG_LEN, MAX_PARTIES, no_arguments};
use super::owner::Clip;
use crate::calls::{Call, Event};
use onrecord_interface::{
    CallInfo, CallParty, CallSummary, Decision, Error, NoticeBy, TimelineEntry,
};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use zbus::object_server::SignalEmitter;
use zbus::{OwnedObjectPath, OwnedVariant, interface};

/// What a user asks of one call: an event of the state machine, or a transfer whose parties
/// the owner must first read (it holds the tables). Clients cannot send `Interrupt`.
#[derive(Debug, Clone)]
pub enum CallInput {
    Event(Event),
    Transfer(Vec<String>),
}

async fn ask<T>(
    commands: &mpsc::Sender<Command>,
    make: impl FnOnce(oneshot::Sender<T>) -> Command,
) -> Result<T, Error> {
    let (tx, rx) = oneshot::channel();
    commands
        .send(make(tx))
        .await
        .map_err(|_| Error::Internal("the daemon is shutting down".into()))?;
    rx.await
        .map_err(|_| Error::Internal("the request was dropped".into()))
}

pub struct CallsIface {
    commands: mpsc::Sender<Command>,
}

impl CallsIface {
    pub fn new(commands: mpsc::Sender<Command>) -> Self {
        CallsIface { commands }
    }
}

fn option_string(options: &HashMap<String, OwnedVariant>, key: &str) -> Result<String, Error> {
    match options.get(key) {
        None => Ok(String::new()),
        Some(v) => {
            let s = String::try_from(v.try_clone().map_err(|e| Error::Internal(e.to_string()))?)
                .map_err(|_| {
                    Error::InvalidArgument(format!("option {key:?} must be a string (s)"))
                })?;
            if s.len() > MAX_ARG_LEN {
                return Err(Error::InvalidArgument(format!(
                    "option {key:?} is longer than {MAX_ARG_LEN} bytes"
                )));
            }
            Ok(s)
        }
    }
}

#[interface(name = "org.onrecord.Calls1")]
impl CallsIface {
    /// Creates a call from options: `them` (as, required: phone numbers or jurisdiction ids),
    /// `me` (s: the user's jurisdiction, default the configured one), `label` (s), `medium`
    /// (s: phone, in-person or electronic). Returns the call's object path and id.
    #[zbus(out_args("path", "id"))]
    async fn create_call(
        &self,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<(OwnedObjectPath, String), Error> {
        if let Some(k) = options
            .keys()
            .find(|k| !["them", "me", "label", "medium"].contains(&k.as_str()))
        {
            return Err(Error::InvalidArgument(format!(
                "unknown option {k:?} (expected them, me, label, medium)"
            )));
        }
        let them =
            match options.get("them") {
                None => {
                    return Err(Error::InvalidArgument(
                        "option \"them\" (as) is required".into(),
                    ));
                }
                Some(v) => Vec::<String>::try_from(
                    v.try_clone().map_err(|e| Error::Internal(e.to_string()))?,
                )
                .map_err(|_| {
                    Error::InvalidArgument("option \"them\" must be a list of strings (as)".into())
                })?,
            };
        if them.len() > MAX_PARTIES {
            return Err(Error::InvalidArgument(format!(
                "at most {MAX_PARTIES} other parties"
            )));
        }
        let me = option_string(&options, "me")?;
        let label = option_string(&options, "label")?;
        let medium = option_string(&options, "medium")?;
        if label.chars().any(char::is_control) {
            return Err(Error::InvalidArgument(
                "the label must be one line of text".into(),
            ));
        }
        ask(&self.commands, |reply| Command::CreateCall {
            me,
            them,
            label,
            medium,
            reply,
        })
        .await?
    }

    /// Every call the daemon knows, active and ended, oldest first.
    #[zbus(out_args("calls"))]
    async fn list_calls(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> Result<Vec<CallSummary>, Error> {
        no_arguments(&header)?;
        ask(&self.commands, |reply| Command::ListCalls { reply }).await
    }

    /// Forgets an ended call and deletes its record.
    async fn remove_call(&self, id: &str) -> Result<(), Error> {
        let id = id.to_owned();
        ask(&self.commands, |reply| Command::RemoveCall { id, reply }).await?
    }

    #[zbus(signal)]
    pub async fn call_added(
        emitter: &SignalEmitter<'_>,
        id: &str,
        path: OwnedObjectPath,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    pub async fn call_removed(
        emitter: &SignalEmitter<'_>,
        id: &str,
        path: OwnedObjectPath,
    ) -> zbus::Result<()>;
}

/// One call on the bus. Its snapshot comes through a watch channel from the owner: zbus holds
/// the object's lock while a method runs, and the owner must be able to update the snapshot
/// while this object's method waits for it.
pub struct CallIface {
    snapshot: watch::Receiver<Arc<Call>>,
    commands: mpsc::Sender<Command>,
    directory: std::path::PathBuf,
}

impl CallIface {
    pub fn new(
        snapshot: watch::Receiver<Arc<Call>>,
        commands: mpsc::Sender<Command>,
        directory: std::path::PathBuf,
    ) -> Self {
        CallIface {
            snapshot,
            commands,
            directory,
        }
    }

    fn call(&self) -> Arc<Call> {
        self.snapshot.borrow().clone()
    }

    async fn send(&self, input: CallInput) -> Result<(), Error> {
        let id = self.call().id.clone();
        ask(&self.commands, |reply| Command::CallEvent {
            id,
            input,
            reply,
        })
        .await?
    }
}

/// The whole call, as `Describe` returns it.
pub fn info(call: &Call) -> CallInfo {
    CallInfo {
        id: call.id.clone(),
        label: call.label.clone(),
        state: call.state,
        requirement: call.requirement(),
        next_step: call.next_step(),
        decision: call.decision.clone(),
        parties: call.parties.clone(),
        timeline: call.timeline.clone(),
        started_us: call.started_us,
        recording_files: call.recording_files.clone(),
    }
}

#[interface(name = "org.onrecord.Call1")]
impl CallIface {
    /// The present parties were told the call is recorded: `by` is `me`, `company-message` or
    /// `announcement` (empty: me).
    async fn notice(&self, by: &str) -> Result<(), Error> {
        let by = if by.is_empty() {
            NoticeBy::Me
        } else {
            by.parse().map_err(Error::InvalidArgument)?
        };
        self.send(CallInput::Event(Event::Notice(by))).await
    }

    /// The present parties' answer to "may I record?".
    async fn consent(&self, yes: bool) -> Result<(), Error> {
        self.send(CallInput::Event(Event::Consent(yes))).await
    }

    async fn start(&self, #[zbus(header)] header: zbus::message::Header<'_>) -> Result<(), Error> {
        no_arguments(&header)?;
        self.send(CallInput::Event(Event::Start)).await
    }

    /// The representative confirmed consent on the recording.
    async fn confirm(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> Result<(), Error> {
        no_arguments(&header)?;
        self.send(CallInput::Event(Event::Confirm)).await
    }

    async fn mark(&self, text: &str) -> Result<(), Error> {
        self.send(CallInput::Event(Event::Mark(text.to_owned())))
            .await
    }

    async fn pause(&self, #[zbus(header)] header: zbus::message::Header<'_>) -> Result<(), Error> {
        no_arguments(&header)?;
        self.send(CallInput::Event(Event::Pause)).await
    }

    async fn resume(&self, #[zbus(header)] header: zbus::message::Header<'_>) -> Result<(), Error> {
        no_arguments(&header)?;
        self.send(CallInput::Event(Event::Resume)).await
    }

    /// A new representative (numbers or jurisdiction ids) replaces the present ones.
    async fn transfer(&self, them: Vec<String>) -> Result<(), Error> {
        self.send(CallInput::Transfer(them)).await
    }

    async fn withdraw(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> Result<(), Error> {
        no_arguments(&header)?;
        self.send(CallInput::Event(Event::Withdraw)).await
    }

    async fn stop(&self, #[zbus(header)] header: zbus::message::Header<'_>) -> Result<(), Error> {
        no_arguments(&header)?;
        self.send(CallInput::Event(Event::Stop)).await
    }

    /// Takes up a proposed call: its consent flow begins (API 1.6).
    async fn take(&self, #[zbus(header)] header: zbus::message::Header<'_>) -> Result<(), Error> {
        no_arguments(&header)?;
        self.send(CallInput::Event(Event::Take)).await
    }

    /// Not this call: a proposed call is forgotten, and its object removed (API 1.6).
    async fn dismiss(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> Result<(), Error> {
        no_arguments(&header)?;
        self.send(CallInput::Event(Event::Dismiss)).await
    }

    /// Keeps the call: retention never deletes it.
    async fn keep(&self, #[zbus(header)] header: zbus::message::Header<'_>) -> Result<(), Error> {
        no_arguments(&header)?;
        let id = self.call().id.clone();
        ask(&self.commands, |reply| Command::KeepCall { id, reply }).await?
    }

    /// Plays an announcement into the call through the virtual microphone: `what` is
    /// `notice` (empty: the notice, which tells the present parties) or `started`
    /// ("recording has started", while recording). Answers once it plays (API 1.7).
    async fn announce(&self, what: &str) -> Result<(), Error> {
        let clip = match what {
            "" | "notice" => Clip::Notice,
            "started" => Clip::Started,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown announcement {:?} (expected notice or started)",
                    other.chars().take(40).collect::<String>()
                )));
            }
        };
        let id = self.call().id.clone();
        ask(&self.commands, |reply| Command::Announce {
            id,
            clip,
            reply,
        })
        .await?
    }

    /// Everything about the call in one reply.
    #[zbus(out_args("call"))]
    async fn describe(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> Result<(CallInfo,), Error> {
        no_arguments(&header)?;
        Ok((info(&self.call()),))
    }

    #[zbus(property(emits_changed_signal = "const"))]
    fn id(&self) -> String {
        self.call().id.clone()
    }

    #[zbus(property(emits_changed_signal = "const"))]
    fn label(&self) -> String {
        self.call().label.clone()
    }

    /// What noticed the call: empty (a client created it), `modem` or `pipewire` (API 1.6).
    #[zbus(property(emits_changed_signal = "const"))]
    fn detected_by(&self) -> String {
        let call = self.call();
        call.detected
            .as_ref()
            .map_or("", |d| d.by.as_str())
            .to_owned()
    }

    /// The application or device the call was noticed on, or empty (API 1.6).
    #[zbus(property(emits_changed_signal = "const"))]
    fn application(&self) -> String {
        let call = self.call();
        call.detected
            .as_ref()
            .map_or(String::new(), |d| d.application.clone())
    }

    /// One of the `CallState` names (awaiting-notice, ..., interrupted).
    #[zbus(property)]
    fn state(&self) -> String {
        self.call().state.as_str().to_owned()
    }

    #[zbus(property)]
    fn requirement(&self) -> String {
        self.call().requirement().as_str().to_owned()
    }

    /// The law decision the call was made with (a transfer can only make it stricter).
    #[zbus(property)]
    fn decision(&self) -> Decision {
        self.call().decision.clone()
    }

    /// What the user should do next.
    #[zbus(property)]
    fn next_step(&self) -> String {
        self.call().next_step()
    }

    #[zbus(property)]
    fn parties(&self) -> Vec<CallParty> {
        self.call().parties.clone()
    }

    #[zbus(property)]
    fn timeline(&self) -> Vec<TimelineEntry> {
        self.call().timeline.clone()
    }

    /// When recording first started (µs since the epoch, UTC), or 0.
    #[zbus(property)]
    fn started_at(&self) -> u64 {
        self.call().started_us
    }

    /// Kept by the user: never deleted by retention.
    #[zbus(property)]
    fn kept(&self) -> bool {
        self.call().kept
    }

    /// The call's directory: its record, audio, chain journals and sealed manifest.
    #[zbus(property(emits_changed_signal = "const"))]
    fn directory(&self) -> String {
        self.directory.display().to_string()
    }

    #[zbus(property)]
    fn recording_files(&self) -> Vec<String> {
        self.call().recording_files.clone()
    }

    /// The far side is on hold (music, tones, recorded announcements or a long silence, by
    /// the call analysis while recording).
    #[zbus(property)]
    fn on_hold(&self) -> bool {
        self.call().on_hold
    }

    /// When the present hold began, µs since the epoch (UTC); 0 when not on hold.
    #[zbus(property)]
    fn hold_since(&self) -> u64 {
        self.call().hold_since_us
    }

    /// A hold began: when (µs since the epoch, UTC) and where in the recording (µs). Known a
    /// little after it began (the analysis looks ahead), stamped where it began.
    #[zbus(signal)]
    pub async fn hold_started(
        emitter: &SignalEmitter<'_>,
        since: u64,
        offset_us: u64,
    ) -> zbus::Result<()>;

    /// A hold ended (live speech came back and was answered): when it began and ended (µs
    /// since the epoch, UTC).
    #[zbus(signal)]
    pub async fn hold_ended(
        emitter: &SignalEmitter<'_>,
        since: u64,
        ended: u64,
    ) -> zbus::Result<()>;

    /// The state changed; `reason` is the new timeline entry's detail.
    #[zbus(signal, name = "StateChanged")]
    pub async fn call_state_changed(
        emitter: &SignalEmitter<'_>,
        old: &str,
        new: &str,
        reason: &str,
    ) -> zbus::Result<()>;
}
