//! The dashboard's figures at minute resolution: per location and minute, the lag of the last
//! webhook applied, webhooks received, HighLevel's daily budget left, the queue and its dead
//! letters, and the webhook refusal totals by reason. One replica samples each minute (see
//! `sync::sampler`); rows older than the retention are pruned.

use std::collections::{BTreeMap, HashMap};

use crate::db::with_pool;
use crate::{Store, StoreError};

/// One location's figures for one minute.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricSample {
    pub location_id: String,
    /// The minute's start, Unix ms (a multiple of 60,000).
    pub minute_ms: i64,
    /// How long after HighLevel sent it the last webhook was applied.
    pub lag_ms: Option<i64>,
    /// Webhooks received in the minute.
    pub events: i64,
    /// HighLevel's daily request budget left, as its last answer said; `None` when no
    /// request was answered yet today.
    pub budget_remaining: Option<i64>,
    pub queue_pending: i64,
    pub queue_running: i64,
    pub dead_letters: i64,
    /// Webhook refusals counted so far, by reason (totals: the chart shows the increase).
    pub refusals: BTreeMap<String, i64>,
}

#[derive(sqlx::FromRow)]
struct SampleRow {
    location_id: String,
    minute_ms: i64,
    lag_ms: Option<i64>,
    events: i64,
    budget_remaining: Option<i64>,
    queue_pending: i64,
    queue_running: i64,
    dead_letters: i64,
    refusals: String,
}

impl Store {
    /// Stores samples; a location's minute already sampled is kept as it is. Returns how
    /// many were new.
    pub async fn save_metric_samples(&self, samples: &[MetricSample]) -> Result<u64, StoreError> {
        if samples.is_empty() {
            return Ok(0);
        }
        with_pool!(&self.db, |pool| async {
            let mut tx = pool.begin().await?;
            let mut added = 0;
            for s in samples {
                added += sqlx::query(
                    "INSERT INTO metric_samples (location_id, minute_ms, lag_ms, events, \
                     budget_remaining, queue_pending, queue_running, dead_letters, refusals) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (location_id, minute_ms) DO NOTHING",
                )
                .bind(&s.location_id)
                .bind(s.minute_ms)
                .bind(s.lag_ms)
                .bind(s.events)
                .bind(s.budget_remaining)
                .bind(s.queue_pending)
                .bind(s.queue_running)
                .bind(s.dead_letters)
                .bind(serde_json::to_string(&s.refusals).unwrap_or_else(|_| "{}".into()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(added)
        }
        .await)
        .map_err(StoreError::db("saving dashboard samples"))
    }

    /// A location's samples from `since_ms` on, oldest first.
    pub async fn metric_samples(
        &self,
        location_id: &str,
        since_ms: i64,
    ) -> Result<Vec<MetricSample>, StoreError> {
        let rows: Vec<SampleRow> = with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT location_id, minute_ms, lag_ms, events, budget_remaining, queue_pending, \
             queue_running, dead_letters, refusals FROM metric_samples \
             WHERE location_id = $1 AND minute_ms >= $2 ORDER BY minute_ms"
        )
        .bind(location_id)
        .bind(since_ms)
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("reading dashboard samples"))?;
        Ok(rows
            .into_iter()
            .map(|r| MetricSample {
                location_id: r.location_id,
                minute_ms: r.minute_ms,
                lag_ms: r.lag_ms,
                events: r.events,
                budget_remaining: r.budget_remaining,
                queue_pending: r.queue_pending,
                queue_running: r.queue_running,
                dead_letters: r.dead_letters,
                // Written by this module only; an unreadable value shows as no refusals.
                refusals: serde_json::from_str(&r.refusals).unwrap_or_default(),
            })
            .collect())
    }

    /// Deletes samples of minutes before `before_ms`; returns how many.
    pub async fn prune_metric_samples(&self, before_ms: i64) -> Result<u64, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM metric_samples WHERE minute_ms < $1"
        )
        .bind(before_ms)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("pruning dashboard samples"))
    }

    /// Webhooks received from `from_ms` (inclusive) to `to_ms` (exclusive), per location.
    pub async fn events_received(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<HashMap<String, i64>, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT location_id, COUNT(*) FROM inbox \
             WHERE received_at_ms >= $1 AND received_at_ms < $2 GROUP BY location_id"
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("counting webhooks received"))?;
        Ok(rows.into_iter().collect())
    }
}
