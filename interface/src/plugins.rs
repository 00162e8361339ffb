//! Wire types of the plugins listing (`org.onrecord.Daemon1.Plugins`).

use serde::{Deserialize, Serialize};
use zbus::Type;

/// One plugin file the daemon found, loaded or not.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct PluginInfo {
    /// The plugin's id (`storage-wav`); empty when it could not be read.
    pub id: String,
    pub version: String,
    pub description: String,
    pub path: String,
    /// `capture-source.v1`, `storage-backend.v1`.
    pub interfaces: Vec<String>,
    /// `loaded`, `refused` (not loaded: see detail), `failed` (loaded, but broken) or
    /// `shadowed` (another plugin with its id was found first).
    pub status: String,
    pub detail: String,
}
