//! One's own sign-in sessions: where and when each signed in and was last used, and a way to
//! end any of them (a lost laptop).

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use store::SessionInfo;

use super::{button_form, settings_url};
use crate::session::{Ctx, Posted};
use crate::ui::ago::ago;
use crate::ui::flash;
use crate::ui::signin::Empty;
use crate::{time, Error, Shared};

pub(super) fn panel_of(ctx: &Ctx, sessions: &[SessionInfo]) -> Markup {
    let now = time::now_ms();
    let base = settings_url(ctx);
    html! {
        p.sub { "Every browser signed in as you. End any you do not recognise." }
        table #sessions data-testid="sessions" {
            thead { tr { th { "Signed in" } th { "Last used" } th { "From" } th {} } }
            tbody {
                @for s in sessions {
                    @let current = ctx.token_hash.starts_with(&s.id);
                    tr data-session-id=(s.id) {
                        td { (ago(&ctx.seen, s.created_at_ms, now)) }
                        td { (ago(&ctx.seen, s.active_at_ms, now)) }
                        td {
                            (s.client_address.as_deref().unwrap_or("unknown address"))
                            @if let Some(ua) = &s.user_agent { br; small.muted { (ua) } }
                        }
                        td {
                            @if current { strong { "this browser" } }
                            @else { (button_form(ctx, format!("{base}/sessions/{}/end", s.id), "End", "end-session", true)) }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn panel(ctx: &Ctx, sessions: &[SessionInfo]) -> Markup {
    super::panel("your-sessions", "Your sessions", panel_of(ctx, sessions))
}

/// Ends one of one's own sessions.
pub(crate) async fn end(
    State(app): State<Shared>,
    Path((ws, id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Result<Response, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    if !app.store.end_user_session(ctx.user.id, &id).await? {
        return Err(Error::NotFound("session"));
    }
    let done = Ok("That session was signed out.".to_string());
    Ok(flash::after_action(&app.config, &settings_url(&ctx), done))
}
