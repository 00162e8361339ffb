//! What capture reports while a call records: notes for its timeline, holds found on the far
//! side, and a failure that ends the recording.

use super::*;

impl Owner {
    /// Adds what capture reported to the call's timeline, stamped with where the recording is.
    pub(super) async fn capture_note(&mut self, conn: &Connection, id: &str, text: String) {
        let at = Stamp {
            audio_us: self.position_us(id),
            ..stamp()
        };
        self.update_call(conn, id, |c| c.note(at, TimelineKind::Capture, text))
            .await;
    }

    /// A hold began or ended: the call's OnHold and HoldSince, a timeline entry at the hold's
    /// place in the recording, and HoldStarted or HoldEnded.
    pub(super) async fn hold_change(
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
        let call = entry.call.clone();
        if call.state != onrecord_interface::CallState::Recording {
            return;
        }
        // Offsets into the recording, as UTC: the recording is at `pos` now.
        let now = now_us();
        let pos = self.position_us(id).unwrap_or(0);
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
                    TimelineKind::Hold,
                    format!("on hold since {} into the recording", clock(*at_s)),
                );
            }
            HoldChange::Ended { since_s, at_s } => {
                next.on_hold = false;
                next.hold_since_us = 0;
                next.note(
                    at(*at_s),
                    TimelineKind::Hold,
                    format!(
                        "hold ended: {} on hold ({} to {} into the recording)",
                        clock(at_s - since_s),
                        clock(*since_s),
                        clock(*at_s)
                    ),
                );
            }
        }
        let since = next.hold_since_us;
        let _ = self.commit(conn, &call, next).await;
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
    pub(super) async fn capture_failed(
        &mut self,
        conn: &Connection,
        id: &str,
        error: CaptureError,
    ) {
        let capturing = self
            .calls
            .get(id)
            .is_some_and(|e| e.call.state.is_capturing());
        tracing::error!(call = %id, "the recording failed: {error}");
        if !capturing {
            return;
        }
        // What the user can act on differs: free space, or choose another storage format.
        let what = match &error {
            CaptureError::Write(_) => "writing failed",
            CaptureError::FormatRefused(_) => "the storage refused the format",
            CaptureError::Panicked(_) => "the storage plugin crashed",
            CaptureError::Source(_) | CaptureError::Unavailable(_) => "capture failed",
        };
        self.capture_note(
            conn,
            id,
            format!("the recording failed and stopped ({what}): {error}"),
        )
        .await;
        self.call_event(conn, id, CallInput::Event(Event::Stop), None)
            .await;
    }
}
