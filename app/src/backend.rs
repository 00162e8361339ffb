//! The app's side of the bus: a tokio runtime on its own thread owns the D-Bus connection
//! (zbus runs on tokio); the GTK main loop awaits its answers and its events through tokio's
//! channels, whose receivers need no runtime.

use futures_util::StreamExt;
use onrecord_interface::{
    BUS_NAME, CallInfo, CallProxy, CallSummary, CallsProxy, OBJECT_PATH, call_path,
};
use std::future::Future;
use tokio::sync::{mpsc, oneshot};
use zbus::proxy::CacheProperties;

/// What the bus tells the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Whether onrecordd owns its name now.
    Daemon(bool),
    /// Something of the daemon's changed (a call, its properties, the tables): look again.
    Changed,
}

/// A refusal or failure, as the window shows it: the typed error's name and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `org.onrecord.Error.WrongState`, or empty for a failure of the bus itself.
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<onrecord_interface::Error> for Failure {
    fn from(e: onrecord_interface::Error) -> Failure {
        use zbus::DBusError;
        match e {
            onrecord_interface::Error::ZBus(z) => Failure::from(z),
            e => Failure {
                name: e.name().to_string(),
                message: e.description().unwrap_or_default().to_owned(),
            },
        }
    }
}

impl From<zbus::Error> for Failure {
    fn from(e: zbus::Error) -> Failure {
        match &e {
            zbus::Error::MethodError(name, message, _) => Failure {
                name: name.to_string(),
                message: message.clone().unwrap_or_else(|| name.to_string()),
            },
            zbus::Error::FDO(fdo) => Failure {
                name: String::new(),
                message: fdo.to_string(),
            },
            _ => Failure {
                name: String::new(),
                message: e.to_string(),
            },
        }
    }
}

impl From<zbus::fdo::Error> for Failure {
    fn from(e: zbus::fdo::Error) -> Failure {
        Failure::from(zbus::Error::FDO(Box::new(e)))
    }
}

pub type Reply<T> = Result<T, Failure>;

/// The calls as the daemon has them now.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Every call, oldest first.
    pub calls: Vec<CallSummary>,
    /// The newest call that is not over, with what the Now page shows.
    pub active: Option<Active>,
}

/// A call the Now page shows, read in one pass.
#[derive(Debug, Clone)]
pub struct Active {
    pub info: CallInfo,
    pub on_hold: bool,
    /// When the present hold began, µs since the epoch, or 0.
    pub hold_since: u64,
    pub detected_by: String,
    pub application: String,
}

/// The connection and the runtime it lives on. Cheap to clone.
#[derive(Clone)]
pub struct Backend {
    handle: tokio::runtime::Handle,
    conn: zbus::Connection,
}

impl Backend {
    /// Connects to the session bus; the runtime's one worker thread lives as long as the app.
    pub fn connect() -> Result<Backend, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("onrecord-bus")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the bus thread: {e}"))?;
        let handle = runtime.handle().clone();
        let conn = handle
            .block_on(zbus::Connection::session())
            .map_err(|e| format!("cannot reach the session bus: {e}"))?;
        // The runtime must outlive every window; the process ends with the app.
        std::mem::forget(runtime);
        Ok(Backend { handle, conn })
    }

    /// Runs `work` on the bus thread; the answer is awaited from the GTK side.
    pub fn run<T, F>(
        &self,
        work: impl FnOnce(zbus::Connection) -> F + Send + 'static,
    ) -> impl Future<Output = Reply<T>> + 'static
    where
        T: Send + 'static,
        F: Future<Output = Reply<T>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let conn = self.conn.clone();
        self.handle.spawn(async move {
            let _ = tx.send(work(conn).await);
        });
        async move {
            rx.await.unwrap_or_else(|_| {
                Err(Failure {
                    name: String::new(),
                    message: "the bus thread stopped".into(),
                })
            })
        }
    }

    /// Runs blocking work (file checks, export) on the runtime's blocking pool.
    pub fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Option<T>> + 'static {
        let (tx, rx) = oneshot::channel();
        self.handle.spawn_blocking(move || {
            let _ = tx.send(work());
        });
        async move { rx.await.ok() }
    }

    /// Events from now on: the daemon's presence (first its present state), and a
    /// `Changed` for every signal it sends.
    pub fn watch(&self) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        let conn = self.conn.clone();
        self.handle.spawn(async move {
            if let Err(e) = watch(conn, tx).await {
                eprintln!("onrecord: watching the bus failed: {e}");
            }
        });
        rx
    }

    /// The daemon's object, uncached: every read asks the daemon.
    pub async fn daemon(
        conn: &zbus::Connection,
    ) -> Reply<onrecord_interface::DaemonProxy<'static>> {
        Ok(onrecord_interface::DaemonProxy::builder(conn)
            .cache_properties(CacheProperties::No)
            .build()
            .await?)
    }

    /// One call's proxy, uncached: every read asks the daemon.
    pub async fn call(conn: &zbus::Connection, id: &str) -> Reply<CallProxy<'static>> {
        Ok(CallProxy::builder(conn)
            .path(call_path(id))
            .cache_properties(CacheProperties::No)
            .build()
            .await?)
    }

    /// Reads the calls and the newest active one.
    pub async fn snapshot(conn: zbus::Connection) -> Reply<Snapshot> {
        let calls = CallsProxy::new(&conn).await?.list_calls().await?;
        let newest = calls
            .iter()
            .filter(|c| c.state.is_active())
            .max_by_key(|c| c.created_us)
            .map(|c| c.id.clone());
        let active = match newest {
            Some(id) => {
                let call = Backend::call(&conn, &id).await?;
                let info = call.describe().await?;
                Some(Active {
                    on_hold: call.on_hold().await.unwrap_or(false),
                    hold_since: call.hold_since().await.unwrap_or(0),
                    detected_by: call.detected_by().await.unwrap_or_default(),
                    application: call.application().await.unwrap_or_default(),
                    info,
                })
            }
            None => None,
        };
        Ok(Snapshot { calls, active })
    }
}

