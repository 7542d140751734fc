//! The API's JSON shapes, documented in the OpenAPI schema, and how records become them.
//! Times are RFC 3339 in UTC (`format: date-time`). HighLevel user ids come with the user's
//! name beside them (`*_name`), which is the id itself when the user is not known (the
//! location's token lacks `users.readonly`, or the user is new since the last refresh).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{Change, Command, CommandState, HlUser, Message, Record};
use utoipa::{IntoParams, ToSchema};

use crate::context::{Seen, ZoneFrom};
use crate::fields::{self, ChannelDnd, CustomFieldView, Dnd};
use crate::reads::{AlertItem, Item, Meeting, TaskRow};
use crate::{meeting, time};

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
    /// Your role here: admin, member or viewer (viewers read; their actions answer 403).
    pub(crate) role: String,
    pub(crate) user: UserOut,
    /// The time zone you read times in (an IANA name): your own setting, else the location's,
    /// else UTC. `day` filters (`due=today`, appointments' `from`) use it.
    pub(crate) timezone: String,
    /// Where `timezone` came from: member (your setting), location, or default (UTC).
    pub(crate) timezone_source: String,
    /// The location's time zone in HighLevel, when known.
    pub(crate) location_timezone: Option<String>,
    /// The HighLevel user of this location whose email is yours, if any: the assignee that
    /// `assignee=me` means, and the author of notes you add.
    pub(crate) highlevel_user: Option<HlUserOut>,
    /// HighLevel scopes the location's token lacks, so names, field labels or its time zone
    /// cannot be read; reconnect the location granting them.
    pub(crate) missing_scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UserOut {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) name: String,
}

/// A HighLevel user of the location (what `assigned_to` and a note's `user_id` name).
#[derive(Serialize, ToSchema)]
pub(crate) struct HlUserOut {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: Option<String>,
}

