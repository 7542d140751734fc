//! What people do from Drive Chat. HighLevel actions become outbox commands (the sync
//! engine runs them and settles each as done or failed); messages stay in Drive Chat.
//!
//! Each action is checked against the workspace first: the task or contact must be one of
//! this workspace's live records, else it is "not found", whoever asks. The command is a
//! [`HighLevelCommand`], the contract the sync engine's executor reads.

use store::{
    Channel, Command, HighLevelCommand, Message, NewCommand, NewMessage, Record, RecordKind,
};

use crate::{time, App, Error};

/// The longest message, note or task title accepted, in characters.
const MAX_TEXT: usize = 10_000;
const MAX_TITLE: usize = 300;
const MAX_TAGS: usize = 20;

/// An action on HighLevel data, requested by a member.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Action {
    CompleteTask {
        task_id: String,
    },
    ReopenTask {
        task_id: String,
    },
    CreateTask {
        contact_id: String,
        title: String,
        body: Option<String>,
        due_ms: i64,
        assigned_to: Option<String>,
    },
    AddNote {
        contact_id: String,
        body: String,
    },
    AddTags {
        contact_id: String,
        tags: Vec<String>,
    },
    RemoveTags {
        contact_id: String,
        tags: Vec<String>,
    },
}

/// Who is acting, and the key that makes a repeated request one request.
pub(crate) struct Requester<'a> {
    pub(crate) user_id: i64,
    pub(crate) name: &'a str,
    /// From the form (a random value rendered into it) or the API's `Idempotency-Key`.
    pub(crate) idempotency_key: Option<&'a str>,
    /// Through the API with a token (else signed in to the pages): what the audit trail says.
    pub(crate) with_token: bool,
}

impl Requester<'_> {
    /// Who this is in the audit trail.
    pub(crate) fn actor(&self) -> store::Actor {
        if self.with_token {
            store::Actor::api_token(self.user_id, self.name)
        } else {
            store::Actor::member(self.user_id, self.name)
        }
    }

    /// The outbox's keys are global; prefixing the workspace and user keeps one person's key
    /// from ever matching another's command.
    fn scoped_key(&self, location_id: &str) -> Result<Option<String>, Error> {
        match self
            .idempotency_key
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            Some(k) if k.len() > 200 => Err(Error::BadRequest(
                "the idempotency key is longer than 200 characters".into(),
            )),
            Some(k) => Ok(Some(format!(
                "drivechat:{location_id}:{}:{k}",
                self.user_id
            ))),
            None => Ok(None),
        }
    }
}

/// Queues `action` in workspace `location_id`. Returns the command (the earlier one when the
/// idempotency key was used already) and whether it is new.
pub(crate) async fn submit(
    app: &App,
    location_id: &str,
    who: &Requester<'_>,
    action: Action,
) -> Result<(Command, bool), Error> {
    let command = match action {
        Action::CompleteTask { task_id } => HighLevelCommand::CompleteTask {
            contact_id: task_contact(app, location_id, &task_id).await?,
            task_id,
        },
        Action::ReopenTask { task_id } => HighLevelCommand::ReopenTask {
            contact_id: task_contact(app, location_id, &task_id).await?,
            task_id,
        },
        Action::CreateTask {
            contact_id,
            title,
            body,
            due_ms,
            assigned_to,
        } => {
            live_contact(app, location_id, &contact_id).await?;
            plausible_due(due_ms, time::now_ms())?;
            HighLevelCommand::CreateTask {
                title: required_text("title", &title, MAX_TITLE)?,
                due_date: time::rfc3339(due_ms),
                body: optional_text("description", body.as_deref(), MAX_TEXT)?,
                assigned_to: assigned_to
                    .as_deref()
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_string),
                contact_id,
            }
        }
        Action::AddNote { contact_id, body } => {
            live_contact(app, location_id, &contact_id).await?;
            HighLevelCommand::AddNote {
                body: required_text("note", &body, MAX_TEXT)?,
                // Written as the member's HighLevel user when they are one, so HighLevel
                // shows who wrote it (the write-back sends it as the note's userId).
                user_id: highlevel_user_of(app, location_id, who.user_id).await?,
                contact_id,
            }
        }
        Action::AddTags { contact_id, tags } => {
            live_contact(app, location_id, &contact_id).await?;
            HighLevelCommand::AddTag {
                tags: clean_tags(&tags)?,
                contact_id,
            }
        }
        Action::RemoveTags { contact_id, tags } => {
            live_contact(app, location_id, &contact_id).await?;
            HighLevelCommand::RemoveTag {
                tags: clean_tags(&tags)?,
                contact_id,
            }
        }
    };
    let kind = command.kind();
    let (id, created) = app
        .store
        .enqueue_command(&NewCommand {
            location_id: location_id.into(),
            command,
            requested_by: Some(who.name.to_string()),
            actor: Some(who.actor()),
            idempotency_key: who.scoped_key(location_id)?,
        })
        .await?;
    let command = app
        .store
        .command(id)
        .await?
        .filter(|c| c.location_id == location_id)
        .ok_or(Error::NotFound("command"))?;
    if created {
        tracing::info!(command_id = id, kind, location_id, "write-back queued");
    }
    Ok((command, created))
}

