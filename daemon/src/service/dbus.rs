//! The D-Bus interfaces at `/org/onrecord/OnRecord1`. Handlers read the published snapshot and
//! send commands to the owner; they hold no state of their own.

use super::decide::{check_len, country_of, decide, no_arguments, parse_medium};
use super::{Command, Published};
use crate::laws::{self, view};
use onrecord_interface::{
    API_VERSION, Decision, Error, JurisdictionInfo, JurisdictionSummary, NumberInfo, PluginInfo,
};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use zbus::interface;
use zbus::object_server::SignalEmitter;

pub struct DaemonIface {
    plugins: Arc<crate::plugins::Registry>,
    public_key: String,
    data_dir: std::path::PathBuf,
}

impl DaemonIface {
    pub fn new(
        plugins: Arc<crate::plugins::Registry>,
        public_key: String,
        data_dir: std::path::PathBuf,
    ) -> Self {
        DaemonIface {
            plugins,
            public_key,
            data_dir,
        }
    }
}

#[interface(name = "org.onrecord.Daemon1")]
impl DaemonIface {
    /// The devices the capture plugins can open now (API 1.3), and for each plugin that could
    /// not list its devices, why.
    async fn list_devices(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> Result<(Vec<onrecord_interface::DeviceInfo>, Vec<String>), Error> {
        no_arguments(&header)?;
        let registry = self.plugins.clone();
        // Enumeration talks to the sound server: not on the async threads.
        let found = tokio::task::spawn_blocking(move || registry.devices())
            .await
            .map_err(|e| Error::Internal(format!("device listing failed: {e}")))?;
        let (mut devices, mut problems) = (Vec::new(), Vec::new());
        for d in found {
            match d {
                Ok((plugin, d)) => devices.push(onrecord_interface::DeviceInfo {
                    plugin,
                    id: d.id,
                    name: d.name,
                    kind: d.kind.as_str().to_owned(),
                    channels: d.channels,
                    rates: d.rates,
                    formats: d.formats,
                    is_default: d.is_default,
                }),
                Err(e) => problems.push(e),
            }
        }
        Ok((devices, problems))
    }

    /// Records the user's own announcement from their microphone (the default source) for
    /// `seconds` (0.5 to 120): `what` is `notice` (or empty) or `started`. From then on it is
    /// played instead of the default clip, unless the configuration names a file (API 1.7).
    /// Returns where it is kept and how long it is.
    #[zbus(out_args("path", "seconds"))]
    async fn record_announcement(&self, what: &str, seconds: f64) -> Result<(String, f64), Error> {
        let clip = match what {
            "" | "notice" => super::owner::Clip::Notice,
            "started" => super::owner::Clip::Started,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown announcement {:?} (expected notice or started)",
                    other.chars().take(40).collect::<String>()
                )));
            }
        };
        if !(0.5..=120.0).contains(&seconds) {
            return Err(Error::InvalidArgument(
                "seconds must be from 0.5 to 120".into(),
            ));
        }
        let path = super::mic::recorded_clip(&self.data_dir, clip);
        let got = super::mic::record(&path, seconds)
            .await
            .map_err(Error::AnnouncementFailed)?;
        tracing::info!(path = %path.display(), seconds = got, "the user recorded an announcement");
        Ok((path.display().to_string(), got))
    }

    /// The Ed25519 public key (hex) that signs this installation's sealed evidence.
    #[zbus(property(emits_changed_signal = "const"))]
    fn public_key(&self) -> String {
        self.public_key.clone()
    }

    /// Every plugin file found at start, loaded or not, and why.
    #[zbus(property(emits_changed_signal = "const"))]
    fn plugins(&self) -> Vec<PluginInfo> {
        self.plugins.report.clone()
    }

    /// The daemon's release version, for people.
    #[zbus(property(emits_changed_signal = "const"))]
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// (major, minor): a client built for (M, m) works when major == M and minor >= m.
    #[zbus(property(emits_changed_signal = "const"))]
    fn api_version(&self) -> (u32, u32) {
        API_VERSION
    }
}

pub struct LawsIface {
    state: watch::Receiver<Arc<Published>>,
    commands: mpsc::Sender<Command>,
}

