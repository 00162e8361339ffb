//! The owner: the only writer of the daemon's state (STYLE 2). Its loop only dispatches
//! commands; each job lives in a file of its own:
//!
//! - `calls.rs`: calls' lifecycle and their consent events;
//! - `detected.rs`: calls a detector noticed (proposed, hung up, forgotten);
//! - `events.rs`: what capture reports while a call records (notes, holds, failures);
//! - `effects.rs`: carrying out a transition's effects (a start or a stop on the worker);
//! - `worker.rs`: the capture worker, the thread that opens devices and finishes files;
//! - `sealing.rs`: finishing a recording and sealing its evidence;
//! - `publish.rs`: the one path by which a call changes (saved, published, announced);
//! - `retention.rs`: deleting the audio of ended calls when its time comes;
//! - `tables.rs`: reloading the law tables;
//! - `announce.rs`: announcements played into calls, and the virtual microphone's helper.

mod announce;
mod calls;
mod detected;
mod effects;
mod events;
mod hooks;
mod publish;
mod retention;
mod sealing;
mod tables;
mod worker;

pub use announce::Clip;
pub use detected::Detection;
pub use effects::Done;
pub use tables::ReloadError;

use super::Paths;
use super::calls_dbus::{CallIface, CallInput, CallsIface, CallsIfaceSignals};
use super::dbus::{LawsIface, LawsIfaceSignals};
use super::rules_dbus::RulesIface;
use super::{decide, notify};
use crate::calls::{Call, Effect, Event, Notice, Policy, Refusal, Stamp, store};
use crate::capture::{Capture, CaptureError, Control};
use crate::config::Retention;
use crate::laws::{self, LawSet, LoadError};
use crate::rules::Rules;
use onrecord_interface::{CallSummary, Error, TimelineKind, call_path};
use std::collections::{BTreeMap, VecDeque};
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
        reply: Option<oneshot::Sender<Result<String, ReloadError>>>,
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
    CaptureFailed { id: String, error: CaptureError },
    /// The daemon is stopping (SIGTERM, SIGINT): every call still capturing is interrupted,
    /// so its files are finished and sealed now rather than repaired at the next start.
    /// `reply` gets how many were, once every seal has finished.
    Shutdown { reply: oneshot::Sender<usize> },
    /// A detector noticed a call begin or end.
    Detected(Detection),
    /// The capture worker finished starting or stopping a call's recording.
    CaptureDone { id: String, done: Done },
    /// A call's evidence was sealed (or could not be), on the sealing worker.
    Sealed {
        id: String,
        result: Result<(), crate::seal::SealError>,
        /// With `[encryption]`: what was encrypted, or why it could not be.
        encrypted: Option<Result<String, String>>,
    },
    /// The `[hooks] after_seal` program of a call ended: how.
    HookDone { id: String, detail: String },
    /// The archive's thread archived a call, or an attempt failed.
    Archive(crate::archive::Outcome),
    /// Play an announcement into a call (`Call1.Announce`); answered once it plays.
    Announce {
        id: String,
        clip: Clip,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// The virtual microphone's helper said something.
    Mic {
        generation: u64,
        event: crate::service::mic::MicEvent,
    },
    /// An announcement asked for a while ago: fails if it has not begun.
    PlayTimeout { play: String },
}

/// The immutable snapshot the owner publishes after every change. Readers clone the `Arc`.
#[derive(Debug, Clone)]
pub struct Published {
    pub set: Arc<LawSet>,
    /// Microseconds since the Unix epoch when `set` was loaded.
    pub loaded_at_us: u64,
    /// The last reload's error, empty when it succeeded.
    pub last_error: String,
    /// The configured jurisdiction of the user, if any.
    pub user_jurisdiction: Option<String>,
    /// The rules per number in force (`[[rule]]` of config.toml).
    pub rules: Arc<Rules>,
    /// Why the last re-read of the rules failed (the last good ones stay), or empty.
    pub rules_error: String,
}

