//! The feed (every HighLevel change of the workspace and the team's messages, live),
//! `#alerts` (write-backs HighLevel refused), the live event stream, command badges, and
//! settings (members, API tokens).

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use store::Channel;

use super::ago::ago;
use super::back_to;
use super::components::{self, csrf, idem, return_to};
use super::contacts::Common;
use super::flash::{self, Flash};
use super::layout::{self, Nav};
use crate::actions::{self, Requester};
use crate::context::ZoneFrom;
use crate::reads::{self, FeedCursor};
use crate::session::{Posted, SignedIn};
use crate::{admin, live, time, zone, Error, Shared};

#[derive(Deserialize, Default)]
pub(crate) struct FeedQuery {
    before: Option<String>,
}

pub(crate) async fn page(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    Query(fq): Query<FeedQuery>,
    flash: Flash,
) -> Result<Html<String>, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let now = time::now_ms();
    let cursor = match fq.before.as_deref().filter(|s| !s.is_empty()) {
        Some(c) => FeedCursor::parse(c)?,
        None => FeedCursor::default(),
    };
    let page = reads::feed(&app, ctx.loc(), None, cursor, app.config.page_size).await?;
    let path = format!("{}/feed", ctx.base());
    let content = html! {
        div.page-head { div { h1 { "Feed" } p { "Every change in HighLevel, as it happens, and your team's messages." } } }
        div.panel {
            form #feed-message-form method="post" action=(format!("{path}/messages")) {
                (csrf(&ctx)) (idem()) (return_to(&path))
                label.visually-hidden for="feed-message-body" { "Message to the team" }
                textarea #feed-message-body name="body" placeholder="Message the team…" required {}
                div.row { button.btn.small type="submit" data-testid="post-message" { "Post" } }
            }
        }
        div.panel {
            ul.feed #feed-list data-testid="feed-list" data-channel="general" {
                @for i in &page.items { (components::item(&ctx.seen, ctx.loc(), i, now)) }
                @if page.items.is_empty() { li.empty { "Nothing yet. Changes in HighLevel appear here as they happen." } }
            }
            @if let Some(next) = &page.next {
                nav.pager { a.btn.ghost #next-page href=(format!("{path}?before={next}")) { "Older →" } }
            }
        }
    };
    Ok(layout::page(&ctx, Nav::Feed, "Feed", &flash, content))
}

#[derive(Deserialize)]
pub(crate) struct MessageForm {
    #[serde(default)]
    body: String,
    #[serde(flatten)]
    common: Common,
}

async fn post_to(
    app: &Shared,
    who: SignedIn,
    ws: &str,
    channel: Channel,
    page: &str,
    f: &MessageForm,
) -> Result<Response, Error> {
    let ctx = who.enter(app, ws).await?;
    let to = back_to(
        &ctx,
        f.common.return_to.as_deref(),
        format!("{}/{page}", ctx.base()),
    );
    let who = Requester {
        user_id: ctx.user.id,
        name: &ctx.user.display_name,
        idempotency_key: f.common.idem.as_deref(),
        with_token: false,
    };
    let result = actions::post_message(app, ctx.loc(), &who, channel, &f.body)
        .await
        .map(|_| "Message posted.".to_string());
    Ok(flash::after_action(&app.config, &to, result))
}

pub(crate) async fn post_general(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    posted: Posted<MessageForm>,
) -> Result<Response, Error> {
    post_to(
        &app,
        posted.who,
        &ws,
        Channel::General,
        "feed",
        &posted.form,
    )
    .await
}

pub(crate) async fn post_alert(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    posted: Posted<MessageForm>,
) -> Result<Response, Error> {
    post_to(
        &app,
        posted.who,
        &ws,
        Channel::Alerts,
        "alerts",
        &posted.form,
    )
    .await
}

