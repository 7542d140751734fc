//! Taking jobs to run and holding them: claiming the jobs first in their key's line, renewing
//! their leases, giving one back unstarted, and putting back those whose lease expired.

use std::time::Duration;

use super::{validate_key, Job, JobRow, RetryPolicy};
use crate::clock::{duration_ms, now_ms};
use crate::db::{id_list, ids_in, with_pool, Db};
use crate::{Store, StoreError};

/// The jobs that may start now: pending, due, and first in their key's line with nothing of
/// their key running. Binds: ..., now ($3), how many ($4).
macro_rules! claimable {
    ($id:literal) => {
        concat!(
            "SELECT j.id",
            $id,
            " FROM jobs AS j \
             WHERE j.state = 'pending' AND j.run_at_ms <= $3 \
               AND NOT EXISTS ( \
                   SELECT 1 FROM jobs AS o \
                   WHERE o.ordering_key = j.ordering_key \
                     AND (o.state = 'running' OR (o.state = 'pending' AND o.seq < j.seq))) \
             ORDER BY j.seq LIMIT $4"
        )
    };
}

/// Binds: worker, lease until, now, how many. The UPDATE takes the write lock before reading,
/// so the choice and the claim are one atomic step.
const SQLITE_CLAIM: &str = concat!(
    "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until_ms = $2, \
         updated_at_ms = $3 \
     WHERE id IN (",
    claimable!(""),
    ") RETURNING ",
    job_columns!()
);

/// Binds: worker, lease until, now, how many. Rows another claimer has locked are skipped;
/// a row claimed and committed meanwhile is re-checked and fails `state = 'pending'`.
const POSTGRES_CLAIM: &str = concat!(
    "WITH picked AS (",
    claimable!(" AS picked_id"),
    " FOR UPDATE OF j SKIP LOCKED) \
     UPDATE jobs SET state = 'running', lease_owner = $1, lease_until_ms = $2, \
         updated_at_ms = $3 \
     FROM picked WHERE jobs.id = picked.picked_id \
     RETURNING ",
    job_columns!()
);

impl Store {
    /// Claims up to `n` jobs for `worker`, leased for `lease`: pending jobs that are due and
    /// first in their key's line with no job of their key running, earliest queued first.
    /// `worker` must be unique to the claiming worker (e.g. host, pid and a random suffix):
    /// completing, failing and renewing are guarded by it. Renew the lease with
    /// [`Store::heartbeat`] well before it ends; an expired lease holds its key up until
    /// [`Store::requeue_expired`] (which every engine should run periodically) puts it back.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        validate_key("worker id", worker)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let until = now.saturating_add(duration_ms(lease));
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let sql = match &self.db {
            Db::Sqlite(_) => SQLITE_CLAIM,
            Db::Postgres(_) => POSTGRES_CLAIM,
        };
        let mut rows: Vec<JobRow> = with_pool!(&self.db, |pool| sqlx::query_as(sql)
            .bind(worker)
            .bind(until)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("claiming jobs"))?;
        rows.sort_unstable_by_key(|row| row.seq);
        let jobs = rows
            .into_iter()
            .map(JobRow::into_job)
            .collect::<Result<Vec<_>, _>>()?;
        if !jobs.is_empty() {
            tracing::debug!(worker, claimed = jobs.len(), "claimed jobs");
        }
        Ok(jobs)
    }

    /// Extends the lease of those of `job_ids` that `worker` still holds to `lease` from now;
    /// returns how many. A job missing from the count was lost (requeued after its lease
    /// expired, or gone): stop working on it.
    pub async fn heartbeat(
        &self,
        worker: &str,
        job_ids: &[i64],
        lease: Duration,
    ) -> Result<u64, StoreError> {
        if job_ids.is_empty() {
            return Ok(0);
        }
        let now = now_ms();
        let until = now.saturating_add(duration_ms(lease));
        let sql = format!(
            "UPDATE jobs SET lease_until_ms = $1, updated_at_ms = $2 \
             WHERE state = 'running' AND lease_owner = $3 AND id IN ({})",
            ids_in(&self.db, 4)
        );
        let done = with_pool!(&self.db, |pool| sqlx::query(&sql)
            .bind(until)
            .bind(now)
            .bind(worker)
            .bind(id_list(job_ids))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::db("renewing job leases"))?;
        if done < job_ids.len() as u64 {
            tracing::warn!(
                worker,
                renewed = done,
                asked = job_ids.len(),
                "some job leases were lost"
            );
        }
        Ok(done)
    }

    /// Gives a running job `worker` holds back to the queue untouched — pending at once,
    /// attempts unchanged — for a worker that is stopping before it started the job. False
    /// if the worker no longer holds it.
    pub async fn release_job(&self, job_id: i64, worker: &str) -> Result<bool, StoreError> {
        let now = now_ms();
        let done = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_until_ms = NULL, \
                 updated_at_ms = $3 \
             WHERE id = $1 AND state = 'running' AND lease_owner = $2"
        )
        .bind(job_id)
        .bind(worker)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("giving a job back to the queue"))?;
        Ok(done == 1)
    }

    /// Puts back every running job whose lease has expired (its worker died or hung), each
    /// counted as a failed attempt, to run again at once — or dead-letters it if that was its
    /// last attempt under the default [`RetryPolicy`]. Returns how many were put back or
    /// dead-lettered. Run it periodically (e.g. every few seconds): until then an expired job
    /// holds its key up.
    pub async fn requeue_expired(&self) -> Result<u64, StoreError> {
        self.requeue_expired_with(&RetryPolicy::default()).await
    }

    /// [`Store::requeue_expired`] with the given retry policy's `max_attempts`.
    pub async fn requeue_expired_with(&self, policy: &RetryPolicy) -> Result<u64, StoreError> {
        let now = now_ms();
        let max = i32::try_from(policy.max_attempts).unwrap_or(i32::MAX);
        let states: Vec<String> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "UPDATE jobs SET \
                 state = CASE WHEN attempts + 1 >= $2 THEN 'dead' ELSE 'pending' END, \
                 attempts = attempts + 1, \
                 last_error = 'the lease of worker ' || lease_owner || ' expired: it stopped, \
                     or did not renew the lease (heartbeat) in time', \
                 run_at_ms = $1, lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $1 \
             WHERE state = 'running' AND lease_until_ms <= $1 \
             RETURNING state"
        )
        .bind(now)
        .bind(max)
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("requeueing jobs whose lease expired"))?;
        let dead = states.iter().filter(|s| *s == "dead").count();
        if !states.is_empty() {
            tracing::warn!(requeued = states.len() - dead, dead, "jobs' leases expired");
        }
        Ok(states.len() as u64)
    }
}
