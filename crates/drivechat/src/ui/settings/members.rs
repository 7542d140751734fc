//! The workspace's members and invitations. Everyone sees who is in the workspace; admins
//! invite (a one-time link shown to them to send), change roles and remove members.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use store::{Invite, Member, Role};

use super::{button_form, render, settings_url, Reveal};
use crate::session::{Ctx, Posted};
use crate::team::{self, Actor};
use crate::ui::components::csrf;
use crate::ui::flash::{self, Flash};
use crate::ui::signin::Empty;
use crate::{Error, Shared};

fn role_select(name: &str, id: &str, current: Role) -> Markup {
    html! {
        select name=(name) id=(id) {
            @for r in Role::ALL { option value=(r.as_str()) selected[r == current] { (r.as_str()) } }
        }
    }
}

/// A new invitation's link, at the top of the page that created it.
pub(super) fn revealed(reveal: &Reveal) -> Markup {
    html! {
        @if let Reveal::Invite { email, link, expires } = reveal {
            div.panel #invite-link-box role="status" {
                h2 { "Invitation link" }
                p { "Send this link to " strong { (email) } ". It works once, until " (expires) ". It is shown only now:" }
                p.token #invite-link data-testid="invite-link" { (link) }
            }
        }
    }
}

pub(super) fn panel(ctx: &Ctx, members: &[Member], invites: &[Invite]) -> Markup {
    let admin = ctx.role.allows(Role::Admin);
    let base = settings_url(ctx);
    let body = html! {
        table #members {
            thead { tr { th { "Name" } th { "Email" } th { "Role" } @if admin { th {} } } }
            tbody {
                @for m in members {
                    tr data-member-id=(m.user_id) data-member-email=(m.email) {
                        td { (m.display_name) }
                        td { (m.email) }
                        td {
                            @if admin {
                                form.inline method="post" action=(format!("{base}/members/{}/role", m.user_id)) {
                                    (csrf(ctx))
                                    label.visually-hidden for=(format!("role-{}", m.user_id)) { "Role of " (m.email) }
                                    (role_select("role", &format!("role-{}", m.user_id), m.role))
                                    button.btn.small.ghost type="submit" data-testid="save-role" { "Change" }
                                }
                            } @else { (m.role.as_str()) }
                        }
                        @if admin {
                            td { (button_form(ctx, format!("{base}/members/{}/remove", m.user_id), "Remove", "remove-member", true)) }
                        }
                    }
                }
            }
        }
        @if admin {
            h3 { "Invite someone" }
            form #invite-form method="post" action=(format!("{base}/invites")) {
                (csrf(ctx))
                div.field {
                    label for="invite-email" { "Email" }
                    input #invite-email type="email" name="email" required;
                }
                div.field {
                    label for="invite-role" { "Role" }
                    (role_select("role", "invite-role", Role::Member))
                }
                p.sub { "Viewers read everything and change nothing; members also act (tasks, notes, tags, messages, their own API tokens); admins also manage members, invitations and settings." }
                button.btn type="submit" data-testid="invite" { "Create invitation link" }
            }
            @if !invites.is_empty() {
                h3 { "Pending invitations" }
                table #pending-invites {
                    thead { tr { th { "Email" } th { "Role" } th { "Expires" } th {} } }
                    tbody {
                        @for i in invites {
                            tr data-invite-id=(i.id) {
                                td { (i.email) } td { (i.role.as_str()) } td { (ctx.seen.when(i.expires_at_ms)) }
                                td { (button_form(ctx, format!("{base}/invites/{}/revoke", i.id), "Revoke", "revoke-invite", true)) }
                            }
                        }
                    }
                }
            }
        } @else {
            p.sub { "Admins of " (ctx.ws.name) " invite people and change roles." }
        }
    };
    super::panel("team", "Members", body)
}

/// `http(s)://host` of the request, for links people open elsewhere.
fn origin(headers: &HeaderMap, app: &Shared) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("localhost");
    let scheme = if app.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

#[derive(Deserialize)]
pub(crate) struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

fn parse_role(role: &str) -> Result<Role, Error> {
    Role::parse(role.trim()).ok_or_else(|| {
        Error::BadRequest(format!(
            "{role:?} is not a role; pick admin, member or viewer"
        ))
    })
}

/// Creates an invitation and shows its link once.
pub(crate) async fn invite(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    posted: Posted<InviteForm>,
) -> Result<Response, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    let result = async {
        let role = parse_role(&posted.form.role)?;
        let by = Actor::Member(ctx.user.id);
        let ttl = app.config.invite_ttl;
        team::invite(&app.store, ttl, ctx.loc(), by, &posted.form.email, role).await
    }
    .await;
    match result {
        Ok(inv) => {
            let email = crate::admin::normalize_email(&posted.form.email)?;
            let link = format!(
                "{}{}",
                origin(&headers, &app),
                team::invite_path(&inv.token)
            );
            let reveal = Reveal::Invite {
                email,
                link,
                expires: ctx.seen.when(inv.expires_at_ms),
            };
            let notice = Flash(
                Some((flash::Kind::Notice, "Invitation created.".into())),
                None,
            );
            render(&app, &ctx, reveal, &notice).await
        }
        Err(e) => Ok(flash::after_action(
            &app.config,
            &settings_url(&ctx),
            Err(e),
        )),
    }
}

/// Revokes a pending invitation.
pub(crate) async fn revoke_invite(
    State(app): State<Shared>,
    Path((ws, id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Result<Response, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    let id: i64 = id
        .parse()
        .map_err(|_| Error::NotFound("pending invitation"))?;
    team::revoke_invite(&app.store, ctx.loc(), Actor::Member(ctx.user.id), id).await?;
    let done = Ok("Invitation revoked: its link no longer works.".to_string());
    Ok(flash::after_action(&app.config, &settings_url(&ctx), done))
}

#[derive(Deserialize)]
pub(crate) struct RoleForm {
    #[serde(default)]
    role: String,
}

fn member_id(id: &str) -> Result<i64, Error> {
    id.parse().map_err(|_| Error::NotFound("member"))
}

/// Changes a member's role.
pub(crate) async fn set_role(
    State(app): State<Shared>,
    Path((ws, user)): Path<(String, String)>,
    posted: Posted<RoleForm>,
) -> Result<Response, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    let user = member_id(&user)?;
    let result = async {
        let role = parse_role(&posted.form.role)?;
        team::set_role(
            &app.store,
            ctx.loc(),
            Actor::Member(ctx.user.id),
            user,
            role,
        )
        .await?;
        Ok(format!("Role changed to {role}."))
    }
    .await;
    Ok(flash::after_action(
        &app.config,
        &settings_url(&ctx),
        result,
    ))
}

/// Removes a member: their sessions, live pages and tokens end at once.
pub(crate) async fn remove(
    State(app): State<Shared>,
    Path((ws, user)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Result<Response, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    let user = member_id(&user)?;
    let result = team::remove(&app.store, ctx.loc(), Actor::Member(ctx.user.id), user)
        .await
        .map(|()| "Member removed: they were signed out and their API tokens revoked.".to_string());
    // Having removed oneself leaves nothing to show here.
    let to = if user == ctx.user.id && result.is_ok() {
        "/".to_string()
    } else {
        settings_url(&ctx)
    };
    Ok(flash::after_action(&app.config, &to, result))
}
