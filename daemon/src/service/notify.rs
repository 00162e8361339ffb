//! Desktop notifications (`org.freedesktop.Notifications`), so the user always sees what a
//! call needs and whether it records. Where the server offers actions, each call has one
//! notification, replaced (not stacked) as the call moves on, whose buttons are its next
//! consent steps: one click per step, each the same event as the ctl command, with the same
//! refusals (shown as a notification). A server without actions gets plain notifications
//! (recording started, paused, resumed, stopped). No notification server is not an error.

use super::calls_dbus::CallInput;
use super::owner::Command;
use crate::calls::{ASK, Call, Event};
use futures_util::StreamExt;
use onrecord_interface::{CallState, NoticeBy, TimelineKind, Told};
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};
use zbus::{Connection, MatchRule, MessageStream, Variant};

const SERVER: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// A call's notification: what it says and the steps it offers (action key, button label).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub summary: String,
    pub body: String,
    pub actions: Vec<(&'static str, &'static str)>,
}

#[derive(Debug)]
enum Note {
    /// Shown on every server (a recording that could not start).
    Alert { summary: String, body: String },
    /// Shown where the server has no actions: elsewhere the call's own notification says it.
    Plain { summary: String, body: String },
    /// The call's notification, where the server has actions.
    Call { id: String, step: Step },
    /// The call is gone (a proposal forgotten): its notification is closed.
    Close { id: String },
}

/// Where the owner sends notifications; they are shown in order by a task of their own, which
/// also turns a clicked action into the call's event.
#[derive(Clone)]
pub struct Notifier {
    notes: mpsc::UnboundedSender<Note>,
    /// Whether calls' notifications offer to play the notice (announcements are on).
    announce: bool,
}

impl Notifier {
    /// Starts the task on `conn`; clicked actions go to the owner through `commands`.
    pub fn spawn(conn: Connection, commands: mpsc::Sender<Command>, announce: bool) -> Notifier {
        let (notes, queue) = mpsc::unbounded_channel();
        let notifier = Notifier { notes, announce };
        tokio::spawn(serve(conn, commands, queue, notifier.clone()));
        notifier
    }

    fn send(&self, note: Note) {
        // The task ends only with the runtime: a note sent then has nobody to show it.
        let _ = self.notes.send(note);
    }

    /// Shown on every server.
    pub fn alert(&self, summary: String, body: String) {
        self.send(Note::Alert { summary, body });
    }

    /// Shown where the call's own notification does not say it (a server without actions).
    pub fn plain(&self, summary: String, body: String) {
        self.send(Note::Plain { summary, body });
    }

    /// The call moved on: its notification is replaced with its next steps.
    pub fn call(&self, call: &Call) {
        self.send(Note::Call {
            id: call.id.clone(),
            step: step(call, self.announce),
        });
    }

    /// The call is gone: its notification is closed.
    pub fn close(&self, id: &str) {
        self.send(Note::Close { id: id.to_owned() });
    }
}

