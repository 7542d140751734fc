//! The poller's jobs: [`JobKind::Poll`], [`JobKind::Reconcile`] and [`JobKind::TaskPoll`] of
//! a location, each run by its handler with the engine's settings. A poll or reconcile stops
//! between contacts when the engine stops, and its job is given back.
//!
//! [`JobKind::Poll`]: store::JobKind::Poll
//! [`JobKind::Reconcile`]: store::JobKind::Reconcile
//! [`JobKind::TaskPoll`]: store::JobKind::TaskPoll

use std::time::Duration;

use store::Job;

use crate::fetch::listing::AppointmentWindow;
use crate::worker::{JobContext, JobError, JobHandler};

/// Runs [`super::poll`] of the job's location.
pub struct PollJob {
    /// See `EngineConfig::poll_overlap`.
    pub overlap: Duration,
    /// See `EngineConfig::fetch_concurrency`.
    pub concurrency: usize,
}

#[async_trait::async_trait]
impl JobHandler for PollJob {
    async fn run(&self, ctx: &JobContext, job: &Job) -> Result<(), JobError> {
        crate::count_and_log!(&ctx.metrics.polls, debug, "poll started");
        super::poll(
            &ctx.store,
            &ctx.gate,
            &job.location_id,
            self.overlap,
            self.concurrency,
            &ctx.stop,
        )
        .await?;
        Ok(())
    }
}

/// Runs [`super::reconcile`] of the job's location.
pub struct ReconcileJob {
    /// See `EngineConfig::fetch_concurrency`.
    pub concurrency: usize,
    /// See `EngineConfig::appointment_window`.
    pub window: AppointmentWindow,
}

#[async_trait::async_trait]
impl JobHandler for ReconcileJob {
    async fn run(&self, ctx: &JobContext, job: &Job) -> Result<(), JobError> {
        crate::count_and_log!(&ctx.metrics.reconciles, info, "reconcile started");
        super::reconcile(
            &ctx.store,
            &ctx.gate,
            &job.location_id,
            self.concurrency,
            self.window,
            &ctx.stop,
        )
        .await?;
        Ok(())
    }
}

/// Runs [`super::poll_open_tasks`] of the job's location.
pub struct TaskPollJob;

#[async_trait::async_trait]
impl JobHandler for TaskPollJob {
    async fn run(&self, ctx: &JobContext, job: &Job) -> Result<(), JobError> {
        super::poll_open_tasks(&ctx.store, &ctx.gate, &job.location_id).await?;
        Ok(())
    }
}
