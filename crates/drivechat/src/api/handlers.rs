//! The API's handlers: each resolves the token's workspace, then reads or acts in it only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use store::{Channel, CommandState};

use super::auth::{ApiMember, Body, Params};
use super::types::*;
use crate::actions::{self, Action, Requester};
use crate::reads::{self, AlertCursor, CommandFilter, ContactFilter, FeedCursor};
use crate::ui::board_query;
use crate::{time, zone, ApiError, Error, Shared};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

fn limit(l: Option<u32>) -> u32 {
    l.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

impl ApiMember {
    fn requester(&self) -> Requester<'_> {
        Requester {
            user_id: self.user.id,
            name: &self.user.display_name,
            idempotency_key: self.idempotency_key.as_deref(),
            with_token: true,
        }
    }
}

type Answer<T> = Result<Json<T>, ApiError>;
type Queued = Result<(StatusCode, Json<CommandOut>), ApiError>;

/// The token's workspace and who you are in it.
#[utoipa::path(get, path = "/api/v1/workspace", tag = "workspace",
    responses((status = 200, body = WorkspaceOut), (status = 401, body = ErrorBody)))]
pub(crate) async fn workspace(State(app): State<Shared>, m: ApiMember) -> Answer<WorkspaceOut> {
    let membership = app
        .store
        .membership(m.user.id, &m.loc)
        .await?
        .ok_or(Error::NotFound("workspace"))?;
    let seen = &m.seen;
    Ok(Json(WorkspaceOut {
        id: membership.workspace.location_id,
        name: membership.workspace.name,
        role: membership.role.as_str().into(),
        timezone: seen.zone_name().into(),
        timezone_source: zone_source(seen.zone_from).into(),
        location_timezone: seen.location.timezone().map(str::to_string),
        highlevel_user: seen.me.as_ref().map(HlUserOut::from),
        missing_scopes: seen.location.missing_scopes.clone(),
        user: UserOut {
            id: m.user.id,
            email: m.user.email,
            name: m.user.display_name,
        },
    }))
}

/// The location's HighLevel users: who `assigned_to` and a note's `user_id` name.
#[utoipa::path(get, path = "/api/v1/users", tag = "workspace",
    responses((status = 200, body = HlUserList), (status = 401, body = ErrorBody)))]
pub(crate) async fn users(m: ApiMember) -> Answer<HlUserList> {
    Ok(Json(HlUserList {
        items: m.seen.location.users.iter().map(HlUserOut::from).collect(),
        missing_scopes: m.seen.location.missing_scopes.clone(),
    }))
}

