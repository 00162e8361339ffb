//! Reloading the law tables: parsed and validated off the async threads, swapped only when
//! valid, announced on `Laws1`.

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
        let loaded = tokio::task::spawn_blocking(move || laws::load(&shipped, user.as_deref()))
            .await
            .map_err(|e| ReloadError::Task(e.to_string()))?;
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
                Err(ReloadError::Rejected(e))
            }
        }
    }
}
