//! API authentication: the bearer token names one member of one workspace.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use store::ChatUser;

use crate::context::Seen;
use crate::{secret, ApiError, Error, Shared};

/// The member an API request acts as, and their workspace.
pub(crate) struct ApiMember {
    pub(crate) user: ChatUser,
    pub(crate) loc: String,
    /// The workspace location's users, fields and zone as this member sees them.
    pub(crate) seen: Seen,
    /// The request's `Idempotency-Key`, if sent.
    pub(crate) idempotency_key: Option<String>,
}

impl FromRequestParts<Shared> for ApiMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<ApiMember, ApiError> {
        let token = parts
            .headers
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
                "this API token is not valid (mistyped, or its member was removed from the \
                 workspace); create a new one"
                    .into(),
            )
        };
        let owner = app
            .store
            .api_token_owner(&secret::token_hash(token))
            .await?
            .ok_or_else(invalid)?;
        let user = app
            .store
            .chat_user(owner.user_id)
            .await?
            .ok_or_else(invalid)?;
        let idempotency_key = parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let seen = Seen::load(&app.store, &owner.location_id, &user).await?;
        Ok(ApiMember {
            user,
            loc: owner.location_id,
            seen,
            idempotency_key,
        })
    }
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