impl LawsIface {
    pub fn new(state: watch::Receiver<Arc<Published>>, commands: mpsc::Sender<Command>) -> Self {
        LawsIface { state, commands }
    }

    fn now(&self) -> Arc<Published> {
        self.state.borrow().clone()
    }
}

#[interface(name = "org.onrecord.Laws1")]
impl LawsIface {
    /// Decides what consent a call needs. `me`: the user's jurisdiction id, empty for the
    /// configured one. `them`: one entry per other party, a jurisdiction id or a phone number.
    /// `medium`: phone, in-person or electronic; empty for phone.
    #[zbus(out_args("decision"))]
    async fn evaluate(
        &self,
        me: &str,
        them: Vec<String>,
        medium: &str,
    ) -> Result<(Decision,), Error> {
        let medium = parse_medium(medium)?;
        let (_, _, decision) = decide(&self.now(), me, &them, medium)?;
        Ok((decision,))
    }

    /// Reads a phone number and tells where it is. Numbers without a country code are read as
    /// in the configured jurisdiction's country.
    #[zbus(out_args("info"))]
    async fn lookup_number(&self, number: &str) -> Result<(NumberInfo,), Error> {
        check_len("number", number)?;
        let now = self.now();
        let country = now.user_jurisdiction.as_deref().map(country_of);
        Ok((laws::number::lookup(&now.set, number, country)?,))
    }

    /// Every jurisdiction in the tables, by id.
    #[zbus(out_args("jurisdictions"))]
    async fn list_jurisdictions(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> Result<Vec<JurisdictionSummary>, Error> {
        no_arguments(&header)?;
        Ok(view::summaries(&self.now().set))
    }

    /// One jurisdiction's whole table entry.
    #[zbus(out_args("jurisdiction"))]
    async fn get_jurisdiction(&self, id: &str) -> Result<(JurisdictionInfo,), Error> {
        check_len("id", id)?;
        let now = self.now();
        let key = id.trim().to_ascii_uppercase();
        now.set.get(&key).map(|j| (view::info(j),)).ok_or_else(|| {
            Error::UnknownJurisdiction(format!(
                "unknown jurisdiction {id:?} (see `onrecordctl laws list`)"
            ))
        })
    }

    /// Re-reads the tables from disk now. Returns the digest of the tables in use; on
    /// ReloadFailed the previous tables stay in use.
    #[zbus(out_args("digest"))]
    async fn reload(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> Result<String, Error> {
        no_arguments(&header)?;
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Reload {
                why: "Reload method",
                reply: Some(tx),
            })
            .await
            .map_err(|_| Error::Internal("the daemon is shutting down".into()))?;
        match rx.await {
            Ok(Ok(digest)) => Ok(digest),
            Ok(Err(e)) => Err(Error::ReloadFailed(e.to_string())),
            Err(_) => Err(Error::Internal("the reload was dropped".into())),
        }
    }

    /// `sha256:<hex>` of the tables in use.
    #[zbus(property)]
    fn tables_digest(&self) -> String {
        self.now().set.digest.clone()
    }

    /// When the tables in use were loaded: microseconds since the Unix epoch, UTC.
    #[zbus(property)]
    fn loaded_at(&self) -> u64 {
        self.now().loaded_at_us
    }

    #[zbus(property)]
    fn jurisdiction_count(&self) -> u32 {
        self.now().set.jurisdictions.len() as u32
    }

    /// The error of the last reload that failed (file:line:column: field: message, one per
    /// line), or empty when the last reload succeeded.
    #[zbus(property)]
    fn last_reload_error(&self) -> String {
        self.now().last_error.clone()
    }

    /// The user's configured jurisdiction, or empty.
    #[zbus(property(emits_changed_signal = "const"))]
    fn user_jurisdiction(&self) -> String {
        self.now().user_jurisdiction.clone().unwrap_or_default()
    }

    /// New tables are in use.
    #[zbus(signal)]
    async fn tables_changed(
        emitter: &SignalEmitter<'_>,
        digest: &str,
        jurisdiction_count: u32,
    ) -> zbus::Result<()>;

    /// A reload failed; the previous tables stay in use.
    #[zbus(signal)]
    async fn reload_failed(emitter: &SignalEmitter<'_>, error: &str) -> zbus::Result<()>;
}
