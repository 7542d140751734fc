//! The write-back outbox: commands from Drive Chat (complete a task, add a note, ...) stored
//! with the job that will run them, in one transaction, so a command the UI accepted is
//! never lost and never run without being recorded.

use serde_json::Value;

use crate::audit::{insert_audit, Actor, ActorKind, AuditEntry, HighLevelAnswer, Outcome};
use crate::clock::now_ms;
use crate::command::{CommandError, HighLevelCommand};
use crate::db::{ordering_lock_ids, with_pool, KeyLocks as _};
use crate::jobs::{contact_key, location_key, JobKind};
use crate::queue::{job_insert_sql, validate_key};
use crate::retry::retry_transient;
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

/// A command to queue. Its kind, contact and record are the command's own
/// ([`HighLevelCommand::kind`], [`contact_id`](HighLevelCommand::contact_id),
/// [`record_id`](HighLevelCommand::record_id)).
#[derive(Clone, Debug, PartialEq)]
pub struct NewCommand {
    pub location_id: String,
    pub command: HighLevelCommand,
    /// Who asked (a member's name), for the feed.
    pub requested_by: Option<String>,
    /// Who asked, as the audit trail records it (a member, or a program with their API
    /// token); `None`: a member known only by `requested_by`.
    pub actor: Option<Actor>,
    /// A key unique to this request (e.g. a form token): a second submit with the same key
    /// returns the first command instead of queueing another.
    pub idempotency_key: Option<String>,
}

/// A stored command. `kind` and `command` are the row as stored (what the API shows, even for
/// a row this drivesync cannot read); `typed` is the same command read as the contract, or why
/// it cannot be.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub id: i64,
    pub location_id: String,
    /// The `kind` column: [`HighLevelCommand::kind`] of the command stored.
    pub kind: String,
    pub contact_id: Option<String>,
    /// The record the command changes: the task to complete, or once done the record it
    /// made or changed.
    pub record_id: Option<String>,
    /// The `command` column: [`HighLevelCommand::arguments`] of the command stored.
    pub command: Value,
    /// `kind` and `command` read as a [`HighLevelCommand`]; a row written by a newer
    /// drivesync, or edited by hand, is an error here rather than a failed read.
    pub typed: Result<HighLevelCommand, CommandError>,
    pub state: CommandState,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub requested_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Which of a location's commands to list (newest first).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommandQuery {
    pub location_id: String,
    pub state: Option<CommandState>,
    pub contact_id: Option<String>,
    /// Only commands asked for at or after this time.
    pub since_ms: Option<i64>,
    /// Only commands with ids below this one: where the previous page ended.
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// An `outbox` row as stored, before its JSON columns are read.
#[derive(sqlx::FromRow)]
struct CommandRow {
    id: i64,
    location_id: String,
    kind: String,
    contact_id: Option<String>,
    record_id: Option<String>,
    command: String,
    state: String,
    result: Option<String>,
    error: Option<String>,
    requested_by: Option<String>,
    created_at_ms: i64,
    updated_at_ms: i64,
}

const COMMAND_COLUMNS: &str = "id, location_id, kind, contact_id, record_id, command, state, \
     result, error, requested_by, created_at_ms, updated_at_ms";

