//! Every way a Drive Chat request or admin call can fail, and how each reads to a person
//! (an HTML page) or a program (`{"error": "..."}` with the matching status).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use store::StoreError;

/// A Drive Chat error. The message is what the person or program is told.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing, or not in the caller's workspace: both read the same, so ids of other
    /// workspaces cannot be told apart from ids that do not exist.
    #[error("{0} not found")]
    NotFound(&'static str),

    #[error("sign in first")]
    SignInRequired,

    #[error("{0}")]
    Unauthorized(String),

    #[error("{0}")]
    Forbidden(String),

    #[error("{message}")]
    RateLimited { message: String, retry_after_s: u64 },

    /// The record was deleted in HighLevel. Its page still shows what was known (marked
    /// deleted), but an action on it is refused with this reason rather than "not found":
    /// the person saw it a moment ago.
    #[error("this {0} was deleted in HighLevel, so nothing was sent to it")]
    Deleted(&'static str),

    #[error("{0}")]
    BadRequest(String),

    #[error("{0}")]
    Conflict(String),

    /// Something that existed and can no longer be used (a spent or expired invitation).
    #[error("{0}")]
    Gone(String),

    #[error("the email {email} already belongs to a user; pick another, or change that user")]
    UserExists { email: String },

    #[error("no user has the email {email}; add one with `drivesync users add`")]
    UnknownUser { email: String },

    #[error(
        "workspace {location_id} does not exist; connect the location and create its workspace \
         first (`drivesync users add` creates it for a connected location)"
    )]
    UnknownWorkspace { location_id: String },

    #[error(
        "location {location_id} is not connected; connect it first (`drivesync connect`), then \
         create its workspace"
    )]
    NotConnected { location_id: String },

    #[error("{email} is not a member of workspace {location_id}; add them to it first")]
    NotAMember { email: String, location_id: String },

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::SignInRequired | Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Deleted(_) | Error::Gone(_) => StatusCode::GONE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::BadRequest(_) | Error::Store(StoreError::InvalidArgument(_)) => {
                StatusCode::BAD_REQUEST
            }
            Error::Conflict(_) | Error::UserExists { .. } => StatusCode::CONFLICT,
            Error::UnknownUser { .. }
            | Error::UnknownWorkspace { .. }
            | Error::NotConnected { .. }
            | Error::NotAMember { .. } => StatusCode::NOT_FOUND,
            Error::Store(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the caller is told. Server-side failures are logged in full and told briefly:
    /// their detail (SQL, file paths) is for the operator.
    pub fn public_message(&self) -> String {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
            "Something went wrong on our side; try again in a moment.".into()
        } else {
            self.to_string()
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_s, .. } => Some(*retry_after_s),
            _ => None,
        }
    }
}

/// Web pages: a small page saying what went wrong; "sign in first" sends to the sign-in page.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if matches!(self, Error::SignInRequired) {
            return Redirect::to("/signin").into_response();
        }
        let status = self.status();
        let retry = self.retry_after();
        let page = crate::ui::layout::error_page(status, &self.public_message());
        let mut response = (status, page).into_response();
        add_retry_after(&mut response, retry);
        response
    }
}

/// The API's error: JSON `{"error": "..."}` with the status of the underlying [`Error`].
#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let retry = self.0.retry_after();
        let body = serde_json::json!({ "error": self.0.public_message() });
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        add_retry_after(&mut response, retry);
        response
    }
}

fn add_retry_after(response: &mut Response, seconds: Option<u64>) {
    if let Some(s) = seconds {
        if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
}
