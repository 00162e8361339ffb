//! The one path by which a call changes: saved, kept here, handed to its D-Bus object, and
//! announced. Which properties changed is computed from the object's own getters before and
//! after the change, so a new property cannot go unannounced.

use super::*;
use std::collections::HashMap;
use zbus::object_server::{Interface, InterfaceRef};
use zbus::{OwnedVariant, Variant};

impl Owner {
    /// Makes `new` the call's state: saved (a record that cannot be saved is logged, and the
    /// error returned: the state in memory is right and the record catches up at the next
    /// change), kept, handed to the call's object, and announced (`PropertiesChanged` with every
    /// property whose value changed, `CallStateChanged` when the state did).
    pub(super) async fn commit(
        &mut self,
        conn: &Connection,
        old: &Call,
        new: Call,
    ) -> Result<(), String> {
        let Some(entry) = self.calls.get_mut(&new.id) else {
            return Ok(());
        };
        // The record is synced to disk: not on an async thread. A proposal is never written:
        // its directory appears when it is taken up.
        let saved = if new.state == onrecord_interface::CallState::Proposed {
            Ok(())
        } else {
            tokio::task::block_in_place(|| store::save(&entry.dir, &new)).map_err(|e| {
                tracing::error!(call = %new.id, "cannot save the call record: {e}");
                e.to_string()
            })
        };
        let iface = conn
            .object_server()
            .interface::<_, CallIface>(call_path(&new.id))
            .await
            .ok();
        let before = match &iface {
            Some(i) => properties(conn, i).await,
            None => HashMap::new(),
        };
        entry.snapshot.send_replace(Arc::new(new.clone()));
        entry.call = new.clone();
        if let Some(iface) = iface {
            announce(conn, &iface, &before, old, &new).await;
        }
        // The call's notification follows its state (and a confirmation, which drops a step).
        let confirmed = |c: &Call| c.timeline.iter().any(|e| e.kind == TimelineKind::Confirmed);
        if (old.state != new.state || confirmed(old) != confirmed(&new))
            && let Some(n) = self.notify()
        {
            n.call(&new);
        }
        saved
    }

    /// Changes a call outside its consent events (a capture note, a hold, retention, keep):
    /// the same path as every change. `None` when there is no such call.
    pub(super) async fn update_call(
        &mut self,
        conn: &Connection,
        id: &str,
        change: impl FnOnce(&mut Call),
    ) -> Option<Result<(), String>> {
        let old = self.calls.get(id)?.call.clone();
        let mut new = old.clone();
        change(&mut new);
        Some(self.commit(conn, &old, new).await)
    }
}

/// Every property of a call object, as its getters give it now.
async fn properties(
    conn: &Connection,
    iface: &InterfaceRef<CallIface>,
) -> HashMap<String, OwnedVariant> {
    let guard = iface.get().await;
    guard
        .get_all(conn.object_server(), conn, None, iface.signal_emitter())
        .await
        .unwrap_or_default()
}

async fn announce(
    conn: &Connection,
    iface: &InterfaceRef<CallIface>,
    before: &HashMap<String, OwnedVariant>,
    old: &Call,
    new: &Call,
) {
    let after = properties(conn, iface).await;
    let changed: HashMap<&str, Variant<'_>> = after
        .iter()
        .filter(|(name, value)| before.get(*name) != Some(*value))
        .filter_map(|(name, value)| Some((name.as_str(), value.try_clone().ok()?.into())))
        .collect();
    let emitter = iface.signal_emitter();
    if !changed.is_empty() {
        let name = <CallIface as Interface>::name();
        if let Err(e) = zbus::fdo::Properties::properties_changed(
            emitter,
            name.as_ref(),
            changed,
            (&[][..]).into(),
        )
        .await
        {
            tracing::debug!(call = %new.id, "PropertiesChanged not sent: {e}");
        }
    }
    if old.state != new.state {
        let reason = new
            .timeline
            .last()
            .map(|e| e.detail.clone())
            .unwrap_or_default();
        let _ =
            CallIface::call_state_changed(emitter, old.state.as_str(), new.state.as_str(), &reason)
                .await;
    }
}
