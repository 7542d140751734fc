//! Proof of who someone is, for Drive Chat: sign-in sessions and API tokens (each stored only
//! as the SHA-256 hash of the secret the person holds; the caller hashes), and failed
//! sign-in attempts, counted for rate limiting.

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::members::{ChatUser, Role};
use crate::{Store, StoreError};

/// A session's last use is written at most this often: idle lifetimes are minutes to hours,
/// so a minute's precision is plenty, and pages that load many times a minute read the
/// session without writing it.
pub const SEEN_GRANULARITY_MS: i64 = 60_000;

/// What a valid API token stands for: one member of one workspace, with their role there.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiTokenOwner {
    pub user_id: i64,
    pub location_id: String,
    pub role: Role,
}

/// Sessions and tokens are named in lists and forms by the first characters of their
/// hash: enough to tell them apart, and (being a hash) no use to sign in with.
pub const SHORT_ID_LEN: usize = 16;

/// A sign-in session, as shown to its owner (never its token).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionInfo {
    /// The first [`SHORT_ID_LEN`] characters of the token's hash.
    pub id: String,
    pub user_id: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    /// When it was last used (to the minute; its sign-in until then).
    pub active_at_ms: i64,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
}

/// An API token, as listed (never the token).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiTokenInfo {
    /// The first [`SHORT_ID_LEN`] characters of the token's hash.
    pub id: String,
    pub user_id: i64,
    pub email: String,
    pub location_id: String,
    pub label: String,
    pub created_at_ms: i64,
    pub last_used_ms: Option<i64>,
}

