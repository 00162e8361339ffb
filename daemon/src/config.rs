//! The user's configuration: `$XDG_CONFIG_HOME/onrecord/config.toml` or `--config`.

use crate::capture::Role;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the user is: a jurisdiction id such as `US-TX`. Used when a request names none,
    /// and to read phone numbers written without a country code.
    pub jurisdiction: Option<String>,
    /// Where calls and recordings are kept; `--data-dir` overrides it.
    pub data_dir: Option<PathBuf>,
    /// `[policy]`: choices the law leaves to the user.
    #[serde(default)]
    pub policy: crate::calls::Policy,
    /// How calls are captured and stored; without it, calls keep their consent and timeline
    /// but record no audio.
    pub capture: Option<CaptureSection>,
    #[serde(default)]
    pub naming: NamingSection,
    #[serde(default)]
    pub retention: Retention,
    #[serde(default)]
    pub detect: Detect,
    #[serde(default)]
    pub announcement: Announcement,
    #[serde(default)]
    pub hooks: Hooks,
    #[serde(default)]
    pub encryption: Encryption,
    /// `[archive]`: sealed calls uploaded to S3-compatible storage.
    pub archive: Option<crate::archive::ArchiveConfig>,
    /// `[[rule]]` as written; `load` checks them into `rules`.
    #[serde(default, rename = "rule")]
    raw_rules: Vec<toml::Spanned<crate::rules::RawRule>>,
    /// What to do with calls from (or to) a number or in an application; the first that
    /// matches wins. Re-read on every reload.
    #[serde(skip)]
    pub rules: Vec<crate::rules::Rule>,
}

/// `[detect]`: where onrecord looks for calls to propose. Each is on unless turned off; a
/// detected call is only proposed, never recorded before the consent flow allows it.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Detect {
    /// Voice calls of modems, from ModemManager on the system bus.
    #[serde(default = "on")]
    pub modem: bool,
    /// Calls in softphones and browsers, from their audio streams on PipeWire.
    #[serde(default = "on")]
    pub pipewire: bool,
    /// Calls in GNOME Calls, on the session bus: the number or address of SIP calls.
    #[serde(default = "on")]
    pub gnome_calls: bool,
}

fn on() -> bool {
    true
}

impl Default for Detect {
    fn default() -> Self {
        Detect {
            modem: true,
            pipewire: true,
            gnome_calls: true,
        }
    }
}

/// `[announcement]`: onrecord's virtual microphone and the announcements it plays into calls.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// Offer "onrecord microphone" on PipeWire while a call is active: the user's microphone,
    /// into which announcements are played (default on).
    #[serde(default = "on")]
    pub microphone: bool,
    /// Make it the default source for the length of each call, and restore the previous
    /// default afterwards (default off): softphones that follow the default move to it.
    #[serde(default)]
    pub default_source: bool,
    /// Move the microphone stream of a softphone onrecord noticed on PipeWire onto it for the
    /// length of the call (default on): it then carries the microphone the softphone read.
    #[serde(default = "on")]
    pub move_softphone: bool,
    /// The default clips' language: `auto` (from the other party's jurisdiction, English
    /// where none of the others is spoken), `en`, `de`, `fr` or `es`.
    #[serde(default = "auto")]
    pub language: String,
    /// The user's own notice (a WAV or FLAC file), instead of the default clip.
    pub path: Option<PathBuf>,
    /// The user's own "recording has started", instead of the default clip.
    pub started_path: Option<PathBuf>,
    /// Once recording starts on a call that was told by announcement, play "recording has
    /// started", so that the recording itself begins with the notice (default on).
    #[serde(default = "on")]
    pub on_start: bool,
    /// How loud the user hears the announcement on their output, relative to the call
    /// (0 to 1, default 0.3).
    #[serde(default = "default_monitor_gain")]
    pub monitor_gain: f64,
}

fn auto() -> String {
    "auto".into()
}

fn default_monitor_gain() -> f64 {
    0.3
}

impl Default for Announcement {
    fn default() -> Self {
        Announcement {
            microphone: true,
            default_source: false,
            move_softphone: true,
            language: auto(),
            path: None,
            started_path: None,
            on_start: true,
            monitor_gain: default_monitor_gain(),
        }
    }
}

/// The languages of the default clips.
pub const LANGUAGES: &[&str] = &["en", "de", "fr", "es"];

