//! Carrying out a transition's effects: capture follows the state machine and nothing else.
//! Pausing and resuming act at once, through the recording's controls. Starting and stopping
//! run on the capture worker: the call is busy until it is done (`capture_done`), its later
//! commands wait in order, and the owner serves every other call meanwhile.

use super::*;
use crate::capture::{Started, Stopped};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What a busy call's transition needs to complete: the call before and after it, its
/// effects, and the reply that waits.
pub(super) struct Pending {
    old: Call,
    next: Call,
    fx: Vec<Effect>,
    dir: PathBuf,
    reply: Option<Reply>,
}

/// A call whose capture is starting or stopping, and the commands for it that came since,
/// in order.
pub(super) struct Busy {
    pending: Pending,
    pub(super) deferred: VecDeque<Command>,
}

/// What the capture worker did for a call.
#[derive(Debug)]
pub enum Done {
    Started(Result<Started, CaptureError>),
    Stopped(Option<Box<Stopped>>),
}

/// A panic's message, for the timeline.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

impl Owner {
    /// Gives capture its ways back to the owner: timeline notes, failures and holds, all
    /// through the command queue.
    pub(super) fn wire_capture(&self, handle: &mpsc::Sender<Command>) {
        // Capture's threads note events in timelines through the same queue (never blocking:
        // a note that does not fit is logged instead).
        let notes = handle.clone();
        let failures = handle.clone();
        let holds = handle.clone();
        self.capture.run(move |capture| {
            capture.set_notes(Arc::new(move |id: &str, text: String| {
                if let Err(e) = notes.try_send(Command::CaptureNote {
                    id: id.to_owned(),
                    text,
                }) && let mpsc::error::TrySendError::Full(Command::CaptureNote { id, text })
                | mpsc::error::TrySendError::Closed(Command::CaptureNote { id, text }) = e
                {
                    tracing::warn!(call = %id, "capture note not queued: {text}");
                }
            }));
            capture.set_failures(Arc::new(move |id: &str, error: CaptureError| {
                // Rare and vital: waits for room in the queue, off the async threads.
                let failures = failures.clone();
                let id = id.to_owned();
                std::thread::spawn(move || {
                    let _ = failures.blocking_send(Command::CaptureFailed { id, error });
                });
            }));
            capture.set_hold_events(Arc::new(move |id: &str, change| {
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
        });
    }

    /// Carries out a transition. One that needs nothing of the capture worker completes here:
    /// committed, and `reply` answered. A start or a stop goes to the worker, and the call is
    /// busy until `capture_done`.
    pub(super) async fn transition(
        &mut self,
        conn: &Connection,
        old: Call,
        next: Call,
        fx: Vec<Effect>,
        dir: PathBuf,
        reply: Option<Reply>,
    ) {
        let id = next.id.clone();
        let job = fx.iter().find_map(|e| match e {
            Effect::StartCapture => Some(true),
            Effect::StopCapture => Some(false),
            _ => None,
        });
        if let Some(start) = job {
            let back = self.handle.clone();
            let done_for = id.clone();
            let reply_back = move |done: Done| {
                if let Some(back) = back {
                    let _ = back.blocking_send(Command::CaptureDone { id: done_for, done });
                }
            };
            let (call, at) = (next.clone(), dir.clone());
            let sent = if start {
                self.capture.run(move |capture| {
                    let started = catch_unwind(AssertUnwindSafe(|| capture.start(&call, &at)))
                        .unwrap_or_else(|p| Err(CaptureError::Panicked(panic_text(&*p))));
                    reply_back(Done::Started(started));
                })
            } else {
                // Nothing more is written from the stop on, even while the worker still opens
                // another call's device.
                if let Some(control) = self.controls.remove(&id) {
                    control.pause();
                }
                self.capture.run(move |capture| {
                    let stopped = catch_unwind(AssertUnwindSafe(|| capture.stop(&call, &at)))
                        .unwrap_or_else(|p| {
                            tracing::error!(call = %call.id, "stopping the capture panicked: {}", panic_text(&*p));
                            None
                        });
                    reply_back(Done::Stopped(stopped.map(Box::new)));
                })
            };
            let pending = Pending {
                old,
                next,
                fx,
                dir,
                reply,
            };
            self.busy.insert(
                id.clone(),
                Busy {
                    pending,
                    deferred: VecDeque::new(),
                },
            );
            if !sent {
                let gone = match start {
                    true => Done::Started(Err(CaptureError::Unavailable(
                        "the capture worker is gone".into(),
                    ))),
                    false => Done::Stopped(None),
                };
                self.capture_done(conn, &id, gone).await;
            }
            return;
        }
        if fx.contains(&Effect::Forget) {
            self.forget(conn, &id).await;
            return self.answer(&id, reply, Ok(()));
        }
        let control = self.controls.get(&id);
        for e in &fx {
            match (e, control) {
                (Effect::PauseCapture, Some(c)) => c.pause(),
                (Effect::ResumeCapture, Some(c)) => c.resume(),
                // A call never says it records while nothing is written.
                (Effect::ResumeCapture, None) => {
                    let why =
                        CaptureError::Unavailable("no capture is running for this call".into());
                    return self.refuse_start(conn, old, why, reply).await;
                }
                _ => {}
            }
        }
        self.notify_effects(&next, &fx);
        let _ = self.commit(conn, &old, next).await;
        self.answer(&id, reply, Ok(()));
    }

    /// The capture worker finished a busy call's start or stop: its transition completes (or,
    /// for a start that failed, does not happen), and the commands that waited run next.
    pub(super) async fn capture_done(&mut self, conn: &Connection, id: &str, done: Done) {
        let Some(Busy { pending, deferred }) = self.busy.remove(id) else {
            return;
        };
        self.replay.extend(deferred);
        let Pending {
            old,
            mut next,
            fx,
            dir,
            reply,
        } = pending;
        let started = matches!(done, Done::Started(Ok(_)));
        match done {
            Done::Started(Ok(started)) => {
                next.recording_files = started.files;
                self.controls.insert(id.to_owned(), started.control);
            }
            Done::Started(Err(err)) => return self.refuse_start(conn, old, err, reply).await,
            Done::Stopped(stopped) => {
                if let Some(sealable) = self.end_recording(&mut next, stopped.map(|s| *s)) {
                    self.seal_later(&next, &dir, sealable);
                }
            }
        }
        self.notify_effects(&next, &fx);
        // Capture followed the state: a record that cannot be saved now catches up later.
        let _ = self.commit(conn, &old, next).await;
        self.answer(id, reply, Ok(()));
        if started {
            self.announce_started(id).await;
        }
    }

    /// Capture could not start (or resume): the transition does not happen. The call stays as
    /// it was, and its timeline, a notification and the reply say why.
    async fn refuse_start(
        &mut self,
        conn: &Connection,
        old: Call,
        err: CaptureError,
        reply: Option<Reply>,
    ) {
        let mut kept = old.clone();
        kept.note(
            stamp(),
            TimelineKind::Capture,
            format!("recording did not start: {err}"),
        );
        tracing::error!(call = %old.id, "recording did not start: {err}");
        if let Some(n) = self.notify() {
            n.alert(
                "onrecord: NOT recording".into(),
                format!("{}: the recording could not start: {err}", old.label),
            );
        }
        let id = old.id.clone();
        let _ = self.commit(conn, &old, kept).await;
        self.answer(
            &id,
            reply,
            Err(Error::CaptureFailed(format!(
                "the recording could not start: {err}"
            ))),
        );
    }

    /// A recording ended: a hold ends with it, and what capture said goes into the timeline.
    /// Returns what is to be sealed (a recording with files).
    pub(super) fn end_recording(
        &self,
        call: &mut Call,
        stopped: Option<Stopped>,
    ) -> Option<Stopped> {
        call.on_hold = false;
        call.hold_since_us = 0;
        let stopped = stopped?;
        self.finish_recording(call, &stopped);
        Some(stopped).filter(|s| !s.files.is_empty())
    }

    /// Tells the user on the desktop what the transition did to the recording.
    pub(super) fn notify_effects(&self, call: &Call, fx: &[Effect]) {
        for e in fx {
            if let Effect::Notify(n) = e {
                let what = match n {
                    Notice::Started => "recording started",
                    Notice::Paused => "recording paused",
                    Notice::Resumed => "recording resumed",
                    Notice::Stopped => "recording stopped",
                };
                if let Some(n) = self.notify() {
                    n.plain(
                        format!("onrecord: {what}"),
                        format!("{}: {what}", call.label),
                    );
                }
            }
        }
    }

    /// Answers a command about a call. A success that ended a recording answers once its
    /// evidence is sealed (a client that verifies next finds the manifest); without a reply
    /// (the owner's own events), an error is logged.
    pub(super) fn answer(&mut self, id: &str, reply: Option<Reply>, result: Result<(), Error>) {
        match (reply, result) {
            (Some(reply), Ok(())) => match self.sealing.get_mut(id) {
                Some(waiting) => waiting.push(reply),
                None => {
                    let _ = reply.send(Ok(()));
                }
            },
            (Some(reply), result) => {
                let _ = reply.send(result);
            }
            (None, Err(e)) => tracing::error!(call = %id, "{e}"),
            (None, Ok(())) => {}
        }
    }
}
