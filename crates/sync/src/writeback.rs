//! Write-back: carrying out one command from Drive Chat's outbox in HighLevel (complete or
//! reopen a task, create a task, add a note, add or remove tags, update a contact).
//!
//! The workers call [`execute`] for each `write_back` job (payload `{"outbox_id": N}`) and
//! retry it with backoff while [`WriteBackError::is_retryable`]. One call:
//!
//! 1. reads the command; one already settled is a no-op (a job can run twice after its lease
//!    expired, and the second run must not repeat the effect);
//! 2. sends it through the client, so the location's rate limit and token handling apply;
//! 3. on success converges HighLevel's answer into the store at once ([`Origin::WriteBack`],
//!    the feed line credited to the member who asked), reading the record again when the
//!    answer is partial (add/remove tags answer only the tag list), then settles the command
//!    `done` with the record id and the answer. Storing HighLevel's state *before* its webhook
//!    arrives is the echo recognition: the webhook of our own write then finds the same state
//!    in [`converge`] and writes no feed line and queues nothing — no loop;
//! 4. settles the command `failed`, with a sentence the member can act on, when HighLevel
//!    refuses in a way no retry can fix (a missing scope, a revoked connection, a record
//!    gone, a validation error); and leaves it pending with a retryable error for everything
//!    a later attempt can fix (5xx, timeouts, 429s, network, the store being unavailable).
//!
//! **Creating commands are never repeated blindly.** `create_task` and `add_note` are POSTs
//! that create a record; if an earlier attempt's answer was lost (the client's `Uncertain`,
//! a 5xx after HighLevel may have acted, a crash between the POST and the settle) HighLevel
//! may hold the record already. So before every POST the contact's tasks (notes) are listed,
//! and one that matches the command — same title, body and due date (same body for a note),
//! added no earlier than shortly before the command was queued, and not already the result
//! of another command — is taken as this command's result instead of creating another. The
//! cost is one GET per creation, paid on the first attempt too: the outbox keeps no record of
//! attempts, and a crash can lose one anywhere. Two identical commands still make two
//! records: the first's result is claimed by it, so the second does not take it.

pub mod job;

use std::time::Duration;

use chrono::{DateTime, Utc};
use ghl::api::Location;
use ghl::models::{NewTask, NoteInput};
use ghl::GhlError;
use serde_json::{Map, Value};
use store::{Command, CommandState, Store, StoreError};

use crate::converge::{self, Outcome};
use crate::describe::Origin;
use crate::records;

/// The command kinds Drive Chat sends (the agreed contract).
pub const COMPLETE_TASK: &str = "complete_task";
pub const REOPEN_TASK: &str = "reopen_task";
pub const CREATE_TASK: &str = "create_task";
pub const ADD_NOTE: &str = "add_note";
pub const ADD_TAG: &str = "add_tag";
pub const REMOVE_TAG: &str = "remove_tag";
pub const UPDATE_CONTACT: &str = "update_contact";

/// A record HighLevel shows as added this long before the command was queued may still be
/// the command's own (clocks of drivesync and HighLevel differ).
const CLOCK_SKEW_MS: i64 = 10 * 60 * 1000;

/// Why a command is still pending (or its job cannot run at all).
#[derive(Debug, thiserror::Error)]
pub enum WriteBackError {
    #[error(
        "write-back command {id} is not in the outbox; its job refers to nothing — drop the job"
    )]
    NoSuchCommand { id: i64 },
    #[error("write-back command {id} belongs to location {command_location}, but was run with the client of location {given}; this is a bug in the caller — report it")]
    WrongLocation {
        id: i64,
        command_location: String,
        given: String,
    },
    #[error("write-back command {id} ({kind}) is still pending: {source}")]
    HighLevel {
        id: i64,
        kind: String,
        #[source]
        source: GhlError,
    },
    #[error("write-back command {id} is still pending: the store failed ({source})")]
    Store {
        id: i64,
        #[source]
        source: StoreError,
    },
}

impl WriteBackError {
    /// Whether running the job again later can succeed (the command stays pending).
    pub fn is_retryable(&self) -> bool {
        match self {
            WriteBackError::NoSuchCommand { .. } | WriteBackError::WrongLocation { .. } => false,
            // Only transient HighLevel errors are returned; refusals settle the command.
            WriteBackError::HighLevel { .. } => true,
            WriteBackError::Store { source, .. } => matches!(
                source,
                StoreError::Database { .. }
                    | StoreError::Contended { .. }
                    | StoreError::Connect { .. }
            ),
        }
    }

