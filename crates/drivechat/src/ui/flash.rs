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

/// The message carried over from the previous request, if any.
#[derive(Clone, Debug, Default)]
pub(crate) struct Flash(pub(crate) Option<(Kind, String)>);

impl Flash {
    pub(crate) fn render(&self) -> Markup {
        match &self.0 {
            None => html! { div #flash hidden {} },
            Some((Kind::Notice, text)) => html! {
                div #flash .flash.notice role="status" data-testid="flash" data-kind="notice" { (text) }
            },
            Some((Kind::Error, text)) => html! {
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
            .and_then(|b| serde_json::from_slice::<(Kind, String)>(&b).ok());
        Ok(Flash(parsed))
    }
}

/// A 303 to `to` that shows `text` on the page it leads to.
pub(crate) fn redirect(config: &Config, to: &str, kind: Kind, text: &str) -> Response {
    let value = serde_json::to_vec(&(kind, text)).unwrap_or_default();
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
    match result {
        Ok(notice) => redirect(config, to, Kind::Notice, &notice),
        Err(
            e @ (Error::BadRequest(_)
            | Error::Deleted(_)
            | Error::Conflict(_)
            | Error::Store(store::StoreError::InvalidArgument(_))),
        ) => redirect(config, to, Kind::Error, &e.public_message()),
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
