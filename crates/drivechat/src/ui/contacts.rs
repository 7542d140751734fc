//! The contacts list (search, tag, assignee, pages) and the contact page: profile with custom
//! fields and do-not-disturb, tags, tasks, notes, meetings with their notes, the thread, and a
//! form for each action.
//!
//! HighLevel user ids (assignees, note authors) show as names from the location's context,
//! falling back to the id. Times show in the member's zone, with the contact's own local time
//! beside them when it reads differently; the task form reads its date and time in the
//! member's zone.

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{Html, Response};
use chrono_tz::Tz;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use store::{Channel, HighLevelCommand, RecordKind, RecordQuery};

use super::components::{self, csrf, idem, return_to};
use super::flash::{self, Flash};
use super::layout::{self, Nav};
use super::{back_to, live_region, self_url};
use crate::actions::{self, Action, Requester};
use crate::context::Seen;
use crate::fields::{self, FieldValue};
use crate::reads::{self, ContactFilter, FeedCursor, Meeting};
use crate::session::{Ctx, Posted, SignedIn};
use crate::{meeting, time, zone, Error, Shared};

#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    q: Option<String>,
    tag: Option<String>,
    assignee: Option<String>,
    after: Option<String>,
}

pub(crate) async fn list(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    Query(lq): Query<ListQuery>,
    flash: Flash,
) -> Result<Html<String>, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let loc = ctx.loc();
    let filter = ContactFilter {
        q: lq.q.clone(),
        tag: lq.tag.clone(),
        assignee: lq.assignee.clone(),
        after: lq.after.clone(),
        limit: app.config.page_size,
    };
    let page = reads::contacts(&app, loc, &filter).await?;
    let total = app
        .store
        .count_records(&RecordQuery {
            location_id: loc.into(),
            kind: Some(RecordKind::Contact),
            text: filter.q.clone().filter(|s| !s.trim().is_empty()),
            tag: filter.tag.clone().filter(|s| !s.is_empty()),
            assignee: filter.assignee.clone().filter(|s| !s.is_empty()),
            ..RecordQuery::default()
        })
        .await?;
    let tags = app.store.tag_counts(loc).await?;
    let assignees = ctx
        .seen
        .assignee_choices(&app.store.assignees(loc, RecordKind::Contact).await?);
    let q = lq.q.clone().unwrap_or_default();
    let tag = lq.tag.clone().unwrap_or_default();
    let assignee = lq.assignee.clone().unwrap_or_default();
    let path = format!("{}/contacts", ctx.base());
    let content = html! {
        div.page-head {
            div { h1 { "Contacts" } p.count #contact-count { (super::words::counted(total, "contact")) } }
        }
        form.filters #contact-filters method="get" action=(path) {
            div.field {
                label for="contact-search" { "Search" }
                // Searches as the person types (after a pause), keeping the other filters:
                // the results and the count are swapped in, the address follows.
                input #contact-search type="search" name="q" value=(q) placeholder="Name, email, phone, company"
                    maxlength=(reads::MAX_SEARCH_CHARS) autocomplete="off" hx-get=(path) hx-trigger="input changed delay:300ms, search"
                    hx-include="#contact-filters" hx-target="#contact-results" hx-select="#contact-results"
                    hx-select-oob="#contact-count" hx-swap="outerHTML" hx-push-url="true";
            }
            div.field {
                label for="contact-tag" { "Tag" }
                select #contact-tag name="tag" {
                    option value="" { "Any tag" }
                    @for (t, n) in &tags {
                        option value=(t) selected[*t == tag] { (t) " (" (n) ")" }
                    }
                }
            }
            div.field {
                label for="contact-assignee" { "Assigned to" }
                select #contact-assignee name="assignee" {
                    option value="" { "Anyone" }
                    @for (id, label) in &assignees {
                        option value=(id) selected[*id == assignee] { (label) }
                    }
                }
            }
            button.btn type="submit" { "Filter" }
        }
        div #contact-results {
        div.panel.table-wrap {
            table #contacts {
                thead { tr { th { "Name" } th { "Email" } th { "Phone" } th { "Company" } th { "Assigned to" } th { "Tags" } } }
                tbody {
                    @for c in &page.items {
                        tr data-contact-id=(c.record_id) {
                            td { a href=(format!("{}/contacts/{}", ctx.base(), c.record_id)) { (components::contact_name(c)) } }
                            td { (reach("email", &field(&c.data, "email"))) }
                            td { (reach("phone", &field(&c.data, "phone"))) }
                            td { (field(&c.data, "companyName")) }
                            td.contact-assignee { (ctx.seen.user_label(c.assignee.as_deref()).unwrap_or_default()) }
                            td { div.tags { @for t in &c.tags { span.tag { (t) } } } }
                        }
                    }
                    @if page.items.is_empty() {
                        tr { td.empty colspan="6" { "No contacts match." } }
                    }
                }
            }
        }
        (components::next_link(&path, &[("q", q.clone()), ("tag", tag.clone()), ("assignee", assignee.clone())], page.next.as_deref()))
        }
    };
    Ok(layout::page(
        &ctx,
        Nav::Contacts,
        "Contacts",
        &flash,
        content,
    ))
}