pub struct Owner {
    paths: Paths,
    state: watch::Sender<Arc<Published>>,
    policy: Policy,
    /// Every call, by id.
    calls: BTreeMap<String, Entry>,
    /// Starts and stops recordings on a thread of its own.
    capture: worker::CaptureWorker,
    /// The controls (pause, resume, position) of each recording that runs, by call id.
    controls: BTreeMap<String, Arc<dyn Control>>,
    /// Calls whose capture is starting or stopping, with the commands for them that wait.
    busy: BTreeMap<String, effects::Busy>,
    /// Commands that waited for a busy call, run before the queue's next.
    replay: VecDeque<Command>,
    /// The installation's signing key for sealed evidence.
    signing: Option<ed25519_dalek::SigningKey>,
    retention: Retention,
    hooks: crate::config::Hooks,
    /// The archive's thread, with `[archive]`.
    archive: Option<std::sync::mpsc::Sender<crate::archive::Job>>,
    /// `[encryption]`'s recipients, read; empty: the audio stays as written.
    encryption: Vec<onrecord_evidence::encrypt::Recipient>,
    /// The owner's own queue, for work done elsewhere to come back as a command.
    handle: Option<mpsc::Sender<Command>>,
    /// Desktop notifications, once the owner is attached to the bus.
    notifier: Option<notify::Notifier>,
    /// Calls whose evidence is being sealed, with the replies that wait for it (a `Stop`
    /// answers once its call is sealed).
    sealing: BTreeMap<String, Vec<oneshot::Sender<Result<(), Error>>>>,
    /// A shutdown waiting for the seals to finish, with its count.
    shutdown: Option<(oneshot::Sender<usize>, usize)>,
    /// Detected calls a rule ignores, while they last: another detector's view of one (the
    /// streams of the same process) is ignored with it.
    ignored: Vec<crate::calls::Detected>,
    /// The virtual microphone's helper, and the announcements waiting on it.
    mic: announce::MicState,
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
pub fn stamp() -> Stamp {
    Stamp {
        utc_us: now_us(),
        mono_us: crate::recording::mono_ns() / 1_000,
        audio_us: None,
    }
}

/// Where a command about a call is answered.
type Reply = oneshot::Sender<Result<(), Error>>;

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
        rules: Rules,
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
            rules: Arc::new(rules),
            rules_error: String::new(),
        });
        let (tx, rx) = watch::channel(published);
        Ok((
            Owner {
                signing: None,
                retention: Retention::default(),
                hooks: Default::default(),
                encryption: Vec::new(),
                archive: None,
                paths,
                state: tx,
                policy,
                calls: BTreeMap::new(),
                capture: worker::CaptureWorker::spawn(capture),
                controls: BTreeMap::new(),
                busy: BTreeMap::new(),
                replay: VecDeque::new(),
                handle: None,
                notifier: None,
                sealing: BTreeMap::new(),
                shutdown: None,
                ignored: Vec::new(),
                mic: announce::MicState::default(),
            },
            rx,
        ))
    }

    /// Seals ended calls' evidence with `key`.
    pub fn with_signing_key(mut self, key: ed25519_dalek::SigningKey) -> Self {
        self.signing = Some(key);
        self
    }

    /// Applies `[retention]` from the configuration.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
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
        self.attach(&conn, &handle);
        loop {
            // A shutdown is answered once nothing is left to finish.
            if self.replay.is_empty()
                && self.busy.is_empty()
                && self.sealing.is_empty()
                && let Some((reply, n)) = self.shutdown.take()
            {
                let _ = reply.send(n);
            }
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
            let cmd = match self.replay.pop_front() {
                Some(cmd) => cmd,
                None => tokio::select! {
                    cmd = commands.recv() => match cmd {
                        Some(cmd) => cmd,
                        None => break,
                    },
                    () = wait => {
                        self.retention_pass(&conn).await;
                        continue;
                    }
                },
            };
            // A busy call's commands wait for its capture, in order.
            if let Some(busy) = cmd.call().and_then(|id| self.busy.get_mut(id)) {
                busy.deferred.push_back(cmd);
                continue;
            }
            self.dispatch(&conn, &handle, cmd).await;
            self.mic_follow();
            self.mic_moves().await;
        }
        self.mic_quit();
    }

    /// Gives the owner its own queue (for work done elsewhere to come back as a command) and
    /// capture its ways back to it; once.
    fn attach(&mut self, conn: &Connection, handle: &mpsc::Sender<Command>) {
        if self.handle.is_none() {
            self.wire_capture(handle);
            self.handle = Some(handle.clone());
            self.notifier = Some(notify::Notifier::spawn(
                conn.clone(),
                handle.clone(),
                self.mic.config.microphone,
            ));
        }
    }

    /// Where notifications go (nowhere before the owner is attached).
    fn notify(&self) -> Option<&notify::Notifier> {
        self.notifier.as_ref()
    }

    async fn dispatch(&mut self, conn: &Connection, handle: &mpsc::Sender<Command>, cmd: Command) {
        match cmd {
            Command::KeepCall { id, reply } => {
                let _ = reply.send(self.keep_call(conn, &id).await);
            }
            Command::Reload { why, reply } => {
                let result = self.reload(why, conn).await;
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
                    self.create_call(conn, handle, &me, &them, label, &medium)
                        .await,
                );
            }
            Command::CallEvent { id, input, reply } => {
                self.call_event(conn, &id, input, Some(reply)).await
            }
            Command::ListCalls { reply } => {
                let _ = reply.send(self.list_calls());
            }
            Command::RemoveCall { id, reply } => {
                let _ = reply.send(self.remove_call(conn, &id).await);
            }
            Command::CaptureNote { id, text } => self.capture_note(conn, &id, text).await,
            Command::Hold { id, change } => self.hold_change(conn, &id, change).await,
            Command::CaptureFailed { id, error } => self.capture_failed(conn, &id, error).await,
            Command::Shutdown { reply } => {
                let n = self.interrupt_all(conn).await;
                self.shutdown = Some((reply, n));
            }
            Command::CaptureDone { id, done } => self.capture_done(conn, &id, done).await,
            Command::Detected(detection) => self.detection(conn, handle, detection).await,
            Command::Sealed {
                id,
                result,
                encrypted,
            } => self.sealed(conn, &id, result, encrypted).await,
            Command::HookDone { id, detail } => self.hook_done(conn, &id, detail).await,
            Command::Archive(outcome) => self.archive_outcome(conn, outcome).await,
            Command::Announce { id, clip, reply } => self.announce(conn, &id, clip, reply).await,
            Command::Mic { generation, event } => self.mic_event(conn, generation, event).await,
            Command::PlayTimeout { play } => self.play_timeout(&play),
        }
    }
}

impl Command {
    /// The call this command is about, when it must wait for that call's capture.
    fn call(&self) -> Option<&str> {
        match self {
            Command::CallEvent { id, .. }
            | Command::RemoveCall { id, .. }
            | Command::KeepCall { id, .. }
            | Command::CaptureNote { id, .. }
            | Command::Hold { id, .. }
            | Command::CaptureFailed { id, .. }
            | Command::Announce { id, .. } => Some(id),
            Command::Reload { .. }
            | Command::CreateCall { .. }
            | Command::ListCalls { .. }
            | Command::Shutdown { .. }
            | Command::CaptureDone { .. }
            | Command::Detected(_)
            | Command::Sealed { .. }
            | Command::HookDone { .. }
            | Command::Archive(_)
            | Command::Mic { .. }
            | Command::PlayTimeout { .. } => None,
        }
    }
}