/// Contacts by name, filtered.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", params(ContactsParams),
    responses((status = 200, body = ContactList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn contacts(
    State(app): State<Shared>,
    m: ApiMember,
    Params(p): Params<ContactsParams>,
) -> Answer<ContactList> {
    let page = reads::contacts(
        &app,
        &m.loc,
        &ContactFilter {
            q: p.q,
            tag: p.tag,
            assignee: p.assignee,
            after: p.cursor,
            limit: limit(p.limit),
        },
    )
    .await?;
    Ok(Json(ContactList {
        items: page
            .items
            .into_iter()
            .map(|c| ContactOut::new(c, &m.seen))
            .collect(),
        next_cursor: page.next,
    }))
}

/// A contact with its tasks, notes, appointments (with their notes) and recent commands.
#[utoipa::path(get, path = "/api/v1/contacts/{contact_id}", tag = "contacts",
    params(("contact_id" = String, Path, description = "HighLevel contact id")),
    responses((status = 200, body = ContactDetail), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn contact(
    State(app): State<Shared>,
    m: ApiMember,
    Path(contact_id): Path<String>,
) -> Answer<ContactDetail> {
    let v = reads::contact(&app, &m.loc, &contact_id, time::now_ms()).await?;
    let seen = &m.seen;
    let tasks = |rows: Vec<_>| rows.into_iter().map(|t| TaskOut::new(t, seen)).collect();
    let meetings = |ms: Vec<_>| {
        ms.into_iter()
            .map(|a| AppointmentOut::new(a, seen))
            .collect()
    };
    Ok(Json(ContactDetail {
        contact: ContactOut::new(v.contact, seen),
        open_tasks: tasks(v.open_tasks),
        done_tasks: tasks(v.done_tasks),
        notes: v.notes.into_iter().map(|n| NoteOut::new(n, seen)).collect(),
        upcoming_appointments: meetings(v.upcoming),
        past_appointments: meetings(v.past),
        commands: v.commands.into_iter().map(CommandOut::from).collect(),
    }))
}

/// The task board: every task of the workspace, filtered and sorted.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TasksParams),
    responses((status = 200, body = TaskList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn tasks(
    State(app): State<Shared>,
    m: ApiMember,
    Params(p): Params<TasksParams>,
) -> Answer<TaskList> {
    let filter = board_query(p.due, p.assignee, p.status, p.sort, p.cursor)
        .filter_as(limit(p.limit), &m.seen)?;
    let page = reads::board(&app, &m.loc, &filter, time::now_ms()).await?;
    Ok(Json(TaskList {
        items: page
            .items
            .into_iter()
            .map(|t| TaskOut::new(t, &m.seen))
            .collect(),
        next_cursor: page.next,
    }))
}

/// Appointments starting in a range of days, with their notes and the contact's notes from
/// around that time.
#[utoipa::path(get, path = "/api/v1/appointments", tag = "appointments",
    params(AppointmentsParams),
    responses((status = 200, body = AppointmentList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn appointments(
    State(app): State<Shared>,
    m: ApiMember,
    Params(p): Params<AppointmentsParams>,
) -> Answer<AppointmentList> {
    // Days are the member's: they start at midnight in their zone, and one across a DST
    // change is 23 or 25 hours long.
    let tz = m.seen.zone;
    let from = match p.from.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => zone::parse_day(d, tz)
            .ok_or_else(|| Error::BadRequest(format!("from must be YYYY-MM-DD, not {d:?}")))?,
        None => zone::day_start(time::now_ms(), tz),
    };
    let days = p.days.unwrap_or(7);
    if !(1..=31).contains(&days) {
        return Err(Error::BadRequest("days must be between 1 and 31".into()).into());
    }
    let before = zone::days_later(from, tz, days);
    let page = reads::meetings(&app, &m.loc, from, before, p.cursor, limit(p.limit)).await?;
    Ok(Json(AppointmentList {
        items: page
            .items
            .into_iter()
            .map(|a| AppointmentOut::new(a, &m.seen))
            .collect(),
        next_cursor: page.next,
    }))
}

/// The feed: changes from HighLevel and the team's messages, newest first.
#[utoipa::path(get, path = "/api/v1/feed", tag = "feed", params(FeedParams),
    responses((status = 200, body = FeedList), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn feed(
    State(app): State<Shared>,
    m: ApiMember,
    Params(p): Params<FeedParams>,
) -> Answer<FeedList> {
    let contact = p.contact_id.filter(|c| !c.is_empty());
    if let Some(c) = &contact {
        actions::live_record(&app, &m.loc, store::RecordKind::Contact, c).await?;
    }
    let cursor = match p.cursor.as_deref().filter(|s| !s.is_empty()) {
        Some(c) => FeedCursor::parse(c)?,
        None => FeedCursor::default(),
    };
    let page = reads::feed(&app, &m.loc, contact.as_deref(), cursor, limit(p.limit)).await?;
    Ok(Json(FeedList {
        items: page.items.into_iter().map(FeedEntry::from).collect(),
        next_cursor: page.next,
    }))
}

/// A command's state: pending, done, or failed with HighLevel's reason.
#[utoipa::path(get, path = "/api/v1/commands/{command_id}", tag = "actions",
    params(("command_id" = i64, Path)),
    responses((status = 200, body = CommandOut), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn command(
    State(app): State<Shared>,
    m: ApiMember,
    Path(id): Path<String>,
) -> Answer<CommandOut> {
    let id: i64 = id.parse().map_err(|_| Error::NotFound("command"))?;
    Ok(Json(actions::command(&app, &m.loc, id).await?.into()))
}

/// The workspace's commands (write-backs to HighLevel), newest first.
#[utoipa::path(get, path = "/api/v1/commands", tag = "actions", params(CommandsParams),
    responses((status = 200, body = CommandList), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn commands(
    State(app): State<Shared>,
    m: ApiMember,
    Params(p): Params<CommandsParams>,
) -> Answer<CommandList> {
    let state = match p.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("pending") => Some(CommandState::Pending),
        Some("done") => Some(CommandState::Done),
        Some("refused" | "failed") => Some(CommandState::Failed),
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "state must be pending, done or refused, not {other:?}"
            ))
            .into())
        }
    };
    let since_ms = match p.since.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(time::parse_rfc3339(s).ok_or_else(|| {
            Error::BadRequest(format!(
                "since must be an RFC 3339 time such as 2026-03-10T17:00:00Z, not {s:?}"
            ))
        })?),
    };
    let before = match p.cursor.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            Error::BadRequest("the commands cursor is not one this server gave out".into())
        })?),
    };
    let contact_id = p.contact_id.filter(|c| !c.is_empty());
    if let Some(c) = &contact_id {
        // A contact deleted in HighLevel keeps its commands; another workspace's is 404.
        crate::records::known(&app, &m.loc, store::RecordKind::Contact, c).await?;
    }
    let filter = CommandFilter {
        state,
        contact_id,
        since_ms,
        before,
        limit: limit(p.limit),
    };
    let page = reads::commands(&app, &m.loc, &filter).await?;
    Ok(Json(CommandList {
        items: page.items.into_iter().map(CommandOut::from).collect(),
        next_cursor: page.next,
    }))
}

