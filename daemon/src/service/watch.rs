//! Watching the law directories (not files: editors save by rename), debounced.

use super::Command;
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the tables must be quiet before they are re-read.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Watches `dirs` recursively and asks the owner to reload after each burst of changes. The
/// returned debouncer must be kept alive. A directory that does not exist is skipped.
pub fn watch_dirs(
    dirs: &[PathBuf],
    commands: mpsc::Sender<Command>,
) -> notify::Result<Debouncer<notify::RecommendedWatcher, RecommendedCache>> {
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |res: DebounceEventResult| match res {
        Ok(events) => {
            // Reading the tables produces access events of our own: those change nothing.
            if events.iter().any(|e| !matches!(e.kind, EventKind::Access(_))) {
                // A full queue means a reload is already pending, which will see this change.
                let _ = commands.try_send(Command::Reload { why: "files changed", reply: None });
            }
        }
        Err(errors) => {
            for e in errors {
                tracing::warn!("watching the law tables: {e}");
            }
        }
    })?;
    for dir in dirs {
        if dir.is_dir() {
            debouncer.watch(dir, RecursiveMode::Recursive)?;
            tracing::debug!(dir = %dir.display(), "watching");
        }
    }
    Ok(debouncer)
}
