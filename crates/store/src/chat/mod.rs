//! Drive Chat's own data: workspaces (one per connected HighLevel location), the people who
//! sign in and their roles, sessions and API tokens (stored only as SHA-256 hashes of the
//! secret the person holds), messages people post, and failed sign-ins for rate limiting.
//!
//! The store does no hashing of secrets and no password checks: callers hand it hashes. Every
//! function that reads or writes workspace data takes the workspace's `location_id` and puts
//! it in the query's WHERE clause, so a caller cannot reach another workspace's rows by id.

mod board;

pub use board::{BoardOrder, BoardPage, BoardQuery};

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::{Store, StoreError};

/// A Drive Chat workspace: one connected HighLevel location, with the name people see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    pub location_id: String,
    pub name: String,
}

/// What a member may do in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person who can sign in. `password_hash` is an argon2 PHC string.
#[derive(Clone, PartialEq, Eq)]
pub struct ChatUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    /// The IANA time zone the person chose for Drive Chat (e.g. `Europe/Paris`); `None`:
    /// the workspace's location time zone, then UTC.
    pub timezone: Option<String>,
}

impl std::fmt::Debug for ChatUser {
    // The hash is not a secret the way a password is, but it has no business in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("timezone", &self.timezone)
            .finish_non_exhaustive()
    }
}

/// A workspace a user belongs to, with their role there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub workspace: Workspace,
    pub role: Role,
}

/// A member of a workspace, as listed to its admins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

/// A contact as lists of tasks and meetings name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactBrief {
    pub contact_id: String,
    pub title: Option<String>,
    /// The contact's `timezone` in HighLevel, as stored (not checked to be a known zone).
    pub timezone: Option<String>,
}

/// What a valid API token stands for: one member of one workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiTokenOwner {
    pub user_id: i64,
    pub location_id: String,
}

/// Where a message is posted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The workspace's general feed, beside the stream of HighLevel changes.
    General,
    /// `#alerts`: refused write-backs and connection trouble, and what people say about them.
    Alerts,
    /// The thread of one contact.
    Contact(String),
}

impl Channel {
    /// The `channel` column's value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::General => "general",
            Channel::Alerts => "alerts",
            Channel::Contact(_) => "contact",
        }
    }

    fn contact_id(&self) -> Option<&str> {
        match self {
            Channel::Contact(id) => Some(id),
            _ => None,
        }
    }

    fn from_columns(channel: &str, contact_id: Option<String>) -> Option<Channel> {
        match (channel, contact_id) {
            ("general", _) => Some(Channel::General),
            ("alerts", _) => Some(Channel::Alerts),
            ("contact", Some(id)) => Some(Channel::Contact(id)),
            _ => None,
        }
    }
}

/// A message to post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub location_id: String,
    pub channel: Channel,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub body: String,
    /// A key unique to this request: posting again with it returns the first message.
    pub idempotency_key: Option<String>,
}

/// A posted message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub location_id: String,
    pub channel: Channel,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub body: String,
    pub at_ms: i64,
}

type MessageRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    String,
    String,
    i64,
);

const MESSAGE_COLUMNS: &str =
    "id, location_id, channel, contact_id, author_id, author_name, body, at_ms";

type UserRow = (i64, String, String, String, Option<String>);

const USER_COLUMNS: &str = "id, email, display_name, password_hash, timezone";