pub(crate) async fn alerts(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    flash: Flash,
) -> Result<Html<String>, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let now = time::now_ms();
    let alerts = reads::alerts(&app, ctx.loc()).await?;
    let path = format!("{}/alerts", ctx.base());
    let content = html! {
        div.page-head { div { h1 { "#alerts" } p { "Actions HighLevel refused, and what the team says about them." } } }
        div.panel {
            h2 { "Refused by HighLevel" }
            ul.feed #failed-commands {
                @for c in &alerts.failed {
                    li.entry data-command-id=(c.id) {
                        span.icon aria-hidden="true" { "!" }
                        div.entry-body {
                            div {
                                (components::describe(c))
                                @if let Some(contact) = &c.contact_id {
                                    " · " a href=(format!("{}/contacts/{contact}", ctx.base())) { "open contact" }
                                }
                            }
                            div { (components::command_badge(ctx.loc(), c)) }
                            div.meta { (ago(&ctx.seen, c.updated_at_ms, now)) @if let Some(by) = &c.requested_by { " · asked by " (by) } }
                        }
                    }
                }
                @if alerts.failed.is_empty() { li.empty { "Nothing refused. All good." } }
            }
        }
        div.panel {
            h2 { "Messages" }
            form #alert-message-form method="post" action=(format!("{path}/messages")) {
                (csrf(&ctx)) (idem()) (return_to(&path))
                label.visually-hidden for="alert-message-body" { "Message in #alerts" }
                textarea #alert-message-body name="body" placeholder="Say something in #alerts…" required {}
                div.row { button.btn.small type="submit" { "Post" } }
            }
            ul.feed #feed-list data-channel="alerts" {
                @for m in &alerts.messages { (components::message_item(&ctx.seen, m, now)) }
                @if alerts.messages.is_empty() { li.empty { "No messages." } }
            }
        }
    };
    Ok(layout::page(&ctx, Nav::Alerts, "#alerts", &flash, content))
}

/// A command's badge, for a pending badge asking again.
pub(crate) async fn badge(
    State(app): State<Shared>,
    who: SignedIn,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Html<String>, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let id: i64 = id.parse().map_err(|_| Error::NotFound("command"))?;
    let c = actions::command(&app, ctx.loc(), id).await?;
    Ok(Html(components::command_badge(ctx.loc(), &c).into_string()))
}

/// The workspace's live event stream (server-sent events).
pub(crate) async fn live(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
) -> Result<Response, Error> {
    let ctx = who.enter(&app, &ws).await?;
    // Subscribe before the follower may start: every row it reads from then on reaches us.
    let rx = app.live.subscribe();
    live::ensure_started(&app).await?;
    Ok(live::stream(rx, ctx.loc().to_string(), ctx.seen).into_response())
}

pub(crate) async fn settings(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    flash: Flash,
) -> Result<Html<String>, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let members = app.store.workspace_members(ctx.loc()).await?;
    Ok(settings_page(&ctx, &members, None, &flash))
}

