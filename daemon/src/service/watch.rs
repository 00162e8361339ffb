//! Watching the law directories and the configuration file (through its directory: editors
//! save by rename), debounced.
//!
//! The debounce is a tokio timer that exists only while changes arrive: an idle daemon has no
//! periodic wakeup. (notify-debouncer-full, the first choice, ticks its thread every
//! timeout/4 forever, and adds up to a tick of latency.)

use super::Command;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the tables must be quiet before they are re-read.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Watches `dirs` recursively, and `files` (the configuration, for its rules) through their
/// directories, and asks the owner to reload once a burst of changes has been quiet for
/// [`DEBOUNCE`]. The returned watcher must be kept alive. A directory that does not exist is
/// skipped.
pub fn watch_dirs(
    dirs: &[PathBuf],
    files: &[PathBuf],
    commands: mpsc::Sender<Command>,
) -> notify::Result<RecommendedWatcher> {
    let (poke, pokes) = mpsc::channel::<()>(64);
    // Events name absolute paths; the ones given may be relative, or through a symlink.
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    let watched_dirs: Vec<PathBuf> = dirs.iter().map(|d| absolute(d)).collect();
    let watched_files: Vec<PathBuf> = files
        .iter()
        .map(|f| match (f.parent(), f.file_name()) {
            (Some(d), Some(name)) if !d.as_os_str().is_empty() => absolute(d).join(name),
            (_, Some(name)) => absolute(Path::new(".")).join(name),
            _ => f.clone(),
        })
        .collect();
    let parents: Vec<PathBuf> = watched_files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_owned))
        .collect();
    let mut watcher =
        notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
            // Reading the tables produces access events of our own: those change nothing.
            Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
            // A file's directory holds other things (the data directory, say): only the file
            // itself, or the law directories, count.
            Ok(event)
                if !event.paths.iter().any(|p| {
                    watched_files.contains(p) || watched_dirs.iter().any(|d| p.starts_with(d))
                }) => {}
            // A full channel already holds a pending poke: this change will be seen by that reload.
            Ok(_) => {
                let _ = poke.try_send(());
            }
            Err(e) => tracing::warn!("watching the law tables: {e}"),
        })?;
    for dir in dirs {
        if dir.is_dir() {
            watcher.watch(dir, RecursiveMode::Recursive)?;
            tracing::debug!(dir = %dir.display(), "watching");
        }
    }
    for dir in parents.iter().filter(|d| d.is_dir()) {
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
        tracing::debug!(dir = %dir.display(), "watching for the configuration");
    }
    tokio::spawn(debounce(pokes, commands));
    Ok(watcher)
}

/// Turns each burst of pokes into one reload, [`DEBOUNCE`] after the last poke.
async fn debounce(mut pokes: mpsc::Receiver<()>, commands: mpsc::Sender<Command>) {
    while pokes.recv().await.is_some() {
        loop {
            tokio::select! {
                more = pokes.recv() => if more.is_none() { return },
                () = tokio::time::sleep(DEBOUNCE) => break,
            }
        }
        if commands
            .send(Command::Reload {
                why: "files changed",
                reply: None,
            })
            .await
            .is_err()
        {
            return;
        }
    }
}
