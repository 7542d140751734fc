//! The settings page: one's own profile (name, time zone, password), sessions and API
//! tokens, and for admins the workspace's members, invitations and everyone's tokens. Forms
//! a role cannot use are not shown (their routes refuse them anyway, see `crate::access`).

pub(crate) mod members;
pub(crate) mod profile;
pub(crate) mod sessions;
pub(crate) mod tokens;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use store::{ApiTokenInfo, Invite, Member, Role, SessionInfo};

use super::flash::Flash;
use super::layout::{self, Nav};
use crate::session::{Ctx, SignedIn};
use crate::{Error, Shared};

/// A secret shown once on the page that created it.
pub(crate) enum Reveal {
    None,
    /// A new API token.
    Token(String),
    /// A new invitation's link, for the admin to send.
    Invite {
        email: String,
        link: String,
        expires: String,
    },
}

/// Everything the page lists.
struct Lists {
    members: Vec<Member>,
    invites: Vec<Invite>,
    sessions: Vec<SessionInfo>,
    own_tokens: Vec<ApiTokenInfo>,
    /// Every member's tokens (admins only).
    all_tokens: Vec<ApiTokenInfo>,
}

impl Lists {
    async fn load(app: &Shared, ctx: &Ctx) -> Result<Lists, Error> {
        let admin = ctx.role.allows(Role::Admin);
        Ok(Lists {
            members: app.store.workspace_members(ctx.loc()).await?,
            invites: if admin {
                app.store.pending_invites(ctx.loc()).await?
            } else {
                Vec::new()
            },
            sessions: app.store.user_sessions(ctx.user.id).await?,
            own_tokens: app
                .store
                .api_tokens(Some(ctx.loc()), Some(ctx.user.id))
                .await?,
            all_tokens: if admin {
                app.store.api_tokens(Some(ctx.loc()), None).await?
            } else {
                Vec::new()
            },
        })
    }
}

pub(crate) async fn page(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    flash: Flash,
) -> Result<Response, Error> {
    let ctx = who.enter(&app, &ws).await?;
    render(&app, &ctx, Reveal::None, &flash).await
}

/// The page, with `reveal` shown once. A page showing a secret is never stored by a cache or
/// the browser's history.
pub(crate) async fn render(
    app: &Shared,
    ctx: &Ctx,
    reveal: Reveal,
    flash: &Flash,
) -> Result<Response, Error> {
    let lists = Lists::load(app, ctx).await?;
    let secret = !matches!(reveal, Reveal::None);
    let content = html! {
        div.page-head { div { h1 { "Settings" } p { (ctx.ws.name) " · HighLevel location " code { (ctx.ws.location_id) } " · you are " strong #my-role data-testid="my-role" { (ctx.role.as_str()) } } } }
        (profile::missing_scopes(ctx))
        (members::revealed(&reveal))
        div.grid {
            (profile::panel(ctx))
            (sessions::panel(ctx, &lists.sessions))
            (tokens::panel(ctx, &lists.own_tokens, &lists.all_tokens, &reveal))
            (members::panel(ctx, &lists.members, &lists.invites))
        }
    };
    let mut response = layout::page(ctx, Nav::Settings, "Settings", flash, content).into_response();
    if secret {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

/// A panel of the page.
fn panel(id: &str, title: &str, body: Markup) -> Markup {
    html! { div.panel #(id) { h2 { (title) } (body) } }
}

/// The settings page's URL.
fn settings_url(ctx: &Ctx) -> String {
    format!("{}/settings", ctx.base())
}

/// A small form that posts to `action` with a single button.
fn button_form(ctx: &Ctx, action: String, label: &str, testid: &str, danger: bool) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (super::components::csrf(ctx))
            button.btn.small.ghost[!danger].danger[danger] type="submit" data-testid=(testid) { (label) }
        }
    }
}
