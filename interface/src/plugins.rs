//! Wire types of the plugins listing (`org.onrecord.Daemon1.Plugins`).

use serde::{Deserialize, Serialize};
use zbus::Type;

string_enum! {
    /// What became of a plugin file.
    PluginStatus {
        Loaded = "loaded",
        /// Not loaded: see the detail.
        Refused = "refused",
        /// Loaded, but broken.
        Failed = "failed",
        /// Another plugin with its id was found first.
        Shadowed = "shadowed",
    }
}

/// One plugin file the daemon found, loaded or not.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct PluginInfo {
    /// The plugin's id (`storage-wav`); empty when it could not be read.
    pub id: String,
    pub version: String,
    pub description: String,
    pub path: String,
    /// `capture-source.v1`, `storage-backend.v1`, `device-list.v1`, `storage-reader.v1`.
    pub interfaces: Vec<String>,
    pub status: PluginStatus,
    pub detail: String,
}

/// One device a capture plugin can open (`org.onrecord.Daemon1.ListDevices`, API 1.3).
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct DeviceInfo {
    /// The capture plugin that opens it (`capture-cpal`).
    pub plugin: String,
    /// What `[capture] microphone` or `far_side` takes (`pipewire:far_side`, `alsa:clip`).
    pub id: String,
    /// A human name.
    pub name: String,
    /// `input` (a microphone) or `monitor` (what an output plays: the far side of a softphone).
    pub kind: String,
    pub channels: u32,
    pub rates: Vec<u32>,
    /// `i16`, `f32`.
    pub formats: Vec<String>,
    /// The system's default of its kind.
    pub is_default: bool,
}
