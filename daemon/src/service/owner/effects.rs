//! Carrying out a transition's capture effects: capture follows the state machine and nothing
//! else.

use super::*;

impl Owner {
    /// Gives capture its ways back to the owner: timeline notes, failures and holds, all
    /// through the command queue.
    pub(super) fn wire_capture(&mut self, handle: &mpsc::Sender<Command>) {
        // Capture's threads note events in timelines through the same queue (never blocking:
        // a note that does not fit is logged instead).
        let notes = handle.clone();
        self.capture
            .set_notes(Arc::new(move |id: &str, text: String| {
                if let Err(e) = notes.try_send(Command::CaptureNote {
                    id: id.to_owned(),
                    text,
                }) && let mpsc::error::TrySendError::Full(Command::CaptureNote { id, text })
                | mpsc::error::TrySendError::Closed(Command::CaptureNote { id, text }) = e
                {
                    tracing::warn!(call = %id, "capture note not queued: {text}");
                }
            }));
        let failures = handle.clone();
        self.capture
            .set_failures(Arc::new(move |id: &str, error: CaptureError| {
                // Rare and vital: waits for room in the queue, off the async threads.
                let failures = failures.clone();
                let id = id.to_owned();
                std::thread::spawn(move || {
                    let _ = failures.blocking_send(Command::CaptureFailed { id, error });
                });
            }));
        let holds = handle.clone();
        self.capture
            .set_hold_events(Arc::new(move |id: &str, change| {
                if holds
                    .try_send(Command::Hold {
                        id: id.to_owned(),
                        change: change.clone(),
                    })
                    .is_err()
                {
                    tracing::warn!(call = %id, "hold change not queued: {change:?}");
                }
            }));
    }

    /// Starts or resumes capture for a transition that asks for it, and takes that effect out
    /// of `fx`; the error says why no audio can be written.
    pub(super) fn begin_capture(
        &mut self,
        call: &mut Call,
        dir: &std::path::Path,
        fx: &mut Vec<Effect>,
    ) -> Result<(), CaptureError> {
        let Some(i) = fx
            .iter()
            .position(|e| matches!(e, Effect::StartCapture | Effect::ResumeCapture))
        else {
            return Ok(());
        };
        // Opening devices waits for them (up to half a second): not on an async thread.
        let capture = &mut self.capture;
        match fx.remove(i) {
            Effect::StartCapture => {
                call.recording_files = tokio::task::block_in_place(|| capture.start(call, dir))?
            }
            _ => tokio::task::block_in_place(|| capture.resume(&call.id))?,
        }
        Ok(())
    }

    /// Carries out a transition's effects. Capture follows the state machine and nothing else.
    pub(super) fn run_effects(
        &mut self,
        conn: &Connection,
        call: &mut Call,
        dir: &std::path::Path,
        fx: &[Effect],
    ) -> Option<crate::capture::Stopped> {
        let mut sealable = None;
        for e in fx {
            match e {
                // Started by `begin_capture` before the transition was accepted.
                Effect::StartCapture | Effect::ResumeCapture => {}
                Effect::PauseCapture => self.capture.pause(&call.id),
                Effect::StopCapture => {
                    // A hold ends with the call's recording.
                    call.on_hold = false;
                    call.hold_since_us = 0;
                    // Finishing the files joins the writer and syncs: not on an async thread.
                    let capture = &mut self.capture;
                    let call_now: &Call = call;
                    if let Some(stopped) =
                        tokio::task::block_in_place(|| capture.stop(call_now, dir))
                    {
                        self.finish_recording(call, &stopped);
                        sealable = Some(stopped).filter(|s| !s.files.is_empty());
                    }
                }
                Effect::Notify(n) => {
                    let what = match n {
                        Notice::Started => "recording started",
                        Notice::Paused => "recording paused",
                        Notice::Resumed => "recording resumed",
                        Notice::Stopped => "recording stopped",
                    };
                    notify::send(
                        conn,
                        format!("onrecord: {what}"),
                        format!("{}: {what}", call.label),
                    );
                }
            }
        }
        sealable
    }
}
