//! Who is asking: the session cookie of a signed-in person (web UI), with the CSRF check
//! every form submission passes, and the workspace they are looking at.
//!
//! The cookie holds a random token; the database holds its SHA-256. The CSRF token is derived
//! from the session token, so it needs no storage, differs per session, and cannot be
//! computed by a page of another site (which cannot read the HttpOnly cookie).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use axum::RequestExt as _;
use serde::de::DeserializeOwned;
use store::{ChatUser, Membership, Role, Workspace};

use crate::access::{self, Access, Surface};
use crate::context::Seen;
use crate::{secret, App, Config, Error, Shared};

pub(crate) const SESSION_COOKIE: &str = "dc_session";
/// Set on the sign-in page before anyone is signed in, so the sign-in form has a CSRF token
/// too (a forged sign-in would put a victim in the attacker's account).
pub(crate) const PRESESSION_COOKIE: &str = "dc_presession";
pub(crate) const CSRF_FIELD: &str = "_csrf";
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in the request, if any.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path /, and Secure when configured.
/// `max_age_s` 0 deletes the cookie.
pub(crate) fn set_cookie(config: &Config, name: &str, value: &str, max_age_s: u64) -> HeaderValue {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let v = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}");
    // Tokens are base64url, so the value is always a valid header.
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(crate) fn csrf_of(token: &str) -> String {
    secret::derive("drivechat csrf", token)
}

/// The client's address, for rate limiting sign-ins. Without connect info (a server started
/// without `into_make_service_with_connect_info`) every client shares one bucket per email.
pub(crate) fn client_ip(
    parts_headers: &HeaderMap,
    connect: Option<IpAddr>,
    config: &Config,
) -> String {
    if config.trust_forwarded_for {
        if let Some(first) = parts_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            return first.to_string();
        }
    }
    connect.map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

pub(crate) fn connect_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// A signed-in person, as the route's guard found them (see [`crate::access`]).
#[derive(Clone, Debug)]
pub(crate) struct SignedIn {
    pub(crate) user: ChatUser,
    pub(crate) token_hash: String,
    pub(crate) csrf: String,
    /// Their workspaces and roles, read by the guard of a workspace route (empty on others).
    pub(crate) memberships: Vec<Membership>,
}

/// What the guard of a web route put in the request: who is asking, if anyone.
#[derive(Clone)]
struct Guarded(Option<SignedIn>);

impl FromRequestParts<Shared> for SignedIn {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &Shared) -> Result<SignedIn, Error> {
        match parts.extensions.get::<Guarded>() {
            Some(Guarded(Some(who))) => Ok(who.clone()),
            Some(Guarded(None)) => Err(Error::SignInRequired),
            // Fail closed: only a route declared through `access::Routes` knows who asks.
            None => Err(Error::Internal(format!(
                "{} declares no access rule",
                parts.uri.path()
            ))),
        }
    }
}

impl SignedIn {
    /// The session of the request's cookie, if it is one.
    pub(crate) async fn load(headers: &HeaderMap, app: &App) -> Result<Option<SignedIn>, Error> {
        let Some(token) = cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let token_hash = secret::token_hash(token);
        let Some(user) = app
            .store
            .session_user(&token_hash, app.config.idle_ms())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(SignedIn {
            user,
            token_hash,
            csrf: csrf_of(token),
            memberships: Vec::new(),
        }))
    }

    /// The person inside workspace `location_id`: 404 when they are not a member, exactly as
    /// when it does not exist.
    pub(crate) async fn enter(self, app: &App, location_id: &str) -> Result<Ctx, Error> {
        let Some(m) = self
            .memberships
            .iter()
            .find(|m| m.workspace.location_id == location_id)
        else {
            return Err(Error::NotFound("workspace"));
        };
        let seen = Seen::load(&app.store, location_id, &self.user).await?;
        Ok(Ctx {
            seen,
            ws: m.workspace.clone(),
            role: m.role,
            memberships: self.memberships.clone(),
            token_hash: self.token_hash,
            user: self.user,
            csrf: self.csrf,
        })
    }
}

