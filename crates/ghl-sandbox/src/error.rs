//! HighLevel's error bodies: `{statusCode, message, error}`, with `message` an array of
//! strings for validation failures (422), as in `shared/ghl/common/common-schemas.json`.
//! Every error body also carries the request's `traceId`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

tokio::task_local! {
    /// The trace id of the request being served; set by the trace middleware.
    pub static TRACE_ID: String;
}

pub fn current_trace_id() -> Option<String> {
    TRACE_ID.try_with(|t| t.clone()).ok()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: Message,
    /// Extra top-level fields (e.g. `meta` of a duplicate-contact refusal, `error_description`).
    pub extra: Map<String, Value>,
    pub error: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: Message::One(message.into()),
            extra: Map::new(),
            error: status.canonical_reason().map(str::to_string),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn unprocessable(messages: Vec<String>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: Message::Many(messages),
            extra: Map::new(),
            error: Some("Unprocessable Entity".into()),
        }
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    pub fn with_error(mut self, error: &str) -> Self {
        self.error = Some(error.to_string());
        self
    }

    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("statusCode".into(), json!(self.status.as_u16()));
        m.insert(
            "message".into(),
            match &self.message {
                Message::One(s) => json!(s),
                Message::Many(v) => json!(v),
            },
        );
        if let Some(e) = &self.error {
            m.insert("error".into(), json!(e));
        }
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        if let Some(t) = current_trace_id() {
            m.insert("traceId".into(), json!(t));
        }
        Value::Object(m)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body())).into_response();
        res.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        res
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Message::One(s) => write!(f, "{} {}", self.status.as_u16(), s),
            Message::Many(v) => write!(f, "{} {}", self.status.as_u16(), v.join("; ")),
        }
    }
}

impl std::error::Error for ApiError {}
