//! One-time messages after a form is handled ("Sent to HighLevel", or why it was refused):
//! the handler redirects (so reloading does not resubmit) with the message in a short-lived
//! cookie, the next page shows it, and [`clear`] deletes the cookie once a page did.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use maud::{html, Markup};

use crate::session::{cookie, set_cookie};
use crate::{Config, Error, Shared};

const FLASH_COOKIE: &str = "dc_flash";

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Notice,
    Error,
}

/// The message carried over from the previous request, if any, and the command it is about
/// (an action sent to HighLevel).
#[derive(Clone, Debug, Default)]
pub(crate) struct Flash(pub(crate) Option<(Kind, String)>, pub(crate) Option<i64>);

impl Flash {
    /// The message; `base` is the workspace's URL prefix. A notice about a command carries
    /// the command's badge, which asks again until HighLevel settles it: the live script
    /// then takes the "pending until HighLevel confirms" notice away.
    pub(crate) fn render(&self, base: &str) -> Markup {
        match (&self.0, self.1) {
            (None, _) => html! { div #flash hidden {} },
            (Some((Kind::Notice, text)), Some(id)) => html! {
                div #flash .flash.notice role="status" data-testid="flash" data-kind="notice"
                    data-command-id=(id) {
                    (text) " "
                    span hx-get=(format!("{base}/commands/{id}/badge")) hx-trigger="load"
                        hx-swap="outerHTML" {}
                }
            },
            (Some((Kind::Notice, text)), None) => html! {
                div #flash .flash.notice role="status" data-testid="flash" data-kind="notice" { (text) }
            },
            (Some((Kind::Error, text)), _) => html! {
                div #flash .flash.error role="alert" data-testid="flash" data-kind="error" { (text) }
            },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Flash, Self::Rejection> {
        let parsed = cookie(&parts.headers, FLASH_COOKIE)
            .and_then(|v| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(v)
                    .ok()
            })
            .and_then(|b| serde_json::from_slice::<(Kind, String, Option<i64>)>(&b).ok());
        Ok(match parsed {
            Some((kind, text, command)) => Flash(Some((kind, text)), command),
            None => Flash::default(),
        })
    }
}

/// A 303 to `to` that shows `text` (about `command`, when given) on the page it leads to.
pub(crate) fn redirect(
    config: &Config,
    to: &str,
    kind: Kind,
    text: &str,
    command: Option<i64>,
) -> Response {
    let value = serde_json::to_vec(&(kind, text, command)).unwrap_or_default();
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value);
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, to.to_string()),
            (
                header::SET_COOKIE,
                set_cookie(config, FLASH_COOKIE, &value, 60)
                    .to_str()
                    .unwrap_or_default()
                    .to_string(),
            ),
        ],
    )
        .into_response()
}

/// After an action: back to the page with a notice, or with the refusal when the input was
/// refused for a reason the person can fix or should know (the record was deleted in
/// HighLevel meanwhile). Anything else (not found, a forged form, a server
/// error) is an error page with its own status: a 404 must stay a 404.
pub(crate) fn after_action(config: &Config, to: &str, result: Result<String, Error>) -> Response {
    after_command(config, to, result.map(|notice| (notice, None)))
}

/// [`after_action`] for an action that sent command `Some(id)` to HighLevel: the notice
/// follows the command until HighLevel settles it.
pub(crate) fn after_command(
    config: &Config,
    to: &str,
    result: Result<(String, Option<i64>), Error>,
) -> Response {
    match result {
        Ok((notice, command)) => redirect(config, to, Kind::Notice, &notice, command),
        Err(
            e @ (Error::BadRequest(_)
            | Error::Deleted(_)
            | Error::Conflict(_)
            | Error::Store(store::StoreError::InvalidArgument(_))),
        ) => redirect(config, to, Kind::Error, &e.public_message(), None),
        Err(e) => e.into_response(),
    }
}

/// Middleware: a successful GET that came with a flash cookie has shown it; delete it.
pub(crate) async fn clear(
    axum::extract::State(app): axum::extract::State<Shared>,
    req: Request,
    next: Next,
) -> Response {
    let had =
        req.method() == axum::http::Method::GET && cookie(req.headers(), FLASH_COOKIE).is_some();
    let mut response = next.run(req).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if had && is_page && response.status().is_success() {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&app.config, FLASH_COOKIE, "", 0),
        );
    }
    response
}
