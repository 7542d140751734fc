//! Proof of who someone is, for Drive Chat: sign-in sessions and API tokens (each stored only
//! as the SHA-256 hash of the secret the person holds; the caller hashes), and failed
//! sign-ins, counted for rate limiting.

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::members::ChatUser;
use crate::{Store, StoreError};

/// What a valid API token stands for: one member of one workspace.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiTokenOwner {
    pub user_id: i64,
    pub location_id: String,
}

impl Store {
    /// Stores a new session under the hash of its token.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO chat_sessions (token_hash, user_id, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4)"
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now_ms())
        .bind(expires_at_ms)
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("creating a session"))
    }

    /// The user of an unexpired session.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<ChatUser>, StoreError> {
        let sql = "SELECT u.id AS id, u.email AS email, u.display_name AS display_name, \
                 u.password_hash AS password_hash, u.timezone AS timezone \
             FROM chat_sessions s JOIN chat_users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2";
        with_pool!(&self.db, |pool| sqlx::query_as(sql)
            .bind(token_hash)
            .bind(now_ms())
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a session"))
    }

    /// Ends a session, and drops every expired one while at it.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM chat_sessions WHERE token_hash = $1 OR expires_at_ms <= $2"
        )
        .bind(token_hash)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("ending a session"))
    }

    /// Stores an API token's hash for a member; errors when the user is not a member.
    pub async fn create_api_token(
        &self,
        token_hash: &str,
        user_id: i64,
        location_id: &str,
        label: &str,
    ) -> Result<(), StoreError> {
        if self.membership(user_id, location_id).await?.is_none() {
            return Err(StoreError::InvalidArgument(format!(
                "user {user_id} is not a member of workspace {location_id}"
            )));
        }
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO chat_api_tokens (token_hash, user_id, location_id, label, \
             created_at_ms) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(location_id)
        .bind(label)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("creating an API token"))
    }

    /// Who an API token belongs to, marking it used. Tokens die with their membership.
    pub async fn api_token_owner(
        &self,
        token_hash: &str,
    ) -> Result<Option<ApiTokenOwner>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_as(
            "UPDATE chat_api_tokens SET last_used_ms = $2 WHERE token_hash = $1 \
             RETURNING user_id, location_id"
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("reading an API token"))
    }

    /// How many failed sign-ins under `key_hash` happened at or after `since_ms`.
    pub async fn login_failures_since(
        &self,
        key_hash: &str,
        since_ms: i64,
    ) -> Result<i64, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM chat_login_failures WHERE key_hash = $1 AND at_ms >= $2"
        )
        .bind(key_hash)
        .bind(since_ms)
        .fetch_one(pool)
        .await)
        .map_err(StoreError::db("counting failed sign-ins"))
    }

    /// Records a failed sign-in, and forgets those older than `forget_before_ms`.
    pub async fn record_login_failure(
        &self,
        key_hash: &str,
        forget_before_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| async {
            sqlx::query("DELETE FROM chat_login_failures WHERE at_ms < $1")
                .bind(forget_before_ms)
                .execute(pool)
                .await?;
            sqlx::query("INSERT INTO chat_login_failures (key_hash, at_ms) VALUES ($1, $2)")
                .bind(key_hash)
                .bind(now_ms())
                .execute(pool)
                .await
                .map(|_| ())
        }
        .await)
        .map_err(StoreError::db("recording a failed sign-in"))
    }

    /// Forgets the failed sign-ins under `key_hash` (after a successful one).
    pub async fn clear_login_failures(&self, key_hash: &str) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM chat_login_failures WHERE key_hash = $1"
        )
        .bind(key_hash)
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("clearing failed sign-ins"))
    }
}
