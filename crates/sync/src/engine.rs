//! The sync engine of one drivesync process: workers running queued jobs — every
//! [`JobKind`] by the handler the engine registers for it (webhooks, polls, reconciles, task
//! polls, context refreshes, settle reads, write-backs) — the poll/reconcile scheduler, and
//! housekeeping (leases that expired put back, the inbox pruned, table statistics kept fresh).
//!
//! ```no_run
//! # async fn run(store: store::Store, client: ghl::GhlClient,
//! #              ingest: sync::ingest::IngestState) -> Result<(), sync::error::SyncError> {
//! use sync::config::EngineConfig;
//! use sync::engine::Engine;
//! let config = EngineConfig::default().wake_on(ingest.notifier());
//! let engine = Engine::start(store, client, None, config).await?;
//! // ... serve until asked to stop ...
//! engine.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use store::{jobs, JobKind, NewJob, Store};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::apply::WebhookJob;
use crate::config::EngineConfig;
use crate::context::RefreshContextJob;
use crate::error::SyncError;
use crate::gate::LocationGate;
use crate::poller::job::{PollJob, ReconcileJob, TaskPollJob};
use crate::poller::schedule::Scheduler;
use crate::settle::{ReadContactJob, ReadNotesJob};
use crate::worker::{self, Handlers, JobContext, Shared, WorkerMetricsSnapshot};
use crate::writeback::job::WriteBackJob;

/// How often buffered webhook lags are written to the sync states.
const LAG_FLUSH: Duration = Duration::from_secs(1);

/// A running engine. Dropping it without [`Engine::shutdown`] stops its tasks abruptly
/// (running jobs are then re-run after their leases expire).
pub struct Engine {
    shared: Arc<Shared>,
    /// The webhook handler, whose buffered lags housekeeping and shutdown write.
    webhooks: Arc<WebhookJob>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("worker", &self.shared.worker)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts the workers, the scheduler (when `config.schedule`) and housekeeping on the
    /// current Tokio runtime. `client`'s tokens should come from `store`
    /// (`ghl::OAuthTokens` over `store::GhlTokens`); `app` is needed to apply INSTALL events.
    /// Every stored location's sync state (its intervals) is saved before this returns.
    pub async fn start(
        store: Store,
        client: ghl::GhlClient,
        app: Option<ghl::OAuthApp>,
        config: EngineConfig,
    ) -> Result<Engine, SyncError> {
        let gate = LocationGate::new(store.clone(), client);
        let (stop_tx, stop_rx) = watch::channel(false);
        let webhooks = Arc::new(WebhookJob::new(app, config.clone()));
        let handlers = handlers(&config, webhooks.clone());
        let wake = config
            .wake
            .clone()
            .unwrap_or_else(|| Arc::new(Notify::new()));
        let (done_tx, done_rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            ctx: JobContext {
                store: store.clone(),
                gate,
                stop: stop_rx,
                metrics: Default::default(),
            },
            slots: Arc::new(Semaphore::new(config.workers.max(1))),
            worker: format!("{}-w", config.worker_prefix),
            config,
            handlers,
            wake,
            running: Mutex::new(HashSet::new()),
            done: done_tx,
            claiming: Default::default(),
        });
        let mut scheduler = Scheduler::default();
        for loc in store.locations().await? {
            if loc.user_type != ghl::UserType::Company {
                scheduler
                    .ensure_state(&store, &shared.config, &loc.location_id)
                    .await?;
            }
        }
        let mut tasks = vec![
            tokio::spawn(worker::claim_loop(shared.clone())),
            tokio::spawn(worker::heartbeat_loop(shared.clone())),
            tokio::spawn(worker::complete_loop(shared.clone(), done_rx)),
            tokio::spawn(housekeeping(shared.clone(), webhooks.clone())),
        ];
        if shared.config.schedule {
            tasks.push(tokio::spawn(schedule_loop(shared.clone(), scheduler)));
        }
        if let Some(retention) = shared.config.sample_retention {
            tasks.push(tokio::spawn(crate::sampler::sampler_loop(
                store.clone(),
                shared.ctx.gate.client().clone(),
                shared.worker.clone(),
                retention,
                shared.ctx.stop.clone(),
            )));
        }
        if let Some(every) = shared.config.upkeep_interval {
            tasks.push(tokio::spawn(upkeep_loop(store.clone(), every)));
        }
        tracing::info!(worker = %shared.worker, workers = shared.config.workers, "sync engine started");
        Ok(Engine {
            shared,
            webhooks,
            stop: stop_tx,
            tasks,
        })
    }

    /// Stops claiming; running jobs finish (polls and reconciles stop between contacts and
    /// give their job back), unstarted ones are given back to the queue; waits up to
    /// `shutdown_grace`, after which what still runs is left to its lease.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.shared.wake.notify_waiters();
        let all = u32::try_from(self.shared.config.workers.max(1)).unwrap_or(u32::MAX);
        let shared = self.shared.clone();
        let drained = tokio::time::timeout(self.shared.config.shutdown_grace, async move {
            let permits = shared.slots.acquire_many(all).await;
            // Finished jobs are completed in batches: wait for the last batch to commit.
            while !shared.running.lock().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            permits.map(drop)
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                running = self.shared.running.lock().len(),
                "jobs still running at shutdown; they run again after their leases expire"
            );
        }
        self.webhooks.flush_lags(&self.shared.ctx.store).await;
        for t in &self.tasks {
            t.abort();
        }
        tracing::info!(worker = %self.shared.worker, "sync engine stopped");
    }

    /// What the workers did so far.
    pub fn metrics(&self) -> WorkerMetricsSnapshot {
        self.shared.ctx.metrics.snapshot()
    }

    /// A handle that reads the engine's state (for `/readyz`, `/metrics`) without owning it.
    pub fn probe(&self) -> EngineProbe {
        EngineProbe {
            shared: self.shared.clone(),
        }
    }

    /// Queues a poll of `location` now (unless one is already waiting); its job id.
    pub async fn request_poll(&self, location: &str) -> Result<Option<i64>, SyncError> {
        self.request(location, JobKind::Poll).await
    }

    /// Queues a full reconcile of `location` now (unless one is already waiting); its job id.
    /// The job is gone from the queue once it completed (`store.job(id)` is `None`).
    pub async fn request_reconcile(&self, location: &str) -> Result<Option<i64>, SyncError> {
        self.request(location, JobKind::Reconcile).await
    }

    async fn request(&self, location: &str, kind: JobKind) -> Result<Option<i64>, SyncError> {
        let job = NewJob::new(
            kind,
            location,
            jobs::poll_key(location),
            serde_json::json!({}),
        );
        let id = self.shared.ctx.store.enqueue_if_idle(&job).await?;
        self.shared.wake.notify_waiters();
        Ok(id)
    }
}