fn field(data: &Value, key: &str) -> String {
    match data.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        _ => String::new(),
    }
}

/// An email as a mailto: link, a phone as a tel: link (its digits and a leading +), anything
/// else as text.
fn reach(key: &str, value: &str) -> Markup {
    match key {
        "email" if value.contains('@') => html! { a href=(format!("mailto:{value}")) { (value) } },
        "phone" if value.chars().any(|c| c.is_ascii_digit()) => {
            let dial: String = value
                .chars()
                .enumerate()
                .filter(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '+'))
                .map(|(_, c)| c)
                .collect();
            html! { a href=(format!("tel:{dial}")) { (value) } }
        }
        _ => html! { (value) },
    }
}

/// The profile fields shown as HighLevel sent them, in order, with their labels (assignee,
/// birthday, time zone and do-not-disturb are shown on their own below).
const PROFILE: &[(&str, &str)] = &[
    ("email", "Email"),
    ("phone", "Phone"),
    ("companyName", "Company"),
    ("website", "Website"),
    ("address1", "Address"),
    ("city", "City"),
    ("state", "State"),
    ("postalCode", "Postal code"),
    ("country", "Country"),
    ("source", "Source"),
    ("type", "Type"),
];

/// The HighLevel scope that reads custom field definitions.
const FIELDS_SCOPE: &str = "locations/customFields.readonly";

