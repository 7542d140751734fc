//! Putting jobs in line: each at the back of its ordering key's line, behind every job queued
//! before it under that key. Webhook jobs are queued with their event by
//! [`Store::accept_webhooks`], write-back jobs with their command by [`Store::enqueue_command`],
//! both through [`job_insert_sql`].

use super::{validate_key, NewJob};
use crate::clock::now_ms;
use crate::db::{ordering_lock_ids, with_pool, Db, KeyLocks as _};
use crate::retry::retry_transient;
use crate::{Store, StoreError};

/// Binds: kind, location_id, ordering_key, event_id, payload, run_at_ms, now. Returns the id.
macro_rules! job_insert {
    ($seq:expr) => {
        concat!(
            "INSERT INTO jobs (seq, kind, location_id, ordering_key, event_id, payload, state, \
                 run_at_ms, attempts, created_at_ms, updated_at_ms) \
             VALUES (",
            $seq,
            ", $1, $2, $3, $4, $5, 'pending', $6, 0, $7, $7) RETURNING id"
        )
    };
}

/// The INSERT of a job for the open backend (see `job_insert!`).
pub(crate) fn job_insert_sql(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => job_insert!(sqlite_next_seq!()),
        Db::Postgres(_) => job_insert!(postgres_next_seq!()),
    }
}

impl Store {
    /// Queues a job that is not a webhook (a poll, a reconcile, a backfill page, a write-back
    /// command): it runs after every job already queued under its ordering key, not before
    /// `run_at_ms` if that is set. Returns the job id.
    pub async fn enqueue(&self, job: &NewJob) -> Result<i64, StoreError> {
        validate_key("job kind", &job.kind)?;
        validate_key("ordering key", &job.ordering_key)?;
        let payload = &job.payload.to_string();
        let locks = &ordering_lock_ids([job.ordering_key.as_str()]);
        let insert_job = job_insert_sql(&self.db);
        let id = retry_transient(move || async move {
            let now = now_ms();
            let run_at = job.run_at_ms.unwrap_or(now);
            with_pool!(&self.db, |pool| async {
                let mut tx = pool.begin().await?;
                tx.lock_ordering_keys(locks).await?;
                let id: i64 = sqlx::query_scalar(insert_job)
                    .bind(&job.kind)
                    .bind(&job.location_id)
                    .bind(&job.ordering_key)
                    .bind(None::<i64>)
                    .bind(payload)
                    .bind(run_at)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(id)
            }
            .await)
        })
        .await
        .map_err(StoreError::db("queueing a job"))?;
        tracing::debug!(id, kind = %job.kind, key = %job.ordering_key, "queued a job");
        Ok(id)
    }

    /// Queues `job` unless a job of the same kind and ordering key is pending or running;
    /// returns the new job's id, or `None` when one was already there. The check and the
    /// insert run under the key's lock (PostgreSQL) or the write lock (SQLite), so two
    /// schedulers racing for the same key queue one job.
    pub async fn enqueue_if_idle(&self, job: &NewJob) -> Result<Option<i64>, StoreError> {
        validate_key("job kind", &job.kind)?;
        validate_key("ordering key", &job.ordering_key)?;
        let payload = &job.payload.to_string();
        let locks = &ordering_lock_ids([job.ordering_key.as_str()]);
        let insert_job = job_insert_sql(&self.db);
        retry_transient(move || async move {
            let now = now_ms();
            let run_at = job.run_at_ms.unwrap_or(now);
            with_pool!(&self.db, |pool| async {
                let mut tx = pool.begin().await?;
                tx.lock_ordering_keys(locks).await?;
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
                    .bind(payload)
                    .bind(run_at)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(id))
            }
            .await)
        })
        .await
        .map_err(StoreError::db("queueing a scheduled job"))
    }
}
