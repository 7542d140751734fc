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
use serde_json::Value;
use store::{
    Command, CommandError, CommandState, HighLevelAnswer, HighLevelCommand, Store, StoreError,
};

use crate::converge::{self, Outcome};
use crate::describe::Origin;
use crate::records;

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

/// What a step ended in, short of success.
enum Stop {
    /// Refused for good, before anything was sent: the command fails with this sentence.
    Refused(String),
    /// HighLevel refused for good: the command fails with this sentence, and the audit trail
    /// keeps HighLevel's status and traceId.
    RefusedBy(String, HighLevelAnswer),
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
    let checked = match &cmd.typed {
        Ok(command) => check(command),
        Err(unreadable) => Err(unreadable.to_string()),
    };
    let (outcome, receipts) = match checked {
        Ok(command) => ghl::with_write_receipts(run(store, location, &cmd, &command)).await,
        Err(why) => (Err(Stop::Refused(why)), Vec::new()),
    };
    let cmd = &cmd;
    let refused = |why: String, answer: HighLevelAnswer| async move {
        store
            .settle_command_answered(
                cmd.id,
                CommandState::Failed,
                None,
                None,
                Some(&why),
                &answer,
            )
            .await
            .map_err(store_err)?;
        tracing::warn!(command = cmd.id, kind = %cmd.kind, reason = %why, "write-back failed");
        Ok(())
    };
    match outcome {
        Ok(done) => {
            // The command's own write is the last one HighLevel answered.
            let answer = receipts
                .last()
                .map(|r| HighLevelAnswer {
                    status: Some(r.status),
                    trace_id: r.trace_id.clone(),
                })
                .unwrap_or_default();
            store
                .settle_command_answered(
                    cmd.id,
                    CommandState::Done,
                    Some(&done.record_id),
                    Some(&done.result),
                    None,
                    &answer,
                )
                .await
                .map_err(store_err)?;
            tracing::info!(command = cmd.id, kind = %cmd.kind, record = %done.record_id, "write-back done");
            Ok(())
        }
        Err(Stop::Refused(why)) => refused(why, HighLevelAnswer::default()).await,
        Err(Stop::RefusedBy(why, answer)) => refused(why, answer).await,
        Err(Stop::Retry(source)) => Err(WriteBackError::HighLevel {
            id: cmd.id,
            kind: cmd.kind.clone(),
            source,
        }),
        Err(Stop::Store(source)) => Err(store_err(source)),
    }
}

/// Text that says something, as given; blank text is no text.
fn present(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_string())
}

fn present_opt(s: Option<&str>) -> Option<String> {
    s.and_then(present)
}

/// The sentence a command fails with when a field its sender must fill is unusable.
fn unreadable(cmd: &HighLevelCommand, reason: String) -> String {
    CommandError::Unreadable {
        kind: cmd.kind().into(),
        reason,
    }
    .to_string()
}

/// A task's due date: RFC 3339 text, read as a time.
fn due_date(cmd: &HighLevelCommand, due: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(due)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            unreadable(
                cmd,
                format!("`due_date` {due:?} is not an RFC 3339 time: {e}"),
            )
        })
}

/// Tags trimmed, blank ones dropped; at least one.
fn some_tags(tags: &[String]) -> Result<Vec<String>, String> {
    let tags: Vec<String> = tags
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if tags.is_empty() {
        return Err("No tag was given — name at least one tag".into());
    }
    Ok(tags)
}