    /// The earliest a retry can help, when HighLevel said (the daily budget renews at
    /// midnight UTC: retrying sooner only spends attempts).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            WriteBackError::HighLevel {
                source: GhlError::DailyBudgetExhausted { resets_in, .. },
                ..
            } => Some(*resets_in),
            _ => None,
        }
    }
}

/// A command, read and checked.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    SetTaskCompleted {
        contact_id: String,
        task_id: String,
        completed: bool,
    },
    CreateTask {
        contact_id: String,
        task: NewTask,
    },
    AddNote {
        /// The HighLevel user the member who wrote it is (HighLevel shows them as the author).
        user_id: Option<String>,
        contact_id: String,
        body: String,
    },
    Tags {
        contact_id: String,
        tags: Vec<String>,
        add: bool,
    },
    UpdateContact {
        contact_id: String,
        fields: Map<String, Value>,
    },
}

/// What a step ended in, short of success.
enum Stop {
    /// HighLevel refused for good: the command fails with this sentence.
    Refused(String),
    /// A later attempt can succeed.
    Retry(GhlError),
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::Store(e)
    }
}

/// What a successful command leaves: the record it made or changed and HighLevel's answer.
struct Done {
    record_id: String,
    result: Value,
}

/// Carries out outbox command `outbox_id` in HighLevel through `location` (see the module
/// documentation). `Ok` means the command is settled — done or failed, read it to see which —
/// or was already; `Err` means it is still pending.
pub async fn execute(
    store: &Store,
    location: &Location,
    outbox_id: i64,
) -> Result<(), WriteBackError> {
    let store_err = |source| WriteBackError::Store {
        id: outbox_id,
        source,
    };
    let cmd = store
        .command(outbox_id)
        .await
        .map_err(store_err)?
        .ok_or(WriteBackError::NoSuchCommand { id: outbox_id })?;
    if cmd.state != CommandState::Pending {
        tracing::debug!(
            command = cmd.id,
            state = cmd.state.as_str(),
            "write-back already settled"
        );
        return Ok(());
    }
    if cmd.location_id != location.id() {
        return Err(WriteBackError::WrongLocation {
            id: cmd.id,
            command_location: cmd.location_id.clone(),
            given: location.id().to_string(),
        });
    }
    let outcome = match parse(&cmd.kind, &cmd.command) {
        Ok(action) => run(store, location, &cmd, &action).await,
        Err(why) => Err(Stop::Refused(why)),
    };
    match outcome {
        Ok(done) => {
            store
                .settle_command(
                    cmd.id,
                    CommandState::Done,
                    Some(&done.record_id),
                    Some(&done.result),
                    None,
                )
                .await
                .map_err(store_err)?;
            tracing::info!(command = cmd.id, kind = %cmd.kind, record = %done.record_id, "write-back done");
            Ok(())
        }
        Err(Stop::Refused(why)) => {
            store
                .settle_command(cmd.id, CommandState::Failed, None, None, Some(&why))
                .await
                .map_err(store_err)?;
            tracing::warn!(command = cmd.id, kind = %cmd.kind, reason = %why, "write-back failed");
            Ok(())
        }
        Err(Stop::Retry(source)) => Err(WriteBackError::HighLevel {
            id: cmd.id,
            kind: cmd.kind.clone(),
            source,
        }),
        Err(Stop::Store(source)) => Err(store_err(source)),
    }
}