/// What a call's notification says in its state, and the steps it offers; with `announce`,
/// playing the notice (an announcement) wherever telling them is the next step.
pub fn step(call: &Call, announce: bool) -> Step {
    use CallState::*;
    let label = &call.label;
    let why = call
        .timeline
        .first()
        .map(|e| e.detail.clone())
        .unwrap_or_default();
    let confirmed = call
        .timeline
        .iter()
        .any(|e| e.kind == TimelineKind::Confirmed);
    let (summary, body, actions): (String, String, Vec<(&'static str, &'static str)>) = match call
        .state
    {
        Proposed => (
            match &call.detected {
                Some(d) => format!("onrecord: {}", d.describe()),
                None => format!("onrecord: {label}"),
            },
            format!("{why}\nTo record it, tell them first: {ASK}"),
            vec![("notice", "I'll tell them"), ("dismiss", "Not this call")],
        ),
        AwaitingNotice => (
            format!("onrecord: {label}: tell them first"),
            format!("Say: {ASK}"),
            vec![("notice", "I told them"), ("stop", "Stop")],
        ),
        AwaitingConsent => (
            format!("onrecord: {label}: waiting for their answer"),
            format!("{why}\nAsk: {ASK}"),
            vec![
                ("consent-yes", "They agreed"),
                ("consent-no", "They refused"),
            ],
        ),
        Ready => (
            format!("onrecord: {label}: ready to record"),
            "Start recording, then ask them to confirm on the recording that they agree.".into(),
            vec![("start", "Start recording"), ("stop", "Stop")],
        ),
        Recording => {
            let mut actions = vec![("pause", "Pause"), ("stop", "Stop")];
            let body = if confirmed {
                "Recording.".to_owned()
            } else {
                actions.insert(0, ("confirm", "Confirmed on tape"));
                "Recording. Ask them to confirm, on the recording, that they agree.".into()
            };
            (format!("onrecord: recording {label}"), body, actions)
        }
        Paused => (
            format!("onrecord: {label}: paused"),
            "Nothing is recorded until you resume.".into(),
            vec![("resume", "Resume"), ("stop", "Stop")],
        ),
        Held if call
            .parties
            .iter()
            .any(|p| p.present && p.notice == Told::No) =>
        {
            (
                format!("onrecord: {label}: held for the new representative"),
                format!("Nothing is recorded. Tell them: {ASK}"),
                vec![("notice", "I told them"), ("stop", "Stop")],
            )
        }
        Held => (
            format!("onrecord: {label}: held for the new representative"),
            format!("Nothing is recorded until they agree. Ask: {ASK}"),
            vec![
                ("consent-yes", "They agreed"),
                ("consent-no", "They refused"),
            ],
        ),
        Stopped | Refused | Withdrawn | Interrupted => (
            format!("onrecord: {label}: {}", call.state),
            call.timeline
                .last()
                .map(|e| e.detail.clone())
                .unwrap_or_default(),
            Vec::new(),
        ),
    };
    let mut actions = actions;
    if announce && let Some(i) = actions.iter().position(|(k, _)| *k == "notice") {
        actions.insert(i + 1, ("announce", "Play the notice"));
    }
    Step {
        summary,
        body,
        actions,
    }
}

/// What a click asks of the owner.
enum Click {
    Event(CallInput),
    /// Play the notice into the call.
    Announce,
}

/// What an action stands for.
fn click(action: &str) -> Option<Click> {
    match action {
        "announce" => Some(Click::Announce),
        other => input(other).map(Click::Event),
    }
}

/// The call event an action stands for.
fn input(action: &str) -> Option<CallInput> {
    let event = match action {
        "take" => Event::Take,
        "dismiss" => Event::Dismiss,
        "notice" => Event::Notice(NoticeBy::Me),
        "consent-yes" => Event::Consent(true),
        "consent-no" => Event::Consent(false),
        "start" => Event::Start,
        "confirm" => Event::Confirm,
        "pause" => Event::Pause,
        "resume" => Event::Resume,
        "stop" => Event::Stop,
        _ => return None,
    };
    Some(CallInput::Event(event))
}

/// The notification server's state as the task knows it.
#[derive(Default)]
struct Shown {
    /// Whether the server offers actions, once it answered.
    actions: Option<bool>,
    /// The unique name of the server that showed our notifications: only its signals count.
    server: Option<String>,
    by_call: HashMap<String, u32>,
    by_id: HashMap<u32, String>,
    /// Each call's last step, shown again after a refused click.
    steps: HashMap<String, Step>,
}

