//! API authentication: the bearer token names one member of one workspace.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use serde::de::DeserializeOwned;
use store::{ApiTokenOwner, ChatUser, Role};

use crate::access::{self, Access, Surface};
use crate::context::Seen;
use crate::{secret, ApiError, App, Error, Shared};

/// The member an API request acts as, and their workspace, as the route's guard found them
/// (see [`crate::access`]).
#[derive(Clone)]
pub(crate) struct ApiMember {
    pub(crate) user: ChatUser,
    pub(crate) loc: String,
    pub(crate) role: Role,
    /// The workspace location's users, fields and zone as this member sees them.
    pub(crate) seen: Seen,
    /// The request's `Idempotency-Key`, if sent.
    pub(crate) idempotency_key: Option<String>,
    /// The token's hash, for a long-lived stream to check the token again.
    pub(crate) token_hash: String,
}

impl FromRequestParts<Shared> for ApiMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &Shared) -> Result<ApiMember, ApiError> {
        // Fail closed: only a route declared through `access::Routes` knows who asks.
        parts.extensions.get::<ApiMember>().cloned().ok_or_else(|| {
            ApiError(Error::Internal(format!(
                "{} declares no access rule",
                parts.uri.path()
            )))
        })
    }
}

/// The token's owner and member now, read afresh from the store (so a token revoked or
/// deleted, or a member removed, is `None` from then on).
async fn token_member(
    app: &App,
    token_hash: &str,
) -> Result<Option<(ApiTokenOwner, ChatUser)>, Error> {
    let Some(owner) = app.store.api_token_owner(token_hash).await? else {
        return Ok(None);
    };
    let Some(user) = app.store.chat_user(owner.user_id).await? else {
        return Ok(None);
    };
    Ok(Some((owner, user)))
}

/// Whether a stream opened with this token may go on: the token still exists and is not
/// revoked, and still names the same member of the same workspace, who is still a member.
/// Re-reads the store through the same lookup as every request, so it sees a revocation
/// however it is made.
pub(crate) async fn stream_still_authorised(
    app: &App,
    token_hash: &str,
    user_id: i64,
    loc: &str,
) -> Result<bool, Error> {
    Ok(match token_member(app, token_hash).await? {
        Some((o, u)) if o.location_id == loc && u.id == user_id => {
            app.store.membership(user_id, loc).await?.is_some()
        }
        _ => false,
    })
}

/// The guard of every API route: a public route passes; any other needs a valid token whose
/// member has the role the route needs in the token's workspace.
pub(crate) async fn guard(app: &App, access: Access, req: Request) -> Result<Request, Response> {
    let refuse = |e: Error| access::refuse(e, Surface::Api);
    let needed = match access {
        Access::Public => return Ok(req),
        Access::Role(role) => role,
        // The API has no session: a token always names a workspace.
        Access::SignedIn => Role::Viewer,
    };
    let member = authenticate(app, req.headers()).await.map_err(refuse)?;
    let ws = app
        .store
        .workspace(&member.loc)
        .await
        .map_err(|e| refuse(e.into()))?
        .ok_or(Error::NotFound("workspace"))
        .map_err(refuse)?;
    if let Some(e) = access::refusal(&ws, member.role, needed) {
        return Err(refuse(e));
    }
    let mut req = req;
    req.extensions_mut().insert(member);
    Ok(req)
}

/// The member of the request's bearer token.
pub(crate) async fn authenticate(app: &App, headers: &HeaderMap) -> Result<ApiMember, Error> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::Unauthorized(
                "send an API token as `Authorization: Bearer dct_...`; create one with \
                 `drivesync tokens create` or on the Settings page"
                    .into(),
            )
        })?;
    let invalid = || {
        Error::Unauthorized(
            "this API token is not valid (mistyped, revoked, or its member was removed from \
             the workspace); create a new one"
                .into(),
        )
    };
    let token_hash = secret::token_hash(token);
    let (owner, user) = token_member(app, &token_hash).await?.ok_or_else(invalid)?;
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let seen = Seen::load(&app.store, &owner.location_id, &user).await?;
    Ok(ApiMember {
        user,
        loc: owner.location_id,
        role: owner.role,
        seen,
        idempotency_key,
        token_hash,
    })
}

/// A JSON body whose refusals are JSON errors too.
pub(crate) struct Body<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<Shared> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &Shared) -> Result<Body<T>, ApiError> {
        axum::Json::<T>::from_request(req, app)
            .await
            .map(|j| Body(j.0))
            .map_err(|e| ApiError(Error::BadRequest(e.body_text())))
    }
}

/// Query parameters whose refusals are JSON errors too.
pub(crate) struct Params<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequestParts<Shared> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Params<T>, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, app)
            .await
            .map(|q| Params(q.0))
            .map_err(|e| ApiError(Error::BadRequest(e.body_text())))
    }
}
