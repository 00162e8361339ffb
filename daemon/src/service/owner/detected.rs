//! Calls a detector noticed: proposed (kept in memory only until taken up), ended when the
//! call ends where it happens, and forgotten without a trace when never taken up.

use super::*;
use crate::calls::{Detected, Linked};
use crate::rules::{Action, Subject};
use onrecord_interface::{DetectedBy, Medium};

/// What a detector saw.
#[derive(Debug, Clone)]
pub enum Detection {
    /// A call began; `number` is the other side's, when the detector knows it.
    Began {
        detected: Detected,
        number: Option<String>,
    },
    /// What the call `key` is recorded from on PipeWire changed: its own playback stream and
    /// the source its capture stream reads (serials; empty when not known).
    Sides {
        by: DetectedBy,
        key: String,
        far_side: String,
        microphone: String,
    },
    /// The other side's number of the call `key` became known (a modem reads it after the
    /// call rang).
    Number {
        by: DetectedBy,
        key: String,
        number: String,
    },
    /// The call `key` ended, for this reason ("the modem call was hung up").
    Ended {
        by: DetectedBy,
        key: String,
        why: String,
    },
}

impl Owner {
    pub(super) async fn detection(
        &mut self,
        conn: &Connection,
        handle: &mpsc::Sender<Command>,
        detection: Detection,
    ) {
        match detection {
            Detection::Began { detected, number } => {
                self.propose(conn, handle, detected, number).await
            }
            Detection::Sides {
                by,
                key,
                far_side,
                microphone,
            } => {
                let Some(id) = self.detected_call(by, &key) else {
                    return;
                };
                let capturing = self
                    .calls
                    .get(&id)
                    .is_some_and(|e| e.call.state.is_capturing());
                self.update_call(conn, &id, |call| {
                    if let Some(d) = call.detected.as_mut() {
                        d.far_side = far_side.clone();
                        d.microphone = microphone.clone();
                    }
                    // A running recording follows both (the capture plugin sees the same
                    // graph): said in the timeline.
                    if capturing {
                        call.note(
                            stamp(),
                            TimelineKind::Capture,
                            format!(
                                "the application's streams changed (far side: PipeWire serial {far_side}; microphone: serial {microphone}), which the recording follows"
                            ),
                        );
                    }
                })
                .await;
            }
            Detection::Number { by, key, number } => self.renumber(conn, by, &key, &number).await,
            Detection::Ended { by, key, why } => {
                self.ignored.retain(|d| !(d.by == by && d.key == key));
                for d in &mut self.ignored {
                    d.linked.retain(|l| !(l.by == by && l.key == key));
                }
                let Some(id) = self.detected_call(by, &key) else {
                    return;
                };
                let signalled = self
                    .calls
                    .get(&id)
                    .and_then(|e| e.call.detected.as_ref())
                    .is_some_and(|d| d.signalled());
                // Streams gone from a call whose signalling another detector sees: that
                // detector says when it ends (a SIP call in GNOME Calls goes on while its
                // streams renegotiate); the streams found again are linked again.
                if by == DetectedBy::PipeWire && signalled {
                    self.update_call(conn, &id, |call| {
                        if let Some(d) = call.detected.as_mut() {
                            d.linked.retain(|l| !(l.by == by && l.key == key));
                        }
                    })
                    .await;
                    return;
                }
                self.own_event(conn, &id, Event::HangUp(why)).await;
            }
        }
    }

    /// The active call that `detected` is another view of: the same process seen by another
    /// detector that does not see it yet (GNOME Calls' call object and its streams on
    /// PipeWire).
    fn partner(&self, detected: &Detected) -> Option<String> {
        let pid = detected.pid?;
        self.calls
            .iter()
            .find(|(_, e)| {
                e.call.state.is_active()
                    && e.call
                        .detected
                        .as_ref()
                        .is_some_and(|d| d.pid == Some(pid) && !d.seen_by(detected.by))
            })
            .map(|(id, _)| id.clone())
    }