/// `[retention]`: when the audio of ended calls is deleted (calls kept with `call keep` never
/// are). Without it, nothing is deleted.
#[derive(Deserialize, Debug, Clone, Copy, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Delete a call's audio this many days after the call ended (fractions allowed).
    pub days: Option<f64>,
    /// Delete recordings shorter than this many seconds when their call ends.
    pub min_duration_s: Option<f64>,
}

/// `[hooks]`: programs onrecord runs after a call, never through a shell.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    /// Run once a call's evidence is sealed: the program (an absolute path) and its
    /// arguments, each `{dir}` and `{id}` replaced by the call's directory and id.
    #[serde(default)]
    pub after_seal: Vec<String>,
    /// How long it may run before it is killed, in seconds (default 60).
    pub timeout_s: Option<f64>,
}

impl Hooks {
    pub const DEFAULT_TIMEOUT_S: f64 = 60.0;

    fn validate(&self) -> Result<(), String> {
        if let Some(t) = self.timeout_s
            && !(t.is_finite() && t > 0.0 && t <= 86_400.0)
        {
            return Err("[hooks] timeout_s must be a number of seconds from 0 to 86400".into());
        }
        let Some(program) = self.after_seal.first() else {
            return Ok(());
        };
        let path = std::path::Path::new(program);
        if !path.is_absolute() {
            return Err(format!(
                "[hooks] after_seal: the program must be an absolute path (no shell runs it), not {program:?}"
            ));
        }
        if !path.is_file() {
            return Err(format!("[hooks] after_seal: {program} is not a file"));
        }
        for arg in &self.after_seal[1..] {
            let mut rest = arg.as_str();
            while let Some(i) = rest.find('{') {
                let end = rest[i..].find('}').map(|e| i + e + 1).unwrap_or(rest.len());
                let name = &rest[i..end];
                if name != "{dir}" && name != "{id}" {
                    return Err(format!(
                        "[hooks] after_seal: {name:?} in {arg:?} is not a placeholder (use {{dir}} or {{id}})"
                    ));
                }
                rest = &rest[end..];
            }
        }
        Ok(())
    }
}

/// `[encryption]`: the sealed audio and chain journals are encrypted to these age recipients.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    /// age public keys (`age1...`, from `age-keygen`); empty: no encryption.
    #[serde(default)]
    pub recipients: Vec<String>,
}

impl Encryption {
    /// The recipients, read; none when encryption is off.
    pub fn recipients(&self) -> Result<Vec<onrecord_evidence::encrypt::Recipient>, String> {
        if self.recipients.is_empty() {
            return Ok(Vec::new());
        }
        onrecord_evidence::encrypt::parse_recipients(&self.recipients)
            .map_err(|e| format!("[encryption] {e}"))
    }
}

/// `[naming]`: how call directories are named.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NamingSection {
    /// With `{date}`, `{time}`, `{label}`, `{them}`, `{jurisdiction}` and `{id}` (required),
    /// each made safe for a file name. Default `{date}_{label}_{id}`.
    #[serde(default = "default_template")]
    pub directory: String,
}

impl Default for NamingSection {
    fn default() -> Self {
        NamingSection {
            directory: default_template(),
        }
    }
}

fn default_template() -> String {
    crate::calls::store::DEFAULT_TEMPLATE.to_owned()
}

/// `[capture]`: the plugins that capture and store a call's audio.
///
/// With live devices (the default plugin, `capture-cpal`), a call is recorded in two channels:
/// left your microphone (`microphone`, default `default`), right the far side (`far_side`,
/// default `monitor`: what your speakers play, where a softphone plays the other party). Each
/// side is its own source on its own clock; they are aligned by time. `none` leaves a side
/// out; with one side the recording is mono. A plugin other than `capture-cpal` without
/// `microphone` or `far_side` is one source that delivers the whole recording as it is (a
/// stereo file feeds both channels).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CaptureSection {
    /// The capture plugin's id (default `capture-cpal`); `none` records no audio.
    #[serde(default = "default_source")]
    pub source: String,
    /// The capture plugin's options (`period_ms` for capture-cpal; `path`, `pace`, ... for
    /// capture-file).
    #[serde(default)]
    pub source_options: toml::Table,
    /// The device of the left channel (given to the plugin as `device=`).
    pub microphone: Option<String>,
    /// Options for the microphone only, over `source_options`.
    #[serde(default)]
    pub microphone_options: toml::Table,
    /// The device of the right channel.
    pub far_side: Option<String>,
    /// Options for the far side only, over `source_options`.
    #[serde(default)]
    pub far_side_options: toml::Table,
    /// The storage plugin's id (default `storage-wav`).
    #[serde(default = "default_storage")]
    pub storage: String,
    /// How often the file is made durable, in milliseconds (default 1000).
    #[serde(default = "default_sync_ms")]
    pub sync_interval_ms: u64,
}