impl Store {
    /// Creates the workspace of a location, or renames it.
    pub async fn upsert_workspace(&self, location_id: &str, name: &str) -> Result<(), StoreError> {
        if location_id.is_empty() || name.trim().is_empty() {
            return Err(StoreError::InvalidArgument(
                "a workspace needs a location id and a name".into(),
            ));
        }
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO chat_workspaces (location_id, name, created_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (location_id) DO UPDATE SET name = excluded.name"
        )
        .bind(location_id)
        .bind(name.trim())
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("saving a workspace"))
    }

    pub async fn workspace(&self, location_id: &str) -> Result<Option<Workspace>, StoreError> {
        let row: Option<(String, String)> = with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT location_id, name FROM chat_workspaces WHERE location_id = $1"
        )
        .bind(location_id)
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("reading a workspace"))?;
        Ok(row.map(|(location_id, name)| Workspace { location_id, name }))
    }

    /// Creates a user; `None` when the email is taken. `email` should already be normalised
    /// (trimmed, lower-cased) by the caller, which is what sign-in looks up.
    pub async fn create_chat_user(
        &self,
        email: &str,
        display_name: &str,
        password_hash: &str,
    ) -> Result<Option<i64>, StoreError> {
        let id: Option<i64> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "INSERT INTO chat_users (email, display_name, password_hash, created_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING RETURNING id"
        )
        .bind(email)
        .bind(display_name)
        .bind(password_hash)
        .bind(now_ms())
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("creating a user"))?;
        Ok(id)
    }

    /// Replaces a user's display name and password hash.
    pub async fn update_chat_user(
        &self,
        user_id: i64,
        display_name: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE chat_users SET display_name = $2, password_hash = $3 WHERE id = $1"
        )
        .bind(user_id)
        .bind(display_name)
        .bind(password_hash)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("updating a user"))?;
        Ok(n == 1)
    }

    /// Sets (or with `None` clears) the user's time zone. The caller checks the name is a
    /// zone it knows. False when there is no such user.
    pub async fn set_chat_user_timezone(
        &self,
        user_id: i64,
        timezone: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE chat_users SET timezone = $2 WHERE id = $1"
        )
        .bind(user_id)
        .bind(timezone)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("saving a user's time zone"))?;
        Ok(n == 1)
    }

    pub async fn chat_user_by_email(&self, email: &str) -> Result<Option<ChatUser>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM chat_users WHERE email = $1");
        let row: Option<UserRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(email)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a user"))?;
        Ok(row.map(user_from_row))
    }

    pub async fn chat_user(&self, user_id: i64) -> Result<Option<ChatUser>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM chat_users WHERE id = $1");
        let row: Option<UserRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a user"))?;
        Ok(row.map(user_from_row))
    }

    /// Makes the user a member of the workspace with `role` (changing the role if already one).
    pub async fn set_membership(
        &self,
        user_id: i64,
        location_id: &str,
        role: Role,
    ) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| sqlx::query(
            "INSERT INTO chat_memberships (user_id, location_id, role, created_at_ms) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, location_id) DO UPDATE SET role = excluded.role"
        )
        .bind(user_id)
        .bind(location_id)
        .bind(role.as_str())
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(StoreError::db("saving a membership"))
    }

    /// The user's role in the workspace, or `None` when they are not a member.
    pub async fn membership(
        &self,
        user_id: i64,
        location_id: &str,
    ) -> Result<Option<Membership>, StoreError> {
        let row: Option<(String, String, String)> = with_pool!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT w.location_id, w.name, m.role FROM chat_memberships m \
                 JOIN chat_workspaces w ON w.location_id = m.location_id \
                 WHERE m.user_id = $1 AND m.location_id = $2",
            )
            .bind(user_id)
            .bind(location_id)
            .fetch_optional(pool)
            .await
        })
        .map_err(StoreError::db("reading a membership"))?;
        row.map(membership_from_row).transpose()
    }

    /// Every workspace the user belongs to, by name.
    pub async fn memberships(&self, user_id: i64) -> Result<Vec<Membership>, StoreError> {
        let rows: Vec<(String, String, String)> = with_pool!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT w.location_id, w.name, m.role FROM chat_memberships m \
                 JOIN chat_workspaces w ON w.location_id = m.location_id \
                 WHERE m.user_id = $1 ORDER BY w.name, w.location_id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
        .map_err(StoreError::db("listing memberships"))?;
        rows.into_iter().map(membership_from_row).collect()
    }

    /// The members of a workspace, by name.
    pub async fn workspace_members(&self, location_id: &str) -> Result<Vec<Member>, StoreError> {
        let rows: Vec<(i64, String, String, String)> = with_pool!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT u.id, u.email, u.display_name, m.role FROM chat_memberships m \
                 JOIN chat_users u ON u.id = m.user_id WHERE m.location_id = $1 \
                 ORDER BY u.display_name, u.id",
            )
            .bind(location_id)
            .fetch_all(pool)
            .await
        })
        .map_err(StoreError::db("listing members"))?;
        rows.into_iter()
            .map(|(user_id, email, display_name, role)| {
                Ok(Member {
                    user_id,
                    email,
                    display_name,
                    role: parse_role(&role)?,
                })
            })
            .collect()
    }

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
        let sql = "SELECT u.id, u.email, u.display_name, u.password_hash, u.timezone FROM chat_sessions s \
             JOIN chat_users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2";
        let row: Option<UserRow> = with_pool!(&self.db, |pool| sqlx::query_as(sql)
            .bind(token_hash)
            .bind(now_ms())
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a session"))?;
        Ok(row.map(user_from_row))
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
        let row: Option<(i64, String)> = with_pool!(&self.db, |pool| sqlx::query_as(
            "UPDATE chat_api_tokens SET last_used_ms = $2 WHERE token_hash = $1 \
             RETURNING user_id, location_id"
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("reading an API token"))?;
        Ok(row.map(|(user_id, location_id)| ApiTokenOwner {
            user_id,
            location_id,
        }))
    }

    /// Posts a message. Returns it and `false` when its idempotency key was used already (the
    /// message is then the earlier one, which must be of the same workspace).
    pub async fn post_message(&self, m: &NewMessage) -> Result<(Message, bool), StoreError> {
        if m.body.trim().is_empty() {
            return Err(StoreError::InvalidArgument(
                "a message needs some text".into(),
            ));
        }
        if let Some(key) = &m.idempotency_key {
            if let Some(earlier) = self.message_by_key(&m.location_id, key).await? {
                return Ok((earlier, false));
            }
        }
        let sql = format!(
            "INSERT INTO chat_messages (location_id, channel, contact_id, author_id, \
             author_name, body, idempotency_key, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING {MESSAGE_COLUMNS}"
        );
        let row: Option<MessageRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(&m.location_id)
            .bind(m.channel.as_str())
            .bind(m.channel.contact_id())
            .bind(m.author_id)
            .bind(&m.author_name)
            .bind(&m.body)
            .bind(&m.idempotency_key)
            .bind(now_ms())
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("posting a message"))?;
        match row {
            Some(row) => Ok((message_from_row(row)?, true)),
            // A concurrent submit with the same key won the insert.
            None => {
                let key = m.idempotency_key.as_deref().unwrap_or_default();
                self.message_by_key(&m.location_id, key)
                    .await?
                    .map(|earlier| (earlier, false))
                    .ok_or_else(|| {
                        StoreError::InvalidArgument(
                            "this message was submitted twice at once; reload and try again".into(),
                        )
                    })
            }
        }
    }

    async fn message_by_key(
        &self,
        location_id: &str,
        key: &str,
    ) -> Result<Option<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages \
             WHERE location_id = $1 AND idempotency_key = $2"
        );
        let row: Option<MessageRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(location_id)
            .bind(key)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a message"))?;
        row.map(message_from_row).transpose()
    }

    /// A workspace's newest messages in `channel` (every channel when `None`) with ids below
    /// `before_id` (`None`: the newest), newest first.
    pub async fn messages_before(
        &self,
        location_id: &str,
        channel: Option<&Channel>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE location_id = $1 AND id < $2 \
             AND ($3 IS NULL OR channel = $3) AND ($4 IS NULL OR contact_id = $4) \
             ORDER BY id DESC LIMIT $5"
        );
        let rows: Vec<MessageRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(location_id)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(channel.map(Channel::as_str))
            .bind(channel.and_then(Channel::contact_id))
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("reading messages"))?;
        rows.into_iter().map(message_from_row).collect()
    }

    /// Messages of every workspace after `after_id`, oldest first (what live feeds follow).
    pub async fn all_messages_after(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE id > $1 ORDER BY id LIMIT $2"
        );
        let rows: Vec<MessageRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(after_id)
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("reading messages"))?;
        rows.into_iter().map(message_from_row).collect()
    }

    /// The id of the newest message of any workspace (0 when there is none).
    pub async fn last_message_id(&self) -> Result<i64, StoreError> {
        let id: Option<i64> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT MAX(id) FROM chat_messages"
        )
        .fetch_one(pool)
        .await)
        .map_err(StoreError::db("reading the last message id"))?;
        Ok(id.unwrap_or(0))
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

