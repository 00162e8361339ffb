//! Wire types of `org.onrecord.Archive1` (API 1.8).

use serde::{Deserialize, Serialize};
use zbus::Type;

/// One call's archive: `(ssttuuus)`.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct ArchiveEntry {
    pub id: String,
    /// `pending` (objects left to upload or confirm) or `archived`.
    pub state: String,
    /// When every object was confirmed, µs since the epoch, or 0.
    pub archived_us: u64,
    /// The call's directory.
    pub directory: String,
    /// Objects confirmed by the storage, of `objects`.
    pub confirmed: u32,
    pub objects: u32,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed, or empty.
    pub last_error: String,
}
