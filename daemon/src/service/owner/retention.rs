//! `[retention]`: the audio of ended calls is deleted when its time comes; the loop sleeps
//! until then and never polls. Kept calls are exempt.

use super::*;

impl Owner {
    /// Whether retention deletes this call's audio, and from when (µs since the epoch).
    pub(super) fn deletion_due(&self, call: &Call) -> Option<(u64, String)> {
        // Not while the seal is hashing the audio: retention waits for `Command::Sealed`.
        if call.kept
            || call.audio_deleted_us != 0
            || call.recording_files.is_empty()
            || self.sealing.contains_key(&call.id)
        {
            return None;
        }
        let ended = call.ended_us()?;
        let short = self
            .retention
            .min_duration_s
            .filter(|&min| (call.recorded_us as f64) < min * 1e6);
        if let Some(min) = short {
            return Some((ended, format!("shorter than the minimum of {min} s")));
        }
        // A rule's retention for this call comes before `[retention]`.
        let days = call.retention_days.or(self.retention.days)?;
        Some((
            ended + (days * 86_400e6) as u64,
            format!("older than {days} days"),
        ))
    }

    pub(super) fn retention_due(&self) -> Option<u64> {
        self.calls
            .values()
            .filter_map(|e| self.deletion_due(&e.call).map(|(at, _)| at))
            .min()
    }

    /// Deletes the audio of every call whose time has come, leaving its record, its sealed
    /// manifest and a timeline entry.
    pub(super) async fn retention_pass(&mut self, conn: &Connection) {
        let now = now_us();
        let due: Vec<(String, String)> = self
            .calls
            .values()
            .filter_map(|e| {
                self.deletion_due(&e.call)
                    .filter(|(at, _)| *at <= now)
                    .map(|(_, why)| (e.call.id.clone(), why))
            })
            .collect();
        for (id, why) in due {
            let Some(entry) = self.calls.get(&id) else {
                continue;
            };
            let dir = entry.dir.clone();
            for name in &entry.call.recording_files {
                // The journal first: whoever sees the audio gone sees its journal gone too.
                let journal = onrecord_evidence::journal_name(name);
                let encrypted = onrecord_evidence::encrypt::encrypted_name;
                for f in [
                    encrypted(&journal),
                    journal.clone(),
                    encrypted(name),
                    name.clone(),
                ] {
                    if let Err(e) = std::fs::remove_file(dir.join(&f))
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        tracing::error!(call = %id, "retention cannot delete {f}: {e}");
                    }
                }
            }
            tracing::info!(call = %id, "retention deleted the audio ({why})");
            self.update_call(conn, &id, |call| {
                call.audio_deleted_us = now_us();
                call.note(
                    stamp(),
                    TimelineKind::Retention,
                    format!(
                        "audio deleted by retention ({why}); the record and the sealed manifest remain"
                    ),
                );
            })
            .await;
        }
    }
}
