//! Announcements played into calls (`Call1.Announce`), and the virtual microphone's helper
//! that plays them (`service::mic`): one helper while any call is active, ended with the
//! last one.
//!
//! An announcement's timeline entry is stamped with when its first sample reached PipeWire's
//! graph (the monotonic clock PipeWire's graph runs on), and, while recording, with where that
//! lies in the recording. A notice announcement tells the present parties (the consent flow's
//! `Notice(announcement)`); whether a softphone took it from the virtual microphone is said.

use super::*;
use crate::config::Announcement;
use crate::service::mic::{self, Mic, MicEvent};
use onrecord_interface::{CallState, NoticeBy, Told};
use std::time::Instant;

/// Which clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clip {
    /// The notice: someone would like to record, do you agree?
    Notice,
    /// "This call is now being recorded."
    Started,
}

/// An announcement asked for and not yet playing.
pub(super) struct Play {
    call: String,
    clip: Clip,
    /// How the timeline names it: "the notice (English)", "your notice".
    name: String,
    reply: Option<Reply>,
}

/// The helper and what waits on it.
#[derive(Default)]
pub(super) struct MicState {
    pub config: Announcement,
    helper: Option<Mic>,
    generation: u64,
    /// The microphone the helper carries, once it is up.
    carries: Option<Option<String>>,
    plays: BTreeMap<String, Play>,
    seq: u64,
    /// When the last helper failed: not started again by itself for a while.
    failed: Option<(Instant, String)>,
    /// Helpers asked to end: their exit is expected (they restored the default themselves).
    quitting: Vec<u64>,
    /// Applications whose microphone the current helper was asked to move.
    moved: Vec<String>,
}

/// How long an announcement may take to begin playing.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// A helper that failed is not started again by itself before this.
const RETRY_AFTER: Duration = Duration::from_secs(30);

fn language_name(l: &str) -> &'static str {
    match l {
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        _ => "English",
    }
}

impl Owner {
    pub fn with_announcement(mut self, config: Announcement) -> Self {
        self.mic.config = config;
        self
    }

    /// Starts the helper when a call is active (or an announcement waits) and ends it when
    /// none is; called after every command.
    pub(super) fn mic_follow(&mut self) {
        let m = &self.mic;
        let wanted = m.config.microphone
            && (!m.plays.is_empty()
                || self
                    .calls
                    .values()
                    .any(|e| e.call.state.is_active() && e.call.state != CallState::Proposed));
        if wanted && m.helper.is_none() {
            if m.plays.is_empty()
                && m.failed
                    .as_ref()
                    .is_some_and(|(at, _)| at.elapsed() < RETRY_AFTER)
            {
                return;
            }
            let Some(handle) = self.handle.clone() else {
                return;
            };
            self.mic.generation += 1;
            let m = &mut self.mic;
            match Mic::spawn(
                m.config.default_source,
                m.config.monitor_gain,
                m.generation,
                handle,
            ) {
                Ok(h) => {
                    m.helper = Some(h);
                    m.carries = None;
                    m.moved.clear();
                }
                Err(e) => {
                    tracing::warn!("no virtual microphone: {e}");
                    m.failed = Some((Instant::now(), e));
                }
            }
        } else if !wanted && let Some(h) = self.mic.helper.take() {
            tracing::info!("no call is active: the onrecord microphone ends");
            self.mic.quitting.push(h.generation);
            h.quit();
        }
    }

    /// Once the helper is up, moves the microphone of each active call's softphone (noticed on
    /// PipeWire) onto the virtual microphone, once per application.
    pub(super) async fn mic_moves(&mut self) {
        // The helper moves them once it knows the graph, before it plays anything sent after.
        if !self.mic.config.move_softphone || self.mic.helper.is_none() {
            return;
        }
        let apps: Vec<String> = self
            .calls
            .values()
            .filter(|e| e.call.state.is_active() && e.call.state != CallState::Proposed)
            .filter_map(|e| e.call.detected.as_ref()?.stream_app().map(str::to_owned))
            .filter(|app| !self.mic.moved.contains(app))
            .collect();
        for app in apps {
            self.mic.moved.push(app.clone());
            if let Some(h) = self.mic.helper.as_mut()
                && let Err(e) = h.move_app(&app).await
            {
                tracing::warn!("cannot move {app}'s microphone: {e}");
            }
        }
    }

