//! The owner loop: the only writer of the daemon's state.

use super::Paths;
use super::calls_dbus::{CallIface, CallIfaceSignals, CallInput, CallsIface, CallsIfaceSignals};
use super::dbus::{LawsIface, LawsIfaceSignals};
use super::{decide, notify};
use crate::calls::{Call, Effect, Event, Notice, Policy, Refusal, Stamp, store};
use crate::capture::Capture;
use crate::config::Retention;
use crate::laws::{self, LawSet, LoadError};
use onrecord_interface::{CallSummary, Error, call_path};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};
use zbus::{Connection, OwnedObjectPath};

/// What the rest of the daemon may ask of the owner.
#[derive(Debug)]
pub enum Command {
    /// Re-read the law tables; `reply` gets the new digest or the error.
    Reload {
        why: &'static str,
        reply: Option<oneshot::Sender<Result<String, String>>>,
    },
    CreateCall {
        me: String,
        them: Vec<String>,
        label: String,
        medium: String,
        reply: oneshot::Sender<Result<(OwnedObjectPath, String), Error>>,
    },
    CallEvent {
        id: String,
        input: CallInput,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    ListCalls {
        reply: oneshot::Sender<Vec<CallSummary>>,
    },
    RemoveCall {
        id: String,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    KeepCall {
        id: String,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// Capture tells a call's timeline what happened while recording (a device lost, a gap).
    CaptureNote { id: String, text: String },
    /// The call analysis found a hold begin or end on the far side.
    Hold {
        id: String,
        change: crate::capture::HoldChange,
    },
    /// A call's recording failed for good (the storage refused a write: a full disk): the
    /// error goes into its timeline and the call stops, which finishes what was written.
    CaptureFailed { id: String, error: String },
    /// The daemon is stopping (SIGTERM, SIGINT): every call still capturing is interrupted,
    /// so its files are finished and sealed now rather than repaired at the next start.
    /// `reply` gets how many were.
    Shutdown { reply: oneshot::Sender<usize> },
}

/// The immutable snapshot the owner publishes after every change. Readers clone the `Arc`.
#[derive(Debug)]
pub struct Published {
    pub set: Arc<LawSet>,
    /// Microseconds since the Unix epoch when `set` was loaded.
    pub loaded_at_us: u64,
    /// The last reload's error, empty when it succeeded.
    pub last_error: String,
    /// The configured jurisdiction of the user, if any.
    pub user_jurisdiction: Option<String>,
}

pub struct Owner {
    paths: Paths,
    state: watch::Sender<Arc<Published>>,
    policy: Policy,
    /// Every call, by id.
    calls: BTreeMap<String, Entry>,
    capture: Box<dyn Capture>,
    /// The installation's signing key for sealed evidence.
    signing: Option<ed25519_dalek::SigningKey>,
    retention: Retention,
}

/// A call as the owner keeps it: its directory, its state, and the channel that gives its
/// D-Bus object each new snapshot.
struct Entry {
    dir: PathBuf,
    call: Call,
    snapshot: watch::Sender<Arc<Call>>,
}

pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Now, on the UTC and the monotonic (CLOCK_MONOTONIC) clocks.
/// The call analysis of a recording in one timeline line.
fn analysis_line(a: &onrecord_analysis::Summary) -> String {
    use onrecord_analysis::clock;
    format!(
        "far side: first live agent {}; on hold {} in {} hold(s), {} transfer(s); far side talked {}{}",
        a.first_live_s
            .map_or("never".to_owned(), |t| format!("at {}", clock(t))),
        clock(a.hold_s),
        a.holds.len(),
        a.transfers,
        clock(a.talk_far_s),
        a.talk_near_s
            .map_or(String::new(), |t| format!(", you {}", clock(t))),
    )
}

pub fn stamp() -> Stamp {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    Stamp {
        utc_us: now_us(),
        mono_us: t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1_000,
        audio_us: None,
    }
}

fn refusal(r: Refusal) -> Error {
    match r {
        Refusal::NoticeRequired(m) => Error::NoticeRequired(m),
        Refusal::ConsentRequired(m) => Error::ConsentRequired(m),
        Refusal::WrongState(m) => Error::WrongState(m),
        Refusal::Ended(m) => Error::CallEnded(m),
        Refusal::Invalid(m) => Error::InvalidArgument(m),
    }
}

impl Owner {
    /// Loads the first tables. If the user's overlay is broken but the shipped tables are good,
    /// the daemon starts on the shipped tables and reports the overlay's error; a broken shipped
    /// set is fatal.
    pub fn start(
        paths: Paths,
        user_jurisdiction: Option<String>,
        policy: Policy,
        capture: Box<dyn Capture>,
    ) -> Result<(Owner, watch::Receiver<Arc<Published>>), LoadError> {
        let (set, last_error) = match laws::load(&paths.laws_dir, paths.user_laws_dir.as_deref()) {
            Ok(set) => (set, String::new()),
            Err(e) if paths.user_laws_dir.is_some() => {
                let set = laws::load(&paths.laws_dir, None)?;
                for p in &e.0 {
                    tracing::error!("user law tables rejected: {p}");
                }
                tracing::warn!("serving the shipped law tables only");
                (set, e.to_string())
            }
            Err(e) => return Err(e),
        };
        tracing::info!(digest = %set.digest, jurisdictions = set.jurisdictions.len(), "law tables loaded");
        let published = Arc::new(Published {
            set: Arc::new(set),
            loaded_at_us: now_us(),
            last_error,
            user_jurisdiction,
        });
        let (tx, rx) = watch::channel(published);
        Ok((
            Owner {
                signing: None,
                retention: Retention::default(),
                paths,
                state: tx,
                policy,
                calls: BTreeMap::new(),
                capture,
            },
            rx,
        ))
    }

    /// Seals ended calls' evidence with `key`.
    pub fn with_signing_key(mut self, key: ed25519_dalek::SigningKey) -> Self {
        self.signing = Some(key);
        self
    }

    fn calls_dir(&self) -> PathBuf {
        self.paths.data_dir.join("calls")
    }

    /// Serves commands until every sender is gone. `handle` is given to each call object, to
    /// send its events back here.
    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        handle: mpsc::Sender<Command>,
        conn: Connection,
    ) {
        // Capture's threads note events in timelines through the same queue (never blocking:
        // a note that does not fit is logged instead).
        let notes = handle.clone();
        self.capture
            .set_notes(Arc::new(move |id: &str, text: String| {
                if let Err(e) = notes.try_send(Command::CaptureNote {
                    id: id.to_owned(),
                    text,
                }) && let mpsc::error::TrySendError::Full(Command::CaptureNote { id, text })
                | mpsc::error::TrySendError::Closed(Command::CaptureNote { id, text }) = e
                {
                    tracing::warn!(call = %id, "capture note not queued: {text}");
                }
            }));
        let failures = handle.clone();
        self.capture
            .set_failures(Arc::new(move |id: &str, error: String| {
                // Rare and vital: waits for room in the queue, off the async threads.
                let failures = failures.clone();
                let id = id.to_owned();
                std::thread::spawn(move || {
                    let _ = failures.blocking_send(Command::CaptureFailed { id, error });
                });
            }));
        let holds = handle.clone();
        self.capture
            .set_hold_events(Arc::new(move |id: &str, change| {
                if holds
                    .try_send(Command::Hold {
                        id: id.to_owned(),
                        change: change.clone(),
                    })
                    .is_err()
                {
                    tracing::warn!(call = %id, "hold change not queued: {change:?}");
                }
            }));
        loop {
            // Retention sleeps until the next deletion is due: no periodic wakeup.
            let due = self.retention_due();
            let wait = async {
                match due {
                    Some(at) => {
                        tokio::time::sleep(Duration::from_micros(at.saturating_sub(now_us()))).await
                    }
                    None => std::future::pending().await,
                }
            };
            let cmd = tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => cmd,
                    None => break,
                },
                () = wait => {
                    self.retention_pass(&conn).await;
                    continue;
                }
            };
            match cmd {
                Command::KeepCall { id, reply } => {
                    let _ = reply.send(self.keep_call(&conn, &id).await);
                }
                Command::Reload { why, reply } => {
                    let result = self.reload(why, &conn).await;
                    if let Some(reply) = reply {
                        let _ = reply.send(result);
                    }
                }
                Command::CreateCall {
                    me,
                    them,
                    label,
                    medium,
                    reply,
                } => {
                    let _ = reply.send(
                        self.create_call(&conn, &handle, &me, &them, label, &medium)
                            .await,
                    );
                }
                Command::CallEvent { id, input, reply } => {
                    let _ = reply.send(self.call_event(&conn, &id, input).await);
                }
                Command::ListCalls { reply } => {
                    let _ = reply.send(self.list_calls());
                }
                Command::RemoveCall { id, reply } => {
                    let _ = reply.send(self.remove_call(&conn, &id).await);
                }
                Command::CaptureNote { id, text } => self.capture_note(&conn, &id, text).await,
                Command::Hold { id, change } => self.hold_change(&conn, &id, change).await,
                Command::CaptureFailed { id, error } => {
                    self.capture_failed(&conn, &id, error).await
                }
                Command::Shutdown { reply } => {
                    let _ = reply.send(self.interrupt_all(&conn).await);
                }
            }
        }
    }

