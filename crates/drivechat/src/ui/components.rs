//! Pieces shared by several pages: feed entries, task rows, command badges, form fields.

use chrono_tz::Tz;
use maud::{html, Markup};
use store::{Change, Command, CommandState, HighLevelCommand, Message, Record, RecordKind};

use crate::context::Seen;
use crate::feed_filter::FeedKind;
use crate::reads::{Item, Names, TaskRow};
use crate::session::{Ctx, CSRF_FIELD};
use crate::{secret, time, zone};

/// The CSRF field every form carries.
pub(crate) fn csrf(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(ctx.csrf); }
}

/// A fresh idempotency key per rendered form: submitting the same form twice (a double
/// click, a resubmitted request) carries the same key, and the second does nothing.
pub(crate) fn idem() -> Markup {
    html! { input type="hidden" name="_idem" value=(secret::random_token()); }
}

/// Where to come back to after the action.
pub(crate) fn return_to(path: &str) -> Markup {
    html! { input type="hidden" name="return_to" value=(path); }
}

/// What a feed entry's icon shows for a kind of record.
fn kind_icon(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Contact => "◉",
        RecordKind::Task => "✓",
        RecordKind::Note => "✎",
        RecordKind::Appointment => "◷",
        RecordKind::AppointmentNote => "✎",
    }
}

/// A HighLevel change as a feed entry: a sentence naming its contact (`contact_name`, as
/// known now), with only the contact's name a link.
pub(crate) fn change_item(
    seen: &Seen,
    loc: &str,
    c: &Change,
    contact_name: Option<&str>,
    now: i64,
) -> Markup {
    let summary = local_summary(seen, c);
    let sentence = super::sentence::around_contact(c, &summary);
    html! {
        li.entry.change #(format!("c{}", c.id)) data-change-id=(c.id) data-kind=(c.kind.as_str())
            data-feed-kind=(FeedKind::of(c).as_str()) data-action=(c.action) {
            span.icon aria-hidden="true" { (kind_icon(c.kind)) }
            div.entry-body {
                div.summary {
                    @match (&sentence, &c.contact_id) {
                        (Some(s), Some(contact)) => {
                            (s.before)
                            a.contact-link href=(format!("/w/{loc}/contacts/{contact}")) {
                                (contact_name.unwrap_or(UNKNOWN_CONTACT))
                            }
                            (s.after)
                        }
                        _ => (summary),
                    }
                }
                div.meta {
                    (super::ago::ago(seen, c.at_ms, now))
                    @if let Some(actor) = &c.actor { " · " (actor) }
                    " · " span.origin { (origin_label(&c.origin)) }
                }
            }
        }
    }
}

/// How a line names a contact Drive Chat has no record of.
pub(crate) const UNKNOWN_CONTACT: &str = "(unknown contact)";

/// A change's summary with the time it names (stored in UTC, marked in `detail.time` by the
/// sync's describer) in the reader's zone.
pub(crate) fn local_summary(seen: &Seen, c: &Change) -> String {
    let time = c.detail.get("time");
    let text = time.and_then(|t| t.get("text")).and_then(|t| t.as_str());
    let ms = time.and_then(|t| t.get("ms")).and_then(|t| t.as_i64());
    match (text, ms) {
        (Some(text), Some(ms)) if !text.is_empty() => c.summary.replace(text, &seen.when(ms)),
        _ => c.summary.clone(),
    }
}

fn origin_label(origin: &str) -> &str {
    match origin {
        "webhook" | "poll" | "reconcile" | "backfill" => "from HighLevel",
        "writeback" => "from Drive Chat",
        other => other,
    }
}

/// A person's message as a feed entry.
pub(crate) fn message_item(seen: &Seen, m: &Message, now: i64) -> Markup {
    html! {
        li.entry.message #(format!("m{}", m.id)) data-message-id=(m.id) {
            span.avatar aria-hidden="true" { (initials(&m.author_name)) }
            div.entry-body {
                div.meta {
                    strong.author { (m.author_name) }
                    " · "
                    (super::ago::ago(seen, m.at_ms, now))
                }
                div.text { (m.body) }
            }
        }
    }
}

