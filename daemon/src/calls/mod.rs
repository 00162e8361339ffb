//! Calls: the consent state machine (pure), and their records on disk.

mod detected;
pub mod machine;
pub mod store;

pub use machine::{ASK, Call, Detected, Effect, Event, Linked, Notice, Policy, Refusal, Stamp};

/// A UTC time from microseconds since the Unix epoch, as RFC 3339 to the second.
pub fn utc_text(us: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_micros(us))
        .to_string()
}
