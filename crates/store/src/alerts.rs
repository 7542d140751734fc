//! Open alerts (#15): one row per rule and scope while the rule fires, so however many
//! evaluations see a fault, and whichever replica runs them, it is announced once and
//! re-announced at most every so often. Each change is one conditional write whose row count
//! says whether this caller made it: two evaluators racing never both announce.

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::{Store, StoreError};

/// The scope of alerts about the whole installation rather than one location.
pub const INSTALLATION: &str = "";

/// An open alert.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenAlert {
    pub rule: String,
    /// A location id, or [`INSTALLATION`].
    pub scope: String,
    pub opened_ms: i64,
    /// When it was last announced.
    pub notified_ms: i64,
    /// Announcements so far (the first included).
    pub notifications: i64,
    pub summary: String,
}

const COLUMNS: &str = "rule, scope, opened_ms, notified_ms, notifications, summary";

impl Store {
    /// Every open alert, by rule then scope.
    pub async fn open_alerts(&self) -> Result<Vec<OpenAlert>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alerts ORDER BY rule, scope");
        with_pool!(&self.db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
            .map_err(StoreError::db("reading open alerts"))
    }

    /// Opens the alert of `rule` on `scope` unless it is open; true when this call opened it
    /// (and so must announce it).
    pub async fn open_alert(
        &self,
        rule: &str,
        scope: &str,
        summary: &str,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO alerts (rule, scope, opened_ms, notified_ms, notifications, summary) \
             VALUES ($1, $2, $3, $3, 1, $4) ON CONFLICT (rule, scope) DO NOTHING"
        )
        .bind(rule)
        .bind(scope)
        .bind(now)
        .bind(summary)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("opening an alert"))?;
        Ok(n == 1)
    }

    /// Marks an open alert announced again if it was last announced at or before
    /// `due_ms`; true when this call did (and so must announce it).
    pub async fn renotify_alert(
        &self,
        rule: &str,
        scope: &str,
        summary: &str,
        due_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE alerts SET notified_ms = $4, notifications = notifications + 1, \
             summary = $5 WHERE rule = $1 AND scope = $2 AND notified_ms <= $3"
        )
        .bind(rule)
        .bind(scope)
        .bind(due_ms)
        .bind(now_ms())
        .bind(summary)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("re-announcing an alert"))?;
        Ok(n == 1)
    }

    /// Closes an alert; the alert when this call closed it (and so must announce the
    /// recovery), `None` when it was not open.
    pub async fn close_alert(
        &self,
        rule: &str,
        scope: &str,
    ) -> Result<Option<OpenAlert>, StoreError> {
        let sql = format!("DELETE FROM alerts WHERE rule = $1 AND scope = $2 RETURNING {COLUMNS}");
        with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(rule)
            .bind(scope)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("closing an alert"))
    }
}