impl From<&HlUser> for HlUserOut {
    fn from(u: &HlUser) -> HlUserOut {
        HlUserOut {
            id: u.id.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct HlUserList {
    /// By name.
    pub(crate) items: Vec<HlUserOut>,
    /// HighLevel scopes the location's token lacks; without `users.readonly` this list is
    /// empty and ids are shown as they are.
    pub(crate) missing_scopes: Vec<String>,
}

pub(crate) fn zone_source(from: ZoneFrom) -> &'static str {
    match from {
        ZoneFrom::Member => "member",
        ZoneFrom::Location => "location",
        ZoneFrom::Default => "default",
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ContactOut {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) company: Option<String>,
    pub(crate) tags: Vec<String>,
    /// A HighLevel user id.
    pub(crate) assigned_to: Option<String>,
    /// That user's name (the id when the user is not known).
    pub(crate) assigned_to_name: Option<String>,
    /// The contact's own time zone (an IANA name), as HighLevel has it.
    pub(crate) timezone: Option<String>,
    #[schema(format = DateTime)]
    pub(crate) added_at: Option<String>,
    /// The contact's custom fields that hold a value, labelled and typed: fields with a known
    /// definition first, in the location's order.
    pub(crate) custom_fields: Vec<CustomFieldOut>,
    /// Do not disturb.
    pub(crate) dnd: DndOut,
    /// The contact as HighLevel returned it.
    #[schema(value_type = Object)]
    pub(crate) data: Value,
}

fn s(data: &Value, key: &str) -> Option<String> {
    data.get(key).and_then(Value::as_str).map(str::to_string)
}

impl ContactOut {
    pub(crate) fn new(r: Record, seen: &Seen) -> ContactOut {
        ContactOut {
            email: s(&r.data, "email"),
            phone: s(&r.data, "phone"),
            company: s(&r.data, "companyName"),
            timezone: s(&r.data, "timezone").filter(|z| !z.trim().is_empty()),
            added_at: r.added_ms.map(time::rfc3339),
            custom_fields: fields::custom_fields(&seen.location, &r.data)
                .into_iter()
                .map(CustomFieldOut::from)
                .collect(),
            dnd: fields::dnd(&r.data).into(),
            assigned_to_name: seen.user_label(r.assignee.as_deref()),
            id: r.record_id,
            name: r.title,
            tags: r.tags,
            assigned_to: r.assignee,
            data: r.data,
        }
    }
}

/// One custom field of a contact.
#[derive(Serialize, ToSchema)]
pub(crate) struct CustomFieldOut {
    /// The custom field's id.
    pub(crate) id: String,
    /// The field's name in HighLevel, or its id when the definition is not known (the
    /// location's token lacks `locations/customFields.readonly`, or the field is new).
    pub(crate) name: String,
    /// e.g. `contact.renewal_date`.
    pub(crate) field_key: Option<String>,
    /// HighLevel's dataType (TEXT, NUMERICAL, MONETORY, DATE, SINGLE_OPTIONS,
    /// MULTIPLE_OPTIONS, CHECKBOX, ...); absent when the definition is not known.
    pub(crate) data_type: Option<String>,
    /// How `value` is typed: text (a string), number (a number), date (a `YYYY-MM-DD`
    /// string), list (an array of strings: checkboxes, multiple options, files), or raw (the
    /// value as HighLevel sent it: unknown definition, or a value that does not fit its type).
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// The value, typed as `type` says.
    #[schema(value_type = Value)]
    pub(crate) value: Value,
    /// The value as Drive Chat's pages show it.
    pub(crate) display: String,
}

impl From<CustomFieldView> for CustomFieldOut {
    fn from(f: CustomFieldView) -> CustomFieldOut {
        CustomFieldOut {
            kind: f.value.kind().into(),
            value: f.value.to_json(),
            display: f.display(),
            id: f.id,
            name: f.label,
            field_key: f.field_key,
            data_type: f.data_type,
        }
    }
}

/// The contact's do-not-disturb settings.
#[derive(Serialize, ToSchema)]
pub(crate) struct DndOut {
    /// Do not disturb on every channel (HighLevel's `dnd`).
    pub(crate) all: bool,
    /// Per channel, as HighLevel's `dndSettings` has them.
    pub(crate) channels: Vec<DndChannelOut>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DndChannelOut {
    /// Call, Email, SMS, WhatsApp, GMB or FB.
    pub(crate) channel: String,
    /// active, inactive or permanent.
    pub(crate) status: String,
    /// Whether the channel must not be used (status active or permanent).
    pub(crate) blocked: bool,
    pub(crate) message: Option<String>,
    pub(crate) code: Option<String>,
}

impl From<Dnd> for DndOut {
    fn from(d: Dnd) -> DndOut {
        DndOut {
            all: d.all,
            channels: d.channels.into_iter().map(DndChannelOut::from).collect(),
        }
    }
}

impl From<ChannelDnd> for DndChannelOut {
    fn from(c: ChannelDnd) -> DndChannelOut {
        DndChannelOut {
            blocked: c.blocked(),
            channel: c.channel,
            status: c.status,
            message: c.message,
            code: c.code,
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
    #[schema(format = DateTime)]
    pub(crate) due_at: Option<String>,
    /// A HighLevel user id.
    pub(crate) assigned_to: Option<String>,
    /// That user's name (the id when the user is not known).
    pub(crate) assigned_to_name: Option<String>,
    /// The newest command on this task, while it is pending or after it failed.
    pub(crate) command: Option<CommandOut>,
}

impl TaskOut {
    pub(crate) fn new(t: TaskRow, seen: &Seen) -> TaskOut {
        TaskOut {
            assigned_to_name: seen.user_label(t.task.assignee.as_deref()),
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
    #[schema(format = DateTime)]
    pub(crate) added_at: Option<String>,
    /// The HighLevel user who wrote it (HighLevel's `userId`), when it says.
    pub(crate) user_id: Option<String>,
    /// That user's name (the id when the user is not known).
    pub(crate) author: Option<String>,
}

impl NoteOut {
    pub(crate) fn new(r: Record, seen: &Seen) -> NoteOut {
        let user_id = s(&r.data, "userId").filter(|u| !u.trim().is_empty());
        NoteOut {
            author: seen.user_label(user_id.as_deref()),
            user_id,
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
    /// The status as the pages show it ("No-show", "Upcoming · Confirmed"): a meeting not yet
    /// started is never shown as showed or no-show.
    pub(crate) status_label: Option<String>,
    /// The title as the pages show it: the appointment's own, else "Meeting with <contact>".
    pub(crate) display_title: String,
    #[schema(format = DateTime)]
    pub(crate) start_at: Option<String>,
    #[schema(format = DateTime)]
    pub(crate) end_at: Option<String>,
    /// Whole minutes from start to end.
    pub(crate) duration_minutes: Option<i64>,
    /// A HighLevel user id.
    pub(crate) assigned_to: Option<String>,
    /// That user's name (the id when the user is not known).
    pub(crate) assigned_to_name: Option<String>,
    /// The appointment's own notes.
    pub(crate) notes: Vec<NoteOut>,
    /// The contact's notes from within three days of the start.
    pub(crate) contact_notes: Vec<NoteOut>,
}

impl AppointmentOut {
    pub(crate) fn new(m: Meeting, seen: &Seen) -> AppointmentOut {
        let a = m.appointment;
        let note = |n| NoteOut::new(n, seen);
        let now = time::now_ms();
        AppointmentOut {
            status_label: meeting::shown_status(a.status.as_deref(), a.due_ms, now),
            display_title: meeting::title(&a, m.contact_name.as_deref()),
            end_at: meeting::end_ms(&a).map(time::rfc3339),
            duration_minutes: meeting::minutes(&a),
            assigned_to_name: seen.user_label(a.assignee.as_deref()),
            id: a.record_id,
            contact_id: a.contact_id,
            contact_name: m.contact_name,
            title: a.title,
            status: a.status,
            start_at: a.due_ms.map(time::rfc3339),
            assigned_to: a.assignee,
            notes: m.notes.into_iter().map(note).collect(),
            contact_notes: m.contact_notes.into_iter().map(note).collect(),
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
    /// What the command asks, in words ("Complete task", "Tag vip, lead").
    pub(crate) summary: String,
    /// pending (sent, not yet confirmed by HighLevel), done, or failed (HighLevel refused it;
    /// see `error`).
    pub(crate) state: String,
    pub(crate) contact_id: Option<String>,
    pub(crate) record_id: Option<String>,
    #[schema(value_type = Object)]
    pub(crate) command: Value,
    /// Why HighLevel refused, when failed.
    pub(crate) error: Option<String>,
    /// Who asked: the member's name.
    pub(crate) requested_by: Option<String>,
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
    #[schema(format = DateTime)]
    pub(crate) updated_at: String,
    /// When HighLevel confirmed or refused it; absent while pending.
    #[schema(format = DateTime)]
    pub(crate) settled_at: Option<String>,
}

impl From<Command> for CommandOut {
    fn from(c: Command) -> CommandOut {
        let settled_at = (c.state != CommandState::Pending).then(|| time::rfc3339(c.updated_at_ms));
        CommandOut {
            summary: crate::ui::components::describe(&c),
            settled_at,
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
    #[schema(format = DateTime)]
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
    #[schema(format = DateTime)]
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

#[derive(Serialize, ToSchema)]
pub(crate) struct CommandList {
    /// Newest first.
    pub(crate) items: Vec<CommandOut>,
    pub(crate) next_cursor: Option<String>,
}

/// One entry of `#alerts`: exactly one of `refused` and `message` is set.
#[derive(Serialize, ToSchema)]
pub(crate) struct AlertEntry {
    /// A write-back HighLevel refused (`error` says why).
    pub(crate) refused: Option<CommandOut>,
    /// A message posted in `#alerts`, by a member or by an alert rule.
    pub(crate) message: Option<MessageOut>,
    /// When it happened: the refusal, or the message's time.
    #[schema(format = DateTime)]
    pub(crate) at: String,
}

impl From<AlertItem> for AlertEntry {
    fn from(i: AlertItem) -> AlertEntry {
        match i {
            AlertItem::Refused(c) => AlertEntry {
                at: time::rfc3339(c.updated_at_ms),
                refused: Some((*c).into()),
                message: None,
            },
            AlertItem::Message(m) => AlertEntry {
                at: time::rfc3339(m.at_ms),
                refused: None,
                message: Some(m.into()),
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AlertList {
    /// Newest first.
    pub(crate) items: Vec<AlertEntry>,
    pub(crate) next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ContactsParams {
    /// Text in the name, email, phone or company.
    pub(crate) q: Option<String>,
    pub(crate) tag: Option<String>,
    /// A HighLevel user id (see `/api/v1/users`).
    pub(crate) assignee: Option<String>,
    pub(crate) cursor: Option<String>,
    /// 1 to 200, default 50.
    pub(crate) limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TasksParams {
    /// overdue (due before today), today, or week (today and the next six days); days are
    /// those of your time zone (`timezone` in `/api/v1/workspace`). Combined with `status`
    /// (open by default): overdue + open are the late tasks, overdue + done those due before
    /// today and done.
    pub(crate) due: Option<String>,
    /// A HighLevel user id (see `/api/v1/users`), or `me`: the HighLevel user whose email is
    /// yours (400 when there is none).
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
    /// First day, YYYY-MM-DD, starting at midnight in your time zone (`timezone` in
    /// `/api/v1/workspace`); default today.
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
    /// RFC 3339 with its offset, e.g. 2026-03-10T17:00:00Z or 2026-03-10T13:00:00-04:00
    #[schema(format = DateTime)]
    pub(crate) due_date: String,
    pub(crate) body: Option<String>,
    /// A HighLevel user id (see `/api/v1/users`).
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CommandsParams {
    /// pending, done, or refused (also accepted as `failed`, the `state` it shows).
    pub(crate) state: Option<String>,
    /// Only this contact's commands.
    pub(crate) contact_id: Option<String>,
    /// Only commands asked for at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub(crate) since: Option<String>,
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertsParams {
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<u32>,
}

/// `ready`: the stream is open; its `id` is where to resume from if nothing else arrives.
#[derive(Serialize, ToSchema)]
pub(crate) struct StreamReady {
    /// The workspace whose events follow.
    pub(crate) workspace: String,
    /// How many missed events were replayed before it (after `Last-Event-ID`).
    pub(crate) replayed: u32,
}

/// `resync` (more events were missed than are replayed: reload what you show) or `end`
/// (the token was revoked or deleted, or its member removed: the stream closes).
#[derive(Serialize, ToSchema)]
pub(crate) struct StreamNotice {
    pub(crate) reason: String,
}

/// The data of one event of `/api/v1/events`, by the event's name.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum StreamEventData {
    /// event: ready
    Ready(StreamReady),
    /// event: change (a HighLevel change of the workspace, as in the feed)
    Change(ChangeOut),
    /// event: message (a message in any channel of the workspace)
    Message(MessageOut),
    /// event: resync, or event: end
    Notice(StreamNotice),
}