    /// Ends the helper (the daemon is stopping): it restores the default source.
    pub(super) fn mic_quit(&mut self) {
        if let Some(h) = self.mic.helper.take() {
            self.mic.quitting.push(h.generation);
            h.quit();
        }
    }

    /// `Call1.Announce`: plays `clip` into call `id`; answered once it plays.
    pub(super) async fn announce(&mut self, conn: &Connection, id: &str, clip: Clip, reply: Reply) {
        let Some(entry) = self.calls.get(id) else {
            let _ = reply.send(Err(Error::UnknownCall(format!("no call {id:?}"))));
            return;
        };
        let call = &entry.call;
        let refused = if !call.state.is_active() {
            Some(Error::CallEnded(format!("the call is {}", call.state)))
        } else if clip == Clip::Started && call.state != CallState::Recording {
            Some(Error::WrongState(
                "\"recording has started\" is played only while recording".into(),
            ))
        } else if !self.mic.config.microphone {
            Some(Error::AnnouncementFailed(
                "announcements are off ([announcement] microphone = false)".into(),
            ))
        } else {
            None
        };
        if let Some(e) = refused {
            let _ = reply.send(Err(e));
            return;
        }
        // Playing the notice into a proposed call takes it up: its softphone's microphone is
        // moved onto the virtual microphone before the notice plays, so the far side hears it.
        if call.state == CallState::Proposed
            && let Ok((old, next, fx, dir)) =
                self.next_state(id, CallInput::Event(Event::Take), None)
        {
            self.transition(conn, old, next, fx, dir, None).await;
        }
        let Some(call) = self.calls.get(id).map(|e| &e.call) else {
            let _ = reply.send(Err(Error::UnknownCall(format!("no call {id:?}"))));
            return;
        };
        let jurisdictions: Vec<&str> = call
            .parties
            .iter()
            .filter(|p| p.present)
            .map(|p| p.party.jurisdiction.as_str())
            .collect();
        let c = &self.mic.config;
        let lang = mic::language(&c.language, &jurisdictions);
        let (own, what) = match clip {
            Clip::Notice => (&c.path, "notice"),
            Clip::Started => (&c.started_path, "started"),
        };
        let recorded = mic::recorded_clip(&self.paths.data_dir, clip);
        let (source, name) = match own {
            None if recorded.is_file() => (
                recorded.display().to_string(),
                match clip {
                    Clip::Notice => "your recorded notice".to_owned(),
                    Clip::Started => "your recorded \"recording has started\"".to_owned(),
                },
            ),
            Some(p) => (
                p.display().to_string(),
                match clip {
                    Clip::Notice => "your notice".to_owned(),
                    Clip::Started => "your \"recording has started\"".to_owned(),
                },
            ),
            None => (
                format!("builtin:{lang}-{what}"),
                match clip {
                    Clip::Notice => format!("the notice in {}", language_name(lang)),
                    Clip::Started => {
                        format!("\"recording has started\" in {}", language_name(lang))
                    }
                },
            ),
        };
        self.mic.seq += 1;
        let play = format!("{id}-{}", self.mic.seq);
        self.mic.plays.insert(
            play.clone(),
            Play {
                call: id.to_owned(),
                clip,
                name,
                reply: Some(reply),
            },
        );
        self.mic_follow();
        self.mic_moves().await;
        let sent = match self.mic.helper.as_mut() {
            Some(h) => h.play(&play, &source).await,
            None => Err(self
                .mic
                .failed
                .as_ref()
                .map_or("the virtual microphone is not running".into(), |(_, e)| {
                    e.clone()
                })),
        };
        if let Err(e) = sent {
            return self.play_failed(&play, e);
        }
        if let Some(handle) = self.handle.clone() {
            tokio::spawn(async move {
                tokio::time::sleep(START_TIMEOUT).await;
                let _ = handle.send(Command::PlayTimeout { play }).await;
            });
        }
    }