/// What `#alerts` shows: write-backs HighLevel refused and the messages posted there (by
/// members, or by alert rules), newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "feed", params(AlertsParams),
    responses((status = 200, body = AlertList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn alerts(
    State(app): State<Shared>,
    m: ApiMember,
    Params(p): Params<AlertsParams>,
) -> Answer<AlertList> {
    let cursor = match p.cursor.as_deref().filter(|s| !s.is_empty()) {
        Some(c) => AlertCursor::parse(c)?,
        None => AlertCursor::default(),
    };
    let page = reads::alerts_page(&app, &m.loc, cursor, limit(p.limit)).await?;
    Ok(Json(AlertList {
        items: page.items.into_iter().map(AlertEntry::from).collect(),
        next_cursor: page.next,
    }))
}

async fn queue(app: &Shared, m: &ApiMember, action: Action) -> Queued {
    let (cmd, created) = actions::submit(app, &m.loc, &m.requester(), action).await?;
    let status = if created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(cmd.into())))
}

/// Completes a task in HighLevel.
#[utoipa::path(post, path = "/api/v1/tasks/{task_id}/complete", tag = "actions",
    params(("task_id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry act once")),
    responses((status = 202, description = "Queued", body = CommandOut),
        (status = 200, description = "Already queued under this Idempotency-Key", body = CommandOut),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn complete_task(
    State(app): State<Shared>,
    m: ApiMember,
    Path(task_id): Path<String>,
) -> Queued {
    queue(&app, &m, Action::CompleteTask { task_id }).await
}

/// Reopens a completed task in HighLevel.
#[utoipa::path(post, path = "/api/v1/tasks/{task_id}/reopen", tag = "actions",
    params(("task_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = CommandOut), (status = 200, body = CommandOut),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn reopen_task(
    State(app): State<Shared>,
    m: ApiMember,
    Path(task_id): Path<String>,
) -> Queued {
    queue(&app, &m, Action::ReopenTask { task_id }).await
}

/// Creates a task for the contact in HighLevel.
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/tasks", tag = "actions",
    params(("contact_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = CreateTaskIn,
    responses((status = 202, body = CommandOut), (status = 200, body = CommandOut),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn create_task(
    State(app): State<Shared>,
    m: ApiMember,
    Path(contact_id): Path<String>,
    Body(b): Body<CreateTaskIn>,
) -> Queued {
    let due_ms = time::parse_rfc3339(&b.due_date).ok_or_else(|| {
        Error::BadRequest(format!(
            "due_date must be an RFC 3339 time such as 2026-03-10T17:00:00Z, not {:?}",
            b.due_date
        ))
    })?;
    let action = Action::CreateTask {
        contact_id,
        title: b.title,
        body: b.body,
        due_ms,
        assigned_to: b.assigned_to,
    };
    queue(&app, &m, action).await
}

/// Adds a note to the contact in HighLevel.
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/notes", tag = "actions",
    params(("contact_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = NoteIn,
    responses((status = 202, body = CommandOut), (status = 200, body = CommandOut),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn add_note(
    State(app): State<Shared>,
    m: ApiMember,
    Path(contact_id): Path<String>,
    Body(b): Body<NoteIn>,
) -> Queued {
    queue(
        &app,
        &m,
        Action::AddNote {
            contact_id,
            body: b.body,
        },
    )
    .await
}

/// Adds tags to the contact in HighLevel.
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/tags", tag = "actions",
    params(("contact_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = TagsIn,
    responses((status = 202, body = CommandOut), (status = 200, body = CommandOut),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn add_tags(
    State(app): State<Shared>,
    m: ApiMember,
    Path(contact_id): Path<String>,
    Body(b): Body<TagsIn>,
) -> Queued {
    queue(
        &app,
        &m,
        Action::AddTags {
            contact_id,
            tags: b.tags,
        },
    )
    .await
}

/// Removes tags from the contact in HighLevel.
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/tags/remove", tag = "actions",
    params(("contact_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = TagsIn,
    responses((status = 202, body = CommandOut), (status = 200, body = CommandOut),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn remove_tags(
    State(app): State<Shared>,
    m: ApiMember,
    Path(contact_id): Path<String>,
    Body(b): Body<TagsIn>,
) -> Queued {
    queue(
        &app,
        &m,
        Action::RemoveTags {
            contact_id,
            tags: b.tags,
        },
    )
    .await
}

/// Posts a message in the contact's thread (Drive Chat only; not sent to HighLevel).
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/messages", tag = "messages",
    params(("contact_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = NoteIn,
    responses((status = 201, body = MessageOut), (status = 200, body = MessageOut),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn post_contact_message(
    State(app): State<Shared>,
    m: ApiMember,
    Path(contact_id): Path<String>,
    Body(b): Body<NoteIn>,
) -> Result<(StatusCode, Json<MessageOut>), ApiError> {
    post(&app, &m, Channel::Contact(contact_id), &b.body).await
}

/// Posts a message to the workspace's general feed or `#alerts`.
#[utoipa::path(post, path = "/api/v1/messages", tag = "messages",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = MessageIn,
    responses((status = 201, body = MessageOut), (status = 200, body = MessageOut),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn post_message(
    State(app): State<Shared>,
    m: ApiMember,
    Body(b): Body<MessageIn>,
) -> Result<(StatusCode, Json<MessageOut>), ApiError> {
    let channel = match b.channel.as_deref().unwrap_or("general") {
        "general" => Channel::General,
        "alerts" => Channel::Alerts,
        other => {
            return Err(Error::BadRequest(format!(
                "channel must be general or alerts, not {other:?}"
            ))
            .into())
        }
    };
    post(&app, &m, channel, &b.body).await
}

async fn post(
    app: &Shared,
    m: &ApiMember,
    channel: Channel,
    body: &str,
) -> Result<(StatusCode, Json<MessageOut>), ApiError> {
    let (msg, created) = actions::post_message(app, &m.loc, &m.requester(), channel, body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(msg.into())))
}