/// The contact's custom fields, labelled and typed.
fn custom_fields_panel(seen: &Seen, data: &Value) -> Markup {
    let fields = fields::custom_fields(&seen.location, data);
    // Fields shown by id because the token may not read their definitions: say how to fix it.
    let scope_missing = fields.iter().any(|f| f.data_type.is_none())
        && seen
            .location
            .missing_scopes
            .iter()
            .any(|s| s == FIELDS_SCOPE);
    html! {
        div.panel #custom-fields data-testid="custom-fields" {
            h2 { "Custom fields" }
            @if scope_missing {
                p.muted data-testid="fields-scope-missing" {
                    "Field names are not available: the location's connection lacks "
                    code { (FIELDS_SCOPE) } ". Reconnect it granting that scope."
                }
            }
            @if fields.is_empty() {
                p.empty { "No custom fields set." }
            } @else {
                dl {
                    @for f in &fields {
                        dt data-field-id=(f.id) title=[f.field_key.as_deref()] { (f.label) }
                        dd data-field-id=(f.id) data-field-type=(f.value.kind()) {
                            @match &f.value {
                                FieldValue::List(items) => {
                                    ul.values { @for i in items { li { (i) } } }
                                }
                                FieldValue::Date(d) => {
                                    time datetime=(d.format("%Y-%m-%d").to_string()) { (f.display()) }
                                }
                                _ => { (f.display()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Do not disturb: on every channel, or per channel as HighLevel keeps it.
fn dnd_block(data: &Value) -> Markup {
    let dnd = fields::dnd(data);
    html! {
        dt { "Do not disturb" }
        dd #contact-dnd data-testid="dnd" data-dnd=(if dnd.all { "all" } else if dnd.any() { "some" } else { "off" }) {
            @if dnd.all {
                strong.tag.warn { "All channels" }
            } @else if !dnd.any() {
                "Off"
            }
            @if !dnd.channels.is_empty() {
                ul.dnd-channels {
                    @for c in &dnd.channels {
                        li data-channel=(c.channel) data-status=(c.status) {
                            (c.label()) ": "
                            @if c.blocked() { strong { (c.status) } } @else { (c.status) }
                            @if let Some(m) = &c.message { " — " (m) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn page(
    State(app): State<Shared>,
    who: SignedIn,
    Path((ws, contact_id)): Path<(String, String)>,
    uri: Uri,
    flash: Flash,
) -> Result<Html<String>, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let seen = &ctx.seen;
    let now = time::now_ms();
    let view = reads::contact(&app, ctx.loc(), &contact_id, now).await?;
    let thread = reads::feed(
        &app,
        ctx.loc(),
        Some(&contact_id),
        FeedCursor::default(),
        50,
    )
    .await?;
    let assignees = seen.assignee_choices(&app.store.assignees(ctx.loc(), RecordKind::Task).await?);
    let here = self_url(&uri);
    let c = &view.contact;
    let cid = c.record_id.as_str();
    let name = components::contact_name(c);
    // Every change of the thread is about this contact.
    let thread_names = reads::Names::from([(cid.to_string(), name.clone())]);
    let base = format!("{}/contacts/{cid}", ctx.base());
    let initials: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    let back = format!("{}/contacts/{cid}", ctx.base());
    // The form's defaults, in the member's zone: tomorrow, and the member when they are one
    // of the location's HighLevel users.
    let tomorrow = zone::iso_day(zone::days_later(now, seen.zone, 1), seen.zone);
    let me = seen.me_id();
    let contact_zone = Seen::contact_zone(&c.data);

    // Tasks asked for from here and not yet in HighLevel are rows of the open list too, so
    // the count says how many rows there are.
    let new_tasks: Vec<&store::Command> = view
        .commands
        .iter()
        .filter(|c| c.state != store::CommandState::Done)
        .filter(|c| matches!(c.typed, Ok(HighLevelCommand::CreateTask { .. })))
        .collect();
    let tasks = html! {
        div.panel {
            h2 { "Open tasks " span.count #open-task-count { (view.open_tasks.len() + new_tasks.len()) } }
            table #tasks-open {
                tbody {
                    @for row in &view.open_tasks { (components::task_row(&ctx, row, now, &back, false, &app.config.highlevel_app_url)) }
                    @for cmd in &new_tasks {
                        @if let Ok(HighLevelCommand::CreateTask { title, due_date, assigned_to, .. }) = &cmd.typed {
                            tr.task.new data-command-id=(cmd.id) {
                                td.task-title { span.title { (title) } }
                                td.task-due {
                                    @if let Some(d) = time::parse_rfc3339(due_date) {
                                        (components::moment(seen, d, contact_zone))
                                    }
                                }
                                td.task-assignee { (seen.user_label(assigned_to.as_deref()).unwrap_or_else(|| "—".into())) }
                                td.task-action { (components::command_badge(ctx.loc(), cmd)) }
                            }
                        }
                    }
                    @if view.open_tasks.is_empty() && new_tasks.is_empty() { tr { td.empty { "Nothing open." } } }
                }
            }
            @if ctx.acts() {
                details {
                    summary { "New task" }
                    form #create-task-form method="post" action=(format!("{base}/tasks")) {
                        (csrf(&ctx)) (idem()) (return_to(&back))
                        div.field { label for="task-title" { "Title" } input #task-title type="text" name="title" required maxlength="300"; }
                        div.row {
                            div.field { label for="task-due" { "Due date" } input #task-due type="date" name="due" required value=(tomorrow); }
                            div.field {
                                label for="task-due-time" { "Time (" (seen.zone_name()) ")" }
                                input #task-due-time type="time" name="due_time" value=(DEFAULT_DUE_TIME) data-zone=(seen.zone_name());
                            }
                            div.field {
                                label for="task-assignee" { "Assign to" }
                                select #task-assignee name="assigned_to" {
                                    option value="" selected[me.is_none()] { "Nobody" }
                                    @for (id, label) in &assignees {
                                        option value=(id) selected[me == Some(id.as_str())] { (label) }
                                    }
                                }
                            }
                        }
                        div.field { label for="task-body" { "Description" } textarea #task-body name="body" {} }
                        button.btn type="submit" data-testid="create-task" { "Create task" }
                    }
                }
            }
            @if !view.done_tasks.is_empty() {
                details {
                    summary { "Done " span.count { (view.done_tasks.len()) } }
                    table #tasks-done {
                        tbody { @for row in &view.done_tasks { (components::task_row(&ctx, row, now, &back, false, &app.config.highlevel_app_url)) } }
                    }
                }
            }
        }
    };

    let notes = html! {
        div.panel {
            h2 { "Notes " span.count { (view.notes.len()) } }
            @if ctx.acts() {
                form #add-note-form method="post" action=(format!("{base}/notes")) {
                    (csrf(&ctx)) (idem()) (return_to(&back))
                    label.visually-hidden for="note-body" { "Note" }
                    textarea #note-body name="body" placeholder="Write a note for HighLevel…" required {}
                    div.row { button.btn.small type="submit" data-testid="add-note" { "Add note" } }
                }
            }
            @for cmd in view.commands.iter().filter(|c| c.state != store::CommandState::Done) {
                @if let Ok(HighLevelCommand::AddNote { body, .. }) = &cmd.typed {
                    div.note.pending data-command-id=(cmd.id) {
                        (body)
                        div.meta { (components::command_badge(ctx.loc(), cmd)) }
                    }
                }
            }
            div #notes-list {
                @for n in &view.notes { (note_block(seen, n, contact_zone)) }
                @if view.notes.is_empty() { p.empty { "No notes yet." } }
            }
        }
    };

    let meetings = html! {
        div.panel {
            h2 { "Upcoming meetings" }
            div #appointments-upcoming {
                @for m in &view.upcoming { (meeting_with(seen, m, false, contact_zone, now, &app.config.highlevel_app_url)) }
                @if view.upcoming.is_empty() { p.empty { "None scheduled." } }
            }
            h2 { "Past meetings" }
            div #appointments-past {
                @for m in &view.past { (meeting_with(seen, m, false, contact_zone, now, &app.config.highlevel_app_url)) }
                @if view.past.is_empty() { p.empty { "None yet." } }
            }
        }
    };

    let profile = html! {
        div.panel.profile {
            h2 { "Profile" }
            dl {
                @for (key, label) in PROFILE {
                    @let v = field(&c.data, key);
                    @if !v.is_empty() { dt { (label) } dd { (reach(key, &v)) } }
                }
                @if let Some(a) = seen.user_label(c.assignee.as_deref()) {
                    dt { "Assigned to" } dd #contact-assigned-to data-user-id=[c.assignee.as_deref()] { (a) }
                }
                @if let Some(b) = c.data.get("dateOfBirth").filter(|v| !v.is_null()) {
                    dt { "Birthday" }
                    dd { (fields::calendar_date(b).unwrap_or_else(|| field(&c.data, "dateOfBirth"))) }
                }
                @if let Some(tz) = contact_zone {
                    dt { "Time zone" }
                    dd #contact-timezone data-zone=(tz.name()) {
                        (tz.name())
                        @if tz != seen.zone { " · now " (zone::clock(now, tz)) " for them" }
                    }
                } @else {
                    @let tz = field(&c.data, "timezone");
                    @if !tz.is_empty() { dt { "Time zone" } dd #contact-timezone { (tz) " (not a zone this server knows)" } }
                }
                (dnd_block(&c.data))
                @if let Some(a) = c.added_ms { dt { "Added" } dd { (components::moment(seen, a, contact_zone)) } }
            }
        }
        (custom_fields_panel(seen, &c.data))
    };

    let tags = html! {
        div.panel {
            h2 { "Tags" }
            div.tags #tags data-testid="tags" {
                @for t in &c.tags {
                    span.tag data-tag=(t) {
                        (t)
                        @if ctx.acts() {
                            form.inline method="post" action=(format!("{base}/tags/remove")) {
                                (csrf(&ctx)) (idem()) (return_to(&back))
                                input type="hidden" name="tag" value=(t);
                                button type="submit" title=(format!("Remove tag {t}")) aria-label=(format!("Remove tag {t}")) data-testid="remove-tag" { "×" }
                            }
                        }
                    }
                }
                @if c.tags.is_empty() { span.muted { "No tags." } }
            }
            @for cmd in view.commands.iter().filter(|c| matches!(c.typed, Ok(HighLevelCommand::AddTag { .. } | HighLevelCommand::RemoveTag { .. })) && c.state != store::CommandState::Done) {
                div.sub data-command-id=(cmd.id) { (components::describe(cmd)) " " (components::command_badge(ctx.loc(), cmd)) }
            }
            @if ctx.acts() {
                form #add-tag-form.row method="post" action=(format!("{base}/tags")) {
                    (csrf(&ctx)) (idem()) (return_to(&back))
                    label.visually-hidden for="tag-input" { "Tags to add" }
                    input #tag-input type="text" name="tags" placeholder="Add tags, comma-separated" required;
                    button.btn.small type="submit" data-testid="add-tag" { "Add" }
                }
            }
        }
    };

    let actions_panel = html! {
        div.panel {
            h2 { "Recent actions" }
            ul.feed #commands {
                @for cmd in &view.commands {
                    li.entry data-command-id=(cmd.id) data-state=(cmd.state.as_str()) {
                        div.entry-body {
                            div { (components::describe(cmd)) " " (components::command_badge(ctx.loc(), cmd)) }
                            div.meta {
                                (super::ago::ago(seen, cmd.created_at_ms, now))
                                @if let Some(by) = &cmd.requested_by { " · " (by) }
                            }
                        }
                    }
                }
                @if view.commands.is_empty() { li.empty { "Nothing sent to HighLevel from here yet." } }
            }
        }
    };

    let thread_panel = html! {
        div.panel {
            div.row.spread {
                h2 { "Thread" }
                // The whole feed about this contact, where it can be filtered further.
                a #thread-in-feed href=(format!("{}/feed?contact={cid}", ctx.base())) { "In the Feed →" }
            }
            @if ctx.acts() {
                form #message-form method="post" action=(format!("{base}/messages")) {
                    (csrf(&ctx)) (idem()) (return_to(&back))
                    label.visually-hidden for="message-body" { "Message about this contact" }
                    textarea #message-body name="body" placeholder="Message your team about this contact…" required {}
                    div.row { button.btn.small type="submit" data-testid="post-message" { "Post" } }
                }
            }
            ul.feed #thread-list data-contact=(cid) data-testid="thread-list" {
                @for i in &thread.items { (components::item(seen, ctx.loc(), i, &thread_names, now)) }
                @if thread.items.is_empty() { li.empty { "No activity yet." } }
            }
        }
    };

    // The heading and the deleted banner refresh live too: a rename or a deletion in
    // HighLevel shows on the open page.
    let head = html! {
        div.page-head {
            div.contact-head {
                div.avatar-lg aria-hidden="true" { (initials.to_uppercase()) }
                div {
                    h1 #contact-name data-contact-id=(cid) { (name) }
                    p { (field(&c.data, "companyName")) }
                }
            }
            div.row {
                @if !c.is_deleted() {
                    a.btn.ghost #open-in-highlevel data-testid="open-in-highlevel" target="_blank" rel="noopener noreferrer"
                        href=(super::highlevel_link::contact(&app.config.highlevel_app_url, ctx.loc(), cid)) {
                        "Open in HighLevel ↗"
                    }
                }
                a.btn.ghost href=(format!("{}/contacts", ctx.base())) { "← Contacts" }
            }
        }
        @if let Some(at) = c.deleted_at_ms {
            div.flash.error #deleted-banner role="alert" data-testid="deleted-banner" {
                strong { "This contact was deleted in HighLevel" }
                " (" time datetime=(time::rfc3339(at)) { (seen.when(at)) } "). "
                "What is shown is what Drive Chat knew before; actions on it are refused."
            }
        }
    };
    let content = html! {
        (live_region("contact-head", &here, Some(cid), head))
        div.grid {
            div.stack {
                (live_region("contact-tasks", &here, Some(cid), tasks))
                (live_region("contact-notes", &here, Some(cid), notes))
                (live_region("contact-meetings", &here, Some(cid), meetings))
            }
            div.stack {
                (live_region("contact-profile", &here, Some(cid), html! { (profile) (tags) }))
                (live_region("contact-actions", &here, Some(cid), actions_panel))
                (thread_panel)
            }
        }
    };
    Ok(layout::page(&ctx, Nav::Contacts, &name, &flash, content))
}

/// A note with when it was written and by whom (its HighLevel `userId`, as a name).
fn note_block(seen: &Seen, n: &store::Record, contact_zone: Option<Tz>) -> Markup {
    let author = seen.user_label(n.data.get("userId").and_then(Value::as_str));
    html! {
        div.note data-note-id=(n.record_id) {
            (n.body.as_deref().unwrap_or(""))
            div.meta {
                @if let Some(d) = n.due_ms { (components::moment(seen, d, contact_zone)) }
                @if let Some(a) = author {
                    @if n.due_ms.is_some() { " · " }
                    span.note-author data-user-id=[n.data.get("userId").and_then(Value::as_str)] { (a) }
                }
            }
        }
    }
}

/// An appointment with its notes; `with_contact` adds whose it is and the contact's notes
/// from around its time (the meetings page, whose headings already name the day).
pub(crate) fn meeting_block(
    seen: &Seen,
    m: &Meeting,
    with_contact: bool,
    now: i64,
    app_url: &str,
) -> Markup {
    meeting_with(seen, m, with_contact, m.contact_zone, now, app_url)
}

/// [`meeting_block`] with the contact's zone given (the contact page knows it).
fn meeting_with(
    seen: &Seen,
    m: &Meeting,
    with_contact: bool,
    contact_zone: Option<Tz>,
    now: i64,
    app_url: &str,
) -> Markup {
    let a = &m.appointment;
    let title = meeting::title(a, m.contact_name.as_deref());
    let assignee = seen.user_label(a.assignee.as_deref());
    let status = meeting::shown_status(a.status.as_deref(), a.due_ms, now);
    html! {
        div.meeting data-appointment-id=(a.record_id) {
            div.when {
                @if let Some(d) = a.due_ms {
                    time datetime=(time::rfc3339(d)) title=(seen.when(d)) { (if with_contact { seen.clock(d) } else { seen.day(d, now) }) }
                    @if !with_contact { div.sub { (seen.clock(d)) } }
                    @if let Some(theirs) = seen.contact_when(d, contact_zone) {
                        div.sub.contact-time data-testid="contact-time" title="The contact's local time" { "(" (theirs) " for them)" }
                    }
                }
            }
            div {
                strong.meeting-title { (title) }
                @if let Some(s) = &status { " " span.status data-status=[a.status.as_deref()] { (s) } }
                @if let Some(min) = meeting::minutes(a) { " " span.meeting-duration { (meeting::duration_words(min)) } }
                @if with_contact {
                    @if let (Some(cid), Some(loc)) = (&a.contact_id, Some(&a.location_id)) {
                        div.sub { "with " a.meeting-contact href=(format!("/w/{loc}/contacts/{cid}")) { (m.contact_name.as_deref().unwrap_or(components::UNKNOWN_CONTACT)) } }
                    }
                }
                @if let Some(u) = assignee { div.sub.meeting-assignee { "Owner: " span.meeting-owner { (u) } } }
                div.sub {
                    (super::highlevel_link::small(
                        &super::highlevel_link::appointment(app_url, &a.location_id),
                        &format!("meeting '{title}'"),
                    ))
                }
                @for n in &m.notes {
                    div.note data-appointment-note-id=(n.record_id) { (n.body.as_deref().unwrap_or("")) }
                }
                @if with_contact && !m.contact_notes.is_empty() {
                    details.contact-notes {
                        summary { "Notes about this contact from around then (" (m.contact_notes.len()) ")" }
                        @for n in &m.contact_notes { (note_block(seen, n, contact_zone)) }
                    }
                }
            }
        }
    }
}

/// The fields every action form carries besides its own.
#[derive(Deserialize)]
pub(crate) struct Common {
    #[serde(rename = "_idem")]
    pub(crate) idem: Option<String>,
    pub(crate) return_to: Option<String>,
}

fn requester<'a>(ctx: &'a Ctx, key: Option<&'a str>) -> Requester<'a> {
    Requester {
        user_id: ctx.user.id,
        name: &ctx.user.display_name,
        idempotency_key: key,
        with_token: false,
    }
}

/// Runs an action from a form and goes back to the page it came from with what happened.
pub(crate) async fn act(
    app: &Shared,
    who: SignedIn,
    ws: &str,
    common: &Common,
    fallback: impl FnOnce(&Ctx) -> String,
    action: impl FnOnce(&Ctx) -> Result<Action, Error>,
) -> Result<Response, Error> {
    let ctx = who.enter(app, ws).await?;
    let to = back_to(&ctx, common.return_to.as_deref(), fallback(&ctx));
    let result = async {
        let action = action(&ctx)?;
        let (cmd, created) = actions::submit(
            app,
            ctx.loc(),
            &requester(&ctx, common.idem.as_deref()),
            action,
        )
        .await?;
        Ok(if created {
            (
                format!(
                    "Sent to HighLevel: {}. It shows as pending until HighLevel confirms.",
                    components::describe(&cmd)
                ),
                Some(cmd.id),
            )
        } else {
            (
                "That was already sent; nothing was done twice.".to_string(),
                None,
            )
        })
    }
    .await;
    Ok(flash::after_command(&app.config, &to, result))
}

#[derive(Deserialize)]
pub(crate) struct CreateTaskForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    due: String,
    due_time: Option<String>,
    assigned_to: Option<String>,
    body: Option<String>,
    #[serde(flatten)]
    common: Common,
}

pub(crate) async fn create_task(
    State(app): State<Shared>,
    Path((ws, contact_id)): Path<(String, String)>,
    posted: Posted<CreateTaskForm>,
) -> Result<Response, Error> {
    let f = posted.form;
    let fallback = |ctx: &Ctx| format!("{}/contacts/{contact_id}", ctx.base());
    act(&app, posted.who, &ws, &f.common, fallback, |ctx| {
        if f.due.trim().is_empty() {
            return Err(Error::BadRequest("pick a due date for the task".into()));
        }
        let clock = f
            .due_time
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_DUE_TIME);
        // The date and time are the member's wall clock, in the zone the form names.
        let due_ms = ctx.seen.local_to_utc(&f.due, clock)?;
        Ok(Action::CreateTask {
            contact_id: contact_id.clone(),
            title: f.title.clone(),
            body: f.body.clone(),
            due_ms,
            assigned_to: f.assigned_to.clone(),
        })
    })
    .await
}

/// The due time of a task whose form left the time empty: the end of a working day.
const DEFAULT_DUE_TIME: &str = "17:00";

#[derive(Deserialize)]
pub(crate) struct BodyForm {
    #[serde(default)]
    body: String,
    #[serde(flatten)]
    common: Common,
}

pub(crate) async fn add_note(
    State(app): State<Shared>,
    Path((ws, contact_id)): Path<(String, String)>,
    posted: Posted<BodyForm>,
) -> Result<Response, Error> {
    let f = posted.form;
    let fallback = |ctx: &Ctx| format!("{}/contacts/{contact_id}", ctx.base());
    act(&app, posted.who, &ws, &f.common, fallback, |_| {
        Ok(Action::AddNote {
            contact_id: contact_id.clone(),
            body: f.body.clone(),
        })
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct TagsForm {
    #[serde(default)]
    tags: String,
    #[serde(default)]
    tag: String,
    #[serde(flatten)]
    common: Common,
}

pub(crate) async fn add_tags(
    State(app): State<Shared>,
    Path((ws, contact_id)): Path<(String, String)>,
    posted: Posted<TagsForm>,
) -> Result<Response, Error> {
    let f = posted.form;
    let fallback = |ctx: &Ctx| format!("{}/contacts/{contact_id}", ctx.base());
    act(&app, posted.who, &ws, &f.common, fallback, |_| {
        Ok(Action::AddTags {
            contact_id: contact_id.clone(),
            tags: vec![f.tags.clone()],
        })
    })
    .await
}

pub(crate) async fn remove_tag(
    State(app): State<Shared>,
    Path((ws, contact_id)): Path<(String, String)>,
    posted: Posted<TagsForm>,
) -> Result<Response, Error> {
    let f = posted.form;
    let fallback = |ctx: &Ctx| format!("{}/contacts/{contact_id}", ctx.base());
    act(&app, posted.who, &ws, &f.common, fallback, |_| {
        Ok(Action::RemoveTags {
            contact_id: contact_id.clone(),
            tags: vec![f.tag.clone()],
        })
    })
    .await
}

pub(crate) async fn post_message(
    State(app): State<Shared>,
    Path((ws, contact_id)): Path<(String, String)>,
    posted: Posted<BodyForm>,
) -> Result<Response, Error> {
    let f = posted.form;
    let ctx = posted.who.enter(&app, &ws).await?;
    let to = back_to(
        &ctx,
        f.common.return_to.as_deref(),
        format!("{}/contacts/{contact_id}", ctx.base()),
    );
    let result = actions::post_message(
        &app,
        ctx.loc(),
        &requester(&ctx, f.common.idem.as_deref()),
        Channel::Contact(contact_id.clone()),
        &f.body,
    )
    .await
    .map(|_| "Message posted.".to_string());
    Ok(flash::after_action(&app.config, &to, result))
}
