//! `onrecordctl call ...`: a call's consent flow, step by step.

use crate::fail::Fail;
use crate::style;
use crate::text::{emit, utc, wrap};
use clap::{Subcommand, ValueEnum};
use futures_util::StreamExt;
use onrecord_interface::{CallInfo, CallProxy, CallSummary, CallsProxy, call_path};
use std::collections::HashMap;
use zbus::proxy::CacheProperties;

const WIDTH: usize = 88;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Answer {
    Yes,
    No,
}

#[derive(Subcommand, Debug)]
pub enum CallCmd {
    /// Start a call: decides the law, and says what to tell the representative.
    New {
        /// The other side: a phone number or a jurisdiction id. Repeat for each party.
        #[arg(long, value_name = "NUMBER|ID", required = true)]
        them: Vec<String>,
        /// Your jurisdiction (default: the configured one).
        #[arg(long, value_name = "ID")]
        me: Option<String>,
        /// A name for the call ("Acme billing").
        #[arg(long)]
        label: Option<String>,
        /// phone, in-person or electronic.
        #[arg(long, default_value = "phone")]
        medium: String,
        #[arg(long)]
        json: bool,
    },
    /// Take up a call onrecord noticed (proposed): its consent flow begins.
    Take {
        id: Option<String>,
    },
    /// Not this call: forget a proposed call, leaving no trace.
    Dismiss {
        id: Option<String>,
    },
    /// You told the other side the call is recorded.
    Notice {
        /// me (you said it), company-message (their "this call may be recorded" played), or
        /// announcement (onrecord played one).
        #[arg(long, default_value = "me")]
        by: String,
        id: Option<String>,
    },
    /// Play an announcement into the call through the onrecord microphone: the notice (which
    /// tells the other side), or with --started "this call is now being recorded".
    Announce {
        /// "Recording has started" (only while recording) instead of the notice.
        #[arg(long)]
        started: bool,
        id: Option<String>,
    },
    /// The other side's answer to "may I record?".
    Consent {
        answer: Answer,
        id: Option<String>,
    },
    /// Start recording (only once the law and the answers allow it).
    Start {
        id: Option<String>,
    },
    /// The representative confirmed consent on the recording.
    Confirm {
        id: Option<String>,
    },
    /// Note something at this moment of the call ("case 12345").
    Mark {
        text: String,
        id: Option<String>,
    },
    /// Pause recording (while reading out a card number, say).
    Pause {
        id: Option<String>,
    },
    Resume {
        id: Option<String>,
    },
    /// A new representative takes over; recording holds until they are told (and consent).
    Transfer {
        #[arg(long, value_name = "NUMBER|ID", required = true)]
        them: Vec<String>,
        id: Option<String>,
    },
    /// The representative withdrew consent: recording stops for good.
    Withdraw {
        id: Option<String>,
    },
    /// End the call.
    Stop {
        id: Option<String>,
    },
    /// A call's state, parties and timeline.
    Show {
        id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every call.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Follow state changes as they happen (of one call until it ends, or of all calls).
    Watch {
        id: Option<String>,
    },
    /// Keep a call: retention never deletes it.
    Keep {
        id: Option<String>,
    },
    /// Delete an ended call's record.
    Remove {
        id: String,
    },
}

async fn calls(conn: &zbus::Connection) -> Result<CallsProxy<'static>, Fail> {
    Ok(CallsProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

async fn call(conn: &zbus::Connection, id: &str) -> Result<CallProxy<'static>, Fail> {
    Ok(CallProxy::builder(conn)
        .path(call_path(id))
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

/// The call an id names, or the one active call when none is given.
async fn resolve(conn: &zbus::Connection, id: Option<String>) -> Result<String, Fail> {
    let list = calls(conn).await?.list_calls().await?;
    match id {
        Some(id) => {
            if list.iter().any(|c| c.id == id) {
                Ok(id)
            } else {
                Err(Fail::Input(format!(
                    "org.onrecord.Error.UnknownCall: no call {id:?} (see `onrecordctl call list`)"
                )))
            }
        }
        None => {
            let active: Vec<&CallSummary> = list.iter().filter(|c| c.state.is_active()).collect();
            match active.as_slice() {
                [one] => Ok(one.id.clone()),
                [] => Err(Fail::Input(
                    "no active call: start one with `onrecordctl call new --them NUMBER`".into(),
                )),
                many => Err(Fail::Input(format!(
                    "{} calls are active ({}): name one",
                    many.len(),
                    many.iter()
                        .map(|c| format!("{} {:?}", c.id, c.label))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
    }
}

/// For commands that make sense on ended calls too (show, keep): as [`resolve`], but with no
/// id and no active call, the latest call.
async fn resolve_or_latest(conn: &zbus::Connection, id: Option<String>) -> Result<String, Fail> {
    match resolve(conn, id.clone()).await {
        Err(_) if id.is_none() => calls(conn)
            .await?
            .list_calls()
            .await?
            .pop()
            .map(|c| c.id)
            .ok_or_else(|| Fail::Input("no calls yet".into())),
        other => other,
    }
}

pub async fn run(conn: &zbus::Connection, cmd: CallCmd) -> Result<(), Fail> {
    match cmd {
        CallCmd::New {
            them,
            me,
            label,
            medium,
            json,
        } => {
            let mut options: HashMap<&str, zbus::Variant<'_>> = HashMap::new();
            options.insert("them", zbus::Variant::from(them.clone()));
            if let Some(me) = &me {
                options.insert("me", zbus::Variant::from(me.as_str()));
            }
            if let Some(label) = &label {
                options.insert("label", zbus::Variant::from(label.as_str()));
            }
            options.insert("medium", zbus::Variant::from(medium.as_str()));
            let (_, id) = calls(conn).await?.create_call(options).await?;
            let info = call(conn, &id).await?.describe().await?;
            if json {
                return crate::laws::print_json(&info);
            }
            let why = info
                .timeline
                .first()
                .map(|e| e.detail.clone())
                .unwrap_or_default();
            let mut o = format!("Call {} ({:?}) created.\n", info.id, info.label);
            o.push_str(&wrap(&format!("Requirement: {why}"), 0, WIDTH));
            o.push_str(&wrap(&format!("Next: {}", info.next_step), 0, WIDTH));
            emit(&o)
        }
        CallCmd::Show { id, json } => {
            let id = resolve_or_latest(conn, id).await?;
            let info = call(conn, &id).await?.describe().await?;
            if json {
                crate::laws::print_json(&info)
            } else {
                emit(&show(&info))
            }
        }
        CallCmd::List { json } => {
            let list = calls(conn).await?.list_calls().await?;
            if json {
                return crate::laws::print_json(&list);
            }
            let mut o = format!(
                "{:<13} {:<21} {:<17} {:<10} {}\n",
                "ID", "CREATED", "STATE", "NEEDS", "LABEL"
            );
            for c in &list {
                // Padded before painting: escape codes take no columns.
                o.push_str(&format!(
                    "{:<13} {:<21} {} {} {}\n",
                    c.id,
                    utc(c.created_us),
                    style::state(c.state.as_str()).replacen(
                        c.state.as_str(),
                        &format!("{:<17}", c.state.as_str()),
                        1
                    ),
                    style::requirement(c.requirement.as_str()).replacen(
                        c.requirement.as_str(),
                        &format!("{:<10}", c.requirement.as_str()),
                        1
                    ),
                    c.label
                ));
            }
            emit(&o)
        }
        CallCmd::Watch { id } => watch(conn, id).await,
        CallCmd::Keep { id } => {
            let id = resolve_or_latest(conn, id).await?;
            call(conn, &id).await?.keep().await?;
            emit(&format!(
                "Call {id} is kept: retention will never delete it.\n"
            ))
        }
        CallCmd::Remove { id } => {
            calls(conn).await?.remove_call(&id).await?;
            emit(&format!("Call {id} removed.\n"))
        }
        CallCmd::Dismiss { id } => {
            let id = resolve(conn, id).await?;
            call(conn, &id).await?.dismiss().await?;
            emit(&format!("Call {id} dismissed: nothing of it was kept.\n"))
        }
        step => {
            let (id, what) = step.target().expect("every other command is handled above");
            let id = resolve(conn, id.clone()).await?;
            let proxy = call(conn, &id).await?;
            match step {
                CallCmd::Take { .. } => proxy.take().await?,
                CallCmd::Notice { by, .. } => proxy.notice(&by).await?,
                CallCmd::Announce { started, .. } => {
                    proxy
                        .announce(if started { "started" } else { "notice" })
                        .await?
                }
                CallCmd::Consent { answer, .. } => {
                    proxy.consent(matches!(answer, Answer::Yes)).await?
                }
                CallCmd::Start { .. } => proxy.start().await?,
                CallCmd::Confirm { .. } => proxy.confirm().await?,
                CallCmd::Mark { text, .. } => proxy.mark(&text).await?,
                CallCmd::Pause { .. } => proxy.pause().await?,
                CallCmd::Resume { .. } => proxy.resume().await?,
                CallCmd::Transfer { them, .. } => {
                    let them: Vec<&str> = them.iter().map(String::as_str).collect();
                    proxy.transfer(&them).await?
                }
                CallCmd::Withdraw { .. } => proxy.withdraw().await?,
                CallCmd::Stop { .. } => proxy.stop().await?,
                _ => unreachable!("handled above"),
            }
            let info = proxy.describe().await?;
            let last = info
                .timeline
                .last()
                .map(|e| e.detail.clone())
                .unwrap_or_default();
            let mut o = format!(
                "Call {} {what}: {last}. Now {}.\n",
                info.id,
                style::state(info.state.as_str())
            );
            o.push_str(&wrap(&format!("Next: {}", info.next_step), 0, WIDTH));
            emit(&o)
        }
    }
}

impl CallCmd {
    /// For a step of the flow: the call it names (if any) and the step's name.
    fn target(&self) -> Option<(&Option<String>, &'static str)> {
        Some(match self {
            CallCmd::Take { id } => (id, "taken up"),
            CallCmd::Notice { id, .. } => (id, "notice"),
            CallCmd::Announce { id, .. } => (id, "announce"),
            CallCmd::Consent { id, .. } => (id, "consent"),
            CallCmd::Start { id } => (id, "start"),
            CallCmd::Confirm { id } => (id, "confirm"),
            CallCmd::Mark { id, .. } => (id, "mark"),
            CallCmd::Pause { id } => (id, "pause"),
            CallCmd::Resume { id } => (id, "resume"),
            CallCmd::Transfer { id, .. } => (id, "transfer"),
            CallCmd::Withdraw { id } => (id, "withdraw"),
            CallCmd::Stop { id } => (id, "stop"),
            CallCmd::New { .. }
            | CallCmd::Show { .. }
            | CallCmd::List { .. }
            | CallCmd::Watch { .. }
            | CallCmd::Remove { .. }
            | CallCmd::Dismiss { .. }
            | CallCmd::Keep { .. } => return None,
        })
    }
}

/// An offset in the recording as `+HH:MM:SS.s`, or blank before recording.
fn offset(us: i64) -> String {
    if us < 0 {
        return String::new();
    }
    let s = us as f64 / 1e6;
    format!(
        "+{:02}:{:02}:{:04.1}",
        (s / 3600.0) as u64,
        ((s % 3600.0) / 60.0) as u64,
        s % 60.0
    )
}

fn show(c: &CallInfo) -> String {
    let mut o = format!(
        "Call {} ({:?}): {}\n",
        c.id,
        c.label,
        style::state(c.state.as_str())
    );
    if let Some(created) = c.timeline.first() {
        o.push_str(&wrap(&format!("Requirement: {}", created.detail), 2, WIDTH));
    }
    o.push_str("Parties:\n");
    for p in &c.parties {
        let told = match p.notice {
            onrecord_interface::Told::No => "not told".to_owned(),
            by => format!("told by {by}"),
        };
        let answer = match p.consent {
            onrecord_interface::Answer::None => "no answer",
            onrecord_interface::Answer::Yes => "consented",
            onrecord_interface::Answer::No => "refused",
        };
        let gone = if p.present { "" } else { " (left)" };
        o.push_str(&format!("  {}{gone}: {told}, {answer}\n", p.party.input));
    }
    if c.started_us > 0 {
        o.push_str(&format!("Recording started {}\n", utc(c.started_us)));
    }
    o.push_str(&wrap(&format!("Next: {}", c.next_step), 2, WIDTH));
    o.push_str("Timeline:\n");
    for e in &c.timeline {
        o.push_str(&format!(
            "  {} {:>13} {:<11} {}\n",
            utc(e.utc_us),
            offset(e.audio_offset_us),
            e.kind.as_str(),
            e.detail
        ));
    }
    o
}

async fn watch(conn: &zbus::Connection, id: Option<String>) -> Result<(), Fail> {
    let mut rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.onrecord.Call1")
        .member("StateChanged");
    if let Some(id) = &id {
        resolve(conn, Some(id.clone())).await?;
        rule = rule.path(call_path(id));
    }
    let rule = rule.build()?;
    let mut stream = zbus::MessageStream::for_match_rule(rule, conn, None).await?;
    let what = id
        .as_deref()
        .map_or("all calls".to_owned(), |i| format!("call {i}"));
    emit(&format!("watching {what} (Ctrl-C to stop)\n"))?;
    while let Some(msg) = stream.next().await {
        let msg = msg?;
        let header = msg.header();
        let path = header.path().map(|p| p.to_string()).unwrap_or_default();
        let call_id = path.rsplit('/').next().unwrap_or_default().to_owned();
        let (old, new, reason): (String, String, String) = msg.body().deserialize()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        emit(&format!(
            "{} {call_id} {old} -> {new}: {reason}\n",
            utc(now)
        ))?;
        let ended = new
            .parse::<onrecord_interface::CallState>()
            .is_ok_and(|s| !s.is_active());
        if id.is_some() && ended {
            break;
        }
    }
    Ok(())
}
