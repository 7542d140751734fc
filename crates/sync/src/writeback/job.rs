//! The [`JobKind::WriteBack`] job: one Drive Chat outbox command carried out in HighLevel by
//! [`super::execute`], with its failures sorted into retry, settled or dead.
//!
//! [`JobKind::WriteBack`]: store::JobKind::WriteBack

use store::Job;

use crate::worker::{JobContext, JobError, JobHandler};

/// Runs write-back jobs (payload `{"outbox_id": N}`) at the `Interactive` priority: a person
/// clicked and waits.
pub struct WriteBackJob;

#[async_trait::async_trait]
impl JobHandler for WriteBackJob {
    async fn run(&self, ctx: &JobContext, job: &Job) -> Result<(), JobError> {
        let Some(id) = job
            .payload
            .get("outbox_id")
            .and_then(serde_json::Value::as_i64)
        else {
            return Err(JobError::Dead(format!(
                "write-back job {} names no outbox command (payload {}); drop it",
                job.id, job.payload
            )));
        };
        let location = match ctx.gate.location(&job.location_id).await {
            // A person clicked and waits: ahead of polls, settle reads and imports.
            Ok(l) => l.with_priority(ghl::api::Priority::Interactive),
            Err(e) if e.is_transient() => return Err(JobError::Retry(e.to_string())),
            Err(e) => {
                // No usable connection (e.g. the location must be reconnected): the person
                // who asked is told on the command rather than the job dying unseen.
                let why = format!("HighLevel could not be reached for this location: {e}");
                ctx.store
                    .settle_command(id, store::CommandState::Failed, None, None, Some(&why))
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                return Err(JobError::Settled(why));
            }
        };
        match super::execute(&ctx.store, &location, id).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_retryable() => Err(JobError::Retry(e.to_string())),
            Err(e) => Err(JobError::Dead(e.to_string())),
        }
    }
}
