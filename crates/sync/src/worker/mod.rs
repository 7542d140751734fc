//! The workers: one claimer per process takes jobs from the queue as capacity frees up
//! (`EngineConfig::workers` at once), runs each in its own task with the handler registered
//! for its kind ([`Handlers`]), renews every running job's lease at a third of its length,
//! and settles it:
//!
//! | result | the job |
//! | --- | --- |
//! | done | completed (deleted) |
//! | [`JobError::Retry`] — HighLevel 5xx, 429, timeouts, a busy store | back in line after backoff; dead-lettered with its last error after the retry policy's last attempt |
//! | [`JobError::Settled`] | completed: the handler recorded the failure itself |
//! | [`JobError::Dead`] — a body that cannot be read | dead-lettered at once |
//! | the engine is stopping ([`JobError::Interrupted`]) | given back untouched (no attempt counted) |
//!
//! Jobs claimed together never share an ordering key (the queue hands out only the first
//! job of each key), so running them at once keeps each key's order. Idle, the claimer
//! sleeps until the ingest says it stored webhooks (in-process wake-up), a job finishes, or
//! `idle_poll` passes — the last is what lets other processes on a shared PostgreSQL pick up
//! work this one did not hear about.

mod handler;
mod metrics;

pub use handler::{Handlers, JobContext, JobError, JobHandler};
pub use metrics::{WorkerMetrics, WorkerMetricsSnapshot};

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::Mutex;
use store::{Job, RetryPolicy};
use tokio::sync::{Notify, Semaphore};
use tracing::Instrument as _;

use crate::config::EngineConfig;

/// What the workers share with the engine.
pub(crate) struct Shared {
    /// What every handler gets; its `stop` is the engine's.
    pub ctx: JobContext,
    pub config: EngineConfig,
    pub handlers: Handlers,
    pub wake: Arc<Notify>,
    /// The lease owner of every job this process runs.
    pub worker: String,
    pub running: Mutex<HashSet<i64>>,
    pub slots: Arc<Semaphore>,
    /// Finished jobs waiting to be completed together (see [`complete_loop`]).
    pub done: tokio::sync::mpsc::UnboundedSender<i64>,
    /// True while [`claim_loop`] runs: false before it starts and after it ended or panicked.
    pub claiming: std::sync::atomic::AtomicBool,
}

/// Turns [`Shared::claiming`] off however the claimer ends, a panic included.
struct Claiming<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Claiming<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// How a job ended, before it is settled in the queue.
enum Ending {
    Done,
    Failed(JobError),
    Released,
}

/// The claimer: runs until `stop` turns true. It keeps up to `claim_batch` claimed jobs
/// waiting for a free worker beyond those running, so that under load one claim (one write
/// transaction) serves many jobs rather than one each; the waiting jobs' leases are renewed
/// like the running ones', and a fair semaphore starts them in the order claimed.
pub(crate) async fn claim_loop(shared: Arc<Shared>) {
    let cfg = &shared.config;
    let mut stop = shared.ctx.stop.clone();
    let batch = cfg.claim_batch.max(1);
    let capacity = cfg.workers.max(1) + batch;
    shared.claiming.store(true, Ordering::Relaxed);
    let _claiming = Claiming(&shared.claiming);
    loop {
        if *stop.borrow() {
            break;
        }
        // Armed before the claim, so a wake-up between the claim and the wait is not lost.
        let notified = shared.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let room = capacity
            .saturating_sub(shared.running.lock().len())
            .min(batch);
        let jobs = if room == 0 {
            Vec::new()
        } else {
            match shared
                .ctx
                .store
                .claim_jobs(&shared.worker, room, cfg.lease)
                .await
            {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed; trying again shortly");
                    Vec::new()
                }
            }
        };
        if jobs.is_empty() {
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(cfg.idle_poll) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        for job in jobs {
            shared.running.lock().insert(job.id);
            let shared = shared.clone();
            let span = crate::telemetry::job_span(&job);
            tokio::spawn(
                async move {
                    let permit = shared.slots.clone().acquire_owned().await.ok();
                    let ending = run(&shared, &job).await;
                    let batched =
                        matches!(ending, Ending::Done) && shared.done.send(job.id).is_ok();
                    if !batched {
                        settle(&shared, &job, ending).await;
                        shared.running.lock().remove(&job.id);
                        // Its key's next job may now be claimable.
                        shared.wake.notify_waiters();
                    }
                    drop(permit);
                }
                .instrument(span),
            );
        }
    }
}

