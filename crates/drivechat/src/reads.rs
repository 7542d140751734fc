//! The views Drive Chat shows, read from the mirror for one workspace: shared by the web
//! pages and the JSON API so both always agree. Every query carries the workspace's
//! location id.

use std::collections::HashMap;

use store::chat::{BoardOrder, BoardQuery};
use store::{
    Change, Channel, Command, CommandState, ContactBrief, Message, Record, RecordKind, RecordOrder,
    RecordQuery,
};

use chrono_tz::Tz;

use crate::feed_filter::FeedFilter;
use crate::time::DAY_MS;
use crate::{zone, App, Error};

/// How many commands back the board and contact page look to mark rows pending or failed.
const RECENT_COMMANDS: u32 = 300;

/// Contacts matching a search, tag and assignee, by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct ContactFilter {
    pub(crate) q: Option<String>,
    pub(crate) tag: Option<String>,
    pub(crate) assignee: Option<String>,
    pub(crate) after: Option<String>,
    pub(crate) limit: u32,
}

pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next: Option<String>,
}

/// The longest search accepted, in characters. Names, emails and phone numbers are far
/// shorter; a longer search would only be slow (each character is part of a LIKE pattern,
/// and SQLite refuses patterns over 50,000 bytes with an error).
pub(crate) const MAX_SEARCH_CHARS: usize = 200;

pub(crate) async fn contacts(
    app: &App,
    loc: &str,
    f: &ContactFilter,
) -> Result<Page<Record>, Error> {
    if let Some(q) = &f.q {
        let n = q.chars().count();
        if n > MAX_SEARCH_CHARS {
            return Err(Error::BadRequest(format!(
                "The search is too long ({n} characters); search for at most \
                 {MAX_SEARCH_CHARS}, e.g. a name, an email or a phone number."
            )));
        }
    }
    let page = app
        .store
        .list_records(&RecordQuery {
            location_id: loc.into(),
            kind: Some(RecordKind::Contact),
            text: non_empty(&f.q),
            tag: non_empty(&f.tag),
            assignee: non_empty(&f.assignee),
            order: RecordOrder::TitleAsc,
            after: non_empty(&f.after),
            limit: f.limit,
            ..RecordQuery::default()
        })
        .await?;
    Ok(Page {
        items: page.records,
        next: page.next,
    })
}

/// Which due dates the board shows. Due and status are independent filters, both applied:
/// `Overdue` is "due before today", and the status filter (open by default) says open, done
/// or both. So Overdue + Open are the tasks that are late, Overdue + Done those due before
/// today and done (with Reopen buttons, never Complete), Overdue + All both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// Due before today (late when still open).
    Overdue,
    Today,
    /// Today and the six days after.
    Week,
}

