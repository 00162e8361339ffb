//! Modem voice calls, from ModemManager (`org.freedesktop.ModemManager1`) on the system bus:
//! what GNOME Calls and Plasma Dialer use on Linux phones and laptops with a modem. A call
//! object's `Number`, `Direction` and `State` arrive with it, so the law is decided at once.
//! The watch is driven by signals alone: nothing wakes up while no call comes.

use super::super::owner::{Command, Detection};
use super::{Properties, property};
use crate::calls::Detected;
use futures_util::StreamExt;
use onrecord_interface::DetectedBy;
use tokio::sync::mpsc;
use zbus::Connection;
use zbus::OwnedObjectPath;

const SERVICE: &str = "org.freedesktop.ModemManager1";
const ROOT: &str = "/org/freedesktop/ModemManager1";
const MODEM: &str = "org.freedesktop.ModemManager1.Modem";
const VOICE: &str = "org.freedesktop.ModemManager1.Modem.Voice";
const CALL: &str = "org.freedesktop.ModemManager1.Call";

/// `MMCallState`: the call is over.
const TERMINATED: i32 = 7;

/// `MMCallDirection` in words.
fn direction(d: i32) -> &'static str {
    match d {
        1 => "incoming",
        2 => "outgoing",
        _ => "",
    }
}

/// Watches ModemManager's calls on `conn` (the system bus) until the bus goes away: each call
/// that appears is proposed, each that terminates or disappears ends. Calls already there
/// when the watch begins are proposed too.
pub async fn watch(conn: Connection, commands: mpsc::Sender<Command>) -> zbus::Result<()> {
    // One stream for every signal under ModemManager's objects keeps their order: a call's
    // StateChanged comes before its modem's CallDeleted.
    let (mut signals, mut owners) = super::watch_streams(&conn, SERVICE, ROOT).await?;
    let mut known: Vec<OwnedObjectPath> = Vec::new();
    scan(&conn, &commands, &mut known).await;
    tracing::info!("detecting modem calls (ModemManager)");
    loop {
        tokio::select! {
            Some(Ok(msg)) = signals.next() => {
                let header = msg.header();
                let (Some(interface), Some(member), Some(path)) =
                    (header.interface(), header.member(), header.path())
                else {
                    continue;
                };
                let path = OwnedObjectPath::from(path.to_owned());
                match (interface.as_str(), member.as_str()) {
                    (VOICE, "CallAdded") => {
                        let Ok((call,)) = msg.body().deserialize::<(OwnedObjectPath,)>() else {
                            continue;
                        };
                        let model = modem_model(&conn, path.as_str()).await;
                        began(&conn, &commands, &call, &model, &mut known).await;
                    }
                    (VOICE, "CallDeleted") => {
                        let Ok((call,)) = msg.body().deserialize::<(OwnedObjectPath,)>() else {
                            continue;
                        };
                        ended(&commands, &call, "the modem call is gone", &mut known).await;
                    }
                    // A number read after the call rang (the caller's id arrives late).
                    ("org.freedesktop.DBus.Properties", "PropertiesChanged") => {
                        let Ok((iface, changed, _)) = msg
                            .body()
                            .deserialize::<(String, Properties, Vec<String>)>()
                        else {
                            continue;
                        };
                        let number = property::<String>(&changed, "Number")
                            .filter(|n| !n.trim().is_empty());
                        if let (CALL, Some(number)) = (iface.as_str(), number) {
                            let _ = commands
                                .send(Command::Detected(Detection::Number {
                                    by: DetectedBy::Modem,
                                    key: path.to_string(),
                                    number,
                                }))
                                .await;
                        }
                    }
                    (CALL, "StateChanged") => {
                        if let Ok((_, new, _)) = msg.body().deserialize::<(i32, i32, u32)>()
                            && new == TERMINATED
                        {
                            ended(&commands, &path, "the modem call was hung up", &mut known)
                                .await;
                        }
                    }
                    _ => {}
                }
            }
            Some(Ok(msg)) = owners.next() => {
                // ModemManager went away: its calls are over. When it comes back, its calls
                // are proposed again.
                if let Ok((_, _, new)) = msg.body().deserialize::<(String, String, String)>() {
                    if new.is_empty() {
                        for call in std::mem::take(&mut known) {
                            let _ = commands.send(Command::Detected(Detection::Ended {
                                by: DetectedBy::Modem,
                                key: call.to_string(),
                                why: "ModemManager stopped".into(),
                            })).await;
                        }
                    } else {
                        scan(&conn, &commands, &mut known).await;
                    }
                }
            }
            else => return Ok(()),
        }
    }
}

