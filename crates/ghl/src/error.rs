//! The client's errors: one typed variant per thing a caller handles differently, each saying
//! what happened and what to do, and carrying HighLevel's `traceId` where there is one.
//! No variant ever holds a token or a secret.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum GhlError {
    #[error("HighLevel refused the token for location {location} ({message}); reconnect the location with `drivesync connect`{}", trace(.trace_id))]
    Unauthorized {
        location: String,
        message: String,
        trace_id: Option<String>,
    },
    #[error("the token for location {location} lacks the scope `{scope}` needed by {operation}; reconnect with `{scope}` added to the app's scopes")]
    ScopeMissing {
        location: String,
        operation: String,
        scope: String,
    },
    #[error("{what} was not found in HighLevel{}", trace(.trace_id))]
    NotFound {
        what: String,
        trace_id: Option<String>,
    },
    #[error("HighLevel refused the request as invalid: {}{}", crate::http::snippet(&.messages.join("; ")), trace(.trace_id))]
    Validation {
        status: u16,
        messages: Vec<String>,
        trace_id: Option<String>,
    },
    #[error("HighLevel refused access to location {location}: {message}{}", trace(.trace_id))]
    Forbidden {
        location: String,
        message: String,
        trace_id: Option<String>,
    },
    #[error("HighLevel kept answering 429 for location {location} after {attempts} attempts; try again later{}", trace(.trace_id))]
    RateLimited {
        location: String,
        attempts: u32,
        trace_id: Option<String>,
    },
    #[error("the daily request budget of location {location} is used up; it renews in {}", human(.resets_in))]
    DailyBudgetExhausted {
        location: String,
        resets_in: Duration,
    },
    #[error("HighLevel answered {status} (server error) after {attempts} attempts{}", trace(.trace_id))]
    Server {
        status: u16,
        attempts: u32,
        trace_id: Option<String>,
    },
    #[error("HighLevel answered {status} unexpectedly: {message}{}", trace(.trace_id))]
    Unexpected {
        status: u16,
        message: String,
        trace_id: Option<String>,
    },
    #[error("could not reach HighLevel at {url}: {reason}; check the network and the base URL")]
    Transport { url: String, reason: String },
    #[error("a {operation} request may have reached HighLevel but its answer was lost ({reason}); it was not retried because a retry could create a duplicate — check in HighLevel before repeating it")]
    Uncertain { operation: String, reason: String },
    #[error("HighLevel's answer to {operation} could not be read at `{path}`: {reason}")]
    Decode {
        operation: String,
        path: String,
        reason: String,
    },
    #[error("location {location} must be reconnected: HighLevel no longer accepts its refresh token; run `drivesync connect` for it")]
    NeedsReauth { location: String },
    #[error("location {location} is not connected; run `drivesync connect` first")]
    NotConnected { location: String },
    #[error("the OAuth token endpoint refused the request: {error}: {description}")]
    OAuth { error: String, description: String },
    #[error("the OAuth callback's state does not match the one sent; the authorization was not started here (or was started twice) — start again")]
    StateMismatch,
    #[error("token storage failed: {0}")]
    Storage(String),
    #[error("invalid request: {0}")]
    InvalidInput(String),
}

fn trace(t: &Option<String>) -> String {
    match t {
        Some(t) => format!(" (traceId {t})"),
        None => String::new(),
    }
}

fn human(d: &Duration) -> String {
    let s = d.as_secs();
    format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
}

impl GhlError {
    /// The HTTP status HighLevel answered with, for the errors that are its answer. (A missing
    /// scope has none: it is usually found before anything is sent.)
    pub fn status(&self) -> Option<u16> {
        match self {
            GhlError::Unauthorized { .. } => Some(401),
            GhlError::Forbidden { .. } => Some(403),
            GhlError::NotFound { .. } => Some(404),
            GhlError::RateLimited { .. } => Some(429),
            GhlError::Validation { status, .. }
            | GhlError::Server { status, .. }
            | GhlError::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn trace_id(&self) -> Option<&str> {
        match self {
            GhlError::Unauthorized { trace_id, .. }
            | GhlError::NotFound { trace_id, .. }
            | GhlError::Validation { trace_id, .. }
            | GhlError::Forbidden { trace_id, .. }
            | GhlError::RateLimited { trace_id, .. }
            | GhlError::Server { trace_id, .. }
            | GhlError::Unexpected { trace_id, .. } => trace_id.as_deref(),
            _ => None,
        }
    }
}

pub type Result<T, E = GhlError> = std::result::Result<T, E>;
