//! Client proxies of the daemon's interfaces.

use crate::{
    ArchiveEntry, CallInfo, CallParty, CallRule, CallRuleMatch, CallSummary, Decision, Error,
    JurisdictionInfo, JurisdictionSummary, NumberInfo, TimelineEntry,
};
use std::collections::HashMap;
use zbus::OwnedObjectPath;
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

    /// Every plugin file found at start, loaded or not, and why.
    #[zbus(property)]
    fn plugins(&self) -> zbus::Result<Vec<crate::PluginInfo>>;

    /// Records the user's own announcement (`notice` or `started`) from their microphone for
    /// `seconds`; returns where it is kept and how long it is (API 1.7).
    fn record_announcement(&self, what: &str, seconds: f64) -> Result<(String, f64), Error>;
    /// The Ed25519 public key (hex) that signs this installation's sealed evidence.
    #[zbus(property)]
    fn public_key(&self) -> zbus::Result<String>;

    /// The devices the capture plugins can open now, and why a plugin could not list its own
    /// (API 1.3).
    fn list_devices(&self) -> Result<(Vec<crate::DeviceInfo>, Vec<String>), Error>;
}

/// `org.onrecord.Rules1`: the rules per number of config.toml (API 1.6).
#[proxy(
    interface = "org.onrecord.Rules1",
    default_service = "org.onrecord.OnRecord1",
    default_path = "/org/onrecord/OnRecord1"
)]
pub trait Rules {
    /// Every rule in force, in order.
    fn list(&self) -> Result<Vec<CallRule>, Error>;
    /// Which rule decides a call with `number` (empty: none) noticed in `application` (empty:
    /// created by hand), and why.
    fn test(&self, number: &str, application: &str) -> Result<CallRuleMatch, Error>;
    /// How many rules are in force.
    #[zbus(property)]
    fn count(&self) -> zbus::Result<u32>;
    /// Why the last re-read of config.toml's rules failed (the last good rules stay), or empty.
    #[zbus(property)]
    fn last_error(&self) -> zbus::Result<String>;
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

/// `org.onrecord.Calls1`: creating and listing calls.
#[proxy(
    interface = "org.onrecord.Calls1",
    default_service = "org.onrecord.OnRecord1",
    default_path = "/org/onrecord/OnRecord1"
)]
pub trait Calls {
    /// Creates a call. Options: `them` (as, required: numbers or jurisdiction ids), `me` (s),
    /// `label` (s), `medium` (s). Returns the call's object path and id.
    fn create_call(
        &self,
        options: HashMap<&str, zbus::Variant<'_>>,
    ) -> Result<(OwnedObjectPath, String), Error>;

    /// Every call the daemon knows, active and ended, oldest first.
    fn list_calls(&self) -> Result<Vec<CallSummary>, Error>;

    /// Forgets an ended call and deletes its record.
    fn remove_call(&self, id: &str) -> Result<(), Error>;

    #[zbus(signal)]
    fn call_added(&self, id: String, path: OwnedObjectPath) -> zbus::Result<()>;

    #[zbus(signal)]
    fn call_removed(&self, id: String, path: OwnedObjectPath) -> zbus::Result<()>;
}

/// `org.onrecord.Call1`: one call at `/org/onrecord/OnRecord1/calls/<id>`.
#[proxy(
    interface = "org.onrecord.Call1",
    default_service = "org.onrecord.OnRecord1"
)]
pub trait Call {
    /// Records that the present parties were told: `by` is `me`, `company-message` or
    /// `announcement` (empty: me).
    fn notice(&self, by: &str) -> Result<(), Error>;
    /// Records the present parties' answer.
    fn consent(&self, yes: bool) -> Result<(), Error>;
    fn start(&self) -> Result<(), Error>;
    /// The representative confirmed consent on the recording.
    fn confirm(&self) -> Result<(), Error>;
    fn mark(&self, text: &str) -> Result<(), Error>;
    fn pause(&self) -> Result<(), Error>;
    fn resume(&self) -> Result<(), Error>;
    /// A new representative replaces the present ones.
    fn transfer(&self, them: &[&str]) -> Result<(), Error>;
    fn withdraw(&self) -> Result<(), Error>;
    fn stop(&self) -> Result<(), Error>;
    /// Takes up a proposed call: its consent flow begins (API 1.6).
    fn take(&self) -> Result<(), Error>;
    /// Not this call: a proposed call is forgotten, leaving no trace (API 1.6).
    fn dismiss(&self) -> Result<(), Error>;
    /// Plays an announcement into the call through the virtual microphone: `what` is
    /// `notice` (empty: the notice; it tells the present parties) or `started` ("recording
    /// has started"). Answers once it plays (API 1.7).
    fn announce(&self, what: &str) -> Result<(), Error>;
    /// Everything about the call in one reply.
    fn describe(&self) -> Result<CallInfo, Error>;
    /// Keeps the call: retention never deletes it.
    fn keep(&self) -> Result<(), Error>;
    #[zbus(property)]
    fn kept(&self) -> zbus::Result<bool>;

