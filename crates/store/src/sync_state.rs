//! Per-location sync progress: the poller's cursor and schedule, the last webhook applied,
//! and the backfill's checkpoints.

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::{Store, StoreError};

/// A location's poller schedule and the figures `drivesync status` shows.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SyncState {
    pub location_id: String,
    /// Contacts updated after this (Unix ms) are fetched by the next poll.
    pub poll_cursor_ms: Option<i64>,
    pub poll_interval_ms: i64,
    pub reconcile_interval_ms: i64,
    pub last_poll_ms: Option<i64>,
    pub last_reconcile_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
    pub last_event_lag_ms: Option<i64>,
    pub unknown_events: i64,
    pub last_error: Option<String>,
    /// When the open tasks were last searched (task edits send no webhook).
    pub last_task_poll_ms: Option<i64>,
    /// Requests the last full reconcile sent (retries included): what one costs of the
    /// location's daily budget.
    pub last_reconcile_requests: Option<i64>,
}

/// A backfill phase's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackfillCheckpoint {
    pub phase: String,
    /// Where to resume (the phase's own JSON), `None` at the start.
    pub cursor: Option<String>,
    pub items: i64,
    pub done: bool,
}

/// A `backfill_state` row (`done` is stored as 0 or 1 on both backends).
#[derive(sqlx::FromRow)]
struct CheckpointRow {
    phase: String,
    cursor: Option<String>,
    items: i64,
    done: i64,
}

const STATE_COLUMNS: &str = "location_id, poll_cursor_ms, poll_interval_ms, \
     reconcile_interval_ms, last_poll_ms, last_reconcile_ms, last_event_ms, last_event_lag_ms, \
     unknown_events, last_error, last_task_poll_ms, last_reconcile_requests";

impl Store {
    /// Creates a location's sync state with these intervals if it has none; an existing one
    /// keeps its cursor and takes the intervals given.
    pub async fn ensure_sync_state(
        &self,
        location_id: &str,
        poll_interval_ms: i64,
        reconcile_interval_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO sync_state (location_id, poll_interval_ms, reconcile_interval_ms, \
             updated_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (location_id) DO UPDATE SET \
             poll_interval_ms = excluded.poll_interval_ms, \
             reconcile_interval_ms = excluded.reconcile_interval_ms"
        )
        .bind(location_id)
        .bind(poll_interval_ms)
        .bind(reconcile_interval_ms)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("saving a location's sync schedule"))?;
        Ok(())
    }

    pub async fn sync_state(&self, location_id: &str) -> Result<Option<SyncState>, StoreError> {
        let sql = format!("SELECT {STATE_COLUMNS} FROM sync_state WHERE location_id = $1");
        let row: Option<SyncState> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(location_id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a location's sync state"))?;
        Ok(row)
    }

    pub async fn sync_states(&self) -> Result<Vec<SyncState>, StoreError> {
        let sql = format!("SELECT {STATE_COLUMNS} FROM sync_state ORDER BY location_id");
        with_pool!(&self.db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
            .map_err(StoreError::db("reading sync states"))
    }

    /// Records a finished poll: the new cursor (only ever moved forward) and its time.
    pub async fn record_poll(
        &self,
        location_id: &str,
        cursor_ms: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE sync_state SET \
             poll_cursor_ms = CASE WHEN $2 IS NULL THEN poll_cursor_ms \
                 WHEN poll_cursor_ms IS NULL OR $2 > poll_cursor_ms THEN $2 \
                 ELSE poll_cursor_ms END, \
             last_poll_ms = $3, last_error = $4, updated_at_ms = $3 WHERE location_id = $1"
        )
        .bind(location_id)
        .bind(cursor_ms)
        .bind(now)
        .bind(error)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("recording a poll"))?;
        Ok(())
    }

    /// Records a finished reconcile (`requests`: what it sent, when it finished; kept from
    /// the last one that did otherwise).
    pub async fn record_reconcile(
        &self,
        location_id: &str,
        error: Option<&str>,
        requests: Option<u64>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let requests = requests.map(|r| i64::try_from(r).unwrap_or(i64::MAX));
        with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE sync_state SET last_reconcile_ms = $2, last_error = $3, updated_at_ms = $2, \
             last_reconcile_requests = COALESCE($4, last_reconcile_requests) \
             WHERE location_id = $1"
        )
        .bind(location_id)
        .bind(now)
        .bind(error)
        .bind(requests)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("recording a reconcile"))?;
        Ok(())
    }

    /// Records a finished search of the location's open tasks.
    pub async fn record_task_poll(&self, location_id: &str) -> Result<(), StoreError> {
        let now = now_ms();
        with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE sync_state SET last_task_poll_ms = $2, updated_at_ms = $2 \
             WHERE location_id = $1"
        )
        .bind(location_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("recording a task poll"))?;
        Ok(())
    }

    /// Records that a webhook of the location was applied, `lag_ms` after its timestamp;
    /// `unknown` counts an event type drivesync does not know.
    pub async fn record_event_applied(
        &self,
        location_id: &str,
        lag_ms: Option<i64>,
        unknown: bool,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE sync_state SET last_event_ms = $2, last_event_lag_ms = $3, \
             unknown_events = unknown_events + $4, updated_at_ms = $2 WHERE location_id = $1"
        )
        .bind(location_id)
        .bind(now)
        .bind(lag_ms)
        .bind(i64::from(unknown))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("recording an applied event"))?;
        Ok(())
    }

    /// The backfill checkpoints of a location.
    pub async fn backfill_checkpoints(
        &self,
        location_id: &str,
    ) -> Result<Vec<BackfillCheckpoint>, StoreError> {
        let rows: Vec<CheckpointRow> = with_pool!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT phase, cursor, items, done FROM backfill_state WHERE location_id = $1 \
                 ORDER BY started_at_ms, phase",
            )
            .bind(location_id)
            .fetch_all(pool)
            .await
        })
        .map_err(StoreError::db("reading backfill checkpoints"))?;
        Ok(rows
            .into_iter()
            .map(|row| BackfillCheckpoint {
                phase: row.phase,
                cursor: row.cursor,
                items: row.items,
                done: row.done != 0,
            })
            .collect())
    }

    /// Saves a backfill phase's checkpoint.
    pub async fn save_backfill_checkpoint(
        &self,
        location_id: &str,
        cp: &BackfillCheckpoint,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO backfill_state (location_id, phase, cursor, items, done, \
             started_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (location_id, phase) DO UPDATE SET cursor = excluded.cursor, \
             items = excluded.items, done = excluded.done, updated_at_ms = excluded.updated_at_ms"
        )
        .bind(location_id)
        .bind(&cp.phase)
        .bind(&cp.cursor)
        .bind(cp.items)
        .bind(i64::from(cp.done))
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("saving a backfill checkpoint"))?;
        Ok(())
    }

    /// Forgets a location's backfill checkpoints, so the next backfill starts over.
    pub async fn reset_backfill(&self, location_id: &str) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM backfill_state WHERE location_id = $1"
        )
        .bind(location_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("resetting a backfill"))?;
        Ok(())
    }
}