/// Checks a command before anything is sent: what its type cannot say (text that is not
/// blank, a due date that parses, at least one tag, something to change). Answers the command
/// as it will be carried out — blank optional text dropped, tags trimmed — or the sentence it
/// fails with.
fn check(cmd: &HighLevelCommand) -> Result<HighLevelCommand, String> {
    use HighLevelCommand as C;
    let required = |key: &str, v: &str| {
        present(v).ok_or_else(|| unreadable(cmd, format!("`{key}` is missing")))
    };
    let contact_id = required("contact_id", cmd.contact_id().unwrap_or(""))?;
    Ok(match cmd {
        C::CompleteTask { task_id, .. } => C::CompleteTask {
            contact_id,
            task_id: required("task_id", task_id)?,
        },
        C::ReopenTask { task_id, .. } => C::ReopenTask {
            contact_id,
            task_id: required("task_id", task_id)?,
        },
        C::CreateTask {
            title,
            body,
            due_date: due,
            assigned_to,
            ..
        } => {
            let title = present(title).ok_or_else(|| {
                "A task needs a title — give it one and create it again".to_string()
            })?;
            let due = required("due_date", due)?;
            due_date(cmd, &due)?;
            C::CreateTask {
                contact_id,
                title,
                body: present_opt(body.as_deref()),
                due_date: due,
                assigned_to: present_opt(assigned_to.as_deref()),
            }
        }
        C::AddNote { body, user_id, .. } => C::AddNote {
            contact_id,
            user_id: present_opt(user_id.as_deref()),
            body: present(body)
                .ok_or_else(|| "A note needs some text — write it and add it again".to_string())?,
        },
        C::AddTag { tags, .. } => C::AddTag {
            contact_id,
            tags: some_tags(tags)?,
        },
        C::RemoveTag { tags, .. } => C::RemoveTag {
            contact_id,
            tags: some_tags(tags)?,
        },
        C::UpdateContact { fields, .. } => {
            if fields.is_empty() {
                return Err("Nothing to change was given — edit a field first".into());
            }
            C::UpdateContact {
                contact_id,
                fields: fields.clone(),
            }
        }
    })
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
    let answer = HighLevelAnswer {
        status: e.status(),
        trace_id: e.trace_id().map(str::to_string),
    };
    let refused = |s: String| Stop::RefusedBy(s, answer);
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

/// Carries out `command`, as [`check`] answered it, for the outbox row `cmd`.
async fn run(
    store: &Store,
    loc: &Location,
    cmd: &Command,
    command: &HighLevelCommand,
) -> Result<Done, Stop> {
    use HighLevelCommand as C;
    let actor = cmd.requested_by.as_deref();
    let lid = loc.id();
    match command {
        C::CompleteTask {
            contact_id,
            task_id,
        }
        | C::ReopenTask {
            contact_id,
            task_id,
        } => {
            let completed = matches!(command, C::CompleteTask { .. });
            let task = loc
                .set_task_completed(contact_id, task_id, completed)
                .await
                .map_err(|e| classify(e, Subject::Task))?;
            let data = to_json(&task);
            converge_task(store, lid, contact_id, data.clone(), false, actor).await?;
            Ok(Done {
                record_id: task.id,
                result: data,
            })
        }
        C::CreateTask {
            contact_id,
            title,
            body,
            due_date: due,
            assigned_to,
        } => {
            let task = &NewTask {
                title: title.clone(),
                body: body.clone(),
                due_date: due_date(command, due).map_err(Stop::Refused)?,
                completed: false,
                assigned_to: assigned_to.clone(),
            };
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
        C::AddNote {
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
        C::AddTag { contact_id, tags } | C::RemoveTag { contact_id, tags } => {
            let after = if matches!(command, C::AddTag { .. }) {
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
        C::UpdateContact { contact_id, fields } => {
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

    /// A stored row as `execute` reads it: the typed command, checked.
    fn read(kind: &str, v: &Value) -> Result<HighLevelCommand, String> {
        match HighLevelCommand::from_stored(kind, v) {
            Ok(c) => check(&c),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn commands_read_as_agreed() {
        let a = read(
            "create_task",
            &json!({"contact_id": "c", "title": "Call", "due_date": "2026-01-02T10:00:00Z",
                    "body": " ", "assigned_to": ""}),
        )
        .unwrap();
        match &a {
            HighLevelCommand::CreateTask {
                contact_id,
                title,
                body,
                due_date: due,
                assigned_to,
            } => {
                assert_eq!(contact_id, "c");
                assert_eq!(title, "Call");
                assert_eq!(
                    due_date(&a, due).unwrap().timestamp_millis(),
                    1_767_348_000_000
                );
                assert_eq!((body, assigned_to), (&None, &None), "blank is absent");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read("reopen_task", &json!({"contact_id": "c", "task_id": "t"})).unwrap(),
            HighLevelCommand::ReopenTask {
                contact_id: "c".into(),
                task_id: "t".into(),
            }
        );
        assert_eq!(
            read(
                "remove_tag",
                &json!({"contact_id": "c", "tags": [" vip ", ""]})
            )
            .unwrap(),
            HighLevelCommand::RemoveTag {
                contact_id: "c".into(),
                tags: vec!["vip".into()],
            }
        );
    }

    #[test]
    fn unreadable_commands_say_why() {
        let e = read(
            "create_task",
            &json!({"contact_id": "c", "title": "x", "due_date": "soon"}),
        )
        .unwrap_err();
        assert!(e.contains("not an RFC 3339 time"), "{e}");
        let e = read("add_tag", &json!({"contact_id": "c", "tags": [" "]})).unwrap_err();
        assert_eq!(e, "No tag was given — name at least one tag");
        let e = read("delete_everything", &json!({"contact_id": "c"})).unwrap_err();
        assert!(e.contains("does not know the command"), "{e}");
        let e = read("complete_task", &json!({"task_id": "t"})).unwrap_err();
        assert!(e.contains("`contact_id`"), "{e}");
        let e = read("complete_task", &json!({"contact_id": " ", "task_id": "t"})).unwrap_err();
        assert!(e.contains("`contact_id` is missing"), "{e}");
        let e = read(
            "create_task",
            &json!({"contact_id": "c", "title": " ", "due_date": "x"}),
        )
        .unwrap_err();
        assert_eq!(e, "A task needs a title — give it one and create it again");
        let e = read("add_note", &json!({"contact_id": "c", "body": ""})).unwrap_err();
        assert_eq!(e, "A note needs some text — write it and add it again");
        let e = read("update_contact", &json!({"contact_id": "c", "fields": {}})).unwrap_err();
        assert_eq!(e, "Nothing to change was given — edit a field first");
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
            matches!(scope, Stop::RefusedBy(s, _) if s.contains("reconnect the location with contacts.write"))
        );
        let gone = classify(
            GhlError::NotFound {
                what: "Task".into(),
                trace_id: Some("tr-1".into()),
            },
            Subject::Task,
        );
        // HighLevel's answer is kept for the audit trail.
        assert!(matches!(gone, Stop::RefusedBy(s, a)
            if s.starts_with("The task no longer exists")
                && a == HighLevelAnswer { status: Some(404), trace_id: Some("tr-1".into()) }));
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
