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
use tokio::sync::mpsc;

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
