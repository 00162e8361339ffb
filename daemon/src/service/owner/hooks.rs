//! `[hooks] after_seal`: the user's program, run after a call is sealed, off the owner. Never
//! through a shell: the arguments are a list. Its output goes to the log (the journal), how it
//! ended into the call's timeline.

use super::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// Output past this is not logged (a chatty program must not flood the journal).
const OUTPUT_LOGGED: usize = 64 * 1024;

/// The program's arguments with `{dir}` and `{id}` filled in.
pub fn expand(argv: &[String], id: &str, dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy();
    argv.iter()
        .map(|a| a.replace("{dir}", &dir).replace("{id}", id))
        .collect()
}

/// Runs `argv` for call `id`, killing it after `timeout`; says how it ended, in one line.
pub async fn run(argv: Vec<String>, timeout: Duration, id: &str, dir: &Path) -> String {
    let program = argv[0].clone();
    let started = Instant::now();
    let child = tokio::process::Command::new(&program)
        .args(&argv[1..])
        .env("ONRECORD_CALL_ID", id)
        .env("ONRECORD_CALL_DIR", dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        // Dropped on the timeout below: killed, not left running.
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(call = %id, "after_seal: {program} could not start: {e}");
            return format!("after_seal: {program} could not start: {e}");
        }
    };
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(OUTPUT_LOGGED)]);
                for line in text.lines() {
                    tracing::info!(call = %id, "after_seal {stream}: {line}");
                }
            }
            let took = started.elapsed().as_secs_f64();
            let how = match out.status.code() {
                Some(code) => format!("exited with status {code}"),
                None => format!("was killed ({})", out.status),
            };
            tracing::info!(call = %id, "after_seal: {program} {how} in {took:.1} s");
            format!("after_seal: {program} {how} in {took:.1} s")
        }
        Ok(Err(e)) => format!("after_seal: {program} could not be waited for: {e}"),
        Err(_) => {
            tracing::warn!(call = %id, "after_seal: {program} killed after {} s", timeout.as_secs_f64());
            format!(
                "after_seal: {program} was killed after its timeout of {} s",
                timeout.as_secs_f64()
            )
        }
    }
}

impl Owner {
    pub fn with_hooks(mut self, hooks: crate::config::Hooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// Starts the after-seal program for a sealed call, when one is configured; its end comes
    /// back as `Command::HookDone`.
    pub(super) fn after_seal(&self, id: &str) {
        if self.hooks.after_seal.is_empty() {
            return;
        }
        let (Some(handle), Some(entry)) = (self.handle.clone(), self.calls.get(id)) else {
            return;
        };
        let dir = entry.dir.clone();
        let argv = expand(&self.hooks.after_seal, id, &dir);
        let timeout = Duration::from_secs_f64(
            self.hooks
                .timeout_s
                .unwrap_or(crate::config::Hooks::DEFAULT_TIMEOUT_S),
        );
        let id = id.to_owned();
        tokio::spawn(async move {
            let detail = run(argv, timeout, &id, &dir).await;
            let _ = handle.send(Command::HookDone { id, detail }).await;
        });
    }

    /// With `[archive]`: sealed calls go to the archive's thread.
    pub fn set_archive(&mut self, jobs: std::sync::mpsc::Sender<crate::archive::Job>) {
        self.archive = Some(jobs);
    }

    /// A sealed (and encrypted) call goes to the archive when there is one, and its
    /// after-seal program runs once it is archived; otherwise the program runs now.
    pub(super) fn sealed_and_done(&self, id: &str) {
        match (&self.archive, self.calls.get(id)) {
            (Some(jobs), Some(entry)) => {
                let _ = jobs.send(crate::archive::Job::Call {
                    id: id.to_owned(),
                    dir: entry.dir.clone(),
                });
            }
            _ => self.after_seal(id),
        }
    }

    /// The archive's thread archived a call (a timeline entry, then the after-seal program)
    /// or an attempt failed (the log says why; it is retried with backoff).
    pub(super) async fn archive_outcome(
        &mut self,
        conn: &Connection,
        outcome: crate::archive::Outcome,
    ) {
        match outcome {
            crate::archive::Outcome::Archived { id, detail } => {
                tracing::info!(call = %id, "{detail}");
                self.update_call(conn, &id, |call| {
                    call.note(stamp(), TimelineKind::Archived, detail);
                })
                .await;
                self.after_seal(&id);
            }
            crate::archive::Outcome::Failed { id, error } => {
                tracing::warn!(call = %id, "not archived yet: {error}");
            }
        }
    }

    /// The after-seal program ended: how, in the call's timeline.
    pub(super) async fn hook_done(&mut self, conn: &Connection, id: &str, detail: String) {
        self.update_call(conn, id, |call| {
            call.note(stamp(), TimelineKind::Hook, detail);
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in_each_argument() {
        let argv = vec![
            "/usr/bin/rsync".to_owned(),
            "-a".to_owned(),
            "{dir}/".to_owned(),
            "backup:calls/{id}-{id}".to_owned(),
        ];
        assert_eq!(
            expand(&argv, "abc", Path::new("/data/calls/x y")),
            [
                "/usr/bin/rsync",
                "-a",
                "/data/calls/x y/",
                "backup:calls/abc-abc"
            ]
        );
    }

    #[tokio::test]
    async fn a_program_that_runs_too_long_is_killed() {
        let t = Instant::now();
        let said = run(
            vec!["/bin/sleep".into(), "30".into()],
            Duration::from_millis(200),
            "c",
            Path::new("/"),
        )
        .await;
        assert!(said.contains("killed after its timeout of 0.2 s"), "{said}");
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn its_status_and_a_failure_to_start_are_said() {
        let said = run(
            vec!["/bin/sh".into(), "-c".into(), "exit 3".into()],
            Duration::from_secs(10),
            "c",
            Path::new("/"),
        )
        .await;
        assert!(said.contains("exited with status 3"), "{said}");
        let said = run(
            vec!["/nonexistent/program".into()],
            Duration::from_secs(1),
            "c",
            Path::new("/"),
        )
        .await;
        assert!(said.contains("could not start"), "{said}");
    }
}
