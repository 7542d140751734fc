//! Webhooks the ingest turned away, counted per location and reason. The ingest counts in
//! memory and adds its counts here every few seconds ([`Store::add_webhook_refusals`]), so
//! `drivesync status`, another process, can say that a location's webhooks are being refused
//! — the failure that silently stops a sync — and several replicas' counts add up.
//!
//! Only locations that have delivered a verified webhook get a row of their own: the body of a
//! refused webhook is not trusted, so an unknown `locationId` in it is counted under
//! [`UNATTRIBUTED`] rather than growing the table.

use crate::db::with_pool;
use crate::{Store, StoreError};

/// The scope of refusals that name no location known to deliver.
pub const UNATTRIBUTED: &str = "";

/// Refusals counted since the last flush: one scope and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalCount {
    /// A location id, or [`UNATTRIBUTED`].
    pub scope: String,
    pub reason: String,
    pub count: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// A `webhook_refusals` row.
#[derive(sqlx::FromRow)]
struct RefusalRow {
    scope: String,
    reason: String,
    count: i64,
    first_ms: i64,
    last_ms: i64,
}

impl Store {
    /// Adds counts to the totals (one transaction).
    pub async fn add_webhook_refusals(&self, counts: &[RefusalCount]) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        with_pool!(&self.db, |pool| async {
            let mut tx = pool.begin().await?;
            for c in counts {
                sqlx::query(
                    "INSERT INTO webhook_refusals (scope, reason, count, first_ms, last_ms) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, reason) DO UPDATE SET \
                     count = webhook_refusals.count + excluded.count, \
                     last_ms = CASE WHEN excluded.last_ms > webhook_refusals.last_ms \
                     THEN excluded.last_ms ELSE webhook_refusals.last_ms END",
                )
                .bind(&c.scope)
                .bind(&c.reason)
                .bind(i64::try_from(c.count).unwrap_or(i64::MAX))
                .bind(c.first_ms)
                .bind(c.last_ms)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        }
        .await)
        .map_err(StoreError::db("counting refused webhooks"))
    }

    /// Every total, by scope then reason.
    pub async fn webhook_refusals(&self) -> Result<Vec<RefusalCount>, StoreError> {
        let rows: Vec<RefusalRow> = with_pool!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT scope, reason, count, first_ms, last_ms FROM webhook_refusals \
                 ORDER BY scope, reason",
            )
            .fetch_all(pool)
            .await
        })
        .map_err(StoreError::db("reading refused webhook counts"))?;
        Ok(rows
            .into_iter()
            .map(|row| RefusalCount {
                scope: row.scope,
                reason: row.reason,
                count: u64::try_from(row.count).unwrap_or(0),
                first_ms: row.first_ms,
                last_ms: row.last_ms,
            })
            .collect())
    }
}
