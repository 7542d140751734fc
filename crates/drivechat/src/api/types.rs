//! The API's JSON shapes, documented in the OpenAPI schema, and how records become them.
//! Times are RFC 3339 in UTC.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{Change, Command, Message, Record};
use utoipa::{IntoParams, ToSchema};

use crate::reads::{Item, Meeting, TaskRow};
use crate::time;

/// Every error: what went wrong, in a sentence.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub(crate) error: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct WorkspaceOut {
    /// The workspace id: its HighLevel location id.
    pub(crate) id: String,
    pub(crate) name: String,
    /// Your role here: admin or member.
    pub(crate) role: String,
    pub(crate) user: UserOut,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UserOut {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) name: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ContactOut {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) company: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) assigned_to: Option<String>,
    pub(crate) added_at: Option<String>,
    /// The contact as HighLevel returned it.
    #[schema(value_type = Object)]
    pub(crate) data: Value,
}

fn s(data: &Value, key: &str) -> Option<String> {
    data.get(key).and_then(Value::as_str).map(str::to_string)
}

impl From<Record> for ContactOut {
    fn from(r: Record) -> ContactOut {
        ContactOut {
            email: s(&r.data, "email"),
            phone: s(&r.data, "phone"),
            company: s(&r.data, "companyName"),
            added_at: r.added_ms.map(time::rfc3339),
            id: r.record_id,
            name: r.title,
            tags: r.tags,
            assigned_to: r.assignee,
            data: r.data,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ContactList {
    pub(crate) items: Vec<ContactOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub(crate) next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TaskOut {
    pub(crate) id: String,
    pub(crate) contact_id: Option<String>,
    pub(crate) contact_name: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) body: Option<String>,
    /// open or done
    pub(crate) status: Option<String>,
    pub(crate) due_at: Option<String>,
    pub(crate) assigned_to: Option<String>,
    /// The newest command on this task, while it is pending or after it failed.
    pub(crate) command: Option<CommandOut>,
}

impl From<TaskRow> for TaskOut {
    fn from(t: TaskRow) -> TaskOut {
        TaskOut {
            id: t.task.record_id,
            contact_id: t.task.contact_id,
            contact_name: t.contact_name,
            title: t.task.title,
            body: t.task.body,
            status: t.task.status,
            due_at: t.task.due_ms.map(time::rfc3339),
            assigned_to: t.task.assignee,
            command: t.command.map(CommandOut::from),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TaskList {
    pub(crate) items: Vec<TaskOut>,
    pub(crate) next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct NoteOut {
    pub(crate) id: String,
    pub(crate) contact_id: Option<String>,
    pub(crate) body: Option<String>,
    pub(crate) added_at: Option<String>,
}

impl From<Record> for NoteOut {
    fn from(r: Record) -> NoteOut {
        NoteOut {
            id: r.record_id,
            contact_id: r.contact_id,
            body: r.body,
            added_at: r.due_ms.map(time::rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AppointmentOut {
    pub(crate) id: String,
    pub(crate) contact_id: Option<String>,
    pub(crate) contact_name: Option<String>,
    pub(crate) title: Option<String>,
    /// HighLevel's appointmentStatus (confirmed, cancelled, showed, ...).
    pub(crate) status: Option<String>,
    pub(crate) start_at: Option<String>,
    pub(crate) assigned_to: Option<String>,
    /// The appointment's own notes.
    pub(crate) notes: Vec<NoteOut>,
    /// The contact's notes from within three days of the start.
    pub(crate) contact_notes: Vec<NoteOut>,
}

impl From<Meeting> for AppointmentOut {
    fn from(m: Meeting) -> AppointmentOut {
        let a = m.appointment;
        AppointmentOut {
            id: a.record_id,
            contact_id: a.contact_id,
            contact_name: m.contact_name,
            title: a.title,
            status: a.status,
            start_at: a.due_ms.map(time::rfc3339),
            assigned_to: a.assignee,
            notes: m.notes.into_iter().map(NoteOut::from).collect(),
            contact_notes: m.contact_notes.into_iter().map(NoteOut::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AppointmentList {
    pub(crate) items: Vec<AppointmentOut>,
    pub(crate) next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ContactDetail {
    pub(crate) contact: ContactOut,
    pub(crate) open_tasks: Vec<TaskOut>,
    pub(crate) done_tasks: Vec<TaskOut>,
    pub(crate) notes: Vec<NoteOut>,
    pub(crate) upcoming_appointments: Vec<AppointmentOut>,
    pub(crate) past_appointments: Vec<AppointmentOut>,
    /// Recent commands on this contact, newest first.
    pub(crate) commands: Vec<CommandOut>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CommandOut {
    pub(crate) id: i64,
    /// complete_task, reopen_task, create_task, add_note, add_tag, remove_tag, ...
    pub(crate) kind: String,
    /// pending (sent, not yet confirmed by HighLevel), done, or failed (see `error`).
    pub(crate) state: String,
    pub(crate) contact_id: Option<String>,
    pub(crate) record_id: Option<String>,
    #[schema(value_type = Object)]
    pub(crate) command: Value,
    /// Why HighLevel refused, when failed.
    pub(crate) error: Option<String>,
    pub(crate) requested_by: Option<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl From<Command> for CommandOut {
    fn from(c: Command) -> CommandOut {
        CommandOut {
            id: c.id,
            kind: c.kind,
            state: c.state.as_str().into(),
            contact_id: c.contact_id,
            record_id: c.record_id,
            command: c.command,
            error: c.error,
            requested_by: c.requested_by,
            created_at: time::rfc3339(c.created_at_ms),
            updated_at: time::rfc3339(c.updated_at_ms),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MessageOut {
    pub(crate) id: i64,
    /// general, alerts or contact
    pub(crate) channel: String,
    pub(crate) contact_id: Option<String>,
    pub(crate) author: String,
    pub(crate) body: String,
    pub(crate) at: String,
}

impl From<Message> for MessageOut {
    fn from(m: Message) -> MessageOut {
        let contact_id = match &m.channel {
            store::Channel::Contact(c) => Some(c.clone()),
            _ => None,
        };
        MessageOut {
            id: m.id,
            channel: m.channel.as_str().into(),
            contact_id,
            author: m.author_name,
            body: m.body,
            at: time::rfc3339(m.at_ms),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ChangeOut {
    pub(crate) id: i64,
    /// contact, task, note, appointment or appointment_note
    pub(crate) kind: String,
    pub(crate) record_id: String,
    pub(crate) contact_id: Option<String>,
    pub(crate) action: String,
    /// The change in plain words.
    pub(crate) summary: String,
    pub(crate) actor: Option<String>,
    pub(crate) at: String,
}

impl From<Change> for ChangeOut {
    fn from(c: Change) -> ChangeOut {
        ChangeOut {
            id: c.id,
            kind: c.kind.as_str().into(),
            record_id: c.record_id,
            contact_id: c.contact_id,
            action: c.action,
            summary: c.summary,
            actor: c.actor,
            at: time::rfc3339(c.at_ms),
        }
    }
}

/// One feed entry: exactly one of `change` and `message` is set.
#[derive(Serialize, ToSchema)]
pub(crate) struct FeedEntry {
    pub(crate) change: Option<ChangeOut>,
    pub(crate) message: Option<MessageOut>,
}

impl From<Item> for FeedEntry {
    fn from(i: Item) -> FeedEntry {
        match i {
            Item::Change(c) => FeedEntry {
                change: Some(c.into()),
                message: None,
            },
            Item::Message(m) => FeedEntry {
                change: None,
                message: Some(m.into()),
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct FeedList {
    /// Newest first.
    pub(crate) items: Vec<FeedEntry>,
    pub(crate) next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ContactsParams {
    /// Text in the name, email, phone or company.
    pub(crate) q: Option<String>,
    pub(crate) tag: Option<String>,
    /// A HighLevel user id.
    pub(crate) assignee: Option<String>,
    pub(crate) cursor: Option<String>,
    /// 1 to 200, default 50.
    pub(crate) limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TasksParams {
    /// overdue (open and due before today, UTC), today, or week (today and the next six days).
    pub(crate) due: Option<String>,
    pub(crate) assignee: Option<String>,
    /// open (default), done or all.
    pub(crate) status: Option<String>,
    /// due (default, soonest first, undated last), due_desc, or title.
    pub(crate) sort: Option<String>,
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AppointmentsParams {
    /// First day, YYYY-MM-DD (UTC); default today.
    pub(crate) from: Option<String>,
    /// Days from `from`, 1 to 31; default 7.
    pub(crate) days: Option<u32>,
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FeedParams {
    /// Only this contact's thread (its changes and messages).
    pub(crate) contact_id: Option<String>,
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateTaskIn {
    pub(crate) title: String,
    /// RFC 3339, e.g. 2026-03-10T17:00:00Z
    pub(crate) due_date: String,
    pub(crate) body: Option<String>,
    /// A HighLevel user id.
    pub(crate) assigned_to: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct NoteIn {
    pub(crate) body: String,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct TagsIn {
    pub(crate) tags: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct MessageIn {
    pub(crate) body: String,
    /// general (default) or alerts. Messages about a contact go to
    /// `/api/v1/contacts/{contact_id}/messages`.
    pub(crate) channel: Option<String>,
}
