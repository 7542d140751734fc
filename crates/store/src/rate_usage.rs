//! What HighLevel's answers said of each location's request budget: the daily limit and what
//! is left of it (the `X-RateLimit-*` headers the client's limiter reads), and the 429s it
//! answered. Each serving process keeps these in memory per location; it writes them here
//! every few seconds so the alert evaluation, on whichever replica, sees them all.

use crate::db::with_pool;
use crate::{Store, StoreError};

/// One location's budget as last seen, and its 429s.
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct RateUsage {
    pub location_id: String,
    pub daily_limit: Option<i64>,
    pub daily_remaining: Option<i64>,
    /// When the daily figures were seen (Unix ms).
    pub daily_seen_ms: Option<i64>,
    /// 429s in all (every process's added up).
    pub rate_limited: i64,
    pub last_rate_limited_ms: Option<i64>,
}

impl Store {
    /// Adds what one process saw: `u.rate_limited` are its 429s since its last call; daily
    /// figures replace the stored ones when newer.
    pub async fn add_rate_usage(&self, u: &RateUsage) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO rate_usage (location_id, daily_limit, daily_remaining, daily_seen_ms, \
             rate_limited, last_rate_limited_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (location_id) DO UPDATE SET \
             daily_limit = CASE WHEN excluded.daily_seen_ms >= COALESCE(rate_usage.daily_seen_ms, 0) \
                 THEN COALESCE(excluded.daily_limit, rate_usage.daily_limit) ELSE rate_usage.daily_limit END, \
             daily_remaining = CASE WHEN excluded.daily_seen_ms >= COALESCE(rate_usage.daily_seen_ms, 0) \
                 THEN excluded.daily_remaining ELSE rate_usage.daily_remaining END, \
             daily_seen_ms = CASE WHEN excluded.daily_seen_ms >= COALESCE(rate_usage.daily_seen_ms, 0) \
                 THEN excluded.daily_seen_ms ELSE rate_usage.daily_seen_ms END, \
             rate_limited = rate_usage.rate_limited + excluded.rate_limited, \
             last_rate_limited_ms = CASE WHEN excluded.last_rate_limited_ms IS NULL \
                 THEN rate_usage.last_rate_limited_ms \
                 WHEN rate_usage.last_rate_limited_ms IS NULL \
                   OR excluded.last_rate_limited_ms > rate_usage.last_rate_limited_ms \
                 THEN excluded.last_rate_limited_ms ELSE rate_usage.last_rate_limited_ms END"
        )
        .bind(&u.location_id)
        .bind(u.daily_limit)
        .bind(u.daily_remaining)
        .bind(u.daily_seen_ms)
        .bind(u.rate_limited)
        .bind(u.last_rate_limited_ms)
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("recording request budget figures"))
    }

    /// Every location's figures.
    pub async fn rate_usage(&self) -> Result<Vec<RateUsage>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT location_id, daily_limit, daily_remaining, daily_seen_ms, rate_limited, \
             last_rate_limited_ms FROM rate_usage ORDER BY location_id"
        )
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("reading request budget figures"))
    }
}
