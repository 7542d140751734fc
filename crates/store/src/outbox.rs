//! The write-back outbox: commands from Drive Chat (complete a task, add a note, ...) stored
//! with the job that will run them, in one transaction, so a command the UI accepted is
//! never lost and never run without being recorded.

use serde_json::Value;

use crate::clock::now_ms;
use crate::db::{is_transient, ordering_lock_ids, with_pool, KeyLocks as _};
use crate::jobs::{contact_key, location_key, JobKind};
use crate::queue::{job_insert_sql, validate_key};
use crate::{Store, StoreError};

/// Where a command is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandState {
    /// Accepted, not yet confirmed by HighLevel.
    Pending,
    /// HighLevel confirmed it.
    Done,
    /// HighLevel refused it, or it was given up on; `error` says why.
    Failed,
}

impl CommandState {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandState::Pending => "pending",
            CommandState::Done => "done",
            CommandState::Failed => "failed",
        }
    }

    fn parse(v: &str) -> Option<CommandState> {
        match v {
            "pending" => Some(CommandState::Pending),
            "done" => Some(CommandState::Done),
            "failed" => Some(CommandState::Failed),
            _ => None,
        }
    }
}

/// A command to queue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCommand {
    pub location_id: String,
    /// complete_task | reopen_task | create_task | add_note | add_tag | remove_tag |
    /// update_contact | ...
    pub kind: String,
    pub contact_id: Option<String>,
    /// The record the command changes, when it exists already (a task to complete).
    pub record_id: Option<String>,
    pub command: Value,
    /// Who asked (a member id), for the feed.
    pub requested_by: Option<String>,
    /// A key unique to this request (e.g. a form token): a second submit with the same key
    /// returns the first command instead of queueing another.
    pub idempotency_key: Option<String>,
}

/// A stored command.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub id: i64,
    pub location_id: String,
    pub kind: String,
    pub contact_id: Option<String>,
    pub record_id: Option<String>,
    pub command: Value,
    pub state: CommandState,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub requested_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

type CommandRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

const COMMAND_COLUMNS: &str = "id, location_id, kind, contact_id, record_id, command, state, \
     result, error, requested_by, created_at_ms, updated_at_ms";

impl Store {
    /// Stores a command and queues its `write_back` job (ordered with the contact's other
    /// jobs). Returns the command id, and `false` when the idempotency key had already been
    /// used (the id is then the earlier command's and nothing new is queued).
    pub async fn enqueue_command(&self, c: &NewCommand) -> Result<(i64, bool), StoreError> {
        validate_key("command kind", &c.kind)?;
        validate_key("location id", &c.location_id)?;
        if let Some(key) = &c.idempotency_key {
            if let Some(id) = self.command_by_key(key).await? {
                return Ok((id, false));
            }
        }
        let ordering_key = match &c.contact_id {
            Some(contact) => contact_key(contact),
            None => location_key(&c.location_id),
        };
        let locks = ordering_lock_ids([ordering_key.as_str()]);
        let insert_job = job_insert_sql(&self.db);
        let command = c.command.to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = now_ms();
            let result = with_pool!(&self.db, |pool| async {
                let mut tx = pool.begin().await?;
                tx.lock_ordering_keys(&locks).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO outbox (location_id, kind, contact_id, record_id, command, \
                     state, requested_by, idempotency_key, created_at_ms, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $8) RETURNING id",
                )
                .bind(&c.location_id)
                .bind(&c.kind)
                .bind(&c.contact_id)
                .bind(&c.record_id)
                .bind(&command)
                .bind(&c.requested_by)
                .bind(&c.idempotency_key)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let _job: i64 = sqlx::query_scalar(insert_job)
                    .bind(JobKind::WriteBack.as_str())
                    .bind(&c.location_id)
                    .bind(&ordering_key)
                    .bind(None::<i64>)
                    .bind(serde_json::json!({ "outbox_id": id }).to_string())
                    .bind(now)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(id)
            }
            .await);
            match result {
                Ok(id) => return Ok((id, true)),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    // The same idempotency key, committed by a concurrent submit.
                    if let Some(key) = &c.idempotency_key {
                        if let Some(id) = self.command_by_key(key).await? {
                            return Ok((id, false));
                        }
                    }
                    return Err(StoreError::InvalidArgument(
                        "this command was submitted twice at once; reload and try again".into(),
                    ));
                }
                Err(e) if attempt < 3 && is_transient(&e) => {}
                Err(source) => {
                    return Err(StoreError::Database {
                        action: "queueing a write-back command",
                        source,
                    })
                }
            }
        }
    }

    async fn command_by_key(&self, key: &str) -> Result<Option<i64>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT id FROM outbox WHERE idempotency_key = $1"
        )
        .bind(key)
        .fetch_optional(pool)
        .await)
        .map_err(StoreError::db("looking up a command"))
    }

    pub async fn command(&self, id: i64) -> Result<Option<Command>, StoreError> {
        let sql = format!("SELECT {COMMAND_COLUMNS} FROM outbox WHERE id = $1");
        let row: Option<CommandRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a command"))?;
        row.map(command_from_row).transpose()
    }

    /// A location's commands, newest first; `state` filters, `record_id` narrows to one
    /// record's (e.g. to show a task as pending).
    pub async fn commands(
        &self,
        location_id: &str,
        state: Option<CommandState>,
        contact_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Command>, StoreError> {
        let sql = format!(
            "SELECT {COMMAND_COLUMNS} FROM outbox WHERE location_id = $1 \
             AND ($2 IS NULL OR state = $2) AND ($3 IS NULL OR contact_id = $3) \
             ORDER BY id DESC LIMIT $4"
        );
        let rows: Vec<CommandRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(location_id)
            .bind(state.map(CommandState::as_str))
            .bind(contact_id)
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("listing commands"))?;
        rows.into_iter().map(command_from_row).collect()
    }

    /// Settles a pending command: `done` with HighLevel's answer, or `failed` with why.
    /// A command already settled is left as it is (returns false).
    pub async fn settle_command(
        &self,
        id: i64,
        state: CommandState,
        record_id: Option<&str>,
        result: Option<&Value>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE outbox SET state = $2, record_id = COALESCE($3, record_id), result = $4, \
             error = $5, updated_at_ms = $6 WHERE id = $1 AND state = 'pending'"
        )
        .bind(id)
        .bind(state.as_str())
        .bind(record_id)
        .bind(result.map(Value::to_string))
        .bind(error)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::db("settling a command"))?;
        Ok(n == 1)
    }
}

fn command_from_row(r: CommandRow) -> Result<Command, StoreError> {
    let state = CommandState::parse(&r.6).ok_or_else(|| StoreError::Corrupt {
        what: format!("outbox command {}", r.0),
        reason: format!("unknown state {:?}", r.6),
    })?;
    let command = serde_json::from_str(&r.5).map_err(|e| StoreError::Corrupt {
        what: format!("outbox command {}", r.0),
        reason: format!("command is not JSON: {e}"),
    })?;
    Ok(Command {
        id: r.0,
        location_id: r.1,
        kind: r.2,
        contact_id: r.3,
        record_id: r.4,
        command,
        state,
        result: r.7.and_then(|s| serde_json::from_str(&s).ok()),
        error: r.8,
        requested_by: r.9,
        created_at_ms: r.10,
        updated_at_ms: r.11,
    })
}
