//! The feed (every HighLevel change of the workspace and the team's messages, live),
//! `#alerts` (write-backs HighLevel refused), the live event stream, and command badges.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use store::Channel;

use super::ago::ago;
use super::back_to;
use super::components::{self, csrf, idem, return_to};
use super::contacts::Common;
use super::feed_controls;
use super::flash::{self, Flash};
use super::layout::{self, Nav};
use crate::actions::{self, Requester};
use crate::feed_filter::{FeedFilter, FeedParams};
use crate::reads::{self, FeedCursor};
use crate::session::{Posted, SignedIn};
use crate::{live, time, Error, Shared};

#[derive(Deserialize, Default)]
pub(crate) struct FeedQuery {
    before: Option<String>,
    #[serde(flatten)]
    filter: FeedParams,
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
    let (filter, mut names, members) = feed_controls::asked(&app, &ctx, &fq.filter).await?;
    let page = reads::feed_where(&app, ctx.loc(), &filter, cursor, app.config.page_size).await?;
    names.extend(reads::contact_names(&app, ctx.loc(), &page.items).await?);
    let path = format!("{}/feed", ctx.base());
    let muted_attr = filter
        .muted
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let older = page.next.as_ref().map(|next| {
        let mut q = fq.filter.pairs();
        q.push(("before", next.clone()));
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    });
    let content = html! {
        div.page-head { div { h1 { "Feed" } p { "Every change in HighLevel, as it happens, and your team's messages." } } }
        div.panel {
            @if ctx.acts() {
                form #feed-message-form method="post" action=(format!("{path}/messages")) {
                    (csrf(&ctx)) (idem()) (return_to(&path))
                    label.visually-hidden for="feed-message-body" { "Message to the team" }
                    textarea #feed-message-body name="body" placeholder="Message the team…" required {}
                    div.row { button.btn.small type="submit" data-testid="post-message" { "Post" } }
                }
            }
        }
        div.panel {
            (feed_controls::filter_form(&path, &filter, &names, &members))
            (feed_controls::mutes_panel(&ctx, &path, &filter))
            // What the list shows, for the live script to append only matching lines.
            ul.feed #feed-list data-testid="feed-list" data-channel="general"
                data-filter-kind=[filter.kind.map(|k| k.as_str())]
                data-filter-contact=[filter.contact.as_deref()]
                data-filter-member-id=[filter.member.as_ref().map(|m| m.user_id)]
                data-filter-member-name=[filter.member.as_ref().map(|m| m.name.as_str())]
                data-muted=(muted_attr) {
                @for i in &page.items { (components::item(&ctx.seen, ctx.loc(), i, &names, now)) }
                @if page.items.is_empty() {
                    li.empty {
                        @if filter == FeedFilter::default() { "Nothing yet. Changes in HighLevel appear here as they happen." }
                        @else { "Nothing matches this filter yet. Matching changes appear here as they happen." }
                    }
                }
            }
            @if let Some(href) = &older {
                nav.pager { a.btn.ghost #next-page href=(href) { "Older →" } }
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
    let ids: Vec<&str> = alerts
        .failed
        .iter()
        .filter_map(|c| c.contact_id.as_deref())
        .collect();
    let names = reads::names_of(&app, ctx.loc(), &ids).await?;
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
                            div.summary {
                                (components::describe(c))
                                @if let Some(contact) = &c.contact_id {
                                    " for " a.contact-link href=(format!("{}/contacts/{contact}", ctx.base())) {
                                        (names.get(contact).map_or(components::UNKNOWN_CONTACT, String::as_str))
                                    }
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
            @if ctx.acts() {
                form #alert-message-form method="post" action=(format!("{path}/messages")) {
                    (csrf(&ctx)) (idem()) (return_to(&path))
                    label.visually-hidden for="alert-message-body" { "Message in #alerts" }
                    textarea #alert-message-body name="body" placeholder="Say something in #alerts…" required {}
                    div.row { button.btn.small type="submit" { "Post" } }
                }
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
    let holder = live::Holder {
        token_hash: ctx.token_hash.clone(),
        user_id: ctx.user.id,
    };
    let loc = ctx.loc().to_string();
    Ok(live::stream(&app, rx, loc, ctx.seen, holder).into_response())
}
