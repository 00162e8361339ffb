//! The integration suite: one binary (STYLE 13), a module per area. Every test runs against a
//! private dbus-daemon and a real onrecordd (see `harness/lib.rs`).

mod analysis;
mod announce;
mod app;
mod architecture;
mod archive;
mod bad_input;
mod calls;
mod ctl_laws;
mod dbus_sweep;
mod detect;
mod encryption;
mod evidence;
mod gnome_calls;
mod hooks;
mod hot_reload;
mod install;
mod introspection;
mod live;
mod owner;
mod plugins;
mod recording;
mod reliability;
mod rules;
mod vcon;
