//! Joining a workspace through an invitation link (`/invite/{token}`), opened signed out.
//!
//! Someone new chooses their name and password and lands in the workspace, signed in.
//! Someone who already has an account (the invitation's email is theirs) signs in first and
//! then joins with one click: an invitation never sets the password of an existing account,
//! so whoever holds a link cannot take one over. A link that was used, withdrawn or has
//! expired says so, and whom to ask.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use secrecy::SecretString;
use serde::Deserialize;
use store::{Invite, InviteState, Joined, Joiner, Workspace};

use super::{layout, signin};
use crate::session::{SignedIn, CSRF_FIELD};
use crate::{secret, team, time, Error, Shared};

/// The invitation of a link and its workspace, or the page saying why it cannot be used.
async fn usable(app: &Shared, token: &str) -> Result<Result<(Invite, Workspace), Response>, Error> {
    let invite = app.store.invite_by_hash(&secret::token_hash(token)).await?;
    let Some(invite) = invite else {
        return Ok(Err(refused(
            StatusCode::NOT_FOUND,
            "This invitation link is not valid. Check you copied all of it, or ask the admin who \
             sent it for a new one.",
        )));
    };
    let ws = app
        .store
        .workspace(&invite.location_id)
        .await?
        .ok_or(Error::NotFound("invitation"))?;
    if let Some(state) = invite.unusable(time::now_ms()) {
        return Ok(Err(refused(StatusCode::GONE, &why(state, &ws))));
    }
    Ok(Ok((invite, ws)))
}

fn why(state: InviteState, ws: &Workspace) -> String {
    let name = &ws.name;
    match state {
        InviteState::Used => format!(
            "This invitation to {name} was already used. If that was you, sign in; otherwise ask \
             an admin of {name} for a new one."
        ),
        InviteState::Revoked => format!(
            "This invitation to {name} was withdrawn by an admin. Ask an admin of {name} for a \
             new one."
        ),
        InviteState::Expired => {
            format!("This invitation to {name} has expired. Ask an admin of {name} for a new one.")
        }
    }
}

fn refused(status: StatusCode, message: &str) -> Response {
    let page = layout::bare(
        "Invitation",
        html! {
            h1 { "Invitation" }
            p.error #invite-error data-testid="invite-error" role="alert" { (message) }
            p { a href="/signin" { "Sign in" } }
        },
    );
    (status, page).into_response()
}

fn page(title: &str, body: Markup) -> Response {
    let mut r = layout::bare(title, body).into_response();
    // The page's URL carries the invitation: keep it out of caches and referrers.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    r
}

/// `GET /invite/{token}`.
pub(crate) async fn form(
    State(app): State<Shared>,
    Path(token): Path<String>,
    parts: Parts,
) -> Result<Response, Error> {
    let (invite, ws) = match usable(&app, &token).await? {
        Ok(v) => v,
        Err(page) => return Ok(page),
    };
    let action = format!("/invite/{token}");
    let existing = app.store.chat_user_by_email(&invite.email).await?;
    if existing.is_some() {
        let who = SignedIn::load(&parts.headers, &app).await?;
        return Ok(match who.filter(|w| w.user.email == invite.email) {
            Some(w) => page(
                "Join",
                html! {
                    h1 { "Join " (ws.name) }
                    p { "You are signed in as " strong { (invite.email) } ". Join " (ws.name) " as " (invite.role.as_str()) "?" }
                    form #invite-form method="post" action=(action) {
                        input type="hidden" name=(CSRF_FIELD) value=(w.csrf);
                        button.btn.wide #invite-submit type="submit" { "Join " (ws.name) }
                    }
                },
            ),
            None => {
                let next =
                    serde_urlencoded::to_string([("next", action.as_str())]).unwrap_or_default();
                page(
                    "Join",
                    html! {
                        h1 { "Join " (ws.name) }
                        p #invite-sign-in-first { "This invitation is for " strong { (invite.email) } ", who already has a Drive Chat account. Sign in as " (invite.email) " and you will come back here to join." }
                        p { a.btn.wide href=(format!("/signin?{next}")) { "Sign in" } }
                    },
                )
            }
        });
    }
    let (csrf, set) = signin::presession(&app, &parts.headers).await?;
    let mut r = new_account_form(&csrf, &action, &invite, &ws, "", None, StatusCode::OK);
    if let Some(set) = set {
        r.headers_mut().append(header::SET_COOKIE, set);
    }
    Ok(r)
}

