//! Signing in and out. Refusals say what happened: a wrong email or password (one message
//! for both, so the page does not reveal who has an account), or too many attempts.

use axum::extract::{FromRequestParts as _, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use secrecy::SecretString;
use serde::Deserialize;

use super::{layout, return_to};
use crate::session::{
    check_csrf, client_ip, connect_ip, cookie, csrf_of, set_cookie, SignedIn, CSRF_FIELD,
    PRESESSION_COOKIE, SESSION_COOKIE,
};
use crate::{admin, password, presession, secret, time, Error, Shared};

/// `/`: the first workspace of a signed-in person, else the sign-in page.
pub(crate) async fn home(State(app): State<Shared>, parts: Parts) -> Result<Response, Error> {
    let mut parts = parts;
    let who = match SignedIn::from_request_parts(&mut parts, &app).await {
        Ok(w) => w,
        Err(Error::SignInRequired) => return Ok(Redirect::to("/signin").into_response()),
        Err(e) => return Err(e),
    };
    let memberships = app.store.memberships(who.user.id).await?;
    match memberships.first() {
        Some(m) => Ok(Redirect::to(&format!("/w/{}/contacts", m.workspace.location_id)).into_response()),
        None => Ok(layout::bare(
            "No workspace",
            html! {
                h1 { "No workspace yet" }
                p { "You are signed in as " strong { (who.user.email) } ", but you are not a member of any workspace. Ask an admin of your team for an invitation link." }
                form method="post" action="/signout" {
                    input type="hidden" name=(CSRF_FIELD) value=(who.csrf);
                    button.btn.ghost type="submit" { "Sign out" }
                }
            },
        )
        .into_response()),
    }
}

/// `/w/{ws}`: its contacts.
pub(crate) async fn workspace_home(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
) -> Result<Redirect, Error> {
    let ctx = who.enter(&app, &ws).await?;
    Ok(Redirect::to(&format!("{}/contacts", ctx.base())))
}

/// `?next=PATH`: the page that asked for the sign-in (see [`return_to`]).
#[derive(Deserialize, Default)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

pub(crate) async fn form(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, Error> {
    let next = q.next.as_deref().and_then(return_to::safe_next);
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        if let Ok(Some(_)) = app
            .store
            .session_user(&secret::token_hash(token), app.config.idle_ms())
            .await
        {
            return Ok(Redirect::to(next.unwrap_or("/")).into_response());
        }
    }
    let (csrf, set) = presession(&app, &headers).await?;
    let mut response = render(&csrf, "", next, None, StatusCode::OK);
    if let Some(set) = set {
        response.headers_mut().append(header::SET_COOKIE, set);
    }
    Ok(response)
}

/// The CSRF token of a form shown to someone signed out (sign-in, joining by invitation),
/// and the pre-session cookie to set when they have none this server issued. A pre-session
/// this server issued is kept (another tab's form stays valid); any other value is replaced.
pub(crate) async fn presession(
    app: &Shared,
    headers: &HeaderMap,
) -> Result<(String, Option<HeaderValue>), Error> {
    if let Some(p) = cookie(headers, PRESESSION_COOKIE) {
        if presession::is_valid(app, p).await? {
            return Ok((csrf_of(p), None));
        }
    }
    let pre = presession::issue(app).await?;
    let set = set_cookie(&app.config, PRESESSION_COOKIE, &pre, presession::LIFETIME_S);
    Ok((csrf_of(&pre), Some(set)))
}

/// Checks the CSRF token of a form posted by someone signed out, against a pre-session this
/// server issued.
pub(crate) async fn check_presession(
    app: &Shared,
    headers: &HeaderMap,
    given: &str,
) -> Result<(), Error> {
    let pre = cookie(headers, PRESESSION_COOKIE).unwrap_or_default();
    if pre.is_empty() || !presession::is_valid(app, pre).await? {
        return Err(Error::Forbidden(
            "Your form expired (or cookies are off); reload the page and try again.".into(),
        ));
    }
    check_csrf(&csrf_of(pre), Some(given))
}

/// Signs `user_id` in: a new session (noting the address and browser it came from, for the
/// person's sessions list), and the cookies of a redirect to `to`.
pub(crate) async fn start_session(
    app: &Shared,
    parts: &Parts,
    user_id: i64,
    to: &str,
) -> Result<Response, Error> {
    let token = secret::random_token();
    let token_hash = secret::token_hash(&token);
    let ttl = app.config.session_ttl;
    let expires = time::now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    app.store
        .create_session(&token_hash, user_id, expires)
        .await?;
    let ip = client_ip(&parts.headers, connect_ip(parts), &app.config);
    let agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect::<String>());
    app.store
        .describe_session(&token_hash, &ip, agent.as_deref())
        .await?;
    tracing::info!(user_id, "signed in");
    let mut r = Redirect::to(to).into_response();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(&app.config, SESSION_COOKIE, &token, ttl.as_secs()),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(&app.config, PRESESSION_COOKIE, "", 0),
    );
    Ok(r)
}