    fn play_failed(&mut self, play: &str, why: String) {
        if let Some(p) = self.mic.plays.remove(play) {
            tracing::warn!(call = %p.call, "the announcement did not play: {why}");
            if let Some(reply) = p.reply {
                let _ = reply.send(Err(Error::AnnouncementFailed(format!(
                    "the announcement did not play: {why}"
                ))));
            }
        }
    }

    /// An announcement that has not begun playing in time.
    pub(super) fn play_timeout(&mut self, play: &str) {
        self.play_failed(
            play,
            format!(
                "it did not begin within {} s (is PipeWire's graph running?)",
                START_TIMEOUT.as_secs()
            ),
        );
    }

    /// Once recording starts on a call told by announcement, "recording has started".
    pub(super) async fn announce_started(&mut self, id: &str) {
        let told_by_announcement = self.calls.get(id).is_some_and(|e| {
            e.call
                .parties
                .iter()
                .any(|p| p.present && p.notice == Told::Announcement)
        });
        if !self.mic.config.on_start || !told_by_announcement {
            return;
        }
        let Some(handle) = self.handle.clone() else {
            return;
        };
        // Through the queue, as any other request: it plays after what is already asked.
        let (reply, answer) = oneshot::channel();
        let id = id.to_owned();
        tokio::spawn(async move {
            let asked = Command::Announce {
                id: id.clone(),
                clip: Clip::Started,
                reply,
            };
            if handle.send(asked).await.is_ok()
                && let Ok(Err(e)) = answer.await
            {
                tracing::warn!(call = %id, "\"recording has started\" was not played: {e}");
            }
        });
    }

    /// What the helper said.
    pub(super) async fn mic_event(&mut self, conn: &Connection, generation: u64, event: MicEvent) {
        if event == MicEvent::Exited {
            return self.mic_exited(generation);
        }
        if self.mic.helper.as_ref().map(|h| h.generation) != Some(generation) {
            return;
        }
        match event {
            MicEvent::Ready(carries) => {
                tracing::info!(
                    "the onrecord microphone is up, carrying {}",
                    carries
                        .as_deref()
                        .unwrap_or("no microphone (no default source)")
                );
                self.mic.carries = Some(carries);
            }
            MicEvent::Previous(previous) => {
                // Kept first, then ours set: a crash in between leaves nothing to give back.
                let dir = self.paths.data_dir.clone();
                match tokio::task::block_in_place(|| mic::save_previous(&dir, &previous)) {
                    Ok(()) => {
                        if let Some(helper) = self.mic.helper.as_mut()
                            && let Err(e) = helper.kept().await
                        {
                            tracing::warn!("{e}");
                        }
                    }
                    Err(e) => tracing::error!(
                        "cannot keep the previous default source, so the onrecord microphone \
                         is not made the default: {e}"
                    ),
                }
            }
            MicEvent::Playing {
                play,
                mono_ns,
                heard,
                seconds,
            } => self.played(conn, &play, mono_ns, heard, seconds).await,
            MicEvent::Played(play) => tracing::debug!("announcement {play} ended"),
            MicEvent::Moved {
                app,
                streams,
                source,
            } => self.moved(conn, &app, streams, source).await,
            MicEvent::Failed { play, why } => self.play_failed(&play, why),
            MicEvent::Fatal(why) => {
                tracing::warn!("the onrecord microphone could not start: {why}");
                self.mic.failed = Some((Instant::now(), why.clone()));
                self.mic.helper = None;
                self.fail_plays(&why);
            }
            MicEvent::Exited => {}
        }
    }

    fn fail_plays(&mut self, why: &str) {
        let plays: Vec<String> = self.mic.plays.keys().cloned().collect();
        for p in plays {
            self.play_failed(&p, why.to_owned());
        }
    }

