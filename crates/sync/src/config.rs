//! How the engine runs: workers, leases, retries, the poller's schedule and housekeeping.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use store::RetryPolicy;
use tokio::sync::Notify;

/// A location's own poll and reconcile intervals (overriding the engine's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocationSchedule {
    pub poll_interval: Duration,
    pub reconcile_interval: Duration,
}

#[derive(Clone)]
pub struct EngineConfig {
    /// Jobs run at once in this process.
    pub workers: usize,
    /// How long a claimed job is leased; renewed every third of it while it runs.
    pub lease: Duration,
    /// Jobs claimed at once, and how many claimed jobs may wait for a free worker: one claim
    /// then serves many jobs under load.
    pub claim_batch: usize,
    pub retry: RetryPolicy,
    /// How often an idle worker looks at the queue without being woken: what lets other
    /// processes on a shared PostgreSQL pick up webhooks this one's ingest stored.
    pub idle_poll: Duration,
    /// Default interval between incremental polls of a location.
    pub poll_interval: Duration,
    /// Default interval between full reconciles of a location (each costs about three
    /// requests per contact, so daily by default).
    pub reconcile_interval: Duration,
    pub per_location: HashMap<String, LocationSchedule>,
    /// A poll asks for contacts updated since the cursor minus this, so a change committed in
    /// HighLevel just after an earlier poll read past its time is not missed.
    pub poll_overlap: Duration,
    /// Webhooks are forgotten this long after receipt; longer than the ingest's 2 h replay
    /// window, so a replay inside the window is still recognised as a duplicate.
    pub inbox_retention: Duration,
    /// Whether this process schedules polls and reconciles (one per key is queued however
    /// many processes do).
    pub schedule: bool,
    /// How often the schedule is looked at.
    pub schedule_tick: Duration,
    /// How often jobs whose lease expired are put back.
    pub requeue_interval: Duration,
    /// How often the inbox is pruned.
    pub prune_interval: Duration,
    /// How often PostgreSQL's statistics and dead rows are looked at ([`store::Store::upkeep`]);
    /// `None` leaves them to autovacuum alone.
    pub upkeep_interval: Option<Duration>,
    /// The dashboard's per-minute samples ([`crate::sampler`]) are taken and kept this long;
    /// `None`: not taken by this engine.
    pub sample_retention: Option<Duration>,
    /// How long `shutdown` waits for running jobs before leaving them to their leases.
    pub shutdown_grace: Duration,
    /// Contacts whose tasks, notes and appointments a poll or reconcile reads at once.
    pub fetch_concurrency: usize,
    /// Which appointments a reconcile lists through the calendars (older or later ones it
    /// holds are still confirmed by id).
    pub appointment_window: crate::fetch::listing::AppointmentWindow,
    /// How often a location's open tasks are searched: HighLevel sends no webhook when a task
    /// is edited (title, due date, assignee) or reopened. Each search costs one request per
    /// 100 open tasks. `None`: only polls of changed contacts and the reconcile find them.
    pub task_poll_interval: Option<Duration>,
    /// Notified when jobs were queued in this process (see `IngestState::notifier`).
    pub wake: Option<Arc<Notify>>,
    /// Names this process's workers in leases (`<prefix>-w<n>`); host, pid and a random
    /// suffix by default.
    pub worker_prefix: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        // The documented defaults (`drivesync init`'s template, held to these by its tests).
        EngineConfig {
            workers: 4,
            // A process killed mid-job holds its jobs (and their contacts' later events) until
            // the lease runs out: short leases bound that wait; heartbeats renew at a third.
            lease: Duration::from_secs(15),
            claim_batch: 32,
            retry: RetryPolicy::default(),
            idle_poll: Duration::from_millis(200),
            poll_interval: Duration::from_secs(60),
            reconcile_interval: Duration::from_secs(24 * 60 * 60),
            per_location: HashMap::new(),
            poll_overlap: Duration::from_secs(2 * 60),
            inbox_retention: Duration::from_secs(3 * 60 * 60),
            schedule: true,
            schedule_tick: Duration::from_secs(5),
            requeue_interval: Duration::from_secs(5),
            prune_interval: Duration::from_secs(5 * 60),
            upkeep_interval: Some(Duration::from_secs(10)),
            // Off unless asked for: `drivesync serve` sets it from `[dashboard] retention`.
            sample_retention: None,
            shutdown_grace: Duration::from_secs(10),
            fetch_concurrency: 4,
            appointment_window: crate::fetch::listing::AppointmentWindow::default(),
            task_poll_interval: Some(Duration::from_secs(5 * 60)),
            wake: None,
            worker_prefix: default_prefix(),
        }
    }
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("workers", &self.workers)
            .field("lease", &self.lease)
            .field("claim_batch", &self.claim_batch)
            .field("retry", &self.retry)
            .field("idle_poll", &self.idle_poll)
            .field("poll_interval", &self.poll_interval)
            .field("reconcile_interval", &self.reconcile_interval)
            .field("per_location", &self.per_location)
            .field("poll_overlap", &self.poll_overlap)
            .field("upkeep_interval", &self.upkeep_interval)
            .field("sample_retention", &self.sample_retention)
            .field("inbox_retention", &self.inbox_retention)
            .field("schedule", &self.schedule)
            .field("worker_prefix", &self.worker_prefix)
            .finish_non_exhaustive()
    }
}

impl EngineConfig {
    /// Wakes idle workers when `notify` fires (the ingest's [`crate::ingest::IngestState::notifier`]).
    pub fn wake_on(mut self, notify: Arc<Notify>) -> Self {
        self.wake = Some(notify);
        self
    }

    /// The schedule of `location`: its override, else the defaults.
    pub fn schedule_of(&self, location: &str) -> LocationSchedule {
        self.per_location
            .get(location)
            .copied()
            .unwrap_or(LocationSchedule {
                poll_interval: self.poll_interval,
                reconcile_interval: self.reconcile_interval,
            })
    }
}

fn default_prefix() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "drivesync".into());
    format!(
        "{host}-{}-{:06x}",
        std::process::id(),
        rand::random::<u32>() & 0xff_ffff
    )
}