fn render(
    csrf: &str,
    email: &str,
    next: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let page = layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in" }
            p.muted { "Your team's HighLevel contacts, tasks and meetings, live." }
            @if let Some(e) = error {
                p.error #signin-error data-testid="signin-error" role="alert" { (e) }
            }
            form #signin-form method="post" action="/signin" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                @if let Some(n) = next { input type="hidden" name="next" value=(n); }
                div.field {
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                }
                div.field {
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                }
                button.btn.wide #signin-submit type="submit" { "Sign in" }
            }
        },
    );
    (status, page).into_response()
}

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// The page to go back to, checked by [`return_to::safe_next`].
    #[serde(default)]
    next: String,
}

pub(crate) async fn submit(
    State(app): State<Shared>,
    parts: Parts,
    Form(f): Form<SignInForm>,
) -> Result<Response, Error> {
    let password = SecretString::from(f.password);
    let pre = cookie(&parts.headers, PRESESSION_COOKIE).unwrap_or_default();
    if pre.is_empty() || !presession::is_valid(&app, pre).await? {
        return Err(Error::Forbidden(
            "Your sign-in form expired (or cookies are off); reload the sign-in page and try \
             again."
                .into(),
        ));
    }
    let csrf = csrf_of(pre);
    check_csrf(&csrf, Some(&f.csrf))?;
    let next = return_to::safe_next(&f.next);
    let email = admin::normalize_email(&f.email).unwrap_or_else(|_| f.email.trim().to_lowercase());

    // A place among the password checks first (in memory, instant): when all are taken the
    // answer is an immediate 429 and the attempt is not counted against the person.
    let Some(permit) = app.password_checks.try_enter() else {
        tracing::warn!("sign-in refused: every password check is busy");
        let msg = "Drive Chat is busy checking other sign-ins. Try again in a moment.";
        return Ok(too_many(
            render(
                &csrf,
                &email,
                next,
                Some(msg),
                StatusCode::TOO_MANY_REQUESTS,
            ),
            1,
        ));
    };

    // Then the attempt is counted, before the hash: concurrent attempts each get their own
    // count from the store, so no more than `login_attempts` reach the password check.
    let ip = client_ip(&parts.headers, connect_ip(&parts), &app.config);
    let key = secret::token_hash(&format!("signin\0{email}\0{ip}"));
    let window_ms = i64::try_from(app.config.login_window.as_millis()).unwrap_or(i64::MAX);
    let counted = app.store.reserve_login_attempt(&key, window_ms).await?;
    if counted.attempts > i64::from(app.config.login_attempts) {
        let left_ms = counted
            .window_start_ms
            .saturating_add(window_ms)
            .saturating_sub(time::now_ms())
            .max(1000);
        let left_s = u64::try_from(left_ms).unwrap_or(1).div_ceil(1000);
        let minutes = left_s.div_ceil(60);
        tracing::warn!(%ip, "sign-in rate limited");
        let msg = format!(
            "Too many failed sign-ins for this email from your address. Wait {minutes} \
             minute{}, then try again.",
            if minutes == 1 { "" } else { "s" }
        );
        return Ok(too_many(
            render(
                &csrf,
                &email,
                next,
                Some(&msg),
                StatusCode::TOO_MANY_REQUESTS,
            ),
            left_s,
        ));
    }

    let user = app.store.chat_user_by_email(&email).await?;
    let ok = password::verify(
        permit,
        &password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    // A wrong attempt stays counted.
    let Some(user) = user.filter(|_| ok) else {
        return Ok(render(
            &csrf,
            &email,
            next,
            Some("Wrong email or password."),
            StatusCode::UNAUTHORIZED,
        ));
    };
    app.store.clear_login_attempts(&key).await?;
    // Back to the page that asked, else `/` (the first workspace).
    start_session(&app, &parts, user.id, next.unwrap_or("/")).await
}

pub(crate) async fn signout(
    State(app): State<Shared>,
    posted: crate::session::Posted<Empty>,
) -> Result<Response, Error> {
    app.store.delete_session(&posted.who.token_hash).await?;
    let mut r = Redirect::to("/signin").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app.config, SESSION_COOKIE, "", 0),
    );
    Ok(r)
}

/// A 429 with `Retry-After: {seconds}`.
fn too_many(mut r: Response, seconds: u64) -> Response {
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    r
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub(crate) struct Empty {}
