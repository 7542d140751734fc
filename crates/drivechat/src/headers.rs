//! Security headers on every response of Drive Chat (pages, fragments, the event stream, the
//! JSON API, assets).
//!
//! - **Content-Security-Policy**: scripts, styles, images and connections from this origin
//!   only, no inline script or style (every script is a file under `/assets/`; htmx is told
//!   not to inject its indicator `<style>` and not to eval, see `ui::layout`), no plugins, no
//!   `<base>`, forms post only here, and no framing. An injected `<script>` that escaped
//!   maud's escaping would still not run.
//! - **X-Frame-Options: DENY** (with `frame-ancestors 'none'`): no clickjacking.
//! - **X-Content-Type-Options: nosniff**: a response is only ever what its type says.
//! - **Referrer-Policy: same-origin**: workspace URLs (location ids, contact ids) are not
//!   sent to HighLevel or any other site a page links to.
//! - **Cache-Control: no-store** on everything but the versioned assets (which set their own):
//!   every page is per person and several show secrets (a new API token, CSRF tokens), and a
//!   shared or back-button cache must not keep them after sign-out.
//! - **Strict-Transport-Security** when served over HTTPS (`Config::secure_cookies`).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::Shared;

pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(crate) async fn security(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if app.config.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    r
}
