//! The contract between the workers and the work: every job kind ([`store::JobKind`]) is run by
//! a [`JobHandler`] registered for it in [`Handlers`] when the engine starts — the webhook
//! apply, the poller's walks, the settle reads, the context refresh and the write-back alike.
//! The workers know no kind themselves; they claim, run the kind's handler, and settle the job
//! by the [`JobError`] it returns.

use std::collections::HashMap;
use std::sync::Arc;

use store::{Job, JobKind, Store};
use tokio::sync::watch;

use super::metrics::WorkerMetrics;
use crate::error::SyncError;
use crate::gate::LocationGate;

/// What a handler gets: the store, the gate in front of HighLevel, whether the engine is
/// stopping, and the counters to bump.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub store: Store,
    pub gate: LocationGate,
    /// Turns true when the engine stops: a long job (a poll, a reconcile) stops between
    /// contacts and returns [`JobError::Interrupted`].
    pub stop: watch::Receiver<bool>,
    pub metrics: Arc<WorkerMetrics>,
}

/// How a job failed, which decides what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later: back to the queue with backoff; after the retry policy's
    /// last attempt it is a dead letter with this message.
    #[error("{0}")]
    Retry(String),
    /// Failed for good, and the handler has already recorded the outcome where it belongs
    /// (e.g. the outbox command is marked failed): the job is completed, not retried.
    #[error("{0}")]
    Settled(String),
    /// Failed for good and nothing recorded it: a dead letter at once, for a person to look
    /// at (`drivesync dlq show`).
    #[error("{0}")]
    Dead(String),
    /// The engine is stopping and the handler stopped early: the job is given back untouched
    /// (no attempt counted).
    #[error("the engine is stopping; the job was given back to the queue")]
    Interrupted,
}

impl From<SyncError> for JobError {
    fn from(e: SyncError) -> JobError {
        match e {
            SyncError::Interrupted => JobError::Interrupted,
            e if e.is_transient() => JobError::Retry(e.to_string()),
            e => JobError::Dead(e.to_string()),
        }
    }
}

/// Runs the jobs of one kind. A job may run more than once (its worker can die after the
/// work and before completing it): handlers must be idempotent.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn run(&self, ctx: &JobContext, job: &Job) -> Result<(), JobError>;
}

/// The handler of each job kind.
#[derive(Clone, Default)]
pub struct Handlers {
    by_kind: HashMap<JobKind, Arc<dyn JobHandler>>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.by_kind.keys()).finish()
    }
}

impl Handlers {
    /// Runs jobs of `kind` with `handler` (replacing any handler registered before for it).
    pub fn register(mut self, kind: JobKind, handler: Arc<dyn JobHandler>) -> Handlers {
        self.by_kind.insert(kind, handler);
        self
    }

    /// The handler of the kind a job names; `None` when the kind is unknown to this
    /// drivesync or has no handler.
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn JobHandler>> {
        JobKind::parse(kind).and_then(|k| self.by_kind.get(&k))
    }

    /// The kinds no handler is registered for.
    pub fn missing(&self) -> Vec<JobKind> {
        JobKind::ALL
            .into_iter()
            .filter(|k| !self.by_kind.contains_key(k))
            .collect()
    }
}
