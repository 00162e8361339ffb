//! A desktop notification server of the tests that offers actions, on the test's bus: it keeps
//! what it was asked to show, and clicks a button as a user would (`ActionInvoked`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zbus::object_server::SignalEmitter;
use zbus::{Connection, interface};

const PATH: &str = "/org/freedesktop/Notifications";

/// One `Notify` the server got.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The id the server gave it (the one it replaced, when it replaced one).
    pub id: u32,
    pub replaces: u32,
    pub summary: String,
    pub body: String,
    /// (key, label) pairs.
    pub actions: Vec<(String, String)>,
}

impl Shown {
    pub fn keys(&self) -> Vec<&str> {
        self.actions.iter().map(|(k, _)| k.as_str()).collect()
    }
}

#[derive(Default)]
struct Log {
    shown: Vec<Shown>,
    closed: Vec<u32>,
    next: u32,
}

struct Server {
    log: Arc<Mutex<Log>>,
}

#[interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: &str,
        replaces_id: u32,
        _app_icon: &str,
        summary: &str,
        body: &str,
        actions: Vec<String>,
        _hints: std::collections::HashMap<String, zbus::OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let id = if replaces_id != 0 {
            replaces_id
        } else {
            log.next += 1;
            log.next
        };
        log.shown.push(Shown {
            id,
            replaces: replaces_id,
            summary: summary.into(),
            body: body.into(),
            actions: actions
                .chunks(2)
                .map(|p| (p[0].clone(), p.get(1).cloned().unwrap_or_default()))
                .collect(),
        });
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into(), "persistence".into()]
    }

    fn close_notification(&self, id: u32) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed
            .push(id);
    }

    #[zbus(out_args("name", "vendor", "version", "spec_version"))]
    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "onrecord-tests".into(),
            "onrecord".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

/// The server, serving while it lives.
pub struct ActionServer {
    conn: Connection,
    log: Arc<Mutex<Log>>,
}

impl ActionServer {
    pub async fn start(address: &str) -> ActionServer {
        let log = Arc::new(Mutex::new(Log::default()));
        let conn = zbus::connection::Builder::address(address)
            .serve_at(PATH, Server { log: log.clone() })
            .name("org.freedesktop.Notifications")
            .build()
            .await
            .expect("serve org.freedesktop.Notifications");
        ActionServer { conn, log }
    }

    /// Everything shown so far, in order.
    pub fn shown(&self) -> Vec<Shown> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .shown
            .clone()
    }

    /// The notifications closed by the daemon.
    pub fn closed(&self) -> Vec<u32> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed
            .clone()
    }

    /// The first notification after the first `after` that `want` accepts (waits up to 10 s).
    pub async fn wait(&self, after: usize, what: &str, want: impl Fn(&Shown) -> bool) -> Shown {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = self.shown().into_iter().skip(after).find(|s| want(s)) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "never shown: {what}: {:#?}",
                self.shown()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Clicks the button `action` of notification `id`.
    pub async fn click(&self, id: u32, action: &str) {
        let emitter = SignalEmitter::new(&self.conn, PATH).unwrap();
        Server::action_invoked(&emitter, id, action).await.unwrap();
    }
}
