//! Dead letters: jobs that failed their last allowed attempt, kept until an operator replays
//! them (back of their key's line, attempts reset) or drops them.

use super::{Job, JobRow, JobState, JOB_COLUMNS};
use crate::clock::now_ms;
use crate::db::{ordering_lock_ids, with_pool, Db, KeyLocks as _};
use crate::retry::retry_transient;
use crate::{Store, StoreError};

/// Binds: id, now. Back to pending at the back of its key's line, attempts reset.
macro_rules! replay {
    ($seq:expr) => {
        concat!(
            "UPDATE jobs SET state = 'pending', seq = ",
            $seq,
            ", attempts = 0, run_at_ms = $2, lease_owner = NULL, lease_until_ms = NULL, \
                 updated_at_ms = $2 \
             WHERE id = $1 AND state = 'dead'"
        )
    };
}

impl Store {
    /// Dead letters, for one location or all, oldest first, at most `limit`.
    pub async fn dead_jobs(
        &self,
        location_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = match location_id {
            None => {
                format!("SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'dead' ORDER BY id LIMIT $1")
            }
            Some(_) => format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'dead' AND location_id = $2 \
                 ORDER BY id LIMIT $1"
            ),
        };
        let rows: Vec<JobRow> = with_pool!(&self.db, |pool| {
            let query = sqlx::query_as(&sql).bind(limit);
            match location_id {
                None => query.fetch_all(pool).await,
                Some(id) => query.bind(id).fetch_all(pool).await,
            }
        })
        .map_err(StoreError::db("listing dead jobs"))?;
        rows.into_iter().map(JobRow::into_job).collect()
    }

    /// A dead letter, or `None` if there is no dead job with this id.
    pub async fn dead_job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        Ok(self.job(id).await?.filter(|j| j.state == JobState::Dead))
    }

    /// Puts a dead letter back in the queue, at the back of its key's line, with its attempts
    /// reset (its last error is kept until the next attempt); false if there is no dead job
    /// with this id.
    pub async fn replay_dead(&self, id: i64) -> Result<bool, StoreError> {
        let sql = match &self.db {
            Db::Sqlite(_) => replay!(sqlite_next_seq!()),
            Db::Postgres(_) => replay!(postgres_next_seq!()),
        };
        let replayed = retry_transient(move || async move {
            with_pool!(&self.db, |pool| async {
                let mut tx = pool.begin().await?;
                let key: Option<String> = sqlx::query_scalar(
                    "SELECT ordering_key FROM jobs WHERE id = $1 AND state = 'dead'",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(key) = key else {
                    return Ok(false);
                };
                tx.lock_ordering_keys(&ordering_lock_ids([key.as_str()]))
                    .await?;
                let done = sqlx::query(sql)
                    .bind(id)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok::<_, sqlx::Error>(done == 1)
            }
            .await)
        })
        .await
        .map_err(StoreError::db("replaying a dead job"))?;
        if replayed {
            tracing::info!(job_id = id, "dead job replayed");
        }
        Ok(replayed)
    }

    /// Deletes a dead letter (its webhook, if any, stays in the inbox until pruned); false if
    /// there is no dead job with this id.
    pub async fn drop_dead(&self, id: i64) -> Result<bool, StoreError> {
        let done = with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM jobs WHERE id = $1 AND state = 'dead'"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("dropping a dead job"))?;
        if done == 1 {
            tracing::info!(job_id = id, "dead job dropped");
        }
        Ok(done == 1)
    }
}