/// An entry of a feed or thread; `names` holds the names of the contacts its changes are
/// about (see [`crate::reads::contact_names`]).
pub(crate) fn item(seen: &Seen, loc: &str, i: &Item, names: &Names, now: i64) -> Markup {
    match i {
        Item::Change(c) => {
            let name = c.contact_id.as_ref().and_then(|id| names.get(id));
            change_item(seen, loc, c, name.map(String::as_str), now)
        }
        Item::Message(m) => message_item(seen, m, now),
    }
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// A command in words: "Complete task", "Add tags vip, lead".
pub(crate) fn describe(c: &Command) -> String {
    match &c.typed {
        Ok(HighLevelCommand::CompleteTask { .. }) => "Complete task".into(),
        Ok(HighLevelCommand::ReopenTask { .. }) => "Reopen task".into(),
        Ok(HighLevelCommand::CreateTask { title, .. }) => format!("Create task '{title}'"),
        Ok(HighLevelCommand::AddNote { .. }) => "Add note".into(),
        Ok(HighLevelCommand::AddTag { tags, .. }) => format!("Tag {}", tags.join(", ")),
        Ok(HighLevelCommand::RemoveTag { tags, .. }) => format!("Untag {}", tags.join(", ")),
        Ok(HighLevelCommand::UpdateContact { .. }) => "Update contact".into(),
        // A command this drivesync cannot read: its kind, in words.
        Err(_) => c.kind.replace('_', " "),
    }
}

/// The state of a command. A pending badge asks again every 2 s and replaces itself once the
/// command is settled; a failed one says why HighLevel refused.
pub(crate) fn command_badge(loc: &str, c: &Command) -> Markup {
    match c.state {
        CommandState::Pending => html! {
            span.badge.pending data-testid="pending-badge" data-command-id=(c.id)
                hx-get=(format!("/w/{loc}/commands/{}/badge", c.id))
                hx-trigger="every 2s" hx-swap="outerHTML" title="Waiting for HighLevel to confirm" {
                "pending"
            }
        },
        CommandState::Done => html! {
            span.badge.done data-testid="done-badge" data-command-id=(c.id) { "done" }
        },
        CommandState::Failed => html! {
            span.badge.failed data-testid="failed-badge" data-command-id=(c.id) {
                "failed"
                @if let Some(e) = &c.error {
                    ": " span.badge-error { (e) }
                }
            }
        },
    }
}

pub(crate) fn contact_name(r: &Record) -> String {
    r.title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map_or_else(|| crate::reads::NO_NAME.to_string(), str::to_string)
}

/// A task as a table row with its complete/reopen button and its link into HighLevel's app
/// at `app_url`.
pub(crate) fn task_row(
    ctx: &Ctx,
    row: &TaskRow,
    now: i64,
    back: &str,
    show_contact: bool,
    app_url: &str,
) -> Markup {
    let t = &row.task;
    let loc = ctx.loc();
    let done = t.status.as_deref() == Some("done");
    let seen = &ctx.seen;
    let overdue = !done
        && t.due_ms
            .is_some_and(|d| d < zone::day_start(now, seen.zone));
    let pending = row
        .command
        .as_ref()
        .is_some_and(|c| c.state == CommandState::Pending);
    html! {
        tr.task.done[done].overdue[overdue] data-task-id=(t.record_id)
            data-status=(t.status.as_deref().unwrap_or("")) {
            td.task-title {
                span.title { (t.title.as_deref().unwrap_or("(untitled)")) }
                @if let Some(body) = t.body.as_deref().filter(|b| !b.trim().is_empty()) {
                    div.sub { (body) }
                }
                @if let Some(cid) = &t.contact_id {
                    div.sub {
                        (super::highlevel_link::small(
                            &super::highlevel_link::task(app_url, loc, cid),
                            &format!("task '{}'", t.title.as_deref().unwrap_or("(untitled)")),
                        ))
                    }
                }
            }
            @if show_contact {
                td.task-contact {
                    @if let Some(cid) = &t.contact_id {
                        a href=(format!("/w/{loc}/contacts/{cid}")) {
                            (row.contact_name.as_deref().unwrap_or(UNKNOWN_CONTACT))
                        }
                    }
                }
            }
            td.task-due {
                @if let Some(d) = t.due_ms {
                    (moment(seen, d, row.contact_zone))
                    @if overdue { " " span.tag.warn { "overdue" } }
                } @else { span.muted { "no date" } }
            }
            td.task-assignee data-assignee-id=[t.assignee.as_deref()] {
                (seen.user_label(t.assignee.as_deref()).unwrap_or_else(|| "—".into()))
            }
            td.task-action {
                @if let Some(c) = &row.command { (command_badge(loc, c)) " " }
                @if !pending && ctx.acts() {
                    form.inline method="post" action=(format!("/w/{loc}/tasks/{}/{}", t.record_id, if done { "reopen" } else { "complete" })) {
                        (csrf(ctx)) (idem()) (return_to(back))
                        @if done {
                            button.btn.small.ghost type="submit" data-testid="reopen-task" { "Reopen" }
                        } @else {
                            button.btn.small type="submit" data-testid="complete-task" { "Complete" }
                        }
                    }
                }
            }
        }
    }
}

/// An instant in the member's zone, with the contact's local time beside it when their zone
/// shows it differently.
pub(crate) fn moment(seen: &Seen, ms: i64, contact_zone: Option<Tz>) -> Markup {
    let theirs = seen.contact_when(ms, contact_zone);
    html! {
        time datetime=(time::rfc3339(ms)) { (seen.when(ms)) }
        @if let Some(t) = theirs {
            " " span.contact-time data-testid="contact-time" title="The contact's local time" {
                "(" (t) " for them)"
            }
        }
    }
}

/// "Next page" link keeping the other query parameters.
pub(crate) fn next_link(path: &str, params: &[(&str, String)], next: Option<&str>) -> Markup {
    let Some(next) = next else {
        return html! {};
    };
    let mut q: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, v)| !v.is_empty() && *k != "after")
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    q.push(("after", next));
    let href = format!(
        "{path}?{}",
        serde_urlencoded::to_string(&q).unwrap_or_default()
    );
    html! {
        nav.pager { a.btn.ghost #next-page data-testid="next-page" href=(href) { "Next page →" } }
    }
}