/// The HighLevel user of the location whose email is member `user_id`'s, if any. Looked up
/// here rather than passed in, so every way of adding a note (page or API) carries it.
async fn highlevel_user_of(
    app: &App,
    location_id: &str,
    user_id: i64,
) -> Result<Option<String>, Error> {
    let Some(member) = app.store.chat_user(user_id).await? else {
        return Ok(None);
    };
    Ok(app
        .store
        .location_context(location_id)
        .await?
        .user_by_email(&member.email)
        .map(|u| u.id.clone()))
}

/// Posts a person's message to a channel of the workspace.
pub(crate) async fn post_message(
    app: &App,
    location_id: &str,
    who: &Requester<'_>,
    channel: Channel,
    body: &str,
) -> Result<(Message, bool), Error> {
    if let Channel::Contact(contact_id) = &channel {
        live_contact(app, location_id, contact_id).await?;
    }
    let body = required_text("message", body, MAX_TEXT)?;
    Ok(app
        .store
        .post_message(&NewMessage {
            location_id: location_id.into(),
            channel,
            author_id: Some(who.user_id),
            author_name: who.name.to_string(),
            body,
            idempotency_key: who.scoped_key(location_id)?,
        })
        .await?)
}

/// A command of this workspace, or 404.
pub(crate) async fn command(app: &App, location_id: &str, id: i64) -> Result<Command, Error> {
    app.store
        .command(id)
        .await?
        .filter(|c| c.location_id == location_id)
        .ok_or(Error::NotFound("command"))
}

/// A live record of this workspace: 404 when it never was one, [`Error::Deleted`] when
/// HighLevel deleted it.
pub(crate) async fn live_record(
    app: &App,
    location_id: &str,
    kind: RecordKind,
    id: &str,
) -> Result<Record, Error> {
    crate::records::live(app, location_id, kind, id).await
}

async fn live_contact(app: &App, location_id: &str, contact_id: &str) -> Result<Record, Error> {
    live_record(app, location_id, RecordKind::Contact, contact_id).await
}

/// The contact a task belongs to: HighLevel addresses tasks through their contact.
async fn task_contact(app: &App, location_id: &str, task_id: &str) -> Result<String, Error> {
    let task = live_record(app, location_id, RecordKind::Task, task_id).await?;
    task.contact_id.ok_or_else(|| {
        Error::BadRequest(
            "this task has no contact in HighLevel, so it cannot be changed from Drive Chat; \
             change it in HighLevel"
                .into(),
        )
    })
}

/// How far from today a new task's due date may be. HighLevel takes any date; a date years
/// back or decades ahead is almost always a mistyped year, which would file the task as long
/// overdue (or never due) without a word, so it is refused with the date read back.
const DUE_PAST_MS: i64 = 5 * 365 * DAY_MS;
const DUE_FUTURE_MS: i64 = 10 * 365 * DAY_MS;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn plausible_due(due_ms: i64, now_ms: i64) -> Result<(), Error> {
    let day = |ms: i64| time::rfc3339(ms).chars().take(10).collect::<String>();
    if due_ms < now_ms - DUE_PAST_MS {
        return Err(Error::BadRequest(format!(
            "the due date {} is more than five years ago; check the year",
            day(due_ms)
        )));
    }
    if due_ms > now_ms + DUE_FUTURE_MS {
        return Err(Error::BadRequest(format!(
            "the due date {} is more than ten years ahead; check the year",
            day(due_ms)
        )));
    }
    Ok(())
}

fn required_text(what: &str, value: &str, max: usize) -> Result<String, Error> {
    optional_text(what, Some(value), max)?
        .ok_or_else(|| Error::BadRequest(format!("the {what} is empty; write something first")))
}

fn optional_text(what: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Error> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max {
        return Err(Error::BadRequest(format!(
            "the {what} is longer than {max} characters"
        )));
    }
    Ok(Some(v.to_string()))
}

/// Tags as HighLevel stores them: trimmed, lower-cased, de-duplicated. Accepts
/// comma-separated entries, as typed into one field.
pub(crate) fn clean_tags(tags: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for t in tags.iter().flat_map(|t| t.split(',')) {
        let t = t.trim().to_lowercase();
        if t.is_empty() || out.contains(&t) {
            continue;
        }
        if t.chars().count() > 100 {
            return Err(Error::BadRequest(
                "a tag is longer than 100 characters".into(),
            ));
        }
        out.push(t);
    }
    if out.is_empty() {
        return Err(Error::BadRequest("name at least one tag".into()));
    }
    if out.len() > MAX_TAGS {
        return Err(Error::BadRequest(format!(
            "at most {MAX_TAGS} tags at once"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_cleaned() {
        let t = clean_tags(&["VIP, lead ,vip".into(), " ".into()]).unwrap();
        assert_eq!(t, vec!["vip", "lead"]);
        assert!(clean_tags(&[" , ".into()]).is_err());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(required_text("note", "  hi ", 10).unwrap(), "hi");
        assert!(required_text("note", "   ", 10).is_err());
        assert!(required_text("note", "abcdefghijk", 10).is_err());
        assert_eq!(optional_text("x", None, 3).unwrap(), None);
    }
}
