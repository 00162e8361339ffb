//! Client proxies of the daemon's interfaces.

use crate::{Decision, Error, JurisdictionInfo, JurisdictionSummary, NumberInfo};
use zbus::proxy;

/// `org.onrecord.Daemon1`: who is serving.
#[proxy(
    interface = "org.onrecord.Daemon1",
    default_service = "org.onrecord.OnRecord1",
    default_path = "/org/onrecord/OnRecord1"
)]
pub trait Daemon {
    /// The daemon's release version (`0.1.0`): for people, not for compatibility checks.
    #[zbus(property)]
    fn version(&self) -> zbus::Result<String>;

    /// (major, minor) of the API; see [`crate::api_compatible`].
    #[zbus(property)]
    fn api_version(&self) -> zbus::Result<(u32, u32)>;
}

/// `org.onrecord.Laws1`: the law tables and the decisions made from them.
#[proxy(
    interface = "org.onrecord.Laws1",
    default_service = "org.onrecord.OnRecord1",
    default_path = "/org/onrecord/OnRecord1"
)]
pub trait Laws {
    /// Decides what consent a call needs. `me` is the user's jurisdiction id (empty: the
    /// configured one); each of `them` is a jurisdiction id or a phone number; `medium` is
    /// `phone`, `in-person` or `electronic` (empty: phone).
    fn evaluate(&self, me: &str, them: &[&str], medium: &str) -> Result<Decision, Error>;

    /// Reads a phone number and tells where it is.
    fn lookup_number(&self, number: &str) -> Result<NumberInfo, Error>;

    fn list_jurisdictions(&self) -> Result<Vec<JurisdictionSummary>, Error>;

    fn get_jurisdiction(&self, id: &str) -> Result<JurisdictionInfo, Error>;

    /// Re-reads the tables now; returns the new digest, or `ReloadFailed` and keeps the old.
    fn reload(&self) -> Result<String, Error>;

    #[zbus(property)]
    fn tables_digest(&self) -> zbus::Result<String>;

    /// When the tables in use were loaded, in microseconds since the Unix epoch (UTC).
    #[zbus(property)]
    fn loaded_at(&self) -> zbus::Result<u64>;

    #[zbus(property)]
    fn jurisdiction_count(&self) -> zbus::Result<u32>;

    /// The error of the last reload that failed, empty when the last reload succeeded.
    #[zbus(property)]
    fn last_reload_error(&self) -> zbus::Result<String>;

    /// The user's configured jurisdiction, or empty.
    #[zbus(property)]
    fn user_jurisdiction(&self) -> zbus::Result<String>;

    /// New tables are in use.
    #[zbus(signal)]
    fn tables_changed(&self, digest: String, jurisdiction_count: u32) -> zbus::Result<()>;

    /// A reload failed; the previous tables stay in use.
    #[zbus(signal)]
    fn reload_failed(&self, error: String) -> zbus::Result<()>;
}
