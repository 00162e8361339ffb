//! The owner loop: the only writer of the daemon's state.

use super::Paths;
use super::dbus::{LawsIface, LawsIfaceSignals};
use crate::laws::{self, LawSet, LoadError};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};
use zbus::Connection;

/// What the rest of the daemon may ask of the owner.
#[derive(Debug)]
pub enum Command {
    /// Re-read the law tables; `reply` gets the new digest or the error.
    Reload {
        why: &'static str,
        reply: Option<oneshot::Sender<Result<String, String>>>,
    },
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
}

pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl Owner {
    /// Loads the first tables. If the user's overlay is broken but the shipped tables are good,
    /// the daemon starts on the shipped tables and reports the overlay's error; a broken shipped
    /// set is fatal.
    pub fn start(
        paths: Paths,
        user_jurisdiction: Option<String>,
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
        Ok((Owner { paths, state: tx }, rx))
    }

    /// Serves commands until every sender is gone.
    pub async fn run(self, mut commands: mpsc::Receiver<Command>, conn: Connection) {
        while let Some(cmd) = commands.recv().await {
            match cmd {
                Command::Reload { why, reply } => {
                    let result = self.reload(why, &conn).await;
                    if let Some(reply) = reply {
                        let _ = reply.send(result);
                    }
                }
            }
        }
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
