//! Queries the sync engine's scheduler needs beyond the plain queue: queue a poll or a
//! reconcile only when none of its kind is already waiting or running for the location, so
//! that several drivesync processes sharing one database do not all poll HighLevel.

use crate::clock::now_ms;
use crate::db::{id_list, ids_in, is_transient, ordering_lock_ids, with_pool, KeyLocks as _};
use crate::queue::{job_insert_sql, validate_key, NewJob};
use crate::{Store, StoreError};

/// How many times a transaction PostgreSQL aborted to break a deadlock is run in all.
const TRANSIENT_ATTEMPTS: usize = 3;

impl Store {
    /// Queues `job` unless a job of the same kind and ordering key is pending or running;
    /// returns the new job's id, or `None` when one was already there. The check and the
    /// insert run under the key's lock (PostgreSQL) or the write lock (SQLite), so two
    /// schedulers racing for the same key queue one job.
    pub async fn enqueue_if_idle(&self, job: &NewJob) -> Result<Option<i64>, StoreError> {
        validate_key("job kind", &job.kind)?;
        validate_key("ordering key", &job.ordering_key)?;
        let payload = job.payload.to_string();
        let locks = ordering_lock_ids([job.ordering_key.as_str()]);
        let insert_job = job_insert_sql(&self.db);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = now_ms();
            let run_at = job.run_at_ms.unwrap_or(now);
            let result = with_pool!(&self.db, |pool| async {
                let mut tx = pool.begin().await?;
                tx.lock_ordering_keys(&locks).await?;
                // On SQLite a no-op write first takes the write lock, so the check below
                // cannot be overtaken by another process's insert.
                sqlx::query("UPDATE jobs SET kind = kind WHERE id = -1")
                    .execute(&mut *tx)
                    .await?;
                let open: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM jobs WHERE ordering_key = $1 AND kind = $2 \
                     AND state IN ('pending', 'running') LIMIT 1",
                )
                .bind(&job.ordering_key)
                .bind(&job.kind)
                .fetch_optional(&mut *tx)
                .await?;
                if open.is_some() {
                    tx.rollback().await?;
                    return Ok::<_, sqlx::Error>(None);
                }
                let id: i64 = sqlx::query_scalar(insert_job)
                    .bind(&job.kind)
                    .bind(&job.location_id)
                    .bind(&job.ordering_key)
                    .bind(None::<i64>)
                    .bind(&payload)
                    .bind(run_at)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(id))
            }
            .await);
            match result {
                Ok(id) => return Ok(id),
                Err(e) if attempt < TRANSIENT_ATTEMPTS && is_transient(&e) => {}
                Err(source) => {
                    return Err(StoreError::Database {
                        action: "queueing a scheduled job",
                        source,
                    })
                }
            }
        }
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
}