fn text(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` is not text")),
    }
}

fn required(v: &Value, key: &str) -> Result<String, String> {
    text(v, key)?.ok_or_else(|| format!("`{key}` is missing"))
}

/// Reads a command as agreed with Drive Chat; the error is the sentence the command fails
/// with.
fn parse(kind: &str, v: &Value) -> Result<Action, String> {
    let bad = |why: String| {
        format!("Drive Chat sent a {kind} command drivesync cannot read ({why}); this is a bug — report it")
    };
    let contact_id = required(v, "contact_id").map_err(bad)?;
    match kind {
        COMPLETE_TASK | REOPEN_TASK => Ok(Action::SetTaskCompleted {
            contact_id,
            task_id: required(v, "task_id").map_err(bad)?,
            completed: kind == COMPLETE_TASK,
        }),
        CREATE_TASK => {
            let title = text(v, "title").map_err(bad)?.ok_or_else(|| {
                "A task needs a title — give it one and create it again".to_string()
            })?;
            let due = required(v, "due_date").map_err(bad)?;
            let due_date = DateTime::parse_from_rfc3339(&due)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| bad(format!("`due_date` {due:?} is not an RFC 3339 time: {e}")))?;
            Ok(Action::CreateTask {
                contact_id,
                task: NewTask {
                    title,
                    body: text(v, "body").map_err(bad)?,
                    due_date,
                    completed: false,
                    assigned_to: text(v, "assigned_to").map_err(bad)?,
                },
            })
        }
        ADD_NOTE => Ok(Action::AddNote {
            contact_id,
            user_id: text(v, "user_id").map_err(bad)?,
            body: text(v, "body")
                .map_err(bad)?
                .ok_or_else(|| "A note needs some text — write it and add it again".to_string())?,
        }),
        ADD_TAG | REMOVE_TAG => {
            let tags: Vec<String> = match v.get("tags") {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|t| match t {
                        Value::String(s) => Ok(s.trim().to_string()),
                        _ => Err(bad("`tags` holds something other than text".into())),
                    })
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .filter(|t| !t.is_empty())
                    .collect(),
                _ => return Err(bad("`tags` is not a list".into())),
            };
            if tags.is_empty() {
                return Err("No tag was given — name at least one tag".into());
            }
            Ok(Action::Tags {
                contact_id,
                tags,
                add: kind == ADD_TAG,
            })
        }
        UPDATE_CONTACT => match v.get("fields") {
            Some(Value::Object(f)) if !f.is_empty() => Ok(Action::UpdateContact {
                contact_id,
                fields: f.clone(),
            }),
            Some(Value::Object(_)) => {
                Err("Nothing to change was given — edit a field first".into())
            }
            _ => Err(bad("`fields` is not an object".into())),
        },
        other => Err(format!(
            "drivesync does not know the command {other:?}; upgrade drivesync or report it"
        )),
    }
}

/// What a record-gone (404) means for a command, in the member's words.
#[derive(Clone, Copy)]
enum Subject {
    Task,
    Contact,
}

/// Sorts a HighLevel error into a refusal (the command fails, with what to do) or something a
/// later attempt can fix.
fn classify(e: GhlError, subject: Subject) -> Stop {
    let refused = |s: String| Stop::Refused(s);
    match e {
        GhlError::ScopeMissing { scope, .. } => refused(format!(
            "HighLevel refused: this connection lacks the {scope} scope — reconnect the location \
             with {scope} granted (drivesync connect), then try again"
        )),
        GhlError::Unauthorized { .. }
        | GhlError::NeedsReauth { .. }
        | GhlError::NotConnected { .. }
        | GhlError::OAuth { .. }
        | GhlError::StateMismatch => refused(
            "HighLevel no longer accepts this location's connection — reconnect it \
             (drivesync connect), then try again"
                .into(),
        ),
        GhlError::Forbidden { message, .. } => refused(format!(
            "HighLevel refused access to this location ({message}) — check that the connection \
             is for this location"
        )),
        GhlError::NotFound { .. } => refused(match subject {
            Subject::Task => "The task no longer exists in HighLevel (it was deleted there)".into(),
            Subject::Contact => {
                "The contact no longer exists in HighLevel (it was deleted there)".into()
            }
        }),
        GhlError::Validation { messages, .. } => refused(format!(
            "HighLevel refused the change as invalid: {} — correct it and try again",
            messages.join("; ")
        )),
        GhlError::Unexpected {
            status, message, ..
        } if status < 500 => refused(format!(
            "HighLevel refused the change ({status}: {message})"
        )),
        GhlError::InvalidInput(m) => refused(format!(
            "drivesync could not build the request for HighLevel ({m}); this is a bug — report it"
        )),
        // 5xx, timeouts, lost answers, 429s beyond the client's patience, an exhausted daily
        // budget, an unreadable 2xx, token storage hiccups: a later attempt can succeed.
        other => Stop::Retry(other),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

async fn run(store: &Store, loc: &Location, cmd: &Command, action: &Action) -> Result<Done, Stop> {
    let actor = cmd.requested_by.as_deref();
    let lid = loc.id();
    match action {
        Action::SetTaskCompleted {
            contact_id,
            task_id,
            completed,
        } => {
            let task = loc
                .set_task_completed(contact_id, task_id, *completed)
                .await
                .map_err(|e| classify(e, Subject::Task))?;
            let data = to_json(&task);
            converge_task(store, lid, contact_id, data.clone(), false, actor).await?;
            Ok(Done {
                record_id: task.id,
                result: data,
            })
        }
        Action::CreateTask { contact_id, task } => {
            let found = find_created_task(store, loc, cmd, contact_id, task).await?;
            let created = match found {
                Some(t) => {
                    tracing::info!(command = cmd.id, task = %t.id, "task of an earlier attempt found in HighLevel; not created again");
                    t
                }
                None => loc
                    .create_task(contact_id, task)
                    .await
                    .map_err(|e| classify(e, Subject::Contact))?,
            };
            let data = to_json(&created);
            converge_task(store, lid, contact_id, data.clone(), true, actor).await?;
            Ok(Done {
                record_id: created.id,
                result: data,
            })
        }
        Action::AddNote {
            contact_id,
            body,
            user_id,
        } => {
            let found = find_created_note(store, loc, cmd, contact_id, body).await?;
            let note = match found {
                Some(n) => {
                    tracing::info!(command = cmd.id, note = %n.id, "note of an earlier attempt found in HighLevel; not added again");
                    n
                }
                None => loc
                    .create_note(
                        contact_id,
                        &NoteInput {
                            body: body.clone(),
                            user_id: user_id.clone(),
                        },
                    )
                    .await
                    .map_err(|e| classify(e, Subject::Contact))?,
            };
            let data = to_json(&note);
            let rec = records::note(lid, Some(contact_id), data.clone(), now_ms())
                .ok_or_else(|| no_id("note"))?;
            converge::apply_state_as(store, rec, Origin::WriteBack, true, actor).await?;
            Ok(Done {
                record_id: note.id,
                result: data,
            })
        }
        Action::Tags {
            contact_id,
            tags,
            add,
        } => {
            let after = if *add {
                loc.add_tags(contact_id, tags).await
            } else {
                loc.remove_tags(contact_id, tags).await
            }
            .map_err(|e| classify(e, Subject::Contact))?;
            // The answer is the tag list only: read the whole contact to store its state.
            refresh_contact(store, loc, contact_id, actor).await?;
            Ok(Done {
                record_id: contact_id.clone(),
                result: serde_json::json!({ "tags": after }),
            })
        }
        Action::UpdateContact { contact_id, fields } => {
            let op = ghl::operations::operation("update-contact").ok_or_else(|| {
                Stop::Refused(
                    "drivesync's HighLevel client lacks update-contact; this is a bug — report it"
                        .into(),
                )
            })?;
            let answer = loc
                .call(
                    op,
                    &[("contactId".to_string(), contact_id.clone())],
                    Some(&Value::Object(fields.clone())),
                )
                .await
                .map_err(|e| classify(e, Subject::Contact))?;
            let contact = answer.get("contact").cloned().unwrap_or(Value::Null);
            // A full contact in the answer is stored as it is; anything less is read again.
            let complete = contact.get("id").and_then(Value::as_str) == Some(contact_id)
                && contact.get("dateUpdated").is_some();
            if complete {
                let rec = records::contact(lid, contact.clone(), now_ms())
                    .ok_or_else(|| no_id("contact"))?;
                converge::apply_state_as(store, rec, Origin::WriteBack, false, actor).await?;
            } else {
                refresh_contact(store, loc, contact_id, actor).await?;
            }
            Ok(Done {
                record_id: contact_id.clone(),
                result: answer,
            })
        }
    }
}

fn no_id(what: &str) -> Stop {
    Stop::Retry(GhlError::Decode {
        operation: format!("write-back of a {what}"),
        path: "id".into(),
        reason: "HighLevel's answer has no id".into(),
    })
}

/// `announce` is for records the command created: a change to a record drivesync has not
/// stored yet (the backfill has not reached it) would read as "created", which it was not,
/// so it is stored quietly, as the backfill would have.
async fn converge_task(
    store: &Store,
    location_id: &str,
    contact_id: &str,
    data: Value,
    announce: bool,
    actor: Option<&str>,
) -> Result<Outcome, Stop> {
    let rec = records::task(location_id, Some(contact_id), data, now_ms())
        .ok_or_else(|| no_id("task"))?;
    Ok(converge::apply_state_as(store, rec, Origin::WriteBack, announce, actor).await?)
}

async fn refresh_contact(
    store: &Store,
    loc: &Location,
    contact_id: &str,
    actor: Option<&str>,
) -> Result<Outcome, Stop> {
    let contact = loc
        .get_contact(contact_id)
        .await
        .map_err(|e| classify(e, Subject::Contact))?;
    let rec =
        records::contact(loc.id(), to_json(&contact), now_ms()).ok_or_else(|| no_id("contact"))?;
    // Not announced on first sight: see `converge_task`.
    Ok(converge::apply_state_as(store, rec, Origin::WriteBack, false, actor).await?)
}

/// Record ids other commands of the same kind already produced for this contact: not this
/// command's, even when they look the same.
async fn claimed(store: &Store, cmd: &Command, contact_id: &str) -> Result<Vec<String>, Stop> {
    let done = store
        .commands(
            &cmd.location_id,
            Some(CommandState::Done),
            Some(contact_id),
            1000,
        )
        .await?;
    Ok(done
        .into_iter()
        .filter(|c| c.id != cmd.id && c.kind == cmd.kind)
        .filter_map(|c| c.record_id)
        .collect())
}

fn added_in_time(added: Option<DateTime<Utc>>, cmd: &Command) -> bool {
    added.is_none_or(|t| t.timestamp_millis() >= cmd.created_at_ms - CLOCK_SKEW_MS)
}

fn same_text(a: Option<&str>, b: Option<&str>) -> bool {
    fn norm(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    norm(a) == norm(b)
}

/// A task HighLevel already holds for this command (an earlier attempt's), if any.
async fn find_created_task(
    store: &Store,
    loc: &Location,
    cmd: &Command,
    contact_id: &str,
    want: &NewTask,
) -> Result<Option<ghl::models::Task>, Stop> {
    let tasks = loc
        .tasks(contact_id)
        .await
        .map_err(|e| classify(e, Subject::Contact))?;
    let claimed = claimed(store, cmd, contact_id).await?;
    Ok(tasks.into_iter().find(|t| {
        same_text(Some(&t.title), Some(&want.title))
            && same_text(t.body.as_deref(), want.body.as_deref())
            && t.due_date.map(|d| d.timestamp_millis()) == Some(want.due_date.timestamp_millis())
            && added_in_time(t.date_added, cmd)
            && !claimed.contains(&t.id)
    }))
}

/// A note HighLevel already holds for this command (an earlier attempt's), if any.
async fn find_created_note(
    store: &Store,
    loc: &Location,
    cmd: &Command,
    contact_id: &str,
    body: &str,
) -> Result<Option<ghl::models::Note>, Stop> {
    let notes = loc
        .notes(contact_id)
        .await
        .map_err(|e| classify(e, Subject::Contact))?;
    let claimed = claimed(store, cmd, contact_id).await?;
    Ok(notes.into_iter().find(|n| {
        same_text(Some(&n.body), Some(body))
            && added_in_time(n.date_added, cmd)
            && !claimed.contains(&n.id)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_read_as_agreed() {
        let a = parse(
            CREATE_TASK,
            &json!({"contact_id": "c", "title": "Call", "due_date": "2026-01-02T10:00:00Z"}),
        )
        .unwrap();
        match a {
            Action::CreateTask { contact_id, task } => {
                assert_eq!(contact_id, "c");
                assert_eq!(task.title, "Call");
                assert_eq!(task.due_date.timestamp_millis(), 1_767_348_000_000);
                assert!(!task.completed);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse(REOPEN_TASK, &json!({"contact_id": "c", "task_id": "t"})).unwrap(),
            Action::SetTaskCompleted {
                contact_id: "c".into(),
                task_id: "t".into(),
                completed: false
            }
        );
    }

    #[test]
    fn unreadable_commands_say_why() {
        let e = parse(
            CREATE_TASK,
            &json!({"contact_id": "c", "title": "x", "due_date": "soon"}),
        )
        .unwrap_err();
        assert!(e.contains("not an RFC 3339 time"), "{e}");
        let e = parse(ADD_TAG, &json!({"contact_id": "c", "tags": [" "]})).unwrap_err();
        assert_eq!(e, "No tag was given — name at least one tag");
        let e = parse("delete_everything", &json!({"contact_id": "c"})).unwrap_err();
        assert!(e.contains("does not know the command"), "{e}");
        let e = parse(COMPLETE_TASK, &json!({"task_id": "t"})).unwrap_err();
        assert!(e.contains("`contact_id` is missing"), "{e}");
    }

    #[test]
    fn refusals_fail_and_transients_retry() {
        let scope = classify(
            GhlError::ScopeMissing {
                location: "L".into(),
                operation: "create-task".into(),
                scope: "contacts.write".into(),
            },
            Subject::Contact,
        );
        assert!(
            matches!(scope, Stop::Refused(s) if s.contains("reconnect the location with contacts.write"))
        );
        let gone = classify(
            GhlError::NotFound {
                what: "Task".into(),
                trace_id: None,
            },
            Subject::Task,
        );
        assert!(matches!(gone, Stop::Refused(s) if s.starts_with("The task no longer exists")));
        let lost = classify(
            GhlError::Uncertain {
                operation: "create-task".into(),
                reason: "timeout".into(),
            },
            Subject::Contact,
        );
        assert!(matches!(lost, Stop::Retry(_)));
        let busy = classify(
            GhlError::Server {
                status: 502,
                attempts: 5,
                trace_id: None,
            },
            Subject::Contact,
        );
        assert!(matches!(busy, Stop::Retry(_)));
    }
}
