//! Reading the queue without changing it: how many jobs are in each state, and one job by id.

use super::{Job, JobRow, QueueDepth, JOB_COLUMNS};
use crate::db::with_pool;
use crate::{Store, StoreError};

/// How many jobs are in one state, and when the oldest of them was queued.
#[derive(sqlx::FromRow)]
struct StateCount {
    state: String,
    jobs: i64,
    oldest_created_at_ms: Option<i64>,
}

impl Store {
    /// How many jobs are pending, running and dead, for one location or all.
    pub async fn queue_depth(&self, location_id: Option<&str>) -> Result<QueueDepth, StoreError> {
        const ALL: &str =
            "SELECT state, COUNT(*) AS jobs, MIN(created_at_ms) AS oldest_created_at_ms \
             FROM jobs GROUP BY state";
        const ONE: &str =
            "SELECT state, COUNT(*) AS jobs, MIN(created_at_ms) AS oldest_created_at_ms \
             FROM jobs WHERE location_id = $1 GROUP BY state";
        let rows: Vec<StateCount> = with_pool!(&self.db, |pool| match location_id {
            None => sqlx::query_as(ALL).fetch_all(pool).await,
            Some(id) => sqlx::query_as(ONE).bind(id).fetch_all(pool).await,
        })
        .map_err(StoreError::db("counting jobs"))?;
        let mut depth = QueueDepth::default();
        for row in rows {
            let count = u64::try_from(row.jobs).unwrap_or(0);
            match row.state.as_str() {
                "pending" => {
                    depth.pending = count;
                    depth.oldest_pending_created_at_ms = row.oldest_created_at_ms;
                }
                "running" => depth.running = count,
                "dead" => depth.dead = count,
                other => {
                    return Err(StoreError::Corrupt {
                        what: "the job queue".into(),
                        reason: format!("unknown job state {other:?}"),
                    })
                }
            }
        }
        Ok(depth)
    }

    /// A job in any state, or `None` (never queued, or completed, or dropped).
    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a job"))?;
        row.map(JobRow::into_job).transpose()
    }
}
