//! The capture worker: a thread of its own that owns the capture and runs its jobs in order.
//! Opening a call's devices waits for them (up to half a second), finishing its files joins
//! the writer and syncs; neither holds up the owner, which keeps serving every other call
//! meanwhile. One thread also means a plugin is called from one thread at a time.

use crate::capture::Capture;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut dyn Capture) + Send>;

pub(super) struct CaptureWorker {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl CaptureWorker {
    /// Starts the thread; it ends when the worker is dropped and its last job has run.
    pub(super) fn spawn(mut capture: Box<dyn Capture>) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("onrecord-capture".into())
            .spawn(move || {
                for job in queue {
                    // A job that panics is reported by its own reply (dropped); the worker
                    // goes on with the next.
                    if catch_unwind(AssertUnwindSafe(|| job(&mut *capture))).is_err() {
                        tracing::error!("a capture job panicked");
                    }
                }
            });
        if let Err(e) = thread {
            // Without the thread no job runs: every start is refused by its dropped reply.
            tracing::error!("cannot start the capture worker: {e}");
        }
        CaptureWorker { jobs }
    }

    /// Runs `job` on the worker, after the jobs before it; `false` (and the job dropped) when
    /// the worker is gone.
    pub(super) fn run(&self, job: impl FnOnce(&mut dyn Capture) + Send + 'static) -> bool {
        let sent = self.jobs.send(Box::new(job)).is_ok();
        if !sent {
            tracing::error!("the capture worker is gone: a capture job was dropped");
        }
        sent
    }

    /// Runs `job` on the worker and waits for its result; `None` if it panicked or the worker
    /// is gone.
    pub(super) async fn ask<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut dyn Capture) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.run(move |capture| {
            let _ = tx.send(job(capture));
        });
        rx.await.ok()
    }
}
