//! API tokens: one's own (members create them; anyone revokes their own) and, for admins,
//! every member's tokens of the workspace.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use secrecy::ExposeSecret as _;
use store::{ApiTokenInfo, Role};

use super::{button_form, render, settings_url, Reveal};
use crate::session::{Ctx, Posted};
use crate::team::{self, Actor};
use crate::ui::ago::ago;
use crate::ui::components::csrf;
use crate::ui::flash::{self, Flash};
use crate::ui::signin::Empty;
use crate::{admin, time, Error, Shared};

fn table(ctx: &Ctx, tokens: &[ApiTokenInfo], id: &str, revoke: &str, with_owner: bool) -> Markup {
    let now = time::now_ms();
    let base = settings_url(ctx);
    html! {
        table #(id) {
            thead { tr { @if with_owner { th { "Member" } } th { "Label" } th { "Created" } th { "Last used" } th {} } }
            tbody {
                @for t in tokens {
                    tr data-token-id=(t.id) {
                        @if with_owner { td { (t.email) } }
                        td { (t.label) }
                        td { (ago(&ctx.seen, t.created_at_ms, now)) }
                        td { @match t.last_used_ms { Some(u) => (ago(&ctx.seen, u, now)), None => "never" } }
                        td { (button_form(ctx, format!("{base}/{revoke}/{}/revoke", t.id), "Revoke", "revoke-token", true)) }
                    }
                }
                @if tokens.is_empty() { tr { td colspan="5" { "None." } } }
            }
        }
    }
}

pub(super) fn panel(
    ctx: &Ctx,
    own: &[ApiTokenInfo],
    all: &[ApiTokenInfo],
    reveal: &Reveal,
) -> Markup {
    let body = html! {
        p.sub { "A token lets a program use the JSON API (" a #api-docs-link href="/api/v1/docs/" hx-boost="false" { "/api/v1, documented here" } ") as you, in this workspace. Only a hash is kept: copy it now, it is shown once." }
        @if let Reveal::Token(t) = reveal {
            p.token #new-token data-testid="new-token" { (t) }
        }
        (table(ctx, own, "own-tokens", "tokens", false))
        @if ctx.role.allows(Role::Member) {
            form #token-form method="post" action=(format!("{}/tokens", settings_url(ctx))) {
                (csrf(ctx))
                button.btn type="submit" { "Create a token" }
            }
        }
        @if ctx.role.allows(Role::Admin) {
            h3 { "Every member's tokens" }
            (table(ctx, all, "all-tokens", "members/tokens", true))
        }
    };
    super::panel("api-tokens", "API tokens", body)
}

/// Creates a token for oneself, shown once on the page (never redirected: the token must not
/// sit in a cookie or a URL).
pub(crate) async fn create(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    posted: Posted<Empty>,
) -> Result<Response, Error> {
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
    let reveal = Reveal::Token(token.expose_secret().to_string());
    render(&app, &ctx, reveal, &Flash::default()).await
}

/// Revokes one of one's own tokens.
pub(crate) async fn revoke_own(
    State(app): State<Shared>,
    Path((ws, id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Result<Response, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    let me = Actor::Member(ctx.user.id);
    team::revoke_token(&app.store, Some(ctx.loc()), Some(ctx.user.id), me, &id).await?;
    let done = Ok("Token revoked: programs using it are refused from now on.".to_string());
    Ok(flash::after_action(&app.config, &settings_url(&ctx), done))
}

/// Revokes any member's token of the workspace (admins).
pub(crate) async fn revoke_any(
    State(app): State<Shared>,
    Path((ws, id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Result<Response, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    let me = Actor::Member(ctx.user.id);
    team::revoke_token(&app.store, Some(ctx.loc()), None, me, &id).await?;
    let done = Ok("Token revoked: programs using it are refused from now on.".to_string());
    Ok(flash::after_action(&app.config, &settings_url(&ctx), done))
}
