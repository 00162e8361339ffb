//! Plugins: shared libraries that speak the C ABI of `onrecord-plugin` (capture sources and
//! storage backends), found in a few directories, checked, loaded once and never unloaded.

mod loader;

pub use loader::{Plugin, Registry, discover};