    fn mic_exited(&mut self, generation: u64) {
        if let Some(i) = self.mic.quitting.iter().position(|g| *g == generation) {
            self.mic.quitting.remove(i);
        } else if self.mic.helper.as_ref().map(|h| h.generation) == Some(generation) {
            tracing::warn!("the onrecord microphone ended unexpectedly");
            self.mic.helper = None;
            self.mic.failed = Some((Instant::now(), "onrecord-mic ended".into()));
            self.fail_plays("onrecord-mic ended");
        }
        // A helper gives the default source back as it ends; one that could not (killed, or
        // past its time) left it on the virtual microphone. Given back here in either case (only
        // if it still names the virtual microphone), unless a new helper holds it now.
        if self.mic.helper.is_none() {
            let dir = self.paths.data_dir.clone();
            tokio::spawn(async move { mic::restore_default(&dir).await });
        }
    }

    /// A softphone's microphone was moved onto the virtual microphone: its calls say so.
    async fn moved(&mut self, conn: &Connection, app: &str, streams: u32, source: Option<String>) {
        if streams == 0 {
            tracing::info!("{app} has no microphone stream on PipeWire to move");
            return;
        }
        let ids: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, e)| {
                e.call.state.is_active()
                    && e.call
                        .detected
                        .as_ref()
                        .and_then(|d| d.stream_app())
                        .is_some_and(|a| a == app)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let detail = format!(
            "{app}'s microphone now reads the onrecord microphone, which carries {}: announcements reach the far side",
            source.as_deref().unwrap_or("the default source")
        );
        for id in ids {
            let at = Stamp {
                audio_us: self.position_us(&id),
                ..stamp()
            };
            let detail = detail.clone();
            self.update_call(conn, &id, |c| {
                c.note(at, TimelineKind::Announcement, detail)
            })
            .await;
        }
    }

    /// An announcement began: its timeline entry, the notice it gives, and the answer.
    async fn played(&mut self, conn: &Connection, play: &str, mono_ns: u64, heard: bool, s: f64) {
        let Some(p) = self.mic.plays.remove(play) else {
            return;
        };
        let id = p.call.clone();
        let now = stamp();
        let mono_us = mono_ns / 1000;
        let capturing = self
            .calls
            .get(&id)
            .is_some_and(|e| e.call.state.is_capturing());
        let at = Stamp {
            utc_us: now
                .utc_us
                .saturating_sub(now.mono_us.saturating_sub(mono_us)),
            mono_us,
            audio_us: capturing
                .then(|| self.controls.get(&id)?.offset_at_us(mono_ns))
                .flatten(),
        };
        let untold = self.calls.get(&id).is_some_and(|e| {
            e.call
                .parties
                .iter()
                .any(|p| p.present && p.notice == Told::No)
        });
        let mut detail = format!(
            "played {} ({s:.1} s) into the call through the onrecord microphone",
            p.name
        );
        if !heard {
            detail.push_str(
                "; nothing but onrecord takes audio from the onrecord microphone, so the far side \
                 may not have heard it (it played on your output)",
            );
        }
        // A notice moves the call on with its announcement's entry in the same change: whoever
        // sees the next step (the desktop's notification, the state) finds the announcement in
        // the timeline, after the notice it gave.
        let notice = (p.clip == Clip::Notice && untold).then(|| {
            self.next_state(
                &id,
                CallInput::Event(Event::Notice(NoticeBy::Announcement)),
                Some(at),
            )
        });
        match notice {
            Some(Ok((old, mut next, fx, dir))) => {
                next.note(at, TimelineKind::Announcement, detail);
                self.transition(conn, old, next, fx, dir, None).await;
            }
            other => {
                if let Some(Err(e)) = other {
                    tracing::warn!(call = %id, "the announcement is not a notice here: {e}");
                }
                self.update_call(conn, &id, |c| {
                    c.note(at, TimelineKind::Announcement, detail)
                })
                .await;
            }
        }
        if let Some(reply) = p.reply {
            let _ = reply.send(Ok(()));
        }
    }
}
