//! Calls in GNOME Calls (`org.gnome.Calls` on the session bus): its call objects under an
//! `ObjectManager` at `/org/gnome/Calls`, with `org.gnome.Calls.Call`'s `Id` (the number or SIP
//! address), `Inbound`, `State` and `Protocol`. This is where a SIP call's number comes from;
//! its audio is on PipeWire, where the same call is matched by GNOME Calls' process (the
//! owner does the matching). Cellular calls (`tel`) are left to ModemManager when that is
//! watched, which sees the same call. Driven by signals alone, like the modem watch.

use super::super::owner::{Command, Detection};
use super::{Properties, property};
use crate::calls::Detected;
use futures_util::StreamExt;
use onrecord_interface::DetectedBy;
use std::collections::HashMap;
use tokio::sync::mpsc;
use zbus::Connection;
use zbus::OwnedObjectPath;

const SERVICE: &str = "org.gnome.Calls";
const ROOT: &str = "/org/gnome/Calls";
const CALL: &str = "org.gnome.Calls.Call";
const OBJECT_MANAGER: &str = "org.freedesktop.DBus.ObjectManager";

/// `CuiCallState`: the call is over.
const DISCONNECTED: u32 = 7;

/// The number in a call's `Id`, and the address to show when it holds none: `+14155550123`,
/// `tel:+1 415 555 0123`, `sip:+14155550123@sip.example.net;user=phone` give a number;
/// `sip:alice@example.org` an address.
pub fn read_id(id: &str) -> (Option<String>, String) {
    let id = id.trim();
    let lower = id.to_ascii_lowercase();
    let rest = ["sips:", "sip:", "tel:"]
        .iter()
        .find_map(|scheme| lower.starts_with(scheme).then(|| &id[scheme.len()..]))
        .unwrap_or(id);
    let user = rest.split(['@', ';']).next().unwrap_or_default().trim();
    let digits = user.chars().filter(char::is_ascii_digit).count();
    let dialable = user
        .chars()
        .all(|c| c.is_ascii_digit() || "+-. ()".contains(c));
    if dialable && digits >= 3 {
        (Some(user.to_owned()), String::new())
    } else {
        (None, id.to_owned())
    }
}

fn text(props: &Properties, key: &str) -> String {
    property(props, key).unwrap_or_default()
}

/// What one call object says.
struct Seen {
    id: String,
    inbound: Option<bool>,
    state: Option<u32>,
    protocol: String,
}

impl Seen {
    fn of(props: &Properties) -> Seen {
        Seen {
            id: text(props, "Id"),
            inbound: property(props, "Inbound"),
            state: property(props, "State"),
            protocol: text(props, "Protocol"),
        }
    }
}

/// Watches GNOME Calls on `conn` (the session bus) for good. `tel` calls are skipped when
/// `modem` is watched.
pub async fn watch(conn: Connection, commands: mpsc::Sender<Command>, modem: bool) {
    let mut watch = Watch {
        conn,
        commands,
        modem,
        owner: None,
        pid: None,
        known: Vec::new(),
    };
    if let Err(e) = watch.run().await {
        tracing::warn!("calls in GNOME Calls are not detected: {e}");
    }
}

struct Watch {
    conn: Connection,
    commands: mpsc::Sender<Command>,
    /// Whether ModemManager's calls are watched (then `tel` calls are its).
    modem: bool,
    /// GNOME Calls' unique name on the bus, while it runs: only its signals count.
    owner: Option<String>,
    /// Its process.
    pid: Option<u32>,
    /// Call objects proposed and not yet ended.
    known: Vec<OwnedObjectPath>,
}

impl Watch {
    async fn run(&mut self) -> zbus::Result<()> {
        let (mut signals, mut owners) = super::watch_streams(&self.conn, SERVICE, ROOT).await?;
        self.appeared().await;
        tracing::info!("detecting calls in GNOME Calls");
        loop {
            tokio::select! {
                Some(Ok(msg)) = signals.next() => self.signal(&msg).await,
                Some(Ok(msg)) = owners.next() => {
                    let Ok((_, _, new)) = msg.body().deserialize::<(String, String, String)>()
                    else {
                        continue;
                    };
                    // Whatever GNOME Calls had is over when it goes (or is replaced).
                    for call in std::mem::take(&mut self.known) {
                        self.ended(&call, "GNOME Calls stopped").await;
                    }
                    self.owner = None;
                    self.pid = None;
                    if !new.is_empty() {
                        self.appeared().await;
                    }
                }
                else => return Ok(()),
            }
        }
    }

