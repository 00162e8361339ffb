//! `onrecordd`'s command line, here so that `onrecordd-assets` can write its man page and
//! completions without the daemon carrying that code.

use clap::Parser;
use std::path::PathBuf;

/// The onrecord daemon: law tables, calls and their consent, on the session bus.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Args {
    /// The shipped law tables (default: the installed ones, or the source tree's laws/).
    #[arg(long, value_name = "DIR")]
    pub laws_dir: Option<PathBuf>,
    /// The user's own tables, overlaid on the shipped ones by id
    /// (default: $XDG_CONFIG_HOME/onrecord/laws).
    #[arg(long, value_name = "DIR")]
    pub user_laws_dir: Option<PathBuf>,
    /// Where calls and recordings are kept (default: the config's data_dir, else
    /// $XDG_DATA_HOME/onrecord).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The configuration file (default: $XDG_CONFIG_HOME/onrecord/config.toml, if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Load plugins from DIR too, before the default places (repeatable).
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Probe one plugin file (load, init, check), print the report as JSON and exit: how the
    /// daemon looks at each plugin at start, in a child process of its own.
    #[arg(long, value_name = "FILE", hide = true)]
    pub probe_plugin: Option<PathBuf>,
}