/// The sign-in attempts of one email and address in the current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginAttempts {
    /// Attempts in the window, the one just reserved included.
    pub attempts: i64,
    /// When the window opened (it closes `window_ms` later).
    pub window_start_ms: i64,
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
            "INSERT INTO chat_sessions (token_hash, user_id, created_at_ms, expires_at_ms, \
             last_seen_ms) VALUES ($1, $2, $3, $4, $3)"
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

    /// The user of a session that has neither expired nor gone unused for `idle_ms`. A
    /// session in use is marked seen when its mark is older than a quarter of `idle_ms` (at
    /// most a minute), so most requests only read and a session in use never idles out.
    pub async fn session_user(
        &self,
        token_hash: &str,
        idle_ms: i64,
    ) -> Result<Option<ChatUser>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: ChatUser,
            last_seen_ms: i64,
        }
        let now = now_ms();
        let idle_since_ms = now.saturating_sub(idle_ms);
        let sql = "SELECT u.id AS id, u.email AS email, u.display_name AS display_name, \
                 u.password_hash AS password_hash, u.timezone AS timezone, \
                 s.last_seen_ms AS last_seen_ms \
             FROM chat_sessions s JOIN chat_users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2 AND s.last_seen_ms >= $3";
        let row: Option<Row> = with_pool!(&self.db, |pool| sqlx::query_as(sql)
            .bind(token_hash)
            .bind(now)
            .bind(idle_since_ms)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a session"))?;
        let Some(row) = row else { return Ok(None) };
        if now.saturating_sub(row.last_seen_ms) >= (idle_ms / 4).min(SEEN_GRANULARITY_MS) {
            with_pool!(&self.db, |pool| sqlx::query(
                "UPDATE chat_sessions SET last_seen_ms = $2 WHERE token_hash = $1"
            )
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))
            .map_err(StoreError::db("marking a session seen"))?;
        }
        Ok(Some(row.user))
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

    /// Who an API token belongs to and their role, marking it used. Tokens die with their
    /// membership.
    pub async fn api_token_owner(
        &self,
        token_hash: &str,
    ) -> Result<Option<ApiTokenOwner>, StoreError> {
        let row: Option<(i64, String)> = with_pool!(&self.db, |pool| sqlx::query_as(
            "UPDATE chat_api_tokens SET last_used_ms = $2 WHERE token_hash = $1 \
             RETURNING user_id, location_id"
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("reading an API token"))?;
        let Some((user_id, location_id)) = row else {
            return Ok(None);
        };
        // Read after the token: a membership removed meanwhile removed the token too.
        Ok(self
            .membership(user_id, &location_id)
            .await?
            .map(|m| ApiTokenOwner {
                user_id,
                location_id,
                role: m.role,
            }))
    }

    /// Notes where a new session signed in from, for its owner's sessions list.
    pub async fn describe_session(
        &self,
        token_hash: &str,
        client_address: &str,
        user_agent: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE chat_sessions SET client_address = $2, user_agent = $3 WHERE token_hash = $1"
        )
        .bind(token_hash)
        .bind(client_address)
        .bind(user_agent)
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("describing a session"))
    }

    /// A user's unexpired sessions, most recently signed in first.
    pub async fn user_sessions(&self, user_id: i64) -> Result<Vec<SessionInfo>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT substr(token_hash, 1, 16) AS id, user_id, created_at_ms, expires_at_ms, \
             last_seen_ms AS active_at_ms, client_address, user_agent FROM chat_sessions \
             WHERE user_id = $1 AND expires_at_ms > $2 ORDER BY created_at_ms DESC, token_hash"
        )
        .bind(user_id)
        .bind(now_ms())
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("listing sessions"))
    }

    /// Ends the user's session with this short id; false when they have none such.
    pub async fn end_user_session(&self, user_id: i64, id: &str) -> Result<bool, StoreError> {
        if id.len() != SHORT_ID_LEN {
            return Ok(false);
        }
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM chat_sessions WHERE user_id = $1 AND substr(token_hash, 1, 16) = $2"
        )
        .bind(user_id)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("ending a session"))?;
        Ok(n > 0)
    }

    /// Ends every session of the user except `keep` (a token hash), e.g. after a password
    /// change; `None` ends them all. Returns how many ended.
    pub async fn end_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM chat_sessions WHERE user_id = $1 AND token_hash <> $2"
        )
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("ending sessions"))
    }

    /// API tokens of a workspace (of one user when `user_id` is given), newest first.
    pub async fn api_tokens(
        &self,
        location_id: Option<&str>,
        user_id: Option<i64>,
    ) -> Result<Vec<ApiTokenInfo>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT substr(t.token_hash, 1, 16) AS id, t.user_id AS user_id, u.email AS email, \
             t.location_id AS location_id, t.label AS label, t.created_at_ms AS created_at_ms, \
             t.last_used_ms AS last_used_ms FROM chat_api_tokens t \
             JOIN chat_users u ON u.id = t.user_id \
             WHERE ($1 IS NULL OR t.location_id = $1) AND ($2 IS NULL OR t.user_id = $2) \
             ORDER BY t.created_at_ms DESC, t.token_hash"
        )
        .bind(location_id)
        .bind(user_id)
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("listing API tokens"))
    }

    /// Revokes the token with this short id in the workspace (only `user_id`'s when given);
    /// false when there is none such.
    pub async fn revoke_api_token(
        &self,
        location_id: Option<&str>,
        user_id: Option<i64>,
        id: &str,
    ) -> Result<bool, StoreError> {
        if id.len() != SHORT_ID_LEN {
            return Ok(false);
        }
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM chat_api_tokens WHERE substr(token_hash, 1, 16) = $1 \
             AND ($2 IS NULL OR location_id = $2) AND ($3 IS NULL OR user_id = $3)"
        )
        .bind(id)
        .bind(location_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("revoking an API token"))?;
        Ok(n > 0)
    }

    /// Reserves one sign-in attempt under `key_hash` before the password is checked, and
    /// returns the attempts counted in the current window, this one included, with the
    /// window's start. The window opens at the first attempt and lasts until `window_ms`
    /// later; an attempt after that opens a new one. One upsert: the database serialises
    /// concurrent attempts on the row (SQLite's single writer, PostgreSQL's row lock), so each
    /// gets a distinct count and no more than the limit can ever pass, on one server or many.
    pub async fn reserve_login_attempt(
        &self,
        key_hash: &str,
        window_ms: i64,
    ) -> Result<LoginAttempts, StoreError> {
        let now = now_ms();
        let expired_before = now.saturating_sub(window_ms);
        let (window_start_ms, attempts): (i64, i64) = with_pool!(&self.db, |pool| async {
            // Forget other keys' closed windows now and then (a cheap indexed delete).
            sqlx::query("DELETE FROM chat_login_attempts WHERE window_start_ms < $1")
                .bind(expired_before.saturating_sub(window_ms))
                .execute(pool)
                .await?;
            sqlx::query_as(
                "INSERT INTO chat_login_attempts (key_hash, window_start_ms, attempts) \
                 VALUES ($1, $2, 1) \
                 ON CONFLICT (key_hash) DO UPDATE SET \
                     attempts = CASE WHEN chat_login_attempts.window_start_ms < $3 \
                         THEN 1 ELSE chat_login_attempts.attempts + 1 END, \
                     window_start_ms = CASE WHEN chat_login_attempts.window_start_ms < $3 \
                         THEN $2 ELSE chat_login_attempts.window_start_ms END \
                 RETURNING window_start_ms, attempts",
            )
            .bind(key_hash)
            .bind(now)
            .bind(expired_before)
            .fetch_one(pool)
            .await
        }
        .await)
        .map_err(StoreError::db("counting a sign-in attempt"))?;
        Ok(LoginAttempts {
            attempts,
            window_start_ms,
        })
    }

    /// Forgets the sign-in attempts under `key_hash` (after a successful one).
    pub async fn clear_login_attempts(&self, key_hash: &str) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "DELETE FROM chat_login_attempts WHERE key_hash = $1"
        )
        .bind(key_hash)
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("clearing sign-in attempts"))
    }
}
