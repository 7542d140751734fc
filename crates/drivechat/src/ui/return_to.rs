//! Back to the page that asked for a sign-in. A signed-out person opening a workspace page is
//! sent to `/signin?next=PATH`; the form carries `next` along and, once signed in, they land
//! on PATH instead of the first workspace's contacts.
//!
//! Only same-site relative paths are followed: `next` must start with one `/` and hold no
//! backslash, control character or scheme, so `https://elsewhere`, `//elsewhere` and
//! `/\elsewhere` (which browsers read as another host) are refused and the person lands on
//! the default page.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

/// Where sign-in sends people.
pub(crate) const SIGNIN: &str = "/signin";

/// `next` when it is a path of this site, else `None`.
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    let rest = next.strip_prefix('/')?;
    let ok = !rest.starts_with('/')
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && !next.contains("://")
        && next.len() <= 2000
        && !next.starts_with(SIGNIN);
    ok.then_some(next)
}

/// Middleware: a GET of a workspace page answered "sign in first" (a redirect to
/// [`SIGNIN`]) is sent there with the page's path and query as `next`.
pub(crate) async fn remember(req: Request, next: Next) -> Response {
    let asked = (req.method() == Method::GET && req.uri().path().starts_with("/w/"))
        .then(|| super::self_url(req.uri()));
    let mut response = next.run(req).await;
    let Some(asked) = asked.as_deref().and_then(safe_next) else {
        return response;
    };
    let to_signin = response
        .headers()
        .get(header::LOCATION)
        .is_some_and(|l| l.as_bytes() == SIGNIN.as_bytes());
    if response.status().is_redirection() && to_signin {
        let query = serde_urlencoded::to_string([("next", asked)]).unwrap_or_default();
        if let Ok(v) = HeaderValue::from_str(&format!("{SIGNIN}?{query}")) {
            response.headers_mut().insert(header::LOCATION, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_followed() {
        assert_eq!(safe_next("/w/L/contacts/c1"), Some("/w/L/contacts/c1"));
        assert_eq!(
            safe_next("/w/L/tasks?due=today"),
            Some("/w/L/tasks?due=today")
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "\\\\evil.example",
            "evil.example",
            "/w/L/x?u=http://evil",
            "/signin?next=/w",
            "",
            "/w/\nL",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
