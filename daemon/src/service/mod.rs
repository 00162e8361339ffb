//! The running daemon: one owner task holds all mutable state (STYLE 2); D-Bus handlers, the
//! file watcher and signal handlers only send it [`Command`]s, and read the immutable snapshot
//! it publishes.

mod archive_dbus;
mod calls_dbus;
mod dbus;
mod decide;
pub mod detect;
pub mod mic;
mod notify;
mod owner;
mod rules_dbus;
mod watch;

pub use archive_dbus::ArchiveIface;
pub use calls_dbus::{CallIface, CallInput, CallsIface};
pub use dbus::{DaemonIface, LawsIface};
pub use owner::{Command, Owner, Published};
pub use rules_dbus::RulesIface;
pub use watch::watch_dirs;

use std::path::PathBuf;

/// Where the daemon reads and writes.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The shipped law tables.
    pub laws_dir: PathBuf,
    /// The user's overlay (`$XDG_CONFIG_HOME/onrecord/laws`).
    pub user_laws_dir: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// The template of call directory names (checked).
    pub naming: String,
    /// The configuration file, whose `[[rule]]`s are re-read on every reload.
    pub config: Option<PathBuf>,
}
