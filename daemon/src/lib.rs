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