    /// Applies `[retention]` from the configuration.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Whether retention deletes this call's audio, and from when (µs since the epoch).
    fn deletion_due(&self, call: &Call) -> Option<(u64, String)> {
        if call.kept || call.audio_deleted_us != 0 || call.recording_files.is_empty() {
            return None;
        }
        let ended = call.ended_us()?;
        let short = self
            .retention
            .min_duration_s
            .filter(|&min| (call.recorded_us as f64) < min * 1e6);
        if let Some(min) = short {
            return Some((ended, format!("shorter than the minimum of {min} s")));
        }
        let days = self.retention.days?;
        Some((
            ended + (days * 86_400e6) as u64,
            format!("older than {days} days"),
        ))
    }

    fn retention_due(&self) -> Option<u64> {
        self.calls
            .values()
            .filter_map(|e| self.deletion_due(&e.call).map(|(at, _)| at))
            .min()
    }

    /// Deletes the audio of every call whose time has come, leaving its record, its sealed
    /// manifest and a timeline entry.
    async fn retention_pass(&mut self, conn: &Connection) {
        let now = now_us();
        let due: Vec<(String, String)> = self
            .calls
            .values()
            .filter_map(|e| {
                self.deletion_due(&e.call)
                    .filter(|(at, _)| *at <= now)
                    .map(|(_, why)| (e.call.id.clone(), why))
            })
            .collect();
        for (id, why) in due {
            let Some(entry) = self.calls.get(&id) else {
                continue;
            };
            let (dir, old) = (entry.dir.clone(), entry.call.clone());
            let mut call = old.clone();
            for name in &call.recording_files {
                // The journal first: whoever sees the audio gone sees its journal gone too.
                for f in [onrecord_evidence::journal_name(name), name.clone()] {
                    if let Err(e) = std::fs::remove_file(dir.join(&f))
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        tracing::error!(call = %id, "retention cannot delete {f}: {e}");
                    }
                }
            }
            call.audio_deleted_us = now_us();
            call.note(
                stamp(),
                "retention",
                format!(
                    "audio deleted by retention ({why}); the record and the sealed manifest remain"
                ),
            );
            tracing::info!(call = %id, "retention deleted the audio ({why})");
            if let Err(e) = store::save(&dir, &call) {
                tracing::error!(call = %id, "cannot save the call record: {e}");
            }
            self.replace_call(conn, &old, call).await;
        }
    }

    async fn keep_call(&mut self, conn: &Connection, id: &str) -> Result<(), Error> {
        let entry = self
            .calls
            .get(id)
            .ok_or_else(|| Error::UnknownCall(format!("no call {id:?}")))?;
        let (dir, old) = (entry.dir.clone(), entry.call.clone());
        if old.audio_deleted_us != 0 {
            return Err(Error::WrongState(
                "retention already deleted this call's audio".into(),
            ));
        }
        let mut call = old.clone();
        call.keep(stamp());
        if let Err(e) = store::save(&dir, &call) {
            return Err(Error::Internal(format!("cannot save the call record: {e}")));
        }
        self.replace_call(conn, &old, call).await;
        Ok(())
    }

    /// Loads the calls kept on disk; a call that was capturing when the daemon died is marked
    /// interrupted. Every call gets its object on the bus.
    pub async fn restore_calls(&mut self, conn: &Connection, handle: &mpsc::Sender<Command>) {
        let (found, errors) = store::load_all(&self.calls_dir());
        for e in errors {
            tracing::error!("unreadable call record, left in place: {e}");
        }
        for (dir, call) in found {
            let call = match call.apply(&Event::Interrupt, stamp()) {
                Ok((interrupted, fx)) => {
                    tracing::warn!(call = %call.id, "the call was recording when the daemon stopped: marked interrupted");
                    let mut c = interrupted;
                    self.run_effects(conn, &mut c, &dir, &fx);
                    if let Err(e) = store::save(&dir, &c) {
                        tracing::error!(call = %c.id, "cannot save the call record: {e}");
                    }
                    c
                }
                Err(_) => call,
            };
            let snapshot = self.serve_call(conn, handle, &call, &dir).await;
            self.calls.insert(
                call.id.clone(),
                Entry {
                    dir,
                    call,
                    snapshot,
                },
            );
        }
        if !self.calls.is_empty() {
            tracing::info!(calls = self.calls.len(), "calls restored");
        }
    }

    async fn serve_call(
        &self,
        conn: &Connection,
        handle: &mpsc::Sender<Command>,
        call: &Call,
        dir: &std::path::Path,
    ) -> watch::Sender<Arc<Call>> {
        let (tx, rx) = watch::channel(Arc::new(call.clone()));
        if let Err(e) = conn
            .object_server()
            .at(
                call_path(&call.id),
                CallIface::new(rx, handle.clone(), dir.to_owned()),
            )
            .await
        {
            tracing::error!(call = %call.id, "cannot serve the call on the bus: {e}");
        }
        tx
    }

    async fn create_call(
        &mut self,
        conn: &Connection,
        handle: &mpsc::Sender<Command>,
        me: &str,
        them: &[String],
        label: String,
        medium: &str,
    ) -> Result<(OwnedObjectPath, String), Error> {
        let now = self.state.borrow().clone();
        let medium = decide::parse_medium(medium)?;
        let (recorder, parties, decision) = decide::decide(&now, me, them, medium)?;
        let id = store::new_id();
        let label = if label.trim().is_empty() {
            them.join(", ")
        } else {
            label.trim().to_owned()
        };
        let call = Call::new(
            id.clone(),
            label,
            recorder,
            parties,
            decision,
            self.policy,
            stamp(),
        );
        let dir = store::call_dir(&self.calls_dir(), &call, &self.paths.naming);
        store::save(&dir, &call).map_err(|e| {
            Error::Internal(format!(
                "cannot save the call record in {}: {e}",
                dir.display()
            ))
        })?;
        tracing::info!(call = %id, requirement = %call.requirement(), "call created");
        let snapshot = self.serve_call(conn, handle, &call, &dir).await;
        let path = OwnedObjectPath::try_from(call_path(&id))
            .map_err(|e| Error::Internal(e.to_string()))?;
        self.calls.insert(
            id.clone(),
            Entry {
                dir,
                call,
                snapshot,
            },
        );
        if let Ok(calls) = conn
            .object_server()
            .interface::<_, CallsIface>(onrecord_interface::OBJECT_PATH)
            .await
        {
            let _ = calls.call_added(&id, path.clone()).await;
        }
        Ok((path, id))
    }

    /// Adds what capture reported to the call's timeline, stamped with where the recording is.
    async fn capture_note(&mut self, conn: &Connection, id: &str, text: String) {
        let Some(entry) = self.calls.get(id) else {
            return;
        };
        let (dir, call) = (entry.dir.clone(), entry.call.clone());
        let mut next = call.clone();
        next.note(
            Stamp {
                audio_us: self.capture.position_us(id),
                ..stamp()
            },
            "capture",
            text,
        );
        if let Err(e) = store::save(&dir, &next) {
            tracing::error!(call = %id, "cannot save the call record: {e}");
        }
        self.replace_call(conn, &call, next).await;
    }

    /// A hold began or ended: the call's OnHold and HoldSince, a timeline entry at the hold's
    /// place in the recording, and HoldStarted or HoldEnded.
    async fn hold_change(
        &mut self,
        conn: &Connection,
        id: &str,
        change: crate::capture::HoldChange,
    ) {
        use crate::capture::HoldChange;
        use onrecord_analysis::clock;
        let Some(entry) = self.calls.get(id) else {
            return;
        };
        let (dir, call) = (entry.dir.clone(), entry.call.clone());
        if call.state != onrecord_interface::CallState::Recording {
            return;
        }
        // Offsets into the recording, as UTC: the recording is at `pos` now.
        let now = now_us();
        let pos = self.capture.position_us(id).unwrap_or(0);
        let utc_of = |at_s: f64| now.saturating_sub(pos.saturating_sub((at_s * 1e6) as u64));
        let at = |at_s: f64| Stamp {
            audio_us: Some((at_s * 1e6) as u64),
            ..stamp()
        };
        let mut next = call.clone();
        match &change {
            HoldChange::Started { at_s } => {
                next.on_hold = true;
                next.hold_since_us = utc_of(*at_s);
                next.note(
                    at(*at_s),
                    "hold",
                    format!("on hold since {} into the recording", clock(*at_s)),
                );
            }
            HoldChange::Ended { since_s, at_s } => {
                next.on_hold = false;
                next.hold_since_us = 0;
                next.note(
                    at(*at_s),
                    "hold",
                    format!(
                        "hold ended: {} on hold ({} to {} into the recording)",
                        clock(at_s - since_s),
                        clock(*since_s),
                        clock(*at_s)
                    ),
                );
            }
        }
        if let Err(e) = store::save(&dir, &next) {
            tracing::error!(call = %id, "cannot save the call record: {e}");
        }
        let since = next.hold_since_us;
        self.replace_call(conn, &call, next).await;
        if let Ok(iface) = conn
            .object_server()
            .interface::<_, CallIface>(call_path(id))
            .await
        {
            let em = iface.signal_emitter();
            let _ = match change {
                HoldChange::Started { at_s } => {
                    CallIface::hold_started(em, since, (at_s * 1e6) as u64).await
                }
                HoldChange::Ended { since_s, at_s } => {
                    CallIface::hold_ended(em, utc_of(since_s), utc_of(at_s)).await
                }
            };
        }
    }

    /// Stops a call whose recording failed, with the error in its timeline first.
    async fn capture_failed(&mut self, conn: &Connection, id: &str, error: String) {
        let capturing = self
            .calls
            .get(id)
            .is_some_and(|e| e.call.state.is_capturing());
        tracing::error!(call = %id, "the recording failed: {error}");
        if !capturing {
            return;
        }
        self.capture_note(
            conn,
            id,
            format!("the recording failed and stopped: {error}"),
        )
        .await;
        if let Err(e) = self
            .call_event(conn, id, CallInput::Event(Event::Stop))
            .await
        {
            tracing::error!(call = %id, "cannot stop the call: {e}");
        }
    }

    /// Interrupts every call that is capturing; returns how many.
    async fn interrupt_all(&mut self, conn: &Connection) -> usize {
        let capturing: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, e)| e.call.state.is_capturing())
            .map(|(id, _)| id.clone())
            .collect();
        for id in &capturing {
            if let Err(e) = self
                .call_event(conn, id, CallInput::Event(Event::Interrupt))
                .await
            {
                tracing::error!(call = %id, "cannot interrupt the call: {e}");
            }
        }
        capturing.len()
    }

    async fn call_event(
        &mut self,
        conn: &Connection,
        id: &str,
        input: CallInput,
    ) -> Result<(), Error> {
        let entry = self
            .calls
            .get(id)
            .ok_or_else(|| Error::UnknownCall(format!("no call {id:?}")))?;
        let (dir, call) = (entry.dir.clone(), entry.call.clone());
        let event = match input {
            CallInput::Event(event) => event,
            CallInput::Transfer(them) => {
                // The law for the whole call now: everyone who was or is on it.
                let now = self.state.borrow().clone();
                let new = decide::parties(&now, &call.recorder, &them)?;
                let mut everyone: Vec<_> = call.parties.iter().map(|p| p.party.clone()).collect();
                everyone.extend(new.iter().cloned());
                let decision =
                    laws::evaluate(&now.set, &call.recorder, &everyone, call.decision.medium);
                Event::Transfer {
                    parties: new,
                    decision: Box::new(decision),
                }
            }
        };
        // Where the recording is, counted in frames by the capture when one runs.
        let at = Stamp {
            audio_us: self.capture.position_us(id),
            ..stamp()
        };
        let (mut next, mut fx) = call.apply(&event, at).map_err(refusal)?;
        // A call never says it records while nothing is written: if capture cannot start (or
        // resume), the transition does not happen; the call stays as it was, and its timeline
        // and a notification say why.
        if let Err(err) = self.begin_capture(&mut next, &dir, &mut fx) {
            let mut kept = call.clone();
            kept.note(
                stamp(),
                "capture",
                format!("recording did not start: {err}"),
            );
            tracing::error!(call = %id, "recording did not start: {err}");
            notify::send(
                conn,
                "onrecord: NOT recording".into(),
                format!("{}: the recording could not start: {err}", call.label),
            );
            if let Err(e) = store::save(&dir, &kept) {
                tracing::error!(call = %id, "cannot save the call record: {e}");
            }
            self.replace_call(conn, &call, kept).await;
            return Err(Error::CaptureFailed(format!(
                "the recording could not start: {err}"
            )));
        }
        self.run_effects(conn, &mut next, &dir, &fx);
        if let Err(e) = store::save(&dir, &next) {
            // The state in memory is right and capture followed it; the record catches up at
            // the next change.
            tracing::error!(call = %id, "cannot save the call record: {e}");
        }
        self.replace_call(conn, &call, next).await;
        Ok(())
    }

    /// Starts or resumes capture for a transition that asks for it, and takes that effect out
    /// of `fx`; the error says why no audio can be written.
    fn begin_capture(
        &mut self,
        call: &mut Call,
        dir: &std::path::Path,
        fx: &mut Vec<Effect>,
    ) -> Result<(), String> {
        let Some(i) = fx
            .iter()
            .position(|e| matches!(e, Effect::StartCapture | Effect::ResumeCapture))
        else {
            return Ok(());
        };
        match fx.remove(i) {
            Effect::StartCapture => call.recording_files = self.capture.start(call, dir)?,
            _ => self.capture.resume(&call.id)?,
        }
        Ok(())
    }

    /// Carries out a transition's effects. Capture follows the state machine and nothing else.
    fn run_effects(
        &mut self,
        conn: &Connection,
        call: &mut Call,
        dir: &std::path::Path,
        fx: &[Effect],
    ) {
        for e in fx {
            match e {
                // Started by `begin_capture` before the transition was accepted.
                Effect::StartCapture | Effect::ResumeCapture => {}
                Effect::PauseCapture => self.capture.pause(&call.id),
                Effect::StopCapture => {
                    // A hold ends with the call's recording.
                    call.on_hold = false;
                    call.hold_since_us = 0;
                    if let Some(stopped) = self.capture.stop(call, dir) {
                        // What is said after the stop sits at the recording's end, measured in
                        // its audio (a paced or drifting source is not the wall clock).
                        let end = || Stamp {
                            audio_us: stopped.duration_us(),
                            ..stamp()
                        };
                        for n in &stopped.notes {
                            call.note(end(), "capture", n.clone());
                        }
                        if let Some(a) = &stopped.analysis {
                            call.note(end(), "analysis", analysis_line(a));
                        }
                        // What capture did comes last: the recording's final word.
                        call.note(end(), "capture", stopped.report.clone());
                        if !stopped.files.is_empty() {
                            match &self.signing {
                                Some(key) => {
                                    match crate::seal::seal(call, dir, &stopped, key, now_us()) {
                                        Ok(()) => {
                                            tracing::info!(call = %call.id, "evidence sealed")
                                        }
                                        Err(e) => {
                                            tracing::error!(call = %call.id, "cannot seal the evidence: {e}")
                                        }
                                    }
                                }
                                None => {
                                    tracing::warn!(call = %call.id, "no signing key: the evidence is not sealed")
                                }
                            }
                        }
                    }
                }
                Effect::Notify(n) => {
                    let what = match n {
                        Notice::Started => "recording started",
                        Notice::Paused => "recording paused",
                        Notice::Resumed => "recording resumed",
                        Notice::Stopped => "recording stopped",
                    };
                    notify::send(
                        conn,
                        format!("onrecord: {what}"),
                        format!("{}: {what}", call.label),
                    );
                }
            }
        }
    }

    /// Makes `new` the call's state: kept here, handed to its D-Bus object, and announced.
    async fn replace_call(&mut self, conn: &Connection, old: &Call, new: Call) {
        if let Some(entry) = self.calls.get_mut(&new.id) {
            entry.snapshot.send_replace(Arc::new(new.clone()));
            entry.call = new.clone();
        }
        self.publish_call(conn, old, &new).await;
    }

    /// Gives the call's object its new snapshot and tells the bus what changed.
    async fn publish_call(&self, conn: &Connection, old: &Call, new: &Call) {
        let Ok(iface) = conn
            .object_server()
            .interface::<_, CallIface>(call_path(&new.id))
            .await
        else {
            return;
        };
        let em = iface.signal_emitter();
        let g = iface.get().await;
        let _ = g.timeline_changed(em).await;
        if old.state != new.state {
            let _ = g.state_changed(em).await;
            let _ = g.next_step_changed(em).await;
        }
        if old.parties != new.parties {
            let _ = g.parties_changed(em).await;
        }
        if old.decision != new.decision {
            let _ = g.decision_changed(em).await;
            let _ = g.requirement_changed(em).await;
        }
        if old.started_us != new.started_us {
            let _ = g.started_at_changed(em).await;
        }
        if old.kept != new.kept {
            let _ = g.kept_changed(em).await;
        }
        if old.recording_files != new.recording_files {
            let _ = g.recording_files_changed(em).await;
        }
        if old.on_hold != new.on_hold || old.hold_since_us != new.hold_since_us {
            let _ = g.on_hold_changed(em).await;
            let _ = g.hold_since_changed(em).await;
        }
        drop(g);
        if old.state != new.state {
            let reason = new
                .timeline
                .last()
                .map(|e| e.detail.clone())
                .unwrap_or_default();
            let _ = iface
                .call_state_changed(old.state.as_str(), new.state.as_str(), &reason)
                .await;
        }
    }

    fn list_calls(&self) -> Vec<CallSummary> {
        let mut list: Vec<CallSummary> = self
            .calls
            .values()
            .filter_map(|Entry { call: c, .. }| {
                Some(CallSummary {
                    id: c.id.clone(),
                    label: c.label.clone(),
                    state: c.state,
                    requirement: c.requirement(),
                    created_us: c.timeline.first().map(|e| e.utc_us).unwrap_or_default(),
                    path: OwnedObjectPath::try_from(call_path(&c.id)).ok()?,
                })
            })
            .collect();
        list.sort_by_key(|c| c.created_us);
        list
    }

    async fn remove_call(&mut self, conn: &Connection, id: &str) -> Result<(), Error> {
        let Entry { dir, call, .. } = self
            .calls
            .get(id)
            .ok_or_else(|| Error::UnknownCall(format!("no call {id:?}")))?;
        if call.state.is_active() {
            return Err(Error::WrongState(format!(
                "the call is {}: stop it before removing it",
                call.state
            )));
        }
        std::fs::remove_dir_all(dir)
            .map_err(|e| Error::Internal(format!("cannot delete {}: {e}", dir.display())))?;
        self.calls.remove(id);
        let path = call_path(id);
        let _ = conn
            .object_server()
            .remove::<CallIface, _>(path.as_str())
            .await;
        if let (Ok(calls), Ok(p)) = (
            conn.object_server()
                .interface::<_, CallsIface>(onrecord_interface::OBJECT_PATH)
                .await,
            OwnedObjectPath::try_from(path),
        ) {
            let _ = calls.call_removed(id, p).await;
        }
        Ok(())
    }

    async fn reload(&self, why: &'static str, conn: &Connection) -> Result<String, String> {
        let (shipped, user) = (
            self.paths.laws_dir.clone(),
            self.paths.user_laws_dir.clone(),
        );
        let loaded = tokio::task::spawn_blocking(move || laws::load(&shipped, user.as_deref()))
            .await
            .map_err(|e| format!("the reload task failed: {e}"))?;
        let old = self.state.borrow().clone();
        let iface = conn
            .object_server()
            .interface::<_, LawsIface>(onrecord_interface::OBJECT_PATH)
            .await;
        match loaded {
            Ok(set) => {
                let digest = set.digest.clone();
                let count = set.jurisdictions.len() as u32;
                let changed = digest != old.set.digest;
                let had_error = !old.last_error.is_empty();
                tracing::info!(why, %digest, changed, "law tables reloaded");
                self.state.send_replace(Arc::new(Published {
                    set: Arc::new(set),
                    loaded_at_us: now_us(),
                    last_error: String::new(),
                    user_jurisdiction: old.user_jurisdiction.clone(),
                }));
                if let Ok(iface) = iface {
                    let emitter = iface.signal_emitter();
                    let guard = iface.get().await;
                    let _ = guard.loaded_at_changed(emitter).await;
                    if had_error {
                        let _ = guard.last_reload_error_changed(emitter).await;
                    }
                    if changed {
                        let _ = guard.tables_digest_changed(emitter).await;
                        let _ = guard.jurisdiction_count_changed(emitter).await;
                        drop(guard);
                        let _ = iface.tables_changed(&digest, count).await;
                    }
                }
                Ok(digest)
            }
            Err(e) => {
                for p in &e.0 {
                    tracing::error!(why, "law tables rejected, keeping the last good ones: {p}");
                }
                let message = e.to_string();
                self.state.send_replace(Arc::new(Published {
                    set: old.set.clone(),
                    loaded_at_us: old.loaded_at_us,
                    last_error: message.clone(),
                    user_jurisdiction: old.user_jurisdiction.clone(),
                }));
                if let Ok(iface) = iface {
                    let emitter = iface.signal_emitter();
                    let _ = iface.get().await.last_reload_error_changed(emitter).await;
                    let _ = iface.reload_failed(&message).await;
                }
                Err(message)
            }
        }
    }
}
