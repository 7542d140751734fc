//! The workers: one claimer per process takes jobs from the queue as capacity frees up
//! (`EngineConfig::workers` at once), runs each in its own task, renews every running job's
//! lease at a third of its length, and settles it:
//!
//! | result | the job |
//! | --- | --- |
//! | done | completed (deleted) |
//! | [`JobError::Retry`] — HighLevel 5xx, 429, timeouts, a busy store | back in line after backoff; dead-lettered with its last error after the retry policy's last attempt |
//! | [`JobError::Settled`] | completed: the handler recorded the failure itself |
//! | [`JobError::Dead`] — a body that cannot be read | dead-lettered at once |
//! | the engine is stopping | given back untouched (no attempt counted) |
//!
//! Jobs claimed together never share an ordering key (the queue hands out only the first
//! job of each key), so running them at once keeps each key's order. Idle, the claimer
//! sleeps until the ingest says it stored webhooks (in-process wake-up), a job finishes, or
//! `idle_poll` passes — the last is what lets other processes on a shared PostgreSQL pick up
//! work this one did not hear about.

mod handler;

pub use handler::{JobContext, JobError, JobHandler};

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use store::{Job, RetryPolicy};
use tokio::sync::{watch, Notify, Semaphore};

use crate::config::EngineConfig;
use crate::error::SyncError;
use crate::millis;
use crate::{apply, context, poller, settle};

/// Counters of what the workers did (plain atomics; see [`crate::engine::Engine::metrics`]).
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    pub webhooks_applied: AtomicU64,
    pub unknown_events: AtomicU64,
    pub polls: AtomicU64,
    pub reconciles: AtomicU64,
    pub completed: AtomicU64,
    pub retried: AtomicU64,
    pub dead: AtomicU64,
    pub released: AtomicU64,
}

/// A copy of [`WorkerMetrics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorkerMetricsSnapshot {
    pub webhooks_applied: u64,
    pub unknown_events: u64,
    pub polls: u64,
    pub reconciles: u64,
    pub completed: u64,
    pub retried: u64,
    pub dead: u64,
    pub released: u64,
}