async fn watch(conn: zbus::Connection, tx: mpsc::UnboundedSender<Event>) -> zbus::Result<()> {
    let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
    let mut owners = dbus
        .receive_name_owner_changed_with_args(&[(0, BUS_NAME)])
        .await?;
    // Every signal under the daemon's object tree (PropertiesChanged, CallAdded,
    // StateChanged, HoldStarted, InterfacesAdded, TablesChanged, ...).
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .path_namespace(OBJECT_PATH)
        .build()?;
    let mut signals =
        zbus::MessageStream::for_match_rule(rule, &conn, std::num::NonZeroUsize::new(64)).await?;
    let name = zbus::names::BusName::try_from(BUS_NAME).expect("a bus name");
    let present = dbus.name_has_owner(name).await.unwrap_or(false);
    if tx.send(Event::Daemon(present)).is_err() {
        return Ok(());
    }
    loop {
        let event = tokio::select! {
            Some(change) = owners.next() => {
                let present = change.args().map(|a| a.new_owner().is_some()).unwrap_or(false);
                Event::Daemon(present)
            }
            Some(_) = signals.next() => Event::Changed,
            else => return Ok(()),
        };
        if tx.send(event).is_err() {
            return Ok(());
        }
    }
}

/// An event of a call's consent flow, sent as its `Call1` method.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Notice(&'static str),
    Consent(bool),
    Start,
    Confirm,
    Pause,
    Resume,
    Stop,
    Withdraw,
    Dismiss,
    Announce(&'static str),
    Mark(String),
    Transfer(Vec<String>),
    Keep,
}

impl Backend {
    /// Sends `action` to call `id`; a refusal comes back as the daemon's typed error.
    pub async fn perform(conn: zbus::Connection, id: String, action: Action) -> Reply<()> {
        let call = Backend::call(&conn, &id).await?;
        let done = match action {
            Action::Notice(by) => call.notice(by).await,
            Action::Consent(yes) => call.consent(yes).await,
            Action::Start => call.start().await,
            Action::Confirm => call.confirm().await,
            Action::Pause => call.pause().await,
            Action::Resume => call.resume().await,
            Action::Stop => call.stop().await,
            Action::Withdraw => call.withdraw().await,
            Action::Dismiss => call.dismiss().await,
            Action::Announce(what) => call.announce(what).await,
            Action::Mark(text) => call.mark(&text).await,
            Action::Transfer(them) => {
                let them: Vec<&str> = them.iter().map(String::as_str).collect();
                call.transfer(&them).await
            }
            Action::Keep => call.keep().await,
        };
        Ok(done?)
    }
}

/// A call as the Calls page lists it and its page shows it.
#[derive(Debug, Clone)]
pub struct Details {
    pub info: CallInfo,
    pub directory: String,
    pub kept: bool,
    /// The sealed call analysis, once the call ended with audio.
    pub analysis: Option<onrecord_analysis::Summary>,
}

impl Details {
    /// The other parties' numbers (or ids), everyone who was on the call.
    pub fn numbers(&self) -> String {
        let all: Vec<&str> = self
            .info
            .parties
            .iter()
            .map(|p| p.party.input.as_str())
            .filter(|s| !s.is_empty())
            .collect();
        all.join(", ")
    }

    /// Seconds recorded: the analysis's length, else the timeline's recording spans.
    pub fn duration_s(&self) -> f64 {
        if let Some(a) = &self.analysis {
            return a.duration_s;
        }
        let end = self.info.timeline.last().map(|e| e.utc_us).unwrap_or(0);
        crate::model::recorded_us(&self.info.timeline, end) as f64 / 1e6
    }
}

impl Backend {
    /// Everything about call `id`, with its sealed analysis read from its directory.
    pub async fn details(conn: zbus::Connection, id: String) -> Reply<Details> {
        let call = Backend::call(&conn, &id).await?;
        let info = call.describe().await?;
        let directory = call.directory().await?;
        let kept = call.kept().await.unwrap_or(false);
        let dir = std::path::PathBuf::from(&directory);
        let analysis = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(dir.join(onrecord_evidence::MANIFEST)).ok()?;
            serde_json::from_slice::<onrecord_evidence::Manifest>(&bytes)
                .ok()?
                .analysis
        })
        .await
        .ok()
        .flatten();
        Ok(Details {
            info,
            directory,
            kept,
            analysis,
        })
    }
}