    /// GNOME Calls is (or may be) on the bus: who it is, and its calls now.
    async fn appeared(&mut self) {
        let dbus = match zbus::fdo::DBusProxy::new(&self.conn).await {
            Ok(d) => d,
            Err(e) => return tracing::warn!("cannot ask the bus about GNOME Calls: {e}"),
        };
        let name = zbus::names::BusName::from_static_str(SERVICE).expect("a valid name");
        let Ok(owner) = dbus.get_name_owner(name.clone()).await else {
            return; // Not running: its calls appear when it does.
        };
        self.owner = Some(owner.to_string());
        self.pid = dbus.get_connection_unix_process_id(name).await.ok();
        let objects = match super::managed_objects(&self.conn, SERVICE, ROOT).await {
            Ok(o) => o,
            Err(e) => return tracing::debug!("GNOME Calls lists no calls ({e})"),
        };
        for (path, ifaces) in objects {
            if let Some(props) = ifaces.get(CALL) {
                self.began(&path, Seen::of(props)).await;
            }
        }
    }

    async fn signal(&mut self, msg: &zbus::Message) {
        let header = msg.header();
        let from_calls = header
            .sender()
            .is_some_and(|s| self.owner.as_deref() == Some(s.as_str()));
        let (true, Some(interface), Some(member), Some(path)) = (
            from_calls,
            header.interface(),
            header.member(),
            header.path(),
        ) else {
            return;
        };
        match (interface.as_str(), member.as_str()) {
            (OBJECT_MANAGER, "InterfacesAdded") => {
                let Ok((call, ifaces)) = msg
                    .body()
                    .deserialize::<(OwnedObjectPath, HashMap<String, Properties>)>()
                else {
                    return;
                };
                if let Some(props) = ifaces.get(CALL) {
                    self.began(&call, Seen::of(props)).await;
                }
            }
            (OBJECT_MANAGER, "InterfacesRemoved") => {
                if let Ok((call, ifaces)) =
                    msg.body().deserialize::<(OwnedObjectPath, Vec<String>)>()
                    && ifaces.iter().any(|i| i == CALL)
                {
                    self.ended(&call, "the call is gone from GNOME Calls").await;
                }
            }
            ("org.freedesktop.DBus.Properties", "PropertiesChanged") => {
                let Ok((iface, changed, _)) = msg
                    .body()
                    .deserialize::<(String, Properties, Vec<String>)>()
                else {
                    return;
                };
                if iface != CALL {
                    return;
                }
                let path = OwnedObjectPath::from(path.to_owned());
                let seen = Seen::of(&changed);
                if seen.state == Some(DISCONNECTED) {
                    self.ended(&path, "the call was hung up in GNOME Calls")
                        .await;
                } else if !seen.id.is_empty()
                    && let (Some(number), _) = read_id(&seen.id)
                {
                    self.send(Detection::Number {
                        by: DetectedBy::GnomeCalls,
                        key: path.to_string(),
                        number,
                    })
                    .await;
                }
            }
            _ => {}
        }
    }

    async fn began(&mut self, call: &OwnedObjectPath, seen: Seen) {
        if seen.state == Some(DISCONNECTED) || self.known.contains(call) {
            return;
        }
        if self.modem && seen.protocol.eq_ignore_ascii_case("tel") {
            tracing::debug!(call = %call.as_str(), "a cellular call in GNOME Calls: ModemManager proposes it");
            return;
        }
        self.known.push(call.clone());
        let (number, address) = read_id(&seen.id);
        let direction = match seen.inbound {
            Some(true) => "incoming",
            Some(false) => "outgoing",
            None => "",
        };
        let detected = Detected {
            by: DetectedBy::GnomeCalls,
            key: call.to_string(),
            application: "GNOME Calls".into(),
            direction: direction.into(),
            far_side: String::new(),
            microphone: String::new(),
            pipewire_app: String::new(),
            address,
            pid: self.pid,
            linked: Vec::new(),
        };
        self.send(Detection::Began { detected, number }).await;
    }

    async fn ended(&mut self, call: &OwnedObjectPath, why: &str) {
        self.known.retain(|c| c != call);
        self.send(Detection::Ended {
            by: DetectedBy::GnomeCalls,
            key: call.to_string(),
            why: why.to_owned(),
        })
        .await;
    }

    async fn send(&self, detection: Detection) {
        let _ = self.commands.send(Command::Detected(detection)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::read_id;

    #[test]
    fn a_number_is_read_from_an_id_and_an_address_kept_otherwise() {
        let number = |id: &str| read_id(id).0;
        assert_eq!(number("+14155550123").as_deref(), Some("+14155550123"));
        assert_eq!(
            number("tel:+1 415 555 0123").as_deref(),
            Some("+1 415 555 0123")
        );
        assert_eq!(
            number("sip:+14155550123@sip.example.net;user=phone").as_deref(),
            Some("+14155550123")
        );
        assert_eq!(
            number("SIPS:030-1234567@example.de").as_deref(),
            Some("030-1234567")
        );
        assert_eq!(
            read_id("sip:alice@example.org"),
            (None, "sip:alice@example.org".to_owned())
        );
        // Too short to be a number (an extension or a service code), or nothing at all.
        assert_eq!(read_id("sip:12@pbx").0, None);
        assert_eq!(read_id("").0, None);
    }
}