async fn serve(
    conn: Connection,
    commands: mpsc::Sender<Command>,
    mut queue: mpsc::UnboundedReceiver<Note>,
    notifier: Notifier,
) {
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(SERVER)
        .path(PATH)
        .build();
    let mut signals = match rule {
        Ok(rule) => MessageStream::for_match_rule(rule, &conn, None).await.ok(),
        Err(_) => None,
    };
    let mut shown = Shown::default();
    loop {
        let signal = async {
            match signals.as_mut() {
                Some(s) => s.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            note = queue.recv() => match note {
                Some(note) => show(&conn, &mut shown, note).await,
                None => return,
            },
            Some(Ok(msg)) = signal => {
                let header = msg.header();
                let from_server = header.sender().map(|s| s.to_string()) == shown.server;
                if !from_server {
                    continue;
                }
                match header.member().map(|m| m.to_string()).as_deref() {
                    Some("ActionInvoked") => {
                        let Ok((id, action)) = msg.body().deserialize::<(u32, String)>() else {
                            continue;
                        };
                        if let (Some(call), Some(input)) = (shown.by_id.get(&id), click(&action)) {
                            clicked(&commands, &notifier, call.clone(), input, &shown).await;
                        }
                    }
                    Some("NotificationClosed") => {
                        if let Ok((id, _)) = msg.body().deserialize::<(u32, u32)>()
                            && let Some(call) = shown.by_id.remove(&id)
                        {
                            shown.by_call.remove(&call);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A click: the call's event goes to the owner, in the order of the clicks; a refusal is
/// shown, and the call's steps again.
async fn clicked(
    commands: &mpsc::Sender<Command>,
    notifier: &Notifier,
    id: String,
    input: Click,
    shown: &Shown,
) {
    let (reply, answer) = oneshot::channel();
    let command = match input {
        Click::Event(input) => Command::CallEvent {
            id: id.clone(),
            input,
            reply,
        },
        Click::Announce => Command::Announce {
            id: id.clone(),
            clip: crate::service::owner::Clip::Notice,
            reply,
        },
    };
    let sent = commands.send(command).await;
    let notifier = notifier.clone();
    let again = shown.steps.get(&id).cloned();
    // The answer can take a while (a device opening): the next notes do not wait for it.
    tokio::spawn(async move {
        let refused = match (sent, answer.await) {
            (Ok(()), Ok(Ok(()))) => return,
            (Ok(()), Ok(Err(e))) => e.to_string(),
            _ => "the daemon is shutting down".to_owned(),
        };
        notifier.alert("onrecord: not done".into(), refused);
        if let Some(step) = again {
            notifier.send(Note::Call { id, step });
        }
    });
}

async fn show(conn: &Connection, shown: &mut Shown, note: Note) {
    if shown.actions.is_none() {
        shown.actions = capabilities(conn).await;
    }
    let actions = shown.actions == Some(true);
    match note {
        Note::Alert { summary, body } => {
            notify(conn, shown, 0, &summary, &body, &[], -1).await;
        }
        Note::Plain { summary, body } if !actions => {
            notify(conn, shown, 0, &summary, &body, &[], -1).await;
        }
        Note::Call { id, step } if actions => {
            let replaces = shown.by_call.get(&id).copied().unwrap_or(0);
            // A call in progress stays until it moves on; an ended one goes by itself.
            let expire = if step.actions.is_empty() { -1 } else { 0 };
            let flat: Vec<&str> = step.actions.iter().flat_map(|(k, l)| [*k, *l]).collect();
            if let Some(n) = notify(
                conn,
                shown,
                replaces,
                &step.summary,
                &step.body,
                &flat,
                expire,
            )
            .await
            {
                shown.by_id.remove(&replaces);
                shown.by_call.insert(id.clone(), n);
                shown.by_id.insert(n, id.clone());
            }
            if step.actions.is_empty() {
                shown.steps.remove(&id);
            } else {
                shown.steps.insert(id, step);
            }
        }
        Note::Close { id } => {
            shown.steps.remove(&id);
            if let Some(n) = shown.by_call.remove(&id) {
                shown.by_id.remove(&n);
                let _ = conn
                    .call_method(Some(SERVER), PATH, Some(SERVER), "CloseNotification", &(n,))
                    .await;
            }
        }
        Note::Plain { .. } | Note::Call { .. } => {}
    }
}

/// Whether the server offers actions; `None` while there is no server (asked again later).
async fn capabilities(conn: &Connection) -> Option<bool> {
    let reply = conn
        .call_method(Some(SERVER), PATH, Some(SERVER), "GetCapabilities", &())
        .await;
    match reply {
        Ok(m) => Some(
            m.body()
                .deserialize::<Vec<String>>()
                .is_ok_and(|caps| caps.iter().any(|c| c == "actions")),
        ),
        // A server that does not answer GetCapabilities shows plain notifications.
        Err(zbus::Error::MethodError(..)) => Some(false),
        Err(_) => None,
    }
}

/// Shows (or replaces) a notification; its id, when the server answered.
async fn notify(
    conn: &Connection,
    shown: &mut Shown,
    replaces: u32,
    summary: &str,
    body: &str,
    actions: &[&str],
    expire: i32,
) -> Option<u32> {
    let hints: HashMap<&str, Variant<'_>> = HashMap::from([
        ("category", Variant::from("device")),
        ("urgency", Variant::from(1u8)),
        // Stays after a click, until replaced by the call's next step.
        ("resident", Variant::from(!actions.is_empty())),
    ]);
    let args = (
        "onrecord",
        replaces,
        "media-record",
        summary,
        body,
        actions.to_vec(),
        hints,
        expire,
    );
    match conn
        .call_method(Some(SERVER), PATH, Some(SERVER), "Notify", &args)
        .await
    {
        Ok(reply) => {
            shown.server = reply.header().sender().map(|s| s.to_string());
            reply.body().deserialize::<u32>().ok()
        }
        Err(e) => {
            tracing::debug!("no desktop notification ({e})");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::machine::tests::{at, proposal, step as after, transfer};
    use onrecord_interface::Requirement;

    fn all_party_transfer() -> Event {
        match transfer() {
            Event::Transfer {
                parties,
                mut decision,
            } => {
                decision.requirement = Requirement::AllParty;
                Event::Transfer { parties, decision }
            }
            e => e,
        }
    }

    /// Every button a call's notification offers is an event the call accepts now, and the
    /// ended call offers none.
    #[test]
    fn every_button_offered_is_a_step_the_call_accepts() {
        let proposed = proposal(Requirement::AllParty);
        let told = after(&proposed, Event::Notice(NoticeBy::Me), 1);
        let agreed = after(&told, Event::Consent(true), 2);
        let recording = after(&agreed, Event::Start, 3);
        let confirmed = after(&recording, Event::Confirm, 4);
        let paused = after(&confirmed, Event::Pause, 5);
        let stopped = after(&paused, Event::Stop, 6);
        let taken = after(&proposed, Event::Take, 1);
        // A new representative, under all-party law: told, then asked.
        let held = after(&recording, all_party_transfer(), 4);
        let held_told = after(&held, Event::Notice(NoticeBy::Me), 5);
        let cases = [
            (&proposed, &["notice", "announce", "dismiss"][..]),
            (&taken, &["notice", "announce", "stop"]),
            (&told, &["consent-yes", "consent-no"]),
            (&agreed, &["start", "stop"]),
            (&recording, &["confirm", "pause", "stop"]),
            (&confirmed, &["pause", "stop"]),
            (&paused, &["resume", "stop"]),
            (&held, &["notice", "announce", "stop"]),
            (&held_told, &["consent-yes", "consent-no"]),
            (&stopped, &[]),
        ];
        for (call, keys) in cases {
            let s = step(call, true);
            let offered: Vec<&str> = s.actions.iter().map(|(k, _)| *k).collect();
            assert_eq!(offered, keys, "{}", call.state);
            for key in offered {
                // Playing the notice is a notice by announcement.
                let e = match click(key) {
                    Some(Click::Event(CallInput::Event(e))) => e,
                    Some(Click::Announce) => Event::Notice(NoticeBy::Announcement),
                    _ => panic!("{key} is no event"),
                };
                assert!(call.apply(&e, at(9)).is_ok(), "{key} in {}", call.state);
            }
            assert!(s.summary.starts_with("onrecord: "), "{s:?}");
            // Without announcements, the same less "announce".
            let without: Vec<&str> = step(call, false).actions.iter().map(|(k, _)| *k).collect();
            let want: Vec<&str> = keys.iter().copied().filter(|k| *k != "announce").collect();
            assert_eq!(without, want, "{}", call.state);
        }
        assert!(step(&proposed, true).body.contains(ASK));
    }
}
