//! Drive Chat's conversation: the messages people post to a workspace's channels (the
//! general feed, `#alerts`, one thread per contact), the names of the contacts they are about,
//! and the task board's page query (`board`). Workspaces and their members are in
//! [`crate::members`], sessions and API tokens in [`crate::sessions`].
//!
//! Every function that reads or writes workspace data takes the workspace's `location_id` and
//! puts it in the query's WHERE clause, so a caller cannot reach another workspace's rows by id.

mod board;
mod mutes;

pub use board::{BoardOrder, BoardPage, BoardQuery};

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::{Store, StoreError};

/// A contact as lists of tasks and meetings name it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ContactBrief {
    pub contact_id: String,
    pub title: Option<String>,
    /// The contact's `timezone` in HighLevel, as stored (not checked to be a known zone).
    pub timezone: Option<String>,
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

/// The columns a [`MessageRow`] is read from.
const MESSAGE_COLUMNS: &str =
    "id, location_id, channel, contact_id, author_id, author_name, body, at_ms";

/// A `chat_messages` row; [`MessageRow::into_message`] checks its channel.
#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    location_id: String,
    channel: String,
    contact_id: Option<String>,
    author_id: Option<i64>,
    author_name: String,
    body: String,
    at_ms: i64,
}

impl MessageRow {
    fn into_message(self) -> Result<Message, StoreError> {
        let channel = Channel::from_columns(&self.channel, self.contact_id).ok_or_else(|| {
            StoreError::Corrupt {
                what: format!("message {}", self.id),
                reason: format!("unknown channel {:?}", self.channel),
            }
        })?;
        Ok(Message {
            id: self.id,
            location_id: self.location_id,
            channel,
            author_id: self.author_id,
            author_name: self.author_name,
            body: self.body,
            at_ms: self.at_ms,
        })
    }
}

impl Store {
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
            Some(row) => Ok((row.into_message()?, true)),
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
        row.map(MessageRow::into_message).transpose()
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
        self.messages_by(location_id, channel, None, before_id, limit)
            .await
    }

    /// [`Store::messages_before`], of one author when `author_id` is given.
    pub async fn messages_by(
        &self,
        location_id: &str,
        channel: Option<&Channel>,
        author_id: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE location_id = $1 AND id < $2 \
             AND ($3 IS NULL OR channel = $3) AND ($4 IS NULL OR contact_id = $4) \
             AND ($5 IS NULL OR author_id = $5) ORDER BY id DESC LIMIT $6"
        );
        let rows: Vec<MessageRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(location_id)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(channel.map(Channel::as_str))
            .bind(channel.and_then(Channel::contact_id))
            .bind(author_id)
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("reading messages"))?;
        rows.into_iter().map(MessageRow::into_message).collect()
    }

    /// A workspace's messages in every channel with ids after `after_id`, oldest first: what
    /// an event stream resuming after `after_id` missed.
    pub async fn messages_after(
        &self,
        location_id: &str,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE location_id = $1 AND id > $2 \
             ORDER BY id LIMIT $3"
        );
        let rows: Vec<MessageRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(location_id)
            .bind(after_id)
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("reading messages"))?;
        rows.into_iter().map(MessageRow::into_message).collect()
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
        rows.into_iter().map(MessageRow::into_message).collect()
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
                "SELECT record_id AS contact_id, title, {timezone} AS timezone FROM records \
                 WHERE location_id = $1 \
                 AND kind = 'contact' AND record_id IN ({})",
                placeholders.join(", ")
            );
            let rows: Vec<ContactBrief> = with_pool!(&self.db, |pool| {
                let mut q = sqlx::query_as(&sql).bind(location_id);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await
            })
            .map_err(StoreError::db("reading contact names"))?;
            out.extend(rows);
        }
        Ok(out)
    }
}