impl Due {
    pub(crate) fn parse(v: &str) -> Option<Due> {
        match v {
            "overdue" => Some(Due::Overdue),
            "today" => Some(Due::Today),
            "week" => Some(Due::Week),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum StatusFilter {
    #[default]
    Open,
    Done,
    All,
}

impl StatusFilter {
    pub(crate) fn parse(v: &str) -> Option<StatusFilter> {
        match v {
            "open" => Some(StatusFilter::Open),
            "done" => Some(StatusFilter::Done),
            "all" => Some(StatusFilter::All),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum BoardSort {
    #[default]
    DueAsc,
    DueDesc,
    Title,
}

impl BoardSort {
    pub(crate) fn parse(v: &str) -> Option<BoardSort> {
        match v {
            "due" => Some(BoardSort::DueAsc),
            "due_desc" => Some(BoardSort::DueDesc),
            "title" => Some(BoardSort::Title),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BoardSort::DueAsc => "due",
            BoardSort::DueDesc => "due_desc",
            BoardSort::Title => "title",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct BoardFilter {
    pub(crate) due: Option<Due>,
    /// A HighLevel user id.
    pub(crate) assignee: Option<String>,
    pub(crate) status: StatusFilter,
    pub(crate) sort: BoardSort,
    pub(crate) after: Option<String>,
    pub(crate) limit: u32,
    /// Whose days "overdue", "today" and "this week" are: the member's zone.
    pub(crate) zone: Tz,
}

impl Default for BoardFilter {
    fn default() -> BoardFilter {
        BoardFilter {
            due: None,
            assignee: None,
            status: StatusFilter::default(),
            sort: BoardSort::default(),
            after: None,
            limit: 0,
            zone: Tz::UTC,
        }
    }
}

/// Counts of the board stop here: counting every one of 100,000 tasks on each page load
/// would cost more than the page; past this the page says "1000+".
pub(crate) const BOARD_COUNT_CAP: u32 = 1000;

impl BoardFilter {
    /// The store query for this filter at time `now`, shaped for the board indexes of
    /// migration 0004 (see `store::chat::board`).
    pub(crate) fn query(&self, loc: &str, now: i64) -> BoardQuery {
        let today = zone::day_start(now, self.zone);
        let (due_from, due_before) = match self.due {
            None => (None, None),
            Some(Due::Overdue) => (None, Some(today)),
            Some(Due::Today) => (Some(today), Some(zone::days_later(now, self.zone, 1))),
            Some(Due::Week) => (Some(today), Some(zone::days_later(now, self.zone, 7))),
        };
        // The status filter is applied as chosen, whatever the due filter (see `Due`): a
        // board asked for done tasks lists only done ones.
        let status = match self.status {
            StatusFilter::Open => Some("open".to_string()),
            StatusFilter::Done => Some("done".to_string()),
            StatusFilter::All => None,
        };
        BoardQuery {
            location_id: loc.into(),
            assignee: non_empty(&self.assignee),
            status,
            due_from,
            due_before,
            order: match self.sort {
                BoardSort::DueAsc => BoardOrder::DueAsc,
                BoardSort::DueDesc => BoardOrder::DueDesc,
                BoardSort::Title => BoardOrder::TitleAsc,
            },
            after: non_empty(&self.after),
            limit: self.limit,
        }
    }
}

/// A task with whose it is and what Drive Chat last asked HighLevel to do with it.
pub(crate) struct TaskRow {
    pub(crate) task: Record,
    pub(crate) contact_name: Option<String>,
    /// The contact's own time zone, when set and known.
    pub(crate) contact_zone: Option<Tz>,
    /// The newest recent command on this task, when pending or failed.
    pub(crate) command: Option<Command>,
}

pub(crate) async fn board(
    app: &App,
    loc: &str,
    f: &BoardFilter,
    now: i64,
) -> Result<Page<TaskRow>, Error> {
    let page = app.store.board_page(&f.query(loc, now)).await?;
    // The page's tasks by key, at once: the pool runs them side by side.
    let tasks = futures::future::try_join_all(
        page.task_ids
            .iter()
            .map(|id| app.store.record(loc, RecordKind::Task, id)),
    )
    .await?;
    // A task deleted between the two reads is simply left out of this page.
    let tasks = tasks.into_iter().flatten().collect();
    Ok(Page {
        items: task_rows(app, loc, tasks).await?,
        next: page.next,
    })
}

/// Decorates tasks with their contact's name and their unsettled or refused command.
pub(crate) async fn task_rows(
    app: &App,
    loc: &str,
    tasks: Vec<Record>,
) -> Result<Vec<TaskRow>, Error> {
    let contact_ids: Vec<&str> = tasks
        .iter()
        .filter_map(|t| t.contact_id.as_deref())
        .collect();
    let contacts = contact_briefs(app, loc, &contact_ids).await?;
    let mut newest: HashMap<String, Command> = HashMap::new();
    for c in app.store.commands(loc, None, None, RECENT_COMMANDS).await? {
        if let Some(r) = c.record_id.clone() {
            // Commands come newest first: the first seen for a record is its newest.
            newest.entry(r).or_insert(c);
        }
    }
    Ok(tasks
        .into_iter()
        .map(|task| {
            let (contact_name, contact_zone) = brief_of(&contacts, task.contact_id.as_deref());
            TaskRow {
                contact_name,
                contact_zone,
                command: newest
                    .remove(&task.record_id)
                    .filter(|c| c.state != CommandState::Done),
                task,
            }
        })
        .collect())
}

/// The names and zones of the workspace's contacts among `ids`, by contact id.
async fn contact_briefs(
    app: &App,
    loc: &str,
    ids: &[&str],
) -> Result<HashMap<String, ContactBrief>, Error> {
    Ok(app
        .store
        .contact_briefs(loc, ids)
        .await?
        .into_iter()
        .map(|b| (b.contact_id.clone(), b))
        .collect())
}

fn brief_of(
    briefs: &HashMap<String, ContactBrief>,
    contact_id: Option<&str>,
) -> (Option<String>, Option<Tz>) {
    match contact_id.and_then(|c| briefs.get(c)) {
        Some(b) => (b.title.clone(), b.timezone.as_deref().and_then(zone::parse)),
        None => (None, None),
    }
}

/// An appointment with its own notes, and the contact's notes from around its time.
pub(crate) struct Meeting {
    pub(crate) appointment: Record,
    pub(crate) contact_name: Option<String>,
    /// The contact's own time zone, when set and known.
    pub(crate) contact_zone: Option<Tz>,
    pub(crate) notes: Vec<Record>,
    pub(crate) contact_notes: Vec<Record>,
}

/// How far either side of a meeting a contact's note counts as "from around that time".
pub(crate) const NOTES_AROUND_MS: i64 = 3 * DAY_MS;

async fn meeting(app: &App, loc: &str, appointment: Record) -> Result<Meeting, Error> {
    let notes = app
        .store
        .list_records(&RecordQuery {
            location_id: loc.into(),
            kind: Some(RecordKind::AppointmentNote),
            parent_id: Some(appointment.record_id.clone()),
            order: RecordOrder::DueAsc,
            limit: 100,
            ..RecordQuery::default()
        })
        .await?
        .records;
    let contact_notes = match (&appointment.contact_id, appointment.due_ms) {
        (Some(contact), Some(start)) => {
            app.store
                .list_records(&RecordQuery {
                    location_id: loc.into(),
                    kind: Some(RecordKind::Note),
                    contact_id: Some(contact.clone()),
                    due_from: Some(start - NOTES_AROUND_MS),
                    due_before: Some(start + NOTES_AROUND_MS),
                    order: RecordOrder::DueDesc,
                    limit: 20,
                    ..RecordQuery::default()
                })
                .await?
                .records
        }
        _ => Vec::new(),
    };
    Ok(Meeting {
        appointment,
        contact_name: None,
        contact_zone: None,
        notes,
        contact_notes,
    })
}

/// Appointments starting in `[from, before)`, soonest first, each with its notes.
pub(crate) async fn meetings(
    app: &App,
    loc: &str,
    from: i64,
    before: i64,
    after: Option<String>,
    limit: u32,
) -> Result<Page<Meeting>, Error> {
    let page = app
        .store
        .list_records(&RecordQuery {
            location_id: loc.into(),
            kind: Some(RecordKind::Appointment),
            due_from: Some(from),
            due_before: Some(before),
            order: RecordOrder::DueAsc,
            after,
            limit,
            ..RecordQuery::default()
        })
        .await?;
    let ids: Vec<&str> = page
        .records
        .iter()
        .filter_map(|r| r.contact_id.as_deref())
        .collect();
    let contacts = contact_briefs(app, loc, &ids).await?;
    let mut items = Vec::with_capacity(page.records.len());
    for appointment in page.records {
        let (name, zone) = brief_of(&contacts, appointment.contact_id.as_deref());
        let mut m = meeting(app, loc, appointment).await?;
        m.contact_name = name;
        m.contact_zone = zone;
        items.push(m);
    }
    Ok(Page {
        items,
        next: page.next,
    })
}

/// Everything the contact page shows.
pub(crate) struct ContactView {
    pub(crate) contact: Record,
    pub(crate) open_tasks: Vec<TaskRow>,
    pub(crate) done_tasks: Vec<TaskRow>,
    pub(crate) notes: Vec<Record>,
    pub(crate) upcoming: Vec<Meeting>,
    pub(crate) past: Vec<Meeting>,
    /// The contact's recent commands, newest first.
    pub(crate) commands: Vec<Command>,
}

pub(crate) async fn contact(
    app: &App,
    loc: &str,
    contact_id: &str,
    now: i64,
) -> Result<ContactView, Error> {
    // A contact deleted in HighLevel is still shown, marked: its page may be open.
    let contact = crate::records::known(app, loc, RecordKind::Contact, contact_id).await?;
    let list = |kind, status: Option<&str>, order, from, before, limit| RecordQuery {
        location_id: loc.into(),
        kind: Some(kind),
        contact_id: Some(contact_id.into()),
        status: status.map(str::to_string),
        order,
        due_from: from,
        due_before: before,
        limit,
        ..RecordQuery::default()
    };
    let store = &app.store;
    let open = store
        .list_records(&list(
            RecordKind::Task,
            Some("open"),
            RecordOrder::DueAsc,
            None,
            None,
            200,
        ))
        .await?
        .records;
    let done = store
        .list_records(&list(
            RecordKind::Task,
            Some("done"),
            RecordOrder::DueDesc,
            None,
            None,
            50,
        ))
        .await?
        .records;
    let notes = store
        .list_records(&list(
            RecordKind::Note,
            None,
            RecordOrder::DueDesc,
            None,
            None,
            100,
        ))
        .await?
        .records;
    let upcoming_appts = store
        .list_records(&list(
            RecordKind::Appointment,
            None,
            RecordOrder::DueAsc,
            Some(now),
            None,
            20,
        ))
        .await?
        .records;
    let past_appts = store
        .list_records(&list(
            RecordKind::Appointment,
            None,
            RecordOrder::DueDesc,
            None,
            Some(now),
            20,
        ))
        .await?
        .records;
    // Named as on the meetings page, so an untitled one reads "Meeting with <contact>".
    let contact_name = contact.title.clone();
    let mut upcoming = Vec::new();
    let mut past = Vec::new();
    for (list, appts) in [(&mut upcoming, upcoming_appts), (&mut past, past_appts)] {
        for a in appts {
            let mut m = meeting(app, loc, a).await?;
            m.contact_name.clone_from(&contact_name);
            list.push(m);
        }
    }
    let commands = store.commands(loc, None, Some(contact_id), 20).await?;
    Ok(ContactView {
        open_tasks: task_rows(app, loc, open).await?,
        done_tasks: task_rows(app, loc, done).await?,
        contact,
        notes,
        upcoming,
        past,
        commands,
    })
}

/// One entry of a feed or thread: a HighLevel change, or a person's message.
pub(crate) enum Item {
    Change(Change),
    Message(Message),
}

impl Item {
    pub(crate) fn at_ms(&self) -> i64 {
        match self {
            Item::Change(c) => c.at_ms,
            Item::Message(m) => m.at_ms,
        }
    }
}

/// Where a feed page starts: below these change and message ids (`None`: the newest).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FeedCursor {
    pub(crate) change: Option<i64>,
    pub(crate) message: Option<i64>,
}

impl FeedCursor {
    pub(crate) fn parse(v: &str) -> Result<FeedCursor, Error> {
        let bad = || Error::BadRequest("the feed cursor is not one this server gave out".into());
        let (c, m) = v.split_once('.').ok_or_else(bad)?;
        let c = c
            .strip_prefix('c')
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        let m = m
            .strip_prefix('m')
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        Ok(FeedCursor {
            change: Some(c),
            message: Some(m),
        })
    }

    pub(crate) fn encode(&self) -> String {
        format!(
            "c{}.m{}",
            self.change.unwrap_or(i64::MAX),
            self.message.unwrap_or(i64::MAX)
        )
    }
}

/// The newest entries of the workspace feed (or of one contact's thread) below `cursor`:
/// changes and messages merged by time, newest first.
pub(crate) async fn feed(
    app: &App,
    loc: &str,
    contact_id: Option<&str>,
    cursor: FeedCursor,
    limit: u32,
) -> Result<Page<Item>, Error> {
    let filter = contact_id.map(FeedFilter::thread).unwrap_or_default();
    feed_where(app, loc, &filter, cursor, limit).await
}

/// [`feed`], of the lines `filter` shows.
pub(crate) async fn feed_where(
    app: &App,
    loc: &str,
    filter: &FeedFilter,
    cursor: FeedCursor,
    limit: u32,
) -> Result<Page<Item>, Error> {
    let limit = limit.clamp(1, 200);
    let changes = app
        .store
        .changes_matching(loc, &filter.changes(), cursor.change, limit)
        .await?;
    let channel = match &filter.contact {
        Some(c) => Channel::Contact(c.to_string()),
        None => Channel::General,
    };
    let messages = if filter.shows_messages() {
        let author = filter.member.as_ref().map(|m| m.user_id);
        app.store
            .messages_by(loc, Some(&channel), author, cursor.message, limit)
            .await?
    } else {
        Vec::new()
    };
    let more = changes.len() as u32 == limit || messages.len() as u32 == limit;
    let mut items: Vec<Item> = changes
        .into_iter()
        .map(Item::Change)
        .chain(messages.into_iter().map(Item::Message))
        .collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.at_ms()));
    let more = more || items.len() > limit as usize;
    items.truncate(limit as usize);
    // Each stream resumes below the last entry of it that was shown; one that showed
    // nothing resumes where it was.
    let mut next = cursor;
    for i in &items {
        match i {
            Item::Change(c) => next.change = Some(c.id),
            Item::Message(m) => next.message = Some(m.id),
        }
    }
    Ok(Page {
        next: (more && !items.is_empty()).then(|| next.encode()),
        items,
    })
}

/// Contact names by contact id, as feed lines show them.
pub(crate) type Names = HashMap<String, String>;

/// The current names of the contacts `items` are about (a contact without a name reads as
/// such; one Drive Chat has no record of is left out).
pub(crate) async fn contact_names(app: &App, loc: &str, items: &[Item]) -> Result<Names, Error> {
    let ids: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Change(c) => c.contact_id.as_deref(),
            Item::Message(_) => None,
        })
        .collect();
    names_of(app, loc, &ids).await
}

/// The current names of the workspace's contacts among `ids`.
pub(crate) async fn names_of(app: &App, loc: &str, ids: &[&str]) -> Result<Names, Error> {
    if ids.is_empty() {
        return Ok(Names::new());
    }
    Ok(app
        .store
        .contact_briefs(loc, ids)
        .await?
        .into_iter()
        .map(|b| {
            let name = b
                .title
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .unwrap_or(NO_NAME)
                .to_string();
            (b.contact_id, name)
        })
        .collect())
}

/// How a contact without a name is named.
pub(crate) const NO_NAME: &str = "(no name)";

/// `#alerts`: write-backs HighLevel refused, and what people said there.
pub(crate) struct Alerts {
    pub(crate) failed: Vec<Command>,
    pub(crate) messages: Vec<Message>,
}

pub(crate) async fn alerts(app: &App, loc: &str) -> Result<Alerts, Error> {
    Ok(Alerts {
        failed: app
            .store
            .commands(loc, Some(CommandState::Failed), None, 50)
            .await?,
        messages: app
            .store
            .messages_before(loc, Some(&Channel::Alerts), None, 50)
            .await?,
    })
}

/// Which of the workspace's commands the API lists.
#[derive(Clone, Debug, Default)]
pub(crate) struct CommandFilter {
    pub(crate) state: Option<CommandState>,
    pub(crate) contact_id: Option<String>,
    pub(crate) since_ms: Option<i64>,
    /// Below this command id (the previous page's last).
    pub(crate) before: Option<i64>,
    pub(crate) limit: u32,
}

/// A page of the workspace's commands, newest first; `next` is the last one's id.
pub(crate) async fn commands(
    app: &App,
    loc: &str,
    f: &CommandFilter,
) -> Result<Page<Command>, Error> {
    let limit = f.limit.clamp(1, 200);
    let items = app
        .store
        .list_commands(&store::CommandQuery {
            location_id: loc.into(),
            state: f.state,
            contact_id: f.contact_id.clone(),
            since_ms: f.since_ms,
            before_id: f.before,
            limit,
        })
        .await?;
    let next = (items.len() as u32 == limit)
        .then(|| items.last().map(|c| c.id.to_string()))
        .flatten();
    Ok(Page { items, next })
}

/// One entry of `#alerts`: a write-back HighLevel refused, or a message posted there (by a
/// person, or by an alert rule).
pub(crate) enum AlertItem {
    Refused(Box<Command>),
    Message(Message),
}

impl AlertItem {
    fn at_ms(&self) -> i64 {
        match self {
            AlertItem::Refused(c) => c.updated_at_ms,
            AlertItem::Message(m) => m.at_ms,
        }
    }
}

/// Where a page of `#alerts` starts: below these refused-command and message ids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AlertCursor {
    pub(crate) refused: Option<i64>,
    pub(crate) message: Option<i64>,
}

impl AlertCursor {
    pub(crate) fn parse(v: &str) -> Result<AlertCursor, Error> {
        let bad = || Error::BadRequest("the alerts cursor is not one this server gave out".into());
        let (r, m) = v.split_once('.').ok_or_else(bad)?;
        let id = |s: &str, prefix| s.strip_prefix(prefix).and_then(|n| n.parse().ok());
        Ok(AlertCursor {
            refused: Some(id(r, 'r').ok_or_else(bad)?),
            message: Some(id(m, 'm').ok_or_else(bad)?),
        })
    }

    pub(crate) fn encode(&self) -> String {
        format!(
            "r{}.m{}",
            self.refused.unwrap_or(i64::MAX),
            self.message.unwrap_or(i64::MAX)
        )
    }
}

/// A page of `#alerts` below `cursor`: refused write-backs and the channel's messages merged
/// by time, newest first (what the `#alerts` page shows, as one list).
pub(crate) async fn alerts_page(
    app: &App,
    loc: &str,
    cursor: AlertCursor,
    limit: u32,
) -> Result<Page<AlertItem>, Error> {
    let limit = limit.clamp(1, 200);
    let refused = app
        .store
        .list_commands(&store::CommandQuery {
            location_id: loc.into(),
            state: Some(CommandState::Failed),
            before_id: cursor.refused,
            limit,
            ..store::CommandQuery::default()
        })
        .await?;
    let messages = app
        .store
        .messages_before(loc, Some(&Channel::Alerts), cursor.message, limit)
        .await?;
    let more = refused.len() as u32 == limit || messages.len() as u32 == limit;
    let mut items: Vec<AlertItem> = refused
        .into_iter()
        .map(|c| AlertItem::Refused(Box::new(c)))
        .chain(messages.into_iter().map(AlertItem::Message))
        .collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.at_ms()));
    let more = more || items.len() > limit as usize;
    items.truncate(limit as usize);
    let mut next = cursor;
    for i in &items {
        match i {
            AlertItem::Refused(c) => next.refused = Some(c.id),
            AlertItem::Message(m) => next.message = Some(m.id),
        }
    }
    Ok(Page {
        next: (more && !items.is_empty()).then(|| next.encode()),
        items,
    })
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_filters_become_queries() {
        let now = 10 * DAY_MS + 5000;
        let f = BoardFilter {
            due: Some(Due::Overdue),
            status: StatusFilter::All,
            ..BoardFilter::default()
        };
        let q = f.query("L", now);
        assert_eq!(q.status, None, "overdue with every status: open and done");
        assert_eq!((q.due_from, q.due_before), (None, Some(10 * DAY_MS)));
        let f = BoardFilter {
            due: Some(Due::Overdue),
            status: StatusFilter::Done,
            ..BoardFilter::default()
        };
        assert_eq!(f.query("L", now).status.as_deref(), Some("done"));
        let f = BoardFilter {
            due: Some(Due::Week),
            status: StatusFilter::All,
            sort: BoardSort::Title,
            assignee: Some(" ".into()),
            ..BoardFilter::default()
        };
        let q = f.query("L", now);
        assert_eq!(q.status, None);
        assert_eq!(q.assignee, None);
        assert_eq!(q.order, BoardOrder::TitleAsc);
        assert_eq!(
            (q.due_from, q.due_before),
            (Some(10 * DAY_MS), Some(17 * DAY_MS))
        );
    }

    #[test]
    fn feed_cursors_round_trip() {
        let c = FeedCursor {
            change: Some(5),
            message: None,
        };
        let back = FeedCursor::parse(&c.encode()).unwrap();
        assert_eq!(back.change, Some(5));
        assert_eq!(back.message, Some(i64::MAX));
        assert!(FeedCursor::parse("x").is_err());
    }

    #[test]
    fn alert_cursors_round_trip() {
        let c = AlertCursor {
            refused: Some(7),
            message: None,
        };
        assert_eq!(c.encode(), format!("r7.m{}", i64::MAX));
        assert_eq!(AlertCursor::parse(&c.encode()).unwrap().refused, Some(7));
        for bad in ["x", "c1.m2", "r1.mx", "r1"] {
            assert!(AlertCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