fn settings_page(
    ctx: &crate::session::Ctx,
    members: &[store::Member],
    new_token: Option<&str>,
    flash: &Flash,
) -> Html<String> {
    let seen = &ctx.seen;
    let own = ctx.user.timezone.as_deref().and_then(zone::parse);
    let location_zone = seen.location.timezone();
    let default_label = match location_zone.and_then(zone::parse) {
        Some(z) => format!("The location's time zone ({})", z.name()),
        None => "UTC (the location's time zone is not known)".to_string(),
    };
    let content = html! {
        div.page-head { div { h1 { "Settings" } p { (ctx.ws.name) " · HighLevel location " code { (ctx.ws.location_id) } } } }
        @if !seen.location.missing_scopes.is_empty() {
            div.panel.warning #missing-scopes data-testid="missing-scopes" {
                h2 { "HighLevel access is incomplete" }
                p {
                    "This location's connection was not granted these scopes, so Drive Chat shows ids where names, custom field labels or the location's time zone would be:"
                }
                ul { @for s in &seen.location.missing_scopes { li { code data-scope=(s) { (s) } } } }
                p { "Reconnect the location in HighLevel granting them (an admin runs " code { "drivesync connect" } " again and approves every scope); names appear after the next sync." }
            }
        }
        div.grid {
            div.panel {
                h2 { "Your time zone" }
                p.sub {
                    "Times are shown, and times you type are read, in "
                    strong #current-zone data-testid="current-zone" { (seen.zone_name()) }
                    @match seen.zone_from {
                        ZoneFrom::Member => " (your choice).",
                        ZoneFrom::Location => " (the location's).",
                        ZoneFrom::Default => " (no time zone is set for you or the location).",
                    }
                }
                form #timezone-form method="post" action=(format!("{}/settings/timezone", ctx.base())) {
                    (csrf(ctx))
                    div.field {
                        label for="timezone" { "Time zone" }
                        select #timezone name="timezone" {
                            option value="" selected[own.is_none()] { (default_label) }
                            @for z in zone::all() {
                                option value=(z.name()) selected[own == Some(z)] { (z.name()) }
                            }
                        }
                    }
                    button.btn type="submit" data-testid="save-timezone" { "Save" }
                }
                p.sub #highlevel-user {
                    @if let Some(me) = &seen.me {
                        "You are " strong { (me.name) } " in HighLevel: notes you add are written as you, and the board can show what is assigned to you."
                    } @else {
                        "No HighLevel user of this location has your email (" (ctx.user.email) "), so notes you add are written without an author and \"assigned to me\" is not available."
                    }
                }
            }
            div.panel {
                h2 { "Members" }
                table #members {
                    thead { tr { th { "Name" } th { "Email" } th { "Role" } } }
                    tbody {
                        @for m in members {
                            tr { td { (m.display_name) } td { (m.email) } td { (m.role.as_str()) } }
                        }
                    }
                }
                p.sub { "Add people with " code { "drivesync users add" } "." }
            }
            div.panel {
                h2 { "API token" }
                p.sub { "A token lets a program use the JSON API (" a href="/api/v1/openapi.json" { "/api/v1" } ") as you, in this workspace. Only a hash is kept: copy it now, it is shown once." }
                @if let Some(t) = new_token {
                    p.token #new-token data-testid="new-token" { (t) }
                }
                form #token-form method="post" action=(format!("{}/settings/tokens", ctx.base())) {
                    (csrf(ctx))
                    button.btn type="submit" { "Create a token" }
                }
            }
        }
    };
    layout::page(ctx, Nav::Settings, "Settings", flash, content)
}

pub(crate) async fn create_token(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    posted: Posted<crate::ui::signin::Empty>,
) -> Result<Html<String>, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    let token = admin::mint_api_token(
        &app.store,
        &store::Actor::member(ctx.user.id, &ctx.user.display_name),
        ctx.user.id,
        &ctx.user.email,
        ctx.loc(),
        "settings page",
    )
    .await?;
    let members = app.store.workspace_members(ctx.loc()).await?;
    // Rendered directly, not redirected: the token must never sit in a cookie or a URL.
    Ok(settings_page(
        &ctx,
        &members,
        Some(token.expose_secret()),
        &Flash::default(),
    ))
}

#[derive(Deserialize)]
pub(crate) struct TimezoneForm {
    #[serde(default)]
    timezone: String,
}

/// Saves the member's own time zone (empty: the location's). An unknown name is refused.
pub(crate) async fn set_timezone(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    posted: Posted<TimezoneForm>,
) -> Result<Response, Error> {
    // Any member may choose their own zone; entering checks they belong to the workspace.
    let ctx = posted.who.enter(&app, &ws).await?;
    let to = format!("{}/settings", ctx.base());
    let asked = posted.form.timezone.trim();
    let result = async {
        let chosen = if asked.is_empty() {
            None
        } else {
            Some(zone::parse(asked).ok_or_else(|| {
                Error::BadRequest(format!(
                    "{asked:?} is not a time zone Drive Chat knows; pick one from the list (an \
                     IANA name such as America/New_York)"
                ))
            })?)
        };
        app.store
            .set_chat_user_timezone(ctx.user.id, chosen.map(|z| z.name()))
            .await?;
        app.store
            .record_audit(
                &store::AuditEntry::new(
                    store::Actor::member(ctx.user.id, &ctx.user.display_name),
                    "timezone.set",
                    Some(ctx.loc()),
                )
                .target(&ctx.user.email)
                .detail(serde_json::json!({ "timezone": chosen.map(|z| z.name()) })),
            )
            .await?;
        Ok(match chosen {
            Some(z) => format!("Times are now shown in {}.", z.name()),
            None => "Times are now shown in the location's time zone.".to_string(),
        })
    }
    .await;
    Ok(flash::after_action(&app.config, &to, result))
}
