//! Finishing a recording: what capture said at the stop goes into the timeline, and the
//! evidence is sealed.

use super::*;

/// The call analysis of a recording in one timeline line.
fn analysis_line(a: &onrecord_analysis::Summary) -> String {
    use onrecord_analysis::clock;
    format!(
        "far side: time to agent {} (first live agent); menu {}; on hold {} in {} hold(s), {} transfer(s); far side talked {}{}",
        a.first_live_s.map_or("never".to_owned(), clock),
        clock(a.menu_s),
        clock(a.hold_s),
        a.holds.len(),
        a.transfers,
        clock(a.talk_far_s),
        a.talk_near_s
            .map_or(String::new(), |t| format!(", you {}", clock(t))),
    )
}

impl Owner {
    /// `[encryption]`'s recipients: sealed audio is encrypted to them.
    pub fn with_encryption(
        mut self,
        recipients: Vec<onrecord_evidence::encrypt::Recipient>,
    ) -> Self {
        self.encryption = recipients;
        self
    }

    /// What capture said at the stop goes into the timeline, at the recording's end measured in
    /// its audio (a paced or drifting source is not the wall clock).
    pub(super) fn finish_recording(&self, call: &mut Call, stopped: &crate::capture::Stopped) {
        let end = || Stamp {
            audio_us: stopped.duration_us(),
            ..stamp()
        };
        for n in &stopped.notes {
            call.note(end(), TimelineKind::Capture, n.clone());
        }
        if let Some(a) = &stopped.analysis {
            call.note(end(), TimelineKind::Analysis, analysis_line(a));
        }
        // What capture did comes last: the recording's final word.
        call.note(end(), TimelineKind::Capture, stopped.report.clone());
    }

    /// Seals the call's evidence on a blocking worker: hashing hours of audio must not hold up
    /// the owner nor an async thread. The result comes back as `Command::Sealed`; until then
    /// the call is listed in `sealing`, and a `Stop` that ended it waits for its reply.
    pub(super) fn seal_later(
        &mut self,
        call: &Call,
        dir: &std::path::Path,
        stopped: crate::capture::Stopped,
    ) {
        let Some(key) = self.signing.clone() else {
            tracing::warn!(call = %call.id, "no signing key: the evidence is not sealed");
            return;
        };
        let Some(handle) = self.handle.clone() else {
            tracing::error!(call = %call.id, "the owner has no queue yet: not sealed");
            return;
        };
        self.sealing.entry(call.id.clone()).or_default();
        let (call, dir) = (call.clone(), dir.to_owned());
        let recipients = self.encryption.clone();
        tokio::task::spawn_blocking(move || {
            let result = crate::seal::seal(&call, &dir, &stopped, &key, now_us());
            let encrypted = result
                .as_ref()
                .ok()
                .and_then(|()| encrypt(&dir, &stopped, &recipients));
            let _ = handle.blocking_send(Command::Sealed {
                id: call.id.clone(),
                result,
                encrypted,
            });
        });
    }

    /// Seals the call's evidence here and now: at start, before anything is served.
    pub(super) fn seal_now(
        &self,
        call: &Call,
        dir: &std::path::Path,
        stopped: &crate::capture::Stopped,
    ) {
        let Some(key) = &self.signing else {
            tracing::warn!(call = %call.id, "no signing key: the evidence is not sealed");
            return;
        };
        let result =
            tokio::task::block_in_place(|| crate::seal::seal(call, dir, stopped, key, now_us()));
        match result {
            Ok(()) => {
                tracing::info!(call = %call.id, "evidence sealed");
                if let Some(Err(e)) = encrypt(dir, stopped, &self.encryption) {
                    tracing::error!(call = %call.id, "cannot encrypt the audio: {e}");
                }
                self.sealed_and_done(&call.id);
            }
            Err(e) => tracing::error!(call = %call.id, "cannot seal the evidence: {e}"),
        }
    }

    /// A seal (and the encryption after it) finished: its timeline entry, the after-seal
    /// program, and the replies that waited for it.
    pub(super) async fn sealed(
        &mut self,
        conn: &Connection,
        id: &str,
        result: Result<(), crate::seal::SealError>,
        encrypted: Option<Result<String, String>>,
    ) {
        match &result {
            Ok(()) => {
                tracing::info!(call = %id, "evidence sealed");
                if let Some(done) = encrypted {
                    let detail = match done {
                        Ok(what) => what,
                        Err(e) => {
                            tracing::error!(call = %id, "cannot encrypt the audio: {e}");
                            format!("the audio could not be encrypted, it stays as it was: {e}")
                        }
                    };
                    self.update_call(conn, id, |call| {
                        call.note(stamp(), TimelineKind::Encrypted, detail);
                    })
                    .await;
                }
                self.sealed_and_done(id);
            }
            Err(e) => tracing::error!(call = %id, "cannot seal the evidence: {e}"),
        }
        for reply in self.sealing.remove(id).unwrap_or_default() {
            let _ = reply.send(Ok(()));
        }
    }
}

/// Encrypts a sealed recording's files when recipients are configured: what was done, in a
/// line, or why not.
fn encrypt(
    dir: &std::path::Path,
    stopped: &crate::capture::Stopped,
    recipients: &[onrecord_evidence::encrypt::Recipient],
) -> Option<Result<String, String>> {
    if recipients.is_empty() || stopped.files.is_empty() {
        return None;
    }
    let names: Vec<String> = stopped.files.iter().map(|f| f.name.clone()).collect();
    Some(
        onrecord_evidence::encrypt::encrypt_call(dir, &names, recipients)
            .map(|done| {
                format!(
                    "encrypted {} to {} age recipient(s); the plaintext was removed",
                    done.join(", "),
                    recipients.len()
                )
            })
            .map_err(|e| e.to_string()),
    )
}
