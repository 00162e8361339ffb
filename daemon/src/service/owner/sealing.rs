//! Finishing a recording: what capture said at the stop goes into the timeline, and the
//! evidence is sealed.

use super::*;

/// The call analysis of a recording in one timeline line.
fn analysis_line(a: &onrecord_analysis::Summary) -> String {
    use onrecord_analysis::clock;
    format!(
        "far side: first live agent {}; on hold {} in {} hold(s), {} transfer(s); far side talked {}{}",
        a.first_live_s
            .map_or("never".to_owned(), |t| format!("at {}", clock(t))),
        clock(a.hold_s),
        a.holds.len(),
        a.transfers,
        clock(a.talk_far_s),
        a.talk_near_s
            .map_or(String::new(), |t| format!(", you {}", clock(t))),
    )
}

impl Owner {
    /// What capture said at the stop goes into the timeline, at the recording's end measured in
    /// its audio (a paced or drifting source is not the wall clock); then the evidence is
    /// sealed, when audio was written.
    pub(super) fn finish_recording(
        &self,
        call: &mut Call,
        dir: &std::path::Path,
        stopped: &crate::capture::Stopped,
    ) {
        let end = || Stamp {
            audio_us: stopped.duration_us(),
            ..stamp()
        };
        for n in &stopped.notes {
            call.note(end(), "capture", n.clone());
        }
        if let Some(a) = &stopped.analysis {
            call.note(end(), "analysis", analysis_line(a));
        }
        // What capture did comes last: the recording's final word.
        call.note(end(), "capture", stopped.report.clone());
        if stopped.files.is_empty() {
            return;
        }
        let Some(key) = &self.signing else {
            tracing::warn!(call = %call.id, "no signing key: the evidence is not sealed");
            return;
        };
        match crate::seal::seal(call, dir, stopped, key, now_us()) {
            Ok(()) => tracing::info!(call = %call.id, "evidence sealed"),
            Err(e) => tracing::error!(call = %call.id, "cannot seal the evidence: {e}"),
        }
    }
}