impl Store {
    /// Stores a command and queues its `write_back` job (ordered with the contact's other
    /// jobs). Returns the command id, and `false` when the idempotency key had already been
    /// used (the id is then the earlier command's and nothing new is queued).
    pub async fn enqueue_command(&self, c: &NewCommand) -> Result<(i64, bool), StoreError> {
        let kind = c.command.kind();
        let contact_id = c.command.contact_id();
        let record_id = c.command.record_id();
        validate_key("location id", &c.location_id)?;
        if let Some(key) = &c.idempotency_key {
            if let Some(id) = self.command_by_key(key).await? {
                return Ok((id, false));
            }
        }
        let ordering_key = match contact_id {
            Some(contact) => contact_key(contact),
            None => location_key(&c.location_id),
        };
        let locks = ordering_lock_ids([ordering_key.as_str()]);
        let insert_job = job_insert_sql(&self.db);
        let command = c.command.arguments().to_string();
        let command = &command;
        let (locks, ordering_key) = (&locks, &ordering_key);
        let result = retry_transient(move || async move {
            let now = now_ms();
            with_pool!(&self.db, |pool| async {
                let mut tx = pool.begin().await?;
                tx.lock_ordering_keys(locks).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO outbox (location_id, kind, contact_id, record_id, command, \
                     state, requested_by, idempotency_key, created_at_ms, updated_at_ms, \
                     actor_kind, actor_id) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $8, $9, $10) RETURNING id",
                )
                .bind(&c.location_id)
                .bind(kind)
                .bind(contact_id)
                .bind(record_id)
                .bind(command)
                .bind(&c.requested_by)
                .bind(&c.idempotency_key)
                .bind(now)
                .bind(c.actor.as_ref().map(|a| a.kind.as_str()))
                .bind(c.actor.as_ref().and_then(|a| a.id.clone()))
                .fetch_one(&mut *tx)
                .await?;
                let _job: i64 = sqlx::query_scalar(insert_job)
                    .bind(JobKind::WriteBack.as_str())
                    .bind(&c.location_id)
                    .bind(ordering_key)
                    .bind(None::<i64>)
                    .bind(serde_json::json!({ "outbox_id": id }).to_string())
                    .bind(now)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(id)
            }
            .await)
        })
        .await;
        match result {
            Ok(id) => Ok((id, true)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                // The same idempotency key, committed by a concurrent submit.
                if let Some(key) = &c.idempotency_key {
                    if let Some(id) = self.command_by_key(key).await? {
                        return Ok((id, false));
                    }
                }
                Err(StoreError::InvalidArgument(
                    "this command was submitted twice at once; reload and try again".into(),
                ))
            }
            Err(source) => Err(StoreError::Database {
                action: "queueing a write-back command",
                source,
            }),
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

    /// A page of a location's commands, newest first (the API's command list).
    pub async fn list_commands(&self, q: &CommandQuery) -> Result<Vec<Command>, StoreError> {
        let sql = format!(
            "SELECT {COMMAND_COLUMNS} FROM outbox WHERE location_id = $1 \
             AND ($2 IS NULL OR state = $2) AND ($3 IS NULL OR contact_id = $3) \
             AND created_at_ms >= $4 AND id < $5 ORDER BY id DESC LIMIT $6"
        );
        let rows: Vec<CommandRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(&q.location_id)
            .bind(q.state.map(CommandState::as_str))
            .bind(q.contact_id.as_deref())
            .bind(q.since_ms.unwrap_or(i64::MIN))
            .bind(q.before_id.unwrap_or(i64::MAX))
            .bind(i64::from(q.limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("listing commands"))?;
        rows.into_iter().map(command_from_row).collect()
    }

    /// How many commands each location has in each state: `/metrics`' outbox gauges.
    pub async fn outbox_counts(&self) -> Result<Vec<(String, CommandState, u64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT location_id, state, COUNT(*) FROM outbox GROUP BY location_id, state \
             ORDER BY location_id, state"
        )
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("counting commands"))?;
        rows.into_iter()
            .map(|(location, state, n)| {
                let s = CommandState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                    what: format!("the outbox of {location}"),
                    reason: format!("unknown command state {state:?}"),
                })?;
                Ok((location, s, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    /// Settles a pending command: `done` with HighLevel's answer, or `failed` with why.
    /// A command already settled is left as it is (returns false). See
    /// [`settle_command_answered`](Self::settle_command_answered).
    pub async fn settle_command(
        &self,
        id: i64,
        state: CommandState,
        record_id: Option<&str>,
        result: Option<&Value>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let answer = HighLevelAnswer::default();
        self.settle_command_answered(id, state, record_id, result, error, &answer)
            .await
    }

    /// Settles a pending command as [`settle_command`](Self::settle_command) does, and in the
    /// same transaction records it in the audit trail with HighLevel's status and traceId:
    /// every command that settles has exactly one entry (`highlevel.<kind>`), ok when done,
    /// refused when HighLevel answered with a status, failed otherwise.
    pub async fn settle_command_answered(
        &self,
        id: i64,
        state: CommandState,
        record_id: Option<&str>,
        result: Option<&Value>,
        error: Option<&str>,
        answer: &HighLevelAnswer,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let result = result.map(Value::to_string);
        let settled = with_pool!(&self.db, |pool| async {
            let mut tx = pool.begin().await?;
            let row: Option<SettledRow> = sqlx::query_as(
                "UPDATE outbox SET state = $2, record_id = COALESCE($3, record_id), \
                 result = $4, error = $5, updated_at_ms = $6 WHERE id = $1 AND state = 'pending' \
                 RETURNING location_id, kind, contact_id, record_id, command, requested_by, \
                 actor_kind, actor_id",
            )
            .bind(id)
            .bind(state.as_str())
            .bind(record_id)
            .bind(&result)
            .bind(error)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                return Ok(false);
            };
            let entry = row.audit_entry(id, state, error, answer);
            insert_audit!(entry, now).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        }
        .await)
        .map_err(StoreError::db("settling a command"))?;
        Ok(settled)
    }
}

/// What settling a command returns of it: enough for its audit entry.
#[derive(sqlx::FromRow)]
struct SettledRow {
    location_id: String,
    kind: String,
    contact_id: Option<String>,
    record_id: Option<String>,
    command: String,
    requested_by: Option<String>,
    actor_kind: Option<String>,
    actor_id: Option<String>,
}

impl SettledRow {
    fn audit_entry(
        self,
        id: i64,
        state: CommandState,
        error: Option<&str>,
        answer: &HighLevelAnswer,
    ) -> AuditEntry {
        let name = self.requested_by.unwrap_or_else(|| "unknown".into());
        let actor = match self.actor_kind.as_deref().and_then(ActorKind::parse) {
            Some(kind) => Actor {
                kind,
                id: self.actor_id,
                name,
            },
            None => Actor {
                kind: ActorKind::Member,
                id: None,
                name,
            },
        };
        let outcome = match state {
            CommandState::Done => Outcome::Ok,
            CommandState::Failed if answer.status.is_some() => Outcome::Refused,
            CommandState::Failed | CommandState::Pending => Outcome::Failed,
        };
        let arguments: Value = serde_json::from_str(&self.command).unwrap_or(Value::Null);
        AuditEntry {
            actor,
            kind: format!("highlevel.{}", self.kind),
            target: self.record_id.or(self.contact_id.clone()),
            detail: serde_json::json!({
                "command_id": id,
                "contact_id": self.contact_id,
                "arguments": arguments,
            }),
            location_id: Some(self.location_id),
            outcome,
            status: answer.status,
            message: error.map(str::to_string),
            trace_id: answer.trace_id.clone(),
        }
    }
}

fn command_from_row(r: CommandRow) -> Result<Command, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        what: format!("outbox command {}", r.id),
        reason,
    };
    let state = CommandState::parse(&r.state)
        .ok_or_else(|| corrupt(format!("unknown state {:?}", r.state)))?;
    let command = serde_json::from_str(&r.command)
        .map_err(|e| corrupt(format!("command is not JSON: {e}")))?;
    let typed = HighLevelCommand::from_stored(&r.kind, &command);
    Ok(Command {
        id: r.id,
        location_id: r.location_id,
        kind: r.kind,
        contact_id: r.contact_id,
        record_id: r.record_id,
        command,
        typed,
        state,
        result: r.result.and_then(|s| serde_json::from_str(&s).ok()),
        error: r.error,
        requested_by: r.requested_by,
        created_at_ms: r.created_at_ms,
        updated_at_ms: r.updated_at_ms,
    })
}