    /// `detected` is call `id` seen by another detector: linked to it, with what that detector
    /// adds (the streams, where PipeWire saw it; the number, address and direction, where GNOME
    /// Calls did).
    async fn link(
        &mut self,
        conn: &Connection,
        id: &str,
        detected: Detected,
        number: Option<String>,
    ) {
        let capturing = self
            .calls
            .get(id)
            .is_some_and(|e| e.call.state.is_capturing());
        tracing::info!(call = %id, "{} is the same call", detected.describe());
        self.update_call(conn, id, |call| {
            let Some(d) = call.detected.as_mut() else {
                return;
            };
            d.linked.push(Linked {
                by: detected.by,
                key: detected.key.clone(),
            });
            if d.direction.is_empty() {
                d.direction = detected.direction.clone();
            }
            if d.address.is_empty() {
                d.address = detected.address.clone();
            }
            if detected.by == DetectedBy::PipeWire {
                // The streams are found on PipeWire by the application's name there.
                d.pipewire_app = detected.application.clone();
                d.far_side = detected.far_side.clone();
                d.microphone = detected.microphone.clone();
                let far = match detected.far_side.as_str() {
                    "" => String::new(),
                    serial => format!(" (far side: PipeWire serial {serial})"),
                };
                let running = if capturing {
                    "; the recording goes on from what it opened"
                } else {
                    ""
                };
                call.note(
                    stamp(),
                    TimelineKind::Capture,
                    format!(
                        "the call's streams are {}'s on PipeWire{far}{running}",
                        detected.application
                    ),
                );
            }
        })
        .await;
        if let Some(number) = number {
            self.renumber(conn, detected.by, &detected.key, &number)
                .await;
        }
    }

    /// The active call a detector's key names.
    fn detected_call(&self, by: DetectedBy, key: &str) -> Option<String> {
        self.calls
            .iter()
            .find(|(_, e)| {
                e.call.state.is_active() && e.call.detected.as_ref().is_some_and(|d| d.is(by, key))
            })
            .map(|(id, _)| id.clone())
    }

    /// The proposal of a call a detector noticed, with id `id`: the law decided from its number
    /// when there is one (else the other side's location is unknown), and what a matching rule
    /// says. `Ok(None)` when a rule ignores the call.
    fn proposal(
        &self,
        id: String,
        detected: &Detected,
        number: Option<&str>,
    ) -> Result<Option<Call>, Error> {
        let now = self.state.borrow().clone();
        let number = number.filter(|n| !n.trim().is_empty());
        let e164 = number.and_then(|n| super::super::rules_dbus::e164(&now, n).ok());
        let subject = Subject {
            number: e164.as_deref(),
            application: &detected.application,
        };
        let rule = now.rules.decide(subject);
        if let Some(d) = &rule
            && d.rule.action == Action::Ignore
        {
            tracing::info!("{} ignored: {}", detected.describe(), d.why);
            return Ok(None);
        }
        let them = number.unwrap_or(laws::UNKNOWN).to_owned();
        let (recorder, parties, decision) = match decide::decide(&now, "", &[them], Medium::Phone) {
            // A number the tables cannot read (garbled) says nothing of where the other side is.
            Err(Error::InvalidNumber(why)) => {
                tracing::warn!("detected call: {why}; its location is unknown");
                decide::decide(&now, "", &[laws::UNKNOWN.to_owned()], Medium::Phone)?
            }
            other => other?,
        };
        let label = match (
            rule.as_ref().and_then(|d| d.rule.label_for(subject)),
            number,
        ) {
            (Some(label), _) => label,
            (None, Some(n)) => n.to_owned(),
            (None, None) if !detected.address.is_empty() => detected.address.clone(),
            (None, None) if detected.application.is_empty() => "call".to_owned(),
            (None, None) => detected.application.clone(),
        };
        let mut call = Call::new(id, label, recorder, parties, decision, self.policy, stamp())
            .propose(detected.clone());
        if let Some(d) = rule {
            call.retention_days = d.rule.retention_days;
            call.storage = d.rule.storage.clone();
        }
        Ok(Some(call))
    }

