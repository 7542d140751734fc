//! Ending a job's run: completing it (the job is deleted), or recording its failure (back to
//! pending after a backoff, or dead at its last attempt).

use super::{truncate, FailOutcome, JobState, RetryPolicy, MAX_ERROR_BYTES};
use crate::clock::{duration_ms, now_ms};
use crate::db::{id_list, ids_in, with_pool};
use crate::{Store, StoreError};

impl Store {
    /// Marks a job done (it is deleted; its webhook stays in the inbox until pruned, still
    /// recognised as a duplicate) if `worker` holds it; false, changing nothing, if it does not
    /// (its lease expired and it was requeued, perhaps to run elsewhere).
    pub async fn complete_job(&self, job_id: i64, worker: &str) -> Result<bool, StoreError> {
        let done = with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM jobs WHERE id = $1 AND state = 'running' AND lease_owner = $2"
        )
        .bind(job_id)
        .bind(worker)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("completing a job"))?;
        if done == 0 {
            tracing::warn!(
                job_id,
                worker,
                "job not completed: the worker lost its lease"
            );
        }
        Ok(done == 1)
    }

    /// Completes (deletes) those of `job_ids` that `worker` still holds, in one statement —
    /// one commit for many finished jobs, which on SQLite is one fsync instead of one each.
    /// Returns how many were completed; a job missing from the count was lost (its lease
    /// expired and it was put back).
    pub async fn complete_jobs(&self, job_ids: &[i64], worker: &str) -> Result<u64, StoreError> {
        if job_ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "DELETE FROM jobs WHERE state = 'running' AND lease_owner = $1 AND id IN ({})",
            ids_in(&self.db, 2)
        );
        let done = with_pool!(&self.db, |pool| sqlx::query(&sql)
            .bind(worker)
            .bind(id_list(job_ids))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::db("completing jobs"))?;
        Ok(done)
    }

    /// Records a failed attempt of a job `worker` holds: back to pending after
    /// [`RetryPolicy::backoff`] (still first in its key's line, so later jobs of the key wait),
    /// or, at `policy.max_attempts`, dead with `error` as its last error.
    pub async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        policy: &RetryPolicy,
    ) -> Result<FailOutcome, StoreError> {
        let error = truncate(error, MAX_ERROR_BYTES);
        let attempts: Option<i32> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT attempts FROM jobs \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2"
        )
        .bind(job_id)
        .bind(worker)
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("reading a failed job"))?;
        let Some(before) = attempts else {
            tracing::warn!(job_id, worker, "job failure not recorded: lease lost");
            return Ok(FailOutcome::LostLease);
        };
        let attempts = before.saturating_add(1);
        let now = now_ms();
        let dead = i64::from(attempts) >= i64::from(policy.max_attempts);
        let (state, run_at) = if dead {
            (JobState::Dead, now)
        } else {
            (
                JobState::Pending,
                now.saturating_add(duration_ms(policy.backoff(attempts))),
            )
        };
        // Compare-and-set on the attempts read: a requeue in between bumps them.
        let done = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE jobs SET state = $4, attempts = $5, last_error = $6, run_at_ms = $7, \
                 lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $8 \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2 AND attempts = $3"
        )
        .bind(job_id)
        .bind(worker)
        .bind(before)
        .bind(state.as_str())
        .bind(attempts)
        .bind(error)
        .bind(run_at)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("recording a job failure"))?;
        if done == 0 {
            tracing::warn!(job_id, worker, "job failure not recorded: lease lost");
            return Ok(FailOutcome::LostLease);
        }
        if dead {
            tracing::warn!(job_id, attempts, error, "job dead-lettered");
            Ok(FailOutcome::Dead { attempts })
        } else {
            tracing::debug!(
                job_id,
                attempts,
                run_at_ms = run_at,
                error,
                "job will retry"
            );
            Ok(FailOutcome::Retry {
                attempts,
                run_at_ms: run_at,
            })
        }
    }
}
