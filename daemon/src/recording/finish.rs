//! Ending a recording: the sources stopped, the writer drained up to the stop, the files
//! finalized, and what was captured said.

use super::*;

/// Closes a source, adding a failure of its `stop` to `problem`.
fn close_noting(s: &mut OpenSource, call_id: &str, problem: &mut String) {
    if let Some(p) = s.close() {
        tracing::error!(call = %call_id, "{p}");
        problem.push_str(&format!("; {p}"));
    }
}

/// Stops the sources, lets the writer write what they delivered up to the stop, finalizes the
/// file, and frees everything; says what was captured.
pub(super) fn finish(rec: &mut Recording, call_id: &str) -> Stopped {
    let mut problem = String::new();
    match &rec.mix {
        // The mixer writes up to the stop, waiting (briefly) for the sources' last frames, so
        // they are stopped after it.
        Some(m) => {
            m.timebase().close(mix::now_s());
            m.finished.store(true, Ordering::Release);
            if let Some(w) = &rec.writer {
                w.thread().unpark();
            }
        }
        None => {
            for s in rec.sources.iter_mut() {
                s.ring.set_writing(false);
                close_noting(s, call_id, &mut problem);
                s.ring.finish();
            }
        }
    }
    let mut files = Vec::new();
    if let Some(w) = rec.writer.take() {
        match w.join() {
            Ok(Ok(sealed)) => files.push(SealedFile {
                name: rec.name.clone(),
                sample_format: if rec.stored.sample_format == SAMPLE_F32 {
                    "f32"
                } else {
                    "i16"
                }
                .into(),
                rate: rec.stored.rate,
                channels: rec.stored.channels,
                pcm_bytes: sealed.pcm_bytes,
                blocks: sealed.blocks,
                head: sealed.head,
                complete: true,
            }),
            Ok(Err(e)) => {
                tracing::error!(call = %call_id, "the recording did not finish cleanly: {e}");
                problem = format!("; the file did not finish cleanly: {e}");
            }
            Err(_) => {
                tracing::error!(call = %call_id, "the writer thread panicked");
                problem = "; the writer failed".into();
            }
        }
    }
    for s in rec.sources.iter_mut() {
        close_noting(s, call_id, &mut problem);
    }
    let (written, _, _) = rec.out_ring.counts();
    let overruns: u64 = rec.sources.iter().map(|s| s.ring.counts().1).sum();
    let (paused, sources, notes) = match &rec.mix {
        Some(m) => (
            m.timebase().paused_frames(),
            std::mem::take(&mut *m.stats.lock().unwrap_or_else(|p| p.into_inner())),
            std::mem::take(&mut *m.final_notes.lock().unwrap_or_else(|p| p.into_inner())),
        ),
        None => (
            rec.sources.iter().map(|s| s.ring.counts().2).sum(),
            Vec::new(),
            Vec::new(),
        ),
    };
    tracing::info!(call = %call_id, frames = written, overruns, not_written_while_paused = paused, "capture stopped");
    let per_source: String = sources
        .iter()
        .map(|s| {
            let drift = s
                .drift_ppm
                .map_or("not measured".to_owned(), |d| format!("{d:+.1} ppm"));
            format!(
                "; {}: drift {drift}, {} gap(s), {:.3} s of silence, {} frames lost",
                s.source,
                s.gaps,
                s.silent_frames as f64 / rec.rate as f64,
                s.frames_lost
            )
        })
        .collect();
    Stopped {
        report: format!(
            "{written} frames written, {overruns} lost to overruns, {paused} not written while paused{per_source}{problem}"
        ),
        files,
        notes,
        stats: Some(onrecord_evidence::CaptureStats {
            frames_written: written,
            overruns,
            not_written_while_paused: paused,
            sources,
        }),
        analysis: rec
            .analysis
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(),
    }
}
