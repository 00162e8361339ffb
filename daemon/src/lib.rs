//! onrecordd's library: everything the daemon does, so tests and benchmarks reach it.
//!
//! - [`laws`]: the law tables and the engine (pure, but for reading files).
//! - [`config`]: the user's configuration file.
//! - [`service`]: the owner loop that holds all mutable state, the file watcher and the D-Bus
//!   interfaces that feed it.

pub mod archive;
pub mod calls;
pub mod capture;
pub mod cli;
pub mod config;
#[doc(hidden)]
/// The fuzz targets' bodies: for the fuzz crate (feature `fuzz`), and for the tests that replay
/// the committed regression inputs.
#[cfg(any(test, feature = "fuzz"))]
pub mod fuzz;
pub mod laws;
pub mod memory;
pub mod plugins;
pub mod recording;
pub mod rules;
pub mod seal;
pub mod service;

/// Where the installed helper file `name` (the microphone's program and library, the
/// archive's program) is: beside this program (a build tree), else in the installation's
/// libexec directory (`<prefix>/bin/onrecordd`, `<prefix>/libexec/onrecord/<name>`).
pub fn installed(name: &str) -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [dir.join(name), dir.join("../libexec/onrecord").join(name)]
        .into_iter()
        .find(|p| p.is_file())
}
