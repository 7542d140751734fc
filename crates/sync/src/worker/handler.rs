//! Job kinds the engine does not run itself (the write-back, and whatever comes later) are
//! run by a [`JobHandler`] registered for the kind with
//! [`crate::engine::EngineConfig::with_handler`].

use store::{Job, Store};

use crate::gate::LocationGate;
use crate::error::SyncError;

/// What a handler gets: the store and the location handles.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub store: Store,
    pub gate: LocationGate,
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
}

impl From<SyncError> for JobError {
    fn from(e: SyncError) -> JobError {
        if e.is_transient() {
            JobError::Retry(e.to_string())
        } else {
            JobError::Dead(e.to_string())
        }
    }
}

/// Runs the jobs of one kind. A job may run more than once (its worker can die after the
/// work and before completing it): handlers must be idempotent.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn run(&self, ctx: &JobContext, job: &Job) -> Result<(), JobError>;
}
