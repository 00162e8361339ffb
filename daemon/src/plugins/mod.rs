//! Plugins: shared libraries that speak the C ABI of `onrecord-plugin` (capture sources and
//! storage backends), found in a few directories, probed each in a child process, loaded into
//! the daemon when first used and never unloaded.

mod loader;

pub use loader::{Plugin, Probed, Registry, discover, probe_here, probe_in_child};
