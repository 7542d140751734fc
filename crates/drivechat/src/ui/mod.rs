//! The web UI: server-rendered pages (maud) made lively with htmx — links and forms are
//! boosted (no full reloads), live regions refresh when the event stream says their data
//! changed, and pending badges ask for their command's state until it settles.
//!
//! URLs: `/signin`, `/signout`, and per workspace `/w/{workspace}/contacts`,
//! `/contacts/{id}`, `/tasks`, `/meetings`, `/feed`, `/alerts`, `/settings`, `/live` (SSE),
//! for admins `/dashboard` and `/audit` (with `/audit.csv`, `/audit.jsonl`),
//! plus the form targets of each action.

mod ago;
pub(crate) mod assets;
mod audit;
mod board;
mod chart;

pub(crate) use board::board_query;
pub(crate) mod components;
mod contacts;
mod dashboard;
mod feed;
pub(crate) mod flash;
mod highlevel_link;
pub(crate) mod layout;
mod meetings;
mod return_to;
pub(crate) mod signin;
mod words;

use axum::http::Uri;
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

use crate::session::Ctx;
use crate::Shared;

pub(crate) fn routes(app: Shared) -> Router<Shared> {
    Router::new()
        .route("/", get(signin::home))
        .route("/signin", get(signin::form).post(signin::submit))
        .route("/signout", post(signin::signout))
        .route("/assets/{name}", get(assets::serve))
        .route("/w/{ws}", get(signin::workspace_home))
        .route("/w/{ws}/contacts", get(contacts::list))
        .route("/w/{ws}/contacts/{contact}", get(contacts::page))
        .route(
            "/w/{ws}/contacts/{contact}/tasks",
            post(contacts::create_task),
        )
        .route("/w/{ws}/contacts/{contact}/notes", post(contacts::add_note))
        .route("/w/{ws}/contacts/{contact}/tags", post(contacts::add_tags))
        .route(
            "/w/{ws}/contacts/{contact}/tags/remove",
            post(contacts::remove_tag),
        )
        .route(
            "/w/{ws}/contacts/{contact}/messages",
            post(contacts::post_message),
        )
        .route("/w/{ws}/tasks", get(board::page))
        .route("/w/{ws}/tasks/{task}/complete", post(board::complete))
        .route("/w/{ws}/tasks/{task}/reopen", post(board::reopen))
        .route("/w/{ws}/meetings", get(meetings::page))
        .route("/w/{ws}/feed", get(feed::page))
        .route("/w/{ws}/feed/messages", post(feed::post_general))
        .route("/w/{ws}/alerts", get(feed::alerts))
        .route("/w/{ws}/alerts/messages", post(feed::post_alert))
        .route("/w/{ws}/commands/{id}/badge", get(feed::badge))
        .route("/w/{ws}/live", get(feed::live))
        .route("/w/{ws}/settings", get(feed::settings))
        .route("/w/{ws}/settings/tokens", post(feed::create_token))
        .route("/w/{ws}/settings/timezone", post(feed::set_timezone))
        .route("/w/{ws}/dashboard", get(dashboard::page))
        .route("/w/{ws}/audit", get(audit::page))
        .route("/w/{ws}/audit.csv", get(audit::csv))
        .route("/w/{ws}/audit.jsonl", get(audit::jsonl))
        .layer(axum::middleware::from_fn_with_state(app, flash::clear))
        .layer(axum::middleware::from_fn(return_to::remember))
}

/// Path and query of the request: what a live region fetches again to refresh itself.
pub(crate) fn self_url(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}

/// Where to go after an action: the page the form came from when it is a page of this
/// workspace, else `fallback`. Anything else (another site, another workspace) is ignored.
pub(crate) fn back_to(ctx: &Ctx, asked: Option<&str>, fallback: String) -> String {
    let prefix = format!("{}/", ctx.base());
    match asked {
        Some(p)
            if p.starts_with(&prefix)
                && !p.contains("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p.to_string()
        }
        _ => fallback,
    }
}

/// A region of a page that refreshes itself (fetching `url` and keeping only its own id)
/// when the live stream reports a change, of `contact` when given.
pub(crate) fn live_region(id: &str, url: &str, contact: Option<&str>, content: Markup) -> Markup {
    html! {
        // hx-disinherit: the forms and links inside must not take this region's hx-select.
        section #(id) data-live-region data-live-contact=[contact] hx-get=(url)
            hx-trigger="live" hx-select=(format!("#{id}")) hx-swap="outerHTML"
            hx-disinherit="*" {
            (content)
        }
    }
}