impl WorkerMetrics {
    pub fn snapshot(&self) -> WorkerMetricsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WorkerMetricsSnapshot {
            webhooks_applied: g(&self.webhooks_applied),
            unknown_events: g(&self.unknown_events),
            polls: g(&self.polls),
            reconciles: g(&self.reconciles),
            completed: g(&self.completed),
            retried: g(&self.retried),
            dead: g(&self.dead),
            released: g(&self.released),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// What the workers share with the engine.
pub(crate) struct Shared {
    pub ctx: JobContext,
    pub app: Option<ghl::OAuthApp>,
    pub config: EngineConfig,
    pub handlers: HashMap<String, Arc<dyn JobHandler>>,
    pub wake: Arc<Notify>,
    pub stop: watch::Receiver<bool>,
    /// The lease owner of every job this process runs.
    pub worker: String,
    pub running: Mutex<HashSet<i64>>,
    /// The latest webhook lag per location, written to the store once a second rather than
    /// once per webhook (each write is an fsync on SQLite).
    pub lags: Mutex<HashMap<String, i64>>,
    /// Locations whose sync state this process has made sure exists.
    pub ensured: Mutex<HashSet<String>>,
    pub slots: Arc<Semaphore>,
    pub metrics: WorkerMetrics,
    /// Finished jobs waiting to be completed together (see [`complete_loop`]).
    pub done: tokio::sync::mpsc::UnboundedSender<i64>,
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
    let mut stop = shared.stop.clone();
    let batch = cfg.claim_batch.max(1);
    let capacity = cfg.workers.max(1) + batch;
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
            tokio::spawn(async move {
                let permit = shared.slots.clone().acquire_owned().await.ok();
                let ending = run(&shared, &job).await;
                let batched = matches!(ending, Ending::Done) && shared.done.send(job.id).is_ok();
                if !batched {
                    settle(&shared, &job, ending).await;
                    shared.running.lock().remove(&job.id);
                    // Its key's next job may now be claimable.
                    shared.wake.notify_waiters();
                }
                drop(permit);
            });
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
                shared.metrics.completed.fetch_add(n, Ordering::Relaxed);
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
            if *shared.stop.borrow() {
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

const WEBHOOK: &str = store::JobKind::Webhook.as_str();

async fn run(shared: &Shared, job: &Job) -> Ending {
    if *shared.stop.borrow() {
        return Ending::Released;
    }
    let result = match job.kind.as_str() {
        WEBHOOK => webhook(shared, job).await,
        poller::POLL_JOB_KIND => {
            bump(&shared.metrics.polls);
            poller::poll(
                &shared.ctx.store,
                &shared.ctx.gate,
                &job.location_id,
                shared.config.poll_overlap,
                shared.config.fetch_concurrency,
                &shared.stop,
            )
            .await
            .map(drop)
        }
        poller::RECONCILE_JOB_KIND => {
            bump(&shared.metrics.reconciles);
            poller::reconcile(
                &shared.ctx.store,
                &shared.ctx.gate,
                &job.location_id,
                shared.config.fetch_concurrency,
                shared.config.appointment_window,
                &shared.stop,
            )
            .await
            .map(drop)
        }
        poller::TASK_POLL_JOB_KIND => {
            poller::poll_open_tasks(&shared.ctx.store, &shared.ctx.gate, &job.location_id)
                .await
                .map(drop)
        }
        context::REFRESH_CONTEXT_JOB_KIND => {
            match shared.ctx.gate.location(&job.location_id).await {
                Ok(handle) => context::refresh(&shared.ctx.store, &handle).await.map(drop),
                Err(e) => Err(e),
            }
        }
        settle::READ_CONTACT_JOB_KIND | settle::READ_NOTES_JOB_KIND => {
            settle::run(&shared.ctx.store, &shared.ctx.gate, job).await
        }
        kind => {
            return match shared.handlers.get(kind) {
                Some(h) => match h.run(&shared.ctx, job).await {
                    Ok(()) => Ending::Done,
                    Err(e) => Ending::Failed(e),
                },
                None => Ending::Failed(JobError::Retry(format!(
                    "no handler is registered for jobs of kind {kind:?} in this process; \
                     register one (EngineConfig::with_handler) or run a drivesync that has it"
                ))),
            };
        }
    };
    match result {
        Ok(()) => Ending::Done,
        Err(SyncError::Interrupted) => Ending::Released,
        Err(e) => Ending::Failed(e.into()),
    }
}

async fn webhook(shared: &Shared, job: &Job) -> Result<(), SyncError> {
    let store = &shared.ctx.store;
    let Some(event_id) = job.event_id else {
        return Err(SyncError::EventMissing {
            job_id: job.id,
            event_id: 0,
        });
    };
    let event = store
        .inbox_event(event_id)
        .await?
        .ok_or(SyncError::EventMissing {
            job_id: job.id,
            event_id,
        })?;
    let applied =
        apply::apply_webhook(store, &shared.ctx.gate, shared.app.as_ref(), &event).await?;
    let location = applied.location_id.clone();
    if !shared.ensured.lock().contains(&location) {
        let s = shared.config.schedule_of(&location);
        store
            .ensure_sync_state(
                &location,
                millis(s.poll_interval),
                millis(s.reconcile_interval),
            )
            .await?;
        shared.ensured.lock().insert(location.clone());
    }
    bump(&shared.metrics.webhooks_applied);
    if applied.unknown {
        bump(&shared.metrics.unknown_events);
        store
            .record_event_applied(&location, applied.lag_ms, true)
            .await?;
    } else if let Some(lag) = applied.lag_ms {
        shared.lags.lock().insert(location, lag);
    }
    Ok(())
}

/// Writes the buffered webhook lags to the locations' sync states.
pub(crate) async fn flush_lags(shared: &Shared) {
    let lags: Vec<(String, i64)> = shared.lags.lock().drain().collect();
    for (location, lag) in lags {
        if let Err(e) = shared
            .ctx
            .store
            .record_event_applied(&location, Some(lag), false)
            .await
        {
            tracing::warn!(location, error = %e, "recording the webhook lag failed");
        }
    }
}

async fn settle(shared: &Shared, job: &Job, ending: Ending) {
    let store = &shared.ctx.store;
    let worker = shared.worker.as_str();
    let m = &shared.metrics;
    let result = match ending {
        Ending::Done => store.complete_job(job.id, worker).await.map(|done| {
            if done {
                bump(&m.completed);
            }
        }),
        Ending::Released => store.release_job(job.id, worker).await.map(|_| {
            bump(&m.released);
        }),
        Ending::Failed(JobError::Settled(msg)) => {
            tracing::warn!(job_id = job.id, kind = %job.kind, error = %msg, "job failed for good; its outcome is recorded, so it is completed");
            store.complete_job(job.id, worker).await.map(|done| {
                if done {
                    bump(&m.completed);
                }
            })
        }
        Ending::Failed(e) => {
            let (msg, policy) = match &e {
                JobError::Dead(msg) => (
                    msg,
                    RetryPolicy {
                        max_attempts: 1,
                        ..shared.config.retry.clone()
                    },
                ),
                JobError::Retry(msg) | JobError::Settled(msg) => (msg, shared.config.retry.clone()),
            };
            store
                .fail_job(job.id, worker, msg, &policy)
                .await
                .map(|outcome| match outcome {
                    store::FailOutcome::Retry { attempts, .. } => {
                        bump(&m.retried);
                        tracing::info!(job_id = job.id, kind = %job.kind, attempts, error = %msg, "job failed; will retry");
                    }
                    store::FailOutcome::Dead { attempts } => {
                        bump(&m.dead);
                        tracing::warn!(job_id = job.id, kind = %job.kind, attempts, error = %msg, "job dead-lettered");
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