    /// Proposes a call a detector noticed. Nothing is written to disk until the user takes it
    /// up; a notification says what the law needs and what to say.
    async fn propose(
        &mut self,
        conn: &Connection,
        handle: &mpsc::Sender<Command>,
        detected: Detected,
        number: Option<String>,
    ) {
        if self.detected_call(detected.by, &detected.key).is_some()
            || self
                .ignored
                .iter()
                .any(|d| d.is(detected.by, &detected.key))
        {
            return;
        }
        if detected.pid.is_some()
            && self
                .ignored
                .iter()
                .any(|d| d.pid == detected.pid && !d.seen_by(detected.by))
        {
            tracing::info!(
                "{} ignored: it is a call a rule ignores",
                detected.describe()
            );
            self.ignored.push(detected);
            return;
        }
        if let Some(id) = self.partner(&detected) {
            return self.link(conn, &id, detected, number).await;
        }
        let call = match self.proposal(store::new_id(), &detected, number.as_deref()) {
            Ok(Some(call)) => call,
            Ok(None) => return self.ignored.push(detected),
            Err(e) => {
                tracing::error!("a call was noticed but cannot be proposed: {e}");
                if let Some(n) = self.notify() {
                    n.alert(
                        "onrecord: a call was noticed".into(),
                        format!("It cannot be proposed for recording: {e}"),
                    );
                }
                return;
            }
        };
        let what = detected.describe();
        let detected_pid = detected.pid;
        let dir = store::call_dir(&self.calls_dir(), &call, &self.paths.naming);
        let (id, requirement) = (call.id.clone(), call.requirement());
        let why = call
            .timeline
            .first()
            .map(|e| e.detail.clone())
            .unwrap_or_default();
        let next = call.next_step();
        if let Err(e) = self.add_call(conn, handle, call, dir).await {
            tracing::error!("cannot propose the call: {e}");
            return;
        }
        tracing::info!(call = %id, %requirement, pid = ?detected_pid, "proposed: {what}");
        // Where the server has actions, the call's own notification (sent as it was added)
        // says this with its buttons.
        if let Some(n) = self.notify() {
            n.plain(format!("onrecord: {what}"), format!("{why}\n{next}"));
        }
    }

    /// A proposal whose number was not known is decided again now that it is (nothing was
    /// said or kept of it yet); once taken up, a call keeps the law it was taken up with.
    async fn renumber(&mut self, conn: &Connection, by: DetectedBy, key: &str, number: &str) {
        let Some(id) = self.detected_call(by, key) else {
            return;
        };
        let Some(old) = self.calls.get(&id).map(|e| e.call.clone()) else {
            return;
        };
        let unknown = old.parties.iter().all(|p| p.party.input == laws::UNKNOWN);
        let Some(detected) = old
            .detected
            .clone()
            .filter(|_| old.state == onrecord_interface::CallState::Proposed && unknown)
        else {
            return;
        };
        match self.proposal(id.clone(), &detected, Some(number)) {
            Ok(Some(mut new)) => {
                // The label is the call's name on the bus, which does not change.
                new.label = old.label.clone();
                tracing::info!(call = %id, requirement = %new.requirement(), "the proposal's number is known: decided again");
                let _ = self.commit(conn, &old, new).await;
                if let (Some(n), Some(e)) = (self.notify(), self.calls.get(&id)) {
                    n.call(&e.call);
                }
            }
            Ok(None) => {
                self.ignored.push(detected);
                self.forget(conn, &id).await
            }
            Err(e) => {
                tracing::warn!(call = %id, "the proposal's number {number:?} cannot be read: {e}")
            }
        }
    }

    /// A proposal is over: it leaves the bus and memory; it was never on disk.
    pub(super) async fn forget(&mut self, conn: &Connection, id: &str) {
        tracing::info!(call = %id, "proposal forgotten");
        self.drop_call(conn, id).await;
    }
}