/// Proposes every call of every modem ModemManager has now.
async fn scan(
    conn: &Connection,
    commands: &mpsc::Sender<Command>,
    known: &mut Vec<OwnedObjectPath>,
) {
    let objects = match super::managed_objects(conn, SERVICE, ROOT).await {
        Ok(o) => o,
        Err(e) => {
            tracing::debug!("ModemManager is not there ({e}); its calls appear when it does");
            return;
        }
    };
    for ifaces in objects.values() {
        let Some(voice) = ifaces.get(VOICE) else {
            continue;
        };
        let model = ifaces.get(MODEM).map(model_of).unwrap_or_default();
        let paths: Vec<OwnedObjectPath> = property(voice, "Calls").unwrap_or_default();
        for call in paths {
            began(conn, commands, &call, &model, known).await;
        }
    }
}

/// "QUECTEL EG25", from a modem's `Manufacturer` and `Model`.
fn model_of(modem: &Properties) -> String {
    let text = |key: &str| property::<String>(modem, key).unwrap_or_default();
    [text("Manufacturer"), text("Model")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn modem_model(conn: &Connection, modem: &str) -> String {
    properties(conn, modem, MODEM)
        .await
        .map(|p| model_of(&p))
        .unwrap_or_default()
}

async fn properties(conn: &Connection, path: &str, interface: &str) -> zbus::Result<Properties> {
    let reply = conn
        .call_method(
            Some(SERVICE),
            path,
            Some("org.freedesktop.DBus.Properties"),
            "GetAll",
            &(interface,),
        )
        .await?;
    reply.body().deserialize()
}

/// A call appeared: proposed with its number and direction, unless it is already over.
async fn began(
    conn: &Connection,
    commands: &mpsc::Sender<Command>,
    call: &OwnedObjectPath,
    model: &str,
    known: &mut Vec<OwnedObjectPath>,
) {
    let props = match properties(conn, call.as_str(), CALL).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(call = %call.as_str(), "cannot read the modem call: {e}");
            return;
        }
    };
    let int = |key: &str| property::<i32>(&props, key).unwrap_or(0);
    if int("State") == TERMINATED {
        return;
    }
    let number = property::<String>(&props, "Number").filter(|n| !n.trim().is_empty());
    if !known.contains(call) {
        known.push(call.clone());
    }
    let detected = Detected {
        by: DetectedBy::Modem,
        key: call.to_string(),
        application: model.to_owned(),
        direction: direction(int("Direction")).to_owned(),
        far_side: String::new(),
        microphone: String::new(),
        pipewire_app: String::new(),
        address: String::new(),
        pid: None,
        linked: Vec::new(),
    };
    let _ = commands
        .send(Command::Detected(Detection::Began { detected, number }))
        .await;
}

async fn ended(
    commands: &mpsc::Sender<Command>,
    call: &OwnedObjectPath,
    why: &str,
    known: &mut Vec<OwnedObjectPath>,
) {
    known.retain(|c| c != call);
    let _ = commands
        .send(Command::Detected(Detection::Ended {
            by: DetectedBy::Modem,
            key: call.to_string(),
            why: why.to_owned(),
        }))
        .await;
}