    #[zbus(property)]
    fn id(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn label(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn requirement(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn decision(&self) -> zbus::Result<Decision>;
    #[zbus(property)]
    fn next_step(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn parties(&self) -> zbus::Result<Vec<CallParty>>;
    #[zbus(property)]
    fn timeline(&self) -> zbus::Result<Vec<TimelineEntry>>;
    #[zbus(property)]
    fn started_at(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn recording_files(&self) -> zbus::Result<Vec<String>>;
    /// The call's directory (record, audio, journals, sealed manifest).
    #[zbus(property)]
    fn directory(&self) -> zbus::Result<String>;
    /// What noticed the call: empty (a client created it), `modem` or `pipewire` (API 1.6).
    #[zbus(property)]
    fn detected_by(&self) -> zbus::Result<String>;
    /// The application or device the call was noticed on ("Linphone", a modem's model), or
    /// empty (API 1.6).
    #[zbus(property)]
    fn application(&self) -> zbus::Result<String>;
    /// The far side is on hold (API 1.4).
    #[zbus(property)]
    fn on_hold(&self) -> zbus::Result<bool>;
    /// When the present hold began, µs since the epoch (UTC), or 0 (API 1.4).
    #[zbus(property)]
    fn hold_since(&self) -> zbus::Result<u64>;

    /// A hold began: when (UTC µs) and where in the recording (µs) (API 1.4).
    #[zbus(signal)]
    fn hold_started(&self, since: u64, offset_us: u64) -> zbus::Result<()>;
    /// A hold ended: when it began and ended (UTC µs) (API 1.4).
    #[zbus(signal)]
    fn hold_ended(&self, since: u64, ended: u64) -> zbus::Result<()>;

    /// `StateChanged`: the state changed; `reason` is the timeline entry's detail. (Named so
    /// in Rust because the `State` property's change stream is `receive_state_changed`.)
    #[zbus(signal, name = "StateChanged")]
    fn call_state_changed(&self, old: String, new: String, reason: String) -> zbus::Result<()>;
}

/// `org.onrecord.Archive1`: sealed calls in the `[archive]` bucket (API 1.8).
#[proxy(
    interface = "org.onrecord.Archive1",
    default_service = "org.onrecord.OnRecord1",
    default_path = "/org/onrecord/OnRecord1"
)]
pub trait Archive {
    /// Every call with an archive record: pending or archived, how far, the last error.
    fn status(&self) -> Result<Vec<ArchiveEntry>, Error>;
    /// Tries the pending calls now rather than at their next backoff (`id` names one; empty:
    /// all).
    fn retry(&self, id: &str) -> Result<(), Error>;
    /// Downloads call `id`'s archived objects and checks them: each against the local file,
    /// and the downloaded copy as evidence (signature, hashes, chain). Whether all held, and
    /// every check.
    fn verify(&self, id: &str) -> Result<(bool, Vec<(bool, String)>), Error>;
    /// `s3://bucket/prefix`, or empty when no `[archive]` is configured.
    #[zbus(property)]
    fn destination(&self) -> zbus::Result<String>;
}

/// The object path of a call.
pub fn call_path(id: &str) -> String {
    format!("{}/calls/{id}", crate::OBJECT_PATH)
}
