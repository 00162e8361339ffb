//! Detectors: where onrecord notices calls to propose (STYLE 2: they only send the owner
//! `Command::Detected`). A detector that cannot run (no system bus) is logged and costs only
//! its calls.

mod gnome_calls;
mod modem;
pub mod pipewire;
pub mod pw_wire;
pub mod streams;

use super::owner::Command;
use crate::config::Detect;
use std::collections::HashMap;
use tokio::sync::mpsc;
use zbus::OwnedVariant;

/// A D-Bus object's properties, as `GetAll`, `GetManagedObjects` or `PropertiesChanged` give
/// them.
type Properties = HashMap<String, OwnedVariant>;

/// What a watch of a service's objects listens to: every signal under `root` (one stream keeps
/// their order), and the changes of `service`'s owner (it started or went away). Subscribed
/// before the watch's first scan, so nothing falls between the two.
async fn watch_streams(
    conn: &zbus::Connection,
    service: &'static str,
    root: &'static str,
) -> zbus::Result<(zbus::MessageStream, zbus::MessageStream)> {
    use zbus::{MatchRule, MessageStream, message::Type};
    let signals = MatchRule::builder()
        .msg_type(Type::Signal)
        .path_namespace(root)
        .build()?;
    let owners = MatchRule::builder()
        .msg_type(Type::Signal)
        .sender("org.freedesktop.DBus")
        .interface("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .arg(0, service)
        .build()?;
    Ok((
        MessageStream::for_match_rule(signals, conn, None).await?,
        MessageStream::for_match_rule(owners, conn, None).await?,
    ))
}

/// Every object `service` has under its `ObjectManager` at `root`, with its interfaces'
/// properties.
type Objects = HashMap<zbus::OwnedObjectPath, HashMap<String, Properties>>;

async fn managed_objects(
    conn: &zbus::Connection,
    service: &str,
    root: &str,
) -> zbus::Result<Objects> {
    conn.call_method(
        Some(service),
        root,
        Some("org.freedesktop.DBus.ObjectManager"),
        "GetManagedObjects",
        &(),
    )
    .await?
    .body()
    .deserialize()
}

/// Property `key` as a `T`, when it is there and of that type.
fn property<T: TryFrom<OwnedVariant>>(props: &Properties, key: &str) -> Option<T> {
    T::try_from(props.get(key)?.try_clone().ok()?).ok()
}

/// Starts the detectors `[detect]` leaves on; GNOME Calls is watched on `session`.
pub fn start(config: Detect, session: &zbus::Connection, commands: mpsc::Sender<Command>) {
    if config.gnome_calls {
        tokio::spawn(gnome_calls::watch(
            session.clone(),
            commands.clone(),
            config.modem,
        ));
    }
    if config.pipewire {
        let (seen, events) = mpsc::unbounded_channel();
        tokio::spawn(pipewire::track(events, commands.clone()));
        pipewire::watch(seen);
    }
    if config.modem {
        tokio::spawn(async move {
            match zbus::Connection::system().await {
                Ok(conn) => {
                    if let Err(e) = modem::watch(conn, commands).await {
                        tracing::warn!("modem calls are not detected: {e}");
                    }
                }
                Err(e) => tracing::info!("no system bus ({e}): modem calls are not detected"),
            }
        });
    }
}