/// The guard of every web route: finds the session (unless the route is public), checks it
/// is a member of the `{ws}` in the path with the role the route needs, and hands handlers
/// who is asking. The refusal is the response when not.
pub(crate) async fn guard(app: &App, access: Access, req: Request) -> Result<Request, Response> {
    let refuse = |e: Error| access::refuse(e, Surface::Web);
    let mut req = req;
    let who = match access {
        Access::Public => None,
        Access::SignedIn | Access::Role(_) => {
            let who = SignedIn::load(req.headers(), app).await.map_err(refuse)?;
            let Some(mut who) = who else {
                return Err(refuse(Error::SignInRequired));
            };
            if let Access::Role(needed) = access {
                let ws = path_param(&mut req, "ws").await.unwrap_or_default();
                who.memberships = app
                    .store
                    .memberships(who.user.id)
                    .await
                    .map_err(|e| refuse(e.into()))?;
                let m = who
                    .memberships
                    .iter()
                    .find(|m| m.workspace.location_id == ws)
                    .ok_or(Error::NotFound("workspace"))
                    .map_err(refuse)?;
                if let Some(e) = access::refusal(&m.workspace, m.role, needed) {
                    return Err(refuse(e));
                }
            }
            Some(who)
        }
    };
    req.extensions_mut().insert(Guarded(who));
    Ok(req)
}

/// The value of path parameter `name` of the matched route, if it has one.
pub(crate) async fn path_param(req: &mut Request, name: &str) -> Option<String> {
    let params = req.extract_parts::<RawPathParams>().await.ok()?;
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A signed-in member inside one of their workspaces: what every workspace page needs.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub(crate) user: ChatUser,
    pub(crate) ws: Workspace,
    pub(crate) role: Role,
    pub(crate) memberships: Vec<Membership>,
    pub(crate) csrf: String,
    /// The hash of the session's token (its sessions list marks this one).
    pub(crate) token_hash: String,
    /// The location's users, fields and zone as this member sees them.
    pub(crate) seen: Seen,
}

impl Ctx {
    pub(crate) fn loc(&self) -> &str {
        &self.ws.location_id
    }

    /// Whether this member may act (viewers only read; their pages show no action forms).
    pub(crate) fn acts(&self) -> bool {
        self.role.allows(Role::Member)
    }

    /// The workspaces this person is an admin of (their location ids).
    pub(crate) fn admin_locations(&self) -> Vec<String> {
        self.memberships
            .iter()
            .filter(|m| m.role == Role::Admin)
            .map(|m| m.workspace.location_id.clone())
            .collect()
    }

    /// The base of this workspace's URLs.
    pub(crate) fn base(&self) -> String {
        format!("/w/{}", self.ws.location_id)
    }
}

/// A form posted by a signed-in person whose CSRF token checked out. Rejections: sign-in
/// required, 403 for a missing or wrong CSRF token, 400 for a form that does not parse.
pub(crate) struct Posted<T> {
    pub(crate) who: SignedIn,
    pub(crate) form: T,
}

impl<T: DeserializeOwned> FromRequest<Shared> for Posted<T> {
    type Rejection = Error;

    async fn from_request(req: Request, app: &Shared) -> Result<Posted<T>, Error> {
        let (mut parts, body) = req.into_parts();
        let who = SignedIn::from_request_parts(&mut parts, app).await?;
        let header_token = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .map_err(|_| Error::BadRequest("the form is too large (64 KiB at most)".into()))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| Error::BadRequest(format!("the form could not be read: {e}")))?;
        let field_token = pairs
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.clone());
        check_csrf(&who.csrf, field_token.or(header_token).as_deref())?;
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| Error::BadRequest(format!("the form is incomplete: {e}")))?;
        Ok(Posted { who, form })
    }
}

pub(crate) fn check_csrf(expected: &str, given: Option<&str>) -> Result<(), Error> {
    match given {
        Some(g) if secret::constant_time_eq(expected, g) => Ok(()),
        _ => Err(Error::Forbidden(
            "This form has expired or did not come from Drive Chat; reload the page and try \
             again."
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; dc_session=tok; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
        let c = set_cookie(&Config::default(), "n", "v", 10);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && !c.contains("Secure"));
        let secure = Config {
            secure_cookies: true,
            ..Config::default()
        };
        assert!(set_cookie(&secure, "n", "v", 10)
            .to_str()
            .unwrap()
            .contains("; Secure"));
    }

    #[test]
    fn csrf_must_match() {
        let t = csrf_of("session");
        assert!(check_csrf(&t, Some(&t)).is_ok());
        assert!(check_csrf(&t, None).is_err());
        assert!(check_csrf(&t, Some("forged")).is_err());
    }
}
