//! The kinds of change each member muted in a workspace's feed. The kinds are the feed's
//! words ("task", "tag", ...), checked by Drive Chat; the store keeps them per member and
//! workspace, so one member's mutes never change what another sees.

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::{Store, StoreError};

impl Store {
    /// The kinds `user_id` muted in the feed of `location_id`, sorted.
    pub async fn feed_mutes(
        &self,
        user_id: i64,
        location_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT kind FROM feed_mutes WHERE user_id = $1 AND location_id = $2 ORDER BY kind"
        )
        .bind(user_id)
        .bind(location_id)
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("reading muted kinds"))
    }

    /// Mutes (`muted`) or unmutes `kind` in the feed of `location_id` for `user_id`, who must
    /// be a member of it. Doing it twice is doing it once.
    pub async fn set_feed_mute(
        &self,
        user_id: i64,
        location_id: &str,
        kind: &str,
        muted: bool,
    ) -> Result<(), StoreError> {
        if muted {
            with_pool!(&self.db, |pool| sqlx::query(
                "INSERT INTO feed_mutes (user_id, location_id, kind, muted_at_ms) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, location_id, kind) DO NOTHING"
            )
            .bind(user_id)
            .bind(location_id)
            .bind(kind)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|_| ()))
        } else {
            with_pool!(&self.db, |pool| sqlx::query(
                "DELETE FROM feed_mutes WHERE user_id = $1 AND location_id = $2 AND kind = $3"
            )
            .bind(user_id)
            .bind(location_id)
            .bind(kind)
            .execute(pool)
            .await
            .map(|_| ()))
        }
        .map_err(StoreError::db("saving muted kinds"))?;
        Ok(())
    }
}
