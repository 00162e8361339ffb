//! The user's configuration: `$XDG_CONFIG_HOME/onrecord/config.toml` or `--config`.

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
    #[serde(default)]
    pub policy: PolicyConfig,
    /// How calls are captured and stored; without it, calls keep their consent and timeline
    /// but record no audio.
    pub capture: Option<CaptureSection>,
    #[serde(default)]
    pub naming: NamingSection,
    #[serde(default)]
    pub retention: RetentionSection,
}

/// `[retention]`: when the audio of ended calls is deleted (calls kept with `call keep` never
/// are). Without it, nothing is deleted.
#[derive(Deserialize, Debug, Clone, Copy, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Delete a call's audio this many days after the call ended (fractions allowed).
    pub days: Option<f64>,
    /// Delete recordings shorter than this many seconds when their call ends.
    pub min_duration_s: Option<f64>,
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
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CaptureSection {
    /// The capture plugin's id (`capture-file`).
    pub source: String,
    /// The capture plugin's options (`path`, `pace`, ... for capture-file).
    #[serde(default)]
    pub source_options: toml::Table,
    /// The storage plugin's id (default `storage-wav`).
    #[serde(default = "default_storage")]
    pub storage: String,
    /// How often the file is made durable, in milliseconds (default 1000).
    #[serde(default = "default_sync_ms")]
    pub sync_interval_ms: u64,
}

fn default_storage() -> String {
    "storage-wav".into()
}

fn default_sync_ms() -> u64 {
    1000
}

impl CaptureSection {
    /// The source options as the plugin reads them: `key=value` lines.
    pub fn source_config(&self) -> String {
        self.source_options
            .iter()
            .map(|(k, v)| match v {
                toml::Value::String(s) => format!("{k}={s}\n"),
                other => format!("{k}={other}\n"),
            })
            .collect()
    }
}

/// `[policy]`: choices the law leaves to the user.
#[derive(Deserialize, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Let the company's own "this call may be recorded" message stand in for the
    /// representative's explicit consent, where the law says a notice counts as consent.
    /// Off by default: onrecord asks.
    #[serde(default)]
    pub accept_company_notice: bool,
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
        toml::from_str(&text).map_err(|e| {
            let (line, column) =
                crate::laws::load::line_column(&text, e.span().map_or(0, |s| s.start));
            ConfigError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_optional_config_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Config::load(&dir.path().join("none.toml"), false).unwrap(),
            Config::default()
        );
        assert!(Config::load(&dir.path().join("none.toml"), true).is_err());
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "jurisdiction = \"US-TX\"\ncolour = \"blue\"\n").unwrap();
        let e = Config::load(&p, true).unwrap_err().to_string();
        assert!(e.contains("c.toml:2:1"), "{e}");
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn reads_jurisdiction_and_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "jurisdiction = \"US-TX\"\ndata_dir = \"/tmp/x\"\n[policy]\naccept_company_notice = true\n").unwrap();
        let c = Config::load(&p, true).unwrap();
        assert!(c.policy.accept_company_notice);
        assert_eq!(c.jurisdiction.as_deref(), Some("US-TX"));
        assert_eq!(c.data_dir.as_deref(), Some(Path::new("/tmp/x")));
    }
}
