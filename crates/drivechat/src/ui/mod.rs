//! The web UI: server-rendered pages (maud) made lively with htmx — links and forms are
//! boosted (no full reloads), live regions refresh when the event stream says their data
//! changed, and pending badges ask for their command's state until it settles.
//!
//! URLs: `/signin`, `/signout`, and per workspace `/w/{workspace}/contacts`,
//! `/contacts/{id}`, `/tasks`, `/meetings`, `/feed`, `/alerts`, `/settings`, `/live` (SSE),
//! for admins `/dashboard` and `/audit` (with `/audit.csv`, `/audit.jsonl`),
//! plus the form targets of each action; `/invite/{token}` to join a workspace.

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
mod feed_controls;
pub(crate) mod flash;
mod highlevel_link;
mod invite;
pub(crate) mod layout;
mod meetings;
mod return_to;
mod sentence;
mod settings;
pub(crate) mod signin;
mod words;

use axum::http::Uri;
use maud::{html, Markup};
use store::Role;

use crate::access::{Access, Routes, Surface};
use crate::session::Ctx;
use crate::Shared;

/// Every web route with what it needs (see [`crate::access`]): pages need a viewer, actions
/// a member, managing the workspace an admin; one's own account needs only membership.
pub(crate) fn routes(app: Shared) -> Routes {
    const READ: Access = Access::Role(Role::Viewer);
    const ACT: Access = Access::Role(Role::Member);
    const ADMIN: Access = Access::Role(Role::Admin);
    // Managing one's own account (name, password, zone, sessions, tokens): any member.
    const OWN: Access = Access::Role(Role::Viewer);
    Routes::new(app.clone(), Surface::Web)
        .get("/", Access::SignedIn, signin::home)
        .get("/signin", Access::Public, signin::form)
        .post("/signin", Access::Public, signin::submit)
        .post("/signout", Access::SignedIn, signin::signout)
        .get("/invite/{token}", Access::Public, invite::form)
        .post("/invite/{token}", Access::Public, invite::accept)
        .get("/assets/{name}", Access::Public, assets::serve)
        .get("/w/{ws}", READ, signin::workspace_home)
        .get("/w/{ws}/contacts", READ, contacts::list)
        .get("/w/{ws}/contacts/{contact}", READ, contacts::page)
        .post(
            "/w/{ws}/contacts/{contact}/tasks",
            ACT,
            contacts::create_task,
        )
        .post("/w/{ws}/contacts/{contact}/notes", ACT, contacts::add_note)
        .post("/w/{ws}/contacts/{contact}/tags", ACT, contacts::add_tags)
        .post(
            "/w/{ws}/contacts/{contact}/tags/remove",
            ACT,
            contacts::remove_tag,
        )
        .post(
            "/w/{ws}/contacts/{contact}/messages",
            ACT,
            contacts::post_message,
        )
        .get("/w/{ws}/tasks", READ, board::page)
        .post("/w/{ws}/tasks/{task}/complete", ACT, board::complete)
        .post("/w/{ws}/tasks/{task}/reopen", ACT, board::reopen)
        .get("/w/{ws}/meetings", READ, meetings::page)
        .get("/w/{ws}/feed", READ, feed::page)
        .post("/w/{ws}/feed/messages", ACT, feed::post_general)
        // A mute is one's own view of the feed, so a viewer may set it too.
        .post("/w/{ws}/feed/mutes", OWN, feed_controls::set_mute)
        .get("/w/{ws}/alerts", READ, feed::alerts)
        .post("/w/{ws}/alerts/messages", ACT, feed::post_alert)
        .get("/w/{ws}/commands/{id}/badge", READ, feed::badge)
        .get("/w/{ws}/live", READ, feed::live)
        .get("/w/{ws}/settings", READ, settings::page)
        .get("/w/{ws}/dashboard", ADMIN, dashboard::page)
        .get("/w/{ws}/audit", ADMIN, audit::page)
        .get("/w/{ws}/audit.csv", ADMIN, audit::csv)
        .get("/w/{ws}/audit.jsonl", ADMIN, audit::jsonl)
        .post(
            "/w/{ws}/settings/timezone",
            OWN,
            settings::profile::set_timezone,
        )
        .post("/w/{ws}/settings/profile", OWN, settings::profile::set_name)
        .post(
            "/w/{ws}/settings/password",
            OWN,
            settings::profile::set_password,
        )
        .post(
            "/w/{ws}/settings/sessions/{id}/end",
            OWN,
            settings::sessions::end,
        )
        .post("/w/{ws}/settings/tokens", ACT, settings::tokens::create)
        .post(
            "/w/{ws}/settings/tokens/{id}/revoke",
            OWN,
            settings::tokens::revoke_own,
        )
        .post(
            "/w/{ws}/settings/members/tokens/{id}/revoke",
            ADMIN,
            settings::tokens::revoke_any,
        )
        .post("/w/{ws}/settings/invites", ADMIN, settings::members::invite)
        .post(
            "/w/{ws}/settings/invites/{id}/revoke",
            ADMIN,
            settings::members::revoke_invite,
        )
        .post(
            "/w/{ws}/settings/members/{user}/role",
            ADMIN,
            settings::members::set_role,
        )
        .post(
            "/w/{ws}/settings/members/{user}/remove",
            ADMIN,
            settings::members::remove,
        )
        .layer(|r| {
            r.layer(axum::middleware::from_fn_with_state(app, flash::clear))
                .layer(axum::middleware::from_fn(return_to::remember))
        })
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