fn new_account_form(
    csrf: &str,
    action: &str,
    invite: &Invite,
    ws: &Workspace,
    name: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut r = page(
        "Join",
        html! {
            h1 { "Join " (ws.name) }
            p.muted { "You were invited as " strong { (invite.role.as_str()) } ". Choose your name and a password for " strong #invite-email { (invite.email) } "." }
            @if let Some(e) = error { p.error #invite-error data-testid="invite-error" role="alert" { (e) } }
            form #invite-form method="post" action=(action) {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                div.field {
                    label for="name" { "Your name" }
                    input #name type="text" name="name" value=(name) maxlength="100" required autofocus;
                }
                div.field {
                    label for="password" { "Password (at least 8 characters)" }
                    input #password type="password" name="password" autocomplete="new-password" minlength="8" required;
                }
                button.btn.wide #invite-submit type="submit" { "Join " (ws.name) }
            }
        },
    );
    *r.status_mut() = status;
    r
}

#[derive(Deserialize)]
pub(crate) struct AcceptForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// `POST /invite/{token}`: joins, and signs the person in when the account is new.
pub(crate) async fn accept(
    State(app): State<Shared>,
    Path(token): Path<String>,
    parts: Parts,
    Form(f): Form<AcceptForm>,
) -> Result<Response, Error> {
    let (invite, ws) = match usable(&app, &token).await? {
        Ok(v) => v,
        Err(page) => return Ok(page),
    };
    let hash = secret::token_hash(&token);
    let action = format!("/invite/{token}");
    if app.store.chat_user_by_email(&invite.email).await?.is_some() {
        // An existing account joins only from its own session, with that session's form.
        let who = SignedIn::load(&parts.headers, &app)
            .await?
            .filter(|w| w.user.email == invite.email)
            .ok_or(Error::SignInRequired)?;
        crate::session::check_csrf(&who.csrf, Some(&f.csrf))?;
        let joined = app
            .store
            .join_by_invite(
                &hash,
                Joiner::Existing {
                    user_id: who.user.id,
                },
            )
            .await?;
        let Joined::Member { location_id, .. } = landed(joined, &ws)? else {
            return Err(Error::Internal("an invitation joined nobody".into()));
        };
        return Ok(Redirect::to(&format!("/w/{location_id}/contacts")).into_response());
    }
    signin::check_presession(&app, &parts.headers, &f.csrf).await?;
    let password = SecretString::from(f.password);
    let checked = async {
        let name = team::display_name(&f.name)?.to_string();
        let hash = team::hash_new_password(&password).await?;
        Ok::<_, Error>((name, hash))
    }
    .await;
    let (name, password_hash) = match checked {
        Ok(v) => v,
        Err(Error::BadRequest(msg)) => {
            let (csrf, _) = signin::presession(&app, &parts.headers).await?;
            let r = new_account_form(
                &csrf,
                &action,
                &invite,
                &ws,
                &f.name,
                Some(&msg),
                StatusCode::BAD_REQUEST,
            );
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    let joined = app
        .store
        .join_by_invite(
            &hash,
            Joiner::New {
                display_name: &name,
                password_hash: &password_hash,
            },
        )
        .await?;
    let Joined::Member {
        user_id,
        location_id,
    } = landed(joined, &ws)?
    else {
        return Err(Error::Internal("an invitation joined nobody".into()));
    };
    let to = format!("/w/{location_id}/contacts");
    signin::start_session(&app, &parts, user_id, &to).await
}

/// What came of joining, as an error when it did not happen.
fn landed(joined: Joined, ws: &Workspace) -> Result<Joined, Error> {
    match joined {
        Joined::Member { .. } => Ok(joined),
        Joined::Refused(state) => Err(Error::Gone(why(state, ws))),
        Joined::Unknown => Err(Error::NotFound("invitation")),
        Joined::EmailTaken => Err(Error::Conflict(
            "An account with this email was created meanwhile; sign in as it and open the link \
             again to join."
                .into(),
        )),
    }
}
