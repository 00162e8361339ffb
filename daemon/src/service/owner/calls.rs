//! Calls' lifecycle (create, restore, list, keep, remove) and their consent events.

use super::*;

impl Owner {
    pub(super) async fn create_call(
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
        // The rules apply to a call created by hand too (its first number), except `ignore`:
        // it was asked for.
        let e164 = them
            .iter()
            .find_map(|t| super::super::rules_dbus::e164(&now, t).ok());
        let subject = crate::rules::Subject {
            number: e164.as_deref(),
            application: "",
        };
        let rule = now.rules.decide(subject).map(|d| d.rule);
        let label = match (label.trim(), rule.and_then(|r| r.label_for(subject))) {
            ("", Some(ruled)) => ruled,
            ("", None) => them.join(", "),
            (given, _) => given.to_owned(),
        };
        let mut call = Call::new(
            id.clone(),
            label,
            recorder,
            parties,
            decision,
            self.policy,
            stamp(),
        );
        if let Some(r) = rule {
            call.retention_days = r.retention_days;
            call.storage = r.storage.clone();
        }
        let dir = store::call_dir(&self.calls_dir(), &call, &self.paths.naming);
        store::save(&dir, &call).map_err(|e| {
            Error::Internal(format!(
                "cannot save the call record in {}: {e}",
                dir.display()
            ))
        })?;
        tracing::info!(call = %id, requirement = %call.requirement(), "call created");
        let path = self.add_call(conn, handle, call, dir).await?;
        Ok((path, id))
    }

    /// Serves a new call on the bus, keeps it, and announces it (`CallAdded`).
    pub(super) async fn add_call(
        &mut self,
        conn: &Connection,
        handle: &mpsc::Sender<Command>,
        call: Call,
        dir: PathBuf,
    ) -> Result<OwnedObjectPath, Error> {
        let id = call.id.clone();
        let path = OwnedObjectPath::try_from(call_path(&id))
            .map_err(|e| Error::Internal(e.to_string()))?;
        let snapshot = self.serve_call(conn, handle, &call, &dir).await;
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
        if let (Some(n), Some(e)) = (self.notify(), self.calls.get(&id)) {
            n.call(&e.call);
        }
        Ok(path)
    }