impl Default for CaptureSection {
    fn default() -> Self {
        CaptureSection {
            source: default_source(),
            source_options: toml::Table::new(),
            microphone: None,
            microphone_options: toml::Table::new(),
            far_side: None,
            far_side_options: toml::Table::new(),
            storage: default_storage(),
            sync_interval_ms: default_sync_ms(),
        }
    }
}

/// The live capture plugin, the default source.
pub const LIVE_SOURCE: &str = "capture-cpal";

fn default_source() -> String {
    LIVE_SOURCE.into()
}

fn default_storage() -> String {
    "storage-wav".into()
}

fn default_sync_ms() -> u64 {
    1000
}

fn lines(table: &toml::Table) -> String {
    table
        .iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => format!("{k}={s}\n"),
            other => format!("{k}={other}\n"),
        })
        .collect()
}

impl CaptureSection {
    /// The source options as the plugin reads them: `key=value` lines.
    pub fn source_config(&self) -> String {
        lines(&self.source_options)
    }

    /// Whether audio is captured at all.
    pub fn enabled(&self) -> bool {
        self.source != "none"
    }

    /// The timed sides, left first: (role, plugin configuration with `device=`). Empty when
    /// the source is one untimed source.
    pub fn sides(&self) -> Vec<(Role, String)> {
        let live = self.source == LIVE_SOURCE;
        let pick = |set: &Option<String>, default: &str| {
            set.clone()
                .or_else(|| live.then(|| default.to_owned()))
                .filter(|d| !d.is_empty() && d != "none")
        };
        let mut out = Vec::new();
        for (role, device, own) in [
            (
                Role::Microphone,
                pick(&self.microphone, "default"),
                &self.microphone_options,
            ),
            (
                Role::FarSide,
                pick(&self.far_side, "monitor"),
                &self.far_side_options,
            ),
        ] {
            if let Some(device) = device {
                let mut t = self.source_options.clone();
                t.extend(own.clone());
                t.insert("device".into(), toml::Value::String(device));
                out.push((role, lines(&t)));
            }
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed, but a value is out of its domain.
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads `path`. A missing file is an error when `required` (given with `--config`), and
    /// the empty configuration otherwise.
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Config::default());
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let mut config: Config = toml::from_str(&text).map_err(|e| {
            let (line, column) =
                crate::laws::load::line_column(&text, e.span().map_or(0, |s| s.start));
            ConfigError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        config.rules =
            crate::rules::read(&config.raw_rules, &text).map_err(|(line, column, message)| {
                ConfigError::Parse {
                    path: path.to_owned(),
                    line,
                    column,
                    message: format!("[[rule]]: {message}"),
                }
            })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        Ok(config)
    }

    /// What the types cannot say: values in their domain. (Whether `jurisdiction` is in the law
    /// tables is checked once the tables are loaded.)
    pub fn validate(&self) -> Result<(), String> {
        crate::calls::store::check_template(&self.naming.directory)
            .map_err(|e| format!("[naming] directory: {e}"))?;
        for (what, v) in [
            ("days", self.retention.days),
            ("min_duration_s", self.retention.min_duration_s),
        ] {
            if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
                return Err(format!("[retention] {what} must be a number of at least 0"));
            }
        }
        self.hooks.validate()?;
        self.encryption.recipients()?;
        if let Some(a) = &self.archive {
            a.validate()?;
        }
        let a = &self.announcement;
        if a.language != "auto" && !LANGUAGES.contains(&a.language.as_str()) {
            return Err(format!(
                "[announcement] language must be auto or one of {}",
                LANGUAGES.join(", ")
            ));
        }
        if !(0.0..=1.0).contains(&a.monitor_gain) {
            return Err("[announcement] monitor_gain must be a number from 0 to 1".into());
        }
        for (what, path) in [("path", &a.path), ("started_path", &a.started_path)] {
            if let Some(p) = path
                && !p.is_file()
            {
                return Err(format!(
                    "[announcement] {what}: {} is not a readable file",
                    p.display()
                ));
            }
        }
        if self
            .capture
            .as_ref()
            .is_some_and(|c| c.sync_interval_ms == 0)
        {
            return Err("[capture] sync_interval_ms must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
