//! The refresh lease. HighLevel refresh tokens are single-use: if two processes refresh the
//! same location at once, one of them gets its tokens invalidated. So a refresher first takes
//! the location's lease — one conditional UPDATE that only succeeds while the lease is free or
//! expired, which the database executes atomically, so at most one caller in any process
//! holds it — and writes the rotated tokens only if it still holds the lease.
//!
//! Named leases ([`Store::try_lease`]) work the same way for work that one replica of several
//! does at a time.

use std::time::Duration;

use crate::clock::{duration_ms, now_ms};
use crate::db::with_pool;
use crate::locations::scopes_json;
use crate::model::RefreshedTokens;
use crate::vault::{access_aad, refresh_aad};
use crate::{Store, StoreError};

impl Store {
    /// Takes the refresh lease of `location_id` for `ttl` if it is free or expired, returning
    /// the `token_version` at that moment; `None` if someone else holds it. `owner` must be
    /// unique to this attempt (e.g. host, pid and a random suffix). Errors with
    /// `LocationNotFound` if the location is not stored.
    pub async fn try_lease_refresh(
        &self,
        location_id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<i64>, StoreError> {
        validate_owner(owner)?;
        let now = now_ms();
        let until = now.saturating_add(duration_ms(ttl));
        let won: Option<i64> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "UPDATE locations SET lease_owner = $2, lease_until_ms = $3 \
             WHERE location_id = $1 \
               AND (lease_owner IS NULL OR lease_until_ms IS NULL OR lease_until_ms <= $4) \
             RETURNING token_version"
        )
        .bind(location_id)
        .bind(owner)
        .bind(until)
        .bind(now)
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("taking a refresh lease"))?;
        match won {
            Some(version) => {
                tracing::debug!(location_id, owner, version, "took the refresh lease");
                Ok(Some(version))
            }
            None if self.location_exists(location_id).await? => {
                tracing::debug!(location_id, owner, "refresh lease is held by another");
                Ok(None)
            }
            None => Err(StoreError::LocationNotFound {
                location_id: location_id.into(),
            }),
        }
    }

    /// Stores refreshed tokens if `owner` still holds an unexpired lease, clearing the lease
    /// and bumping `token_version` in the same statement; returns false, writing nothing, if
    /// the lease expired or was taken over (or the location was re-saved or removed). The
    /// write is committed — synced to disk on SQLite — before this returns.
    pub async fn commit_refresh(
        &self,
        location_id: &str,
        owner: &str,
        tokens: &RefreshedTokens,
    ) -> Result<bool, StoreError> {
        validate_owner(owner)?;
        let access = self
            .keyring()
            .encrypt_str(&tokens.access_token, &access_aad(location_id))?;
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|t| self.keyring().encrypt_str(t, &refresh_aad(location_id)))
            .transpose()?;
        let now = now_ms();
        let done = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE locations SET access_token_enc = $3, refresh_token_enc = $4, \
                 expires_at_ms = $5, scopes = $6, token_version = token_version + 1, \
                 lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $7 \
             WHERE location_id = $1 AND lease_owner = $2 AND lease_until_ms > $7"
        )
        .bind(location_id)
        .bind(owner)
        .bind(&access)
        .bind(&refresh)
        .bind(tokens.expires_at_ms)
        .bind(scopes_json(&tokens.scopes))
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("saving refreshed tokens"))?;
        if done == 1 {
            tracing::debug!(location_id, owner, "committed refreshed tokens");
            Ok(true)
        } else {
            tracing::warn!(
                location_id,
                owner,
                "refreshed tokens not saved: the refresh lease expired or was taken over"
            );
            Ok(false)
        }
    }

    /// Gives the lease up (after a failed refresh) if `owner` holds it; otherwise does nothing.
    pub async fn release_lease(&self, location_id: &str, owner: &str) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE locations SET lease_owner = NULL, lease_until_ms = NULL \
             WHERE location_id = $1 AND lease_owner = $2"
        )
        .bind(location_id)
        .bind(owner)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("releasing a refresh lease"))?;
        Ok(())
    }

    /// Takes the named lease `name` for `ttl` if it is free or expired, or renews it when
    /// `owner` holds it; true while `owner` holds it. One conditional write, like the refresh
    /// lease: of several replicas calling at once, one wins. For work one replica does at a
    /// time (the alert evaluation, the dashboard's per-minute sample); it also fails first when the store refuses writes.
    pub async fn try_lease(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let until = now_ms().saturating_add(duration_ms(ttl));
        self.try_lease_until(name, owner, until).await
    }

    /// [`Store::try_lease`] held until the instant `until_ms` rather than for a while: for
    /// work tied to a clock slot (the dashboard's sample of one minute).
    pub async fn try_lease_until(
        &self,
        name: &str,
        owner: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        validate_owner(owner)?;
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO leases (name, owner, until_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms \
             WHERE leases.owner = excluded.owner OR leases.until_ms <= $4"
        )
        .bind(name)
        .bind(owner)
        .bind(until_ms)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("taking a lease"))?;
        Ok(n == 1)
    }

    async fn location_exists(&self, location_id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT token_version FROM locations WHERE location_id = $1"
        )
        .bind(location_id)
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("looking up a location"))?;
        Ok(found.is_some())
    }
}

fn validate_owner(owner: &str) -> Result<(), StoreError> {
    if owner.is_empty() {
        return Err(StoreError::InvalidArgument(
            "a lease owner must be a non-empty string unique to the refresh attempt".into(),
        ));
    }
    Ok(())
}