fn user_from_row(r: UserRow) -> ChatUser {
    ChatUser {
        id: r.0,
        email: r.1,
        display_name: r.2,
        password_hash: r.3,
        timezone: r.4,
    }
}

fn parse_role(role: &str) -> Result<Role, StoreError> {
    Role::parse(role).ok_or_else(|| StoreError::Corrupt {
        what: "a workspace membership".into(),
        reason: format!("unknown role {role:?}"),
    })
}

fn membership_from_row(r: (String, String, String)) -> Result<Membership, StoreError> {
    Ok(Membership {
        role: parse_role(&r.2)?,
        workspace: Workspace {
            location_id: r.0,
            name: r.1,
        },
    })
}

fn message_from_row(r: MessageRow) -> Result<Message, StoreError> {
    let channel = Channel::from_columns(&r.2, r.3).ok_or_else(|| StoreError::Corrupt {
        what: format!("message {}", r.0),
        reason: format!("unknown channel {:?}", r.2),
    })?;
    Ok(Message {
        id: r.0,
        location_id: r.1,
        channel,
        author_id: r.4,
        author_name: r.5,
        body: r.6,
        at_ms: r.7,
    })
}

impl Store {
    /// The names (titles) and time zones of a workspace's contacts among `contact_ids`, for
    /// lists that show whose a task or meeting is and when that is for them; ids of other
    /// workspaces are simply not found.
    pub async fn contact_briefs(
        &self,
        location_id: &str,
        contact_ids: &[&str],
    ) -> Result<Vec<ContactBrief>, StoreError> {
        let mut ids: Vec<&str> = contact_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        // Only the zone is read out of the stored JSON, not the whole (possibly large) data.
        let timezone = match &self.db {
            crate::db::Db::Sqlite(_) => "json_extract(data, '$.timezone')",
            crate::db::Db::Postgres(_) => "(data::json ->> 'timezone')",
        };
        let mut out = Vec::with_capacity(ids.len());
        // Bounded batches keep the statement under every backend's parameter limit.
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT record_id, title, {timezone} FROM records WHERE location_id = $1 \
                 AND kind = 'contact' AND record_id IN ({})",
                placeholders.join(", ")
            );
            let rows: Vec<(String, Option<String>, Option<String>)> =
                with_pool!(&self.db, |pool| {
                    let mut q = sqlx::query_as(&sql).bind(location_id);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    q.fetch_all(pool).await
                })
                .map_err(StoreError::db("reading contact names"))?;
            out.extend(
                rows.into_iter()
                    .map(|(contact_id, title, timezone)| ContactBrief {
                        contact_id,
                        title,
                        timezone,
                    }),
            );
        }
        Ok(out)
    }
}