    pub(super) async fn serve_call(
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

    /// Loads the calls kept on disk; a call that was capturing when the daemon died is marked
    /// interrupted. Every call gets its object on the bus.
    pub async fn restore_calls(&mut self, conn: &Connection, handle: &mpsc::Sender<Command>) {
        self.attach(conn, handle);
        let (found, errors) = store::load_all(&self.calls_dir());
        for e in errors {
            tracing::error!("unreadable call record, left in place: {e}");
        }
        for (dir, call) in found {
            let call = match call.apply(&Event::Interrupt, stamp()) {
                Ok((interrupted, fx)) => {
                    tracing::warn!(call = %call.id, "the call was recording when the daemon stopped: marked interrupted");
                    let mut c = interrupted;
                    let mut stopped = None;
                    if fx.contains(&Effect::StopCapture) {
                        let repaired = self.stop_capture(&c, &dir).await;
                        stopped = self.end_recording(&mut c, repaired);
                    }
                    self.notify_effects(&c, &fx);
                    if let Err(e) = store::save(&dir, &c) {
                        tracing::error!(call = %c.id, "cannot save the call record: {e}");
                    }
                    // Nothing is served yet: sealed here, so a client finds it sealed.
                    if let Some(stopped) = stopped {
                        self.seal_now(&c, &dir, &stopped);
                    }
                    c
                }
                // Ended, with audio, but never sealed: the daemon died between the end of the
                // recording and its seal (which runs after the record is saved). The files
                // are checked as after a crash and sealed now.
                Err(_)
                    if !call.state.is_active()
                        && !call.recording_files.is_empty()
                        && !dir.join(onrecord_evidence::MANIFEST).exists() =>
                {
                    tracing::warn!(call = %call.id, "the call ended but was never sealed: sealing it now");
                    let stopped = self.stop_capture(&call, &dir).await;
                    if let Some(stopped) = stopped.filter(|s| !s.files.is_empty()) {
                        self.seal_now(&call, &dir, &stopped);
                    }
                    call
                }
                Err(_) => call,
            };
            let snapshot = self.serve_call(conn, handle, &call, &dir).await;
            // A call still going on gets its notification (and its buttons) back.
            if call.state.is_active()
                && let Some(n) = self.notify()
            {
                n.call(&call);
            }
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

    /// Finishes (or, left by a crash, repairs) a call's recording on the capture worker and
    /// waits for it: at start, before anything is served.
    async fn stop_capture(
        &self,
        call: &Call,
        dir: &std::path::Path,
    ) -> Option<crate::capture::Stopped> {
        let (call, dir) = (call.clone(), dir.to_owned());
        self.capture
            .ask(move |capture| capture.stop(&call, &dir))
            .await
            .flatten()
    }

    /// A consent event for a call; `reply` is answered when its transition completes (after
    /// its capture started or stopped, when it needs that).
    pub(super) async fn call_event(
        &mut self,
        conn: &Connection,
        id: &str,
        input: CallInput,
        reply: Option<Reply>,
    ) {
        match self.next_state(id, input, None) {
            Ok((old, next, fx, dir)) => self.transition(conn, old, next, fx, dir, reply).await,
            Err(e) => self.answer(id, reply, Err(e)),
        }
    }

    /// The call's state after `input` (at `at`, else now), and the effects that take it
    /// there; or why not.
    pub(super) fn next_state(
        &self,
        id: &str,
        input: CallInput,
        at: Option<Stamp>,
    ) -> Result<(Call, Call, Vec<Effect>, PathBuf), Error> {
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
        let at = at.unwrap_or_else(|| Stamp {
            audio_us: self.position_us(id),
            ..stamp()
        });
        let (next, fx) = call.apply(&event, at).map_err(refusal)?;
        Ok((call, next, fx, dir))
    }

    /// How much audio of the call's running recording has been captured (µs).
    pub(super) fn position_us(&self, id: &str) -> Option<u64> {
        self.controls.get(id)?.position_us()
    }

    /// Interrupts every call that is capturing, or whose capture is starting or stopping (after
    /// it); returns how many.
    pub(super) async fn interrupt_all(&mut self, conn: &Connection) -> usize {
        let capturing: Vec<String> = self
            .calls
            .iter()
            .filter(|(id, e)| e.call.state.is_capturing() || self.busy.contains_key(*id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &capturing {
            self.own_event(conn, id, Event::Interrupt).await;
        }
        capturing.len()
    }

    /// An event the daemon itself sends a call (an interrupt, a hang-up): now, or after the
    /// call's capture is done starting or stopping. Nobody waits for the answer; a refusal
    /// (an interrupt after a stop) is logged.
    pub(super) async fn own_event(&mut self, conn: &Connection, id: &str, event: Event) {
        let input = CallInput::Event(event);
        match self.busy.get_mut(id) {
            Some(busy) => busy.deferred.push_back(Command::CallEvent {
                id: id.to_owned(),
                input,
                reply: oneshot::channel().0,
            }),
            None => self.call_event(conn, id, input, None).await,
        }
    }

    pub(super) fn list_calls(&self) -> Vec<CallSummary> {
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

    pub(super) async fn keep_call(&mut self, conn: &Connection, id: &str) -> Result<(), Error> {
        let entry = self
            .calls
            .get(id)
            .ok_or_else(|| Error::UnknownCall(format!("no call {id:?}")))?;
        if entry.call.audio_deleted_us != 0 {
            return Err(Error::WrongState(
                "retention already deleted this call's audio".into(),
            ));
        }
        match self.update_call(conn, id, |c| c.keep(stamp())).await {
            Some(Err(e)) => Err(Error::Internal(format!("cannot save the call record: {e}"))),
            _ => Ok(()),
        }
    }

    pub(super) async fn remove_call(&mut self, conn: &Connection, id: &str) -> Result<(), Error> {
        let Entry { dir, call, .. } = self
            .calls
            .get(id)
            .ok_or_else(|| Error::UnknownCall(format!("no call {id:?}")))?;
        if self.sealing.contains_key(id) {
            return Err(Error::WrongState(
                "the call's evidence is being sealed: remove it once that is done".into(),
            ));
        }
        if call.state.is_active() {
            return Err(Error::WrongState(format!(
                "the call is {}: stop it before removing it",
                call.state
            )));
        }
        std::fs::remove_dir_all(dir)
            .map_err(|e| Error::Internal(format!("cannot delete {}: {e}", dir.display())))?;
        self.drop_call(conn, id).await;
        Ok(())
    }

    /// Forgets a call: it leaves the bus (`CallRemoved`) and the owner's memory.
    pub(super) async fn drop_call(&mut self, conn: &Connection, id: &str) {
        self.calls.remove(id);
        if let Some(n) = self.notify() {
            n.close(id);
        }
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
    }
}
