//! Reloading the law tables and the rules: parsed and validated off the async threads, swapped
//! only when valid, announced on `Laws1` and `Rules1`.

use super::*;

/// Why a reload did not swap the tables.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The tables on disk are invalid: every problem, with file and line.
    #[error(transparent)]
    Rejected(#[from] LoadError),
    /// The reload itself did not run to its end.
    #[error("the reload task failed: {0}")]
    Task(String),
}

impl Owner {
    pub(super) async fn reload(
        &self,
        why: &'static str,
        conn: &Connection,
    ) -> Result<String, ReloadError> {
        let (shipped, user) = (
            self.paths.laws_dir.clone(),
            self.paths.user_laws_dir.clone(),
        );
        let config = self.paths.config.clone();
        let (loaded, rules) = tokio::task::spawn_blocking(move || {
            (
                laws::load(&shipped, user.as_deref()),
                read_rules(config.as_deref()),
            )
        })
        .await
        .map_err(|e| ReloadError::Task(e.to_string()))?;
        self.reload_rules(why, conn, rules).await;
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
                    ..(*old).clone()
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
                    last_error: message.clone(),
                    ..(*old).clone()
                }));
                if let Ok(iface) = iface {
                    let emitter = iface.signal_emitter();
                    let _ = iface.get().await.last_reload_error_changed(emitter).await;
                    let _ = iface.reload_failed(&message).await;
                }
                Err(ReloadError::Rejected(e))
            }
        }
    }
}

/// The rules of the configuration file (none without one).
fn read_rules(config: Option<&std::path::Path>) -> Result<Rules, String> {
    match config {
        Some(path) => crate::config::Config::load(path, false)
            .map(|c| Rules(c.rules))
            .map_err(|e| e.to_string()),
        None => Ok(Rules::default()),
    }
}

impl Owner {
    /// Swaps in the rules just read, or keeps the last good ones and says why; `Rules1` is
    /// told what changed.
    async fn reload_rules(&self, why: &str, conn: &Connection, read: Result<Rules, String>) {
        let old = self.state.borrow().clone();
        let next = match read {
            Ok(rules) => {
                if *old.rules != rules {
                    tracing::info!(why, rules = rules.0.len(), "rules reloaded");
                }
                Published {
                    rules: Arc::new(rules),
                    rules_error: String::new(),
                    ..(*old).clone()
                }
            }
            Err(e) => {
                tracing::error!(why, "rules rejected, keeping the last good ones: {e}");
                Published {
                    rules_error: e,
                    ..(*old).clone()
                }
            }
        };
        let (rules_changed, error_changed) =
            (next.rules != old.rules, next.rules_error != old.rules_error);
        self.state.send_replace(Arc::new(next));
        if let Ok(iface) = conn
            .object_server()
            .interface::<_, RulesIface>(onrecord_interface::OBJECT_PATH)
            .await
        {
            let emitter = iface.signal_emitter();
            let guard = iface.get().await;
            if rules_changed {
                let _ = guard.count_changed(emitter).await;
            }
            if error_changed {
                let _ = guard.last_error_changed(emitter).await;
            }
        }
    }
}