/// What can be read of a running engine from elsewhere: whether it takes jobs, and its
/// counters.
#[derive(Clone)]
pub struct EngineProbe {
    shared: Arc<Shared>,
}

impl EngineProbe {
    /// Whether the workers take jobs: the claimer runs and no stop was asked.
    pub fn is_ready(&self) -> bool {
        !*self.shared.ctx.stop.borrow()
            && self
                .shared
                .claiming
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What the workers did so far.
    pub fn metrics(&self) -> WorkerMetricsSnapshot {
        self.shared.ctx.metrics.snapshot()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The handler of every job kind, with the engine's settings; `webhooks` is kept by the engine
/// too, to write the lags it buffers.
fn handlers(config: &EngineConfig, webhooks: Arc<WebhookJob>) -> Handlers {
    Handlers::default()
        .register(JobKind::Webhook, webhooks)
        .register(
            JobKind::Poll,
            Arc::new(PollJob {
                overlap: config.poll_overlap,
                concurrency: config.fetch_concurrency,
            }),
        )
        .register(
            JobKind::Reconcile,
            Arc::new(ReconcileJob {
                concurrency: config.fetch_concurrency,
                window: config.appointment_window,
            }),
        )
        .register(JobKind::TaskPoll, Arc::new(TaskPollJob))
        .register(JobKind::RefreshContext, Arc::new(RefreshContextJob))
        .register(JobKind::ReadContact, Arc::new(ReadContactJob))
        .register(JobKind::ReadNotes, Arc::new(ReadNotesJob))
        .register(JobKind::WriteBack, Arc::new(WriteBackJob))
}

/// Expired leases put back, lags written, the inbox pruned — each on its own clock.
async fn housekeeping(shared: Arc<Shared>, webhooks: Arc<WebhookJob>) {
    let cfg = &shared.config;
    let store = &shared.ctx.store;
    let mut requeue = tokio::time::interval(cfg.requeue_interval);
    let mut lags = tokio::time::interval(LAG_FLUSH);
    let mut prune = tokio::time::interval(cfg.prune_interval);
    for t in [&mut requeue, &mut lags, &mut prune] {
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            _ = requeue.tick() => match store.requeue_expired_with(&cfg.retry).await {
                Ok(n) if n > 0 => shared.wake.notify_waiters(),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "putting back expired jobs failed"),
            },
            _ = lags.tick() => webhooks.flush_lags(store).await,
            _ = prune.tick() => {
                let retention = i64::try_from(cfg.inbox_retention.as_millis()).unwrap_or(i64::MAX);
                let before = chrono::Utc::now().timestamp_millis().saturating_sub(retention);
                if let Err(e) = store.prune_inbox(before).await {
                    tracing::warn!(error = %e, "pruning the webhook inbox failed");
                }
            }
        }
    }
}

/// PostgreSQL's statistics and dead rows looked after every `every` ([`store::Store::upkeep`]),
/// apart from the other housekeeping: a VACUUM of a large table can take a while, and
/// expired leases must not wait for it.
async fn upkeep_loop(store: store::Store, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.upkeep().await {
            Ok(done) if done != store::Upkeep::default() => tracing::debug!(
                analyzed = ?done.analyzed,
                vacuumed = ?done.vacuumed,
                "refreshed table statistics"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(
                error = %e,
                "refreshing table statistics failed; autovacuum still does it, later"
            ),
        }
    }
}

async fn schedule_loop(shared: Arc<Shared>, mut scheduler: Scheduler) {
    let mut tick = tokio::time::interval(shared.config.schedule_tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if *shared.ctx.stop.borrow() {
            break;
        }
        match scheduler
            .tick(&shared.ctx.store, &shared.ctx.gate, &shared.config)
            .await
        {
            Ok(n) if n > 0 => shared.wake.notify_waiters(),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "scheduling polls failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_kind_has_a_handler() {
        let config = EngineConfig::default();
        let webhooks = Arc::new(WebhookJob::new(None, config.clone()));
        assert_eq!(handlers(&config, webhooks).missing(), []);
    }
}