/// Completes finished jobs in batches: whatever finished while the previous batch was being
/// committed goes in the next, so under load one commit (one fsync on SQLite) completes many
/// jobs, and when idle a job is completed at once. A job stays in the running set, its lease
/// renewed, until its completion is committed.
pub(crate) async fn complete_loop(
    shared: Arc<Shared>,
    mut done: tokio::sync::mpsc::UnboundedReceiver<i64>,
) {
    const MAX_BATCH: usize = 512;
    let mut ids = Vec::with_capacity(MAX_BATCH);
    while done.recv_many(&mut ids, MAX_BATCH).await > 0 {
        match shared.ctx.store.complete_jobs(&ids, &shared.worker).await {
            Ok(n) => {
                shared.ctx.metrics.completed.fetch_add(n, Ordering::Relaxed);
                if n < ids.len() as u64 {
                    tracing::warn!(
                        finished = ids.len(),
                        completed = n,
                        "some finished jobs were not completed: their leases had expired, so they run again"
                    );
                }
            }
            Err(e) => tracing::warn!(
                error = %e,
                jobs = ids.len(),
                "completing finished jobs failed; they run again after their leases expire"
            ),
        }
        {
            let mut running = shared.running.lock();
            for id in &ids {
                running.remove(id);
            }
        }
        ids.clear();
        // The next job of each of their keys may now be claimable.
        shared.wake.notify_waiters();
    }
}

/// Renews the leases of every running job until `stop` turns true.
pub(crate) async fn heartbeat_loop(shared: Arc<Shared>) {
    let every = (shared.config.lease / 3).max(std::time::Duration::from_millis(50));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ids: Vec<i64> = shared.running.lock().iter().copied().collect();
        if ids.is_empty() {
            if *shared.ctx.stop.borrow() {
                break;
            }
            continue;
        }
        if let Err(e) = shared
            .ctx
            .store
            .heartbeat(&shared.worker, &ids, shared.config.lease)
            .await
        {
            tracing::warn!(error = %e, jobs = ids.len(), "renewing job leases failed");
        }
    }
}

/// Runs the job's kind's handler.
async fn run(shared: &Shared, job: &Job) -> Ending {
    if *shared.ctx.stop.borrow() {
        return Ending::Released;
    }
    let Some(handler) = shared.handlers.get(&job.kind) else {
        let kind = &job.kind;
        return Ending::Failed(JobError::Retry(format!(
            "no handler is registered for jobs of kind {kind:?} in this process; run a \
             drivesync that knows the kind"
        )));
    };
    match handler.run(&shared.ctx, job).await {
        Ok(()) => Ending::Done,
        Err(JobError::Interrupted) => Ending::Released,
        Err(e) => Ending::Failed(e),
    }
}

async fn settle(shared: &Shared, job: &Job, ending: Ending) {
    let store = &shared.ctx.store;
    let worker = shared.worker.as_str();
    let m = &shared.ctx.metrics;
    let result = match ending {
        Ending::Done => store.complete_job(job.id, worker).await.map(|done| {
            if done {
                crate::count_and_log!(&m.completed, debug, "job completed");
            }
        }),
        Ending::Released | Ending::Failed(JobError::Interrupted) => {
            store.release_job(job.id, worker).await.map(|_| {
                crate::count_and_log!(&m.released, debug, "job given back unstarted; the engine is stopping");
            })
        }
        Ending::Failed(JobError::Settled(msg)) => {
            store.complete_job(job.id, worker).await.map(|done| {
                if done {
                    crate::count_and_log!(&m.completed, warn, error = %msg, "job failed for good; its outcome is recorded, so it is completed");
                }
            })
        }
        Ending::Failed(e) => {
            let policy = match &e {
                JobError::Dead(_) => RetryPolicy {
                    max_attempts: 1,
                    ..shared.config.retry.clone()
                },
                _ => shared.config.retry.clone(),
            };
            let msg = e.to_string();
            store
                .fail_job(job.id, worker, &msg, &policy)
                .await
                .map(|outcome| match outcome {
                    store::FailOutcome::Retry { attempts, .. } => {
                        crate::count_and_log!(&m.retried, info, attempts, error = %msg, "job failed; will retry");
                    }
                    store::FailOutcome::Dead { attempts } => {
                        crate::count_and_log!(&m.dead, warn, attempts, error = %msg, "job dead-lettered");
                    }
                    store::FailOutcome::LostLease => {}
                })
        }
    };
    if let Err(e) = result {
        // The lease expires and the job is put back: it runs again.
        tracing::warn!(job_id = job.id, error = %e, "settling a job failed; it will run again after its lease expires");
    }
}
