//! The request pipeline every operation goes through: scope check, the location's limiter,
//! `Version` and bearer headers, timeouts, retries, and one place where HighLevel's answers
//! become typed errors.

use bytes::Bytes;
use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

use crate::error::{GhlError, Result};
use crate::http::{join_path, message_of, messages_of, snippet, API_VERSION};
use crate::operations::{Operation, Retry};
use crate::ratelimit::{Priority, RateLimits};
use crate::token::{AccessToken, TokenProvider};

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: Url,
    /// Per request.
    pub timeout: Duration,
    /// Attempts for a request answered 5xx or not at all (when a retry is safe).
    pub max_attempts: u32,
    /// Attempts for a request answered 429.
    pub max_rate_limited_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl ClientConfig {
    pub fn new(base_url: Url) -> Self {
        ClientConfig {
            base_url,
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            max_rate_limited_attempts: 12,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(20),
        }
    }
}

/// HighLevel's answer to a request that succeeded.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub trace_id: Option<String>,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self, operation: &str) -> Result<T> {
        let body: &[u8] = if self.body.is_empty() {
            b"{}"
        } else {
            &self.body
        };
        let mut de = serde_json::Deserializer::from_slice(body);
        // Both can quote the answer (a map key, a string value): keep them short.
        serde_path_to_error::deserialize(&mut de).map_err(|e| GhlError::Decode {
            operation: operation.to_string(),
            path: snippet(&e.path().to_string()),
            reason: snippet(&e.inner().to_string()),
        })
    }
}

/// HighLevel's answer to one write (any request but a GET) made inside
/// [`with_write_receipts`]: enough for an audit trail to say what HighLevel said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteReceipt {
    pub operation: String,
    pub status: u16,
    pub trace_id: Option<String>,
}

tokio::task_local! {
    static RECEIPTS: std::cell::RefCell<Vec<WriteReceipt>>;
}

/// Runs `work`, collecting the [`WriteReceipt`] of every write it got a success answer to,
/// in order. The typed operations return HighLevel's records, not its answers; this is how a
/// caller that must account for a write (the write-back) learns its status and `traceId`.
pub async fn with_write_receipts<F: std::future::Future>(
    work: F,
) -> (F::Output, Vec<WriteReceipt>) {
    RECEIPTS
        .scope(std::cell::RefCell::new(Vec::new()), async {
            let out = work.await;
            (out, RECEIPTS.with(|r| r.take()))
        })
        .await
}

/// Notes a successful write for [`with_write_receipts`], when one is collecting.
fn receipt(op: &Operation, status: u16, trace_id: &Option<String>) {
    if op.http_method() == reqwest::Method::GET {
        return;
    }
    let _ = RECEIPTS.try_with(|r| {
        r.borrow_mut().push(WriteReceipt {
            operation: op.id.to_string(),
            status,
            trace_id: trace_id.clone(),
        })
    });
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    tokens: Arc<dyn TokenProvider>,
    limits: RateLimits,
}

/// A HighLevel client for any number of locations; cheap to clone.
#[derive(Clone)]
pub struct GhlClient {
    inner: Arc<Inner>,
}

impl GhlClient {
    pub fn new(config: ClientConfig, tokens: Arc<dyn TokenProvider>) -> Result<GhlClient> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("drivesync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GhlError::InvalidInput(format!("HTTP client: {e}")))?;
        Ok(GhlClient {
            inner: Arc::new(Inner {
                http,
                config,
                tokens,
                limits: RateLimits::default(),
            }),
        })
    }

    pub fn limits(&self) -> &RateLimits {
        &self.inner.limits
    }

    /// Runs `op` for `location` with `path` already filled in, at [`Priority::Sync`].
    pub async fn execute(
        &self,
        location: &str,
        op: &Operation,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Answer> {
        self.execute_with_priority(location, Priority::default(), op, path, query, body)
            .await
    }

    /// [`execute`](Self::execute) with every attempt queued at `priority` in the location's
    /// limiter.
    pub async fn execute_with_priority(
        &self,
        location: &str,
        priority: Priority,
        op: &Operation,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Answer> {
        let mut token = self.inner.tokens.token(location).await?;
        check_scope(location, op, &token)?;
        let url = self.url(path, query)?;
        let limiter = self.inner.limits.for_location(location);
        let cfg = &self.inner.config;
        let (mut attempts, mut limited, mut refreshed) = (0u32, 0u32, false);
        // An earlier attempt may have been carried out: its answer was lost, or was a 5xx.
        let mut maybe_done = false;
        loop {
            attempts += 1;
            limiter.acquire_with(priority).await?;
            let mut req = self
                .inner
                .http
                .request(op.http_method(), url.clone())
                .header("Version", API_VERSION)
                .header("Accept", "application/json")
                .bearer_auth(token.secret.expose_secret());
            if let Some(b) = body {
                req = req.json(b);
            }
            let res = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    // Refused before connecting: nothing reached HighLevel, always safe.
                    let nothing_sent = e.is_connect();
                    if (op.retry == Retry::Safe || nothing_sent) && attempts < cfg.max_attempts {
                        maybe_done |= !nothing_sent;
                        tokio::time::sleep(self.backoff(attempts, None)).await;
                        continue;
                    }
                    return Err(if op.retry == Retry::Safe || nothing_sent {
                        GhlError::Transport {
                            url: url.to_string(),
                            reason: e.to_string(),
                        }
                    } else {
                        GhlError::Uncertain {
                            operation: op.id.to_string(),
                            reason: e.to_string(),
                        }
                    });
                }
            };
            limiter.observe(res.headers()).await;
            let status = res.status();
            let headers = res.headers().clone();
            let trace_id = trace_id(&headers);
            let body_bytes = res.bytes().await.unwrap_or_default();
            if status.is_success() {
                receipt(op, status.as_u16(), &trace_id);
                return Ok(Answer {
                    status: status.as_u16(),
                    headers,
                    body: body_bytes,
                    trace_id,
                });
            }
            let v: Value = serde_json::from_slice(&body_bytes).unwrap_or(Value::Null);
            let message =
                message_of(&v).unwrap_or_else(|| snippet(&String::from_utf8_lossy(&body_bytes)));
            match status {
                StatusCode::UNAUTHORIZED if message.contains("not authorized for this scope") => {
                    return Err(GhlError::ScopeMissing {
                        location: location.to_string(),
                        operation: op.id.to_string(),
                        scope: op.scope.to_string(),
                    })
                }
                StatusCode::UNAUTHORIZED if !refreshed => {
                    refreshed = true;
                    token = self.inner.tokens.refresh(location, &token).await?;
                    continue;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(GhlError::Unauthorized {
                        location: location.to_string(),
                        message,
                        trace_id,
                    })
                }
                StatusCode::FORBIDDEN => {
                    return Err(GhlError::Forbidden {
                        location: location.to_string(),
                        message,
                        trace_id,
                    })
                }
                // A retried DELETE whose first attempt went through finds nothing: done. (Not
                // after a 401 or a refused connection: those attempts did nothing.)
                StatusCode::NOT_FOUND if deletes_a_record(op) && maybe_done => {
                    return Ok(Answer {
                        status: 200,
                        headers,
                        body: Bytes::from_static(br#"{"succeeded":true}"#),
                        trace_id,
                    })
                }
                StatusCode::NOT_FOUND => {
                    return Err(GhlError::NotFound {
                        what: message,
                        trace_id,
                    })
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    if daily_exhausted(&headers, &message) {
                        limiter.exhaust_daily().await;
                        return Err(GhlError::DailyBudgetExhausted {
                            location: location.to_string(),
                            resets_in: crate::ratelimit::until_midnight_utc(),
                        });
                    }
                    limited += 1;
                    let wait = retry_after(&headers);
                    limiter.pause(wait).await;
                    tracing::debug!(location, op = op.id, "429 from HighLevel; location paused");
                    if limited >= cfg.max_rate_limited_attempts {
                        return Err(GhlError::RateLimited {
                            location: location.to_string(),
                            attempts: limited,
                            trace_id,
                        });
                    }
                    attempts -= 1;
                    continue;
                }
                s if s.is_server_error() => {
                    if op.retry == Retry::Safe && attempts < cfg.max_attempts {
                        maybe_done = true;
                        tokio::time::sleep(self.backoff(attempts, retry_after(&headers))).await;
                        continue;
                    }
                    return Err(GhlError::Server {
                        status: s.as_u16(),
                        attempts,
                        trace_id,
                    });
                }
                s if s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY => {
                    return Err(GhlError::Validation {
                        status: s.as_u16(),
                        messages: messages_of(&v, &message),
                        trace_id,
                    })
                }
                s => {
                    return Err(GhlError::Unexpected {
                        status: s.as_u16(),
                        message,
                        trace_id,
                    })
                }
            }
        }
    }

    /// The base URL's own path is kept (`https://proxy.example/ghl` + `/contacts/…`).
    fn url(&self, path: &str, query: &[(String, String)]) -> Result<Url> {
        let mut url = join_path(&self.inner.config.base_url, path)
            .map_err(|e| GhlError::InvalidInput(format!("path {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter());
        }
        Ok(url)
    }

    /// Full-jitter exponential backoff, or the server's `Retry-After` when it gives one.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d.min(self.inner.config.backoff_max);
        }
        let cfg = &self.inner.config;
        let cap = cfg
            .backoff_base
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(cfg.backoff_max);
        let ms = rand::thread_rng().gen_range(0..=cap.as_millis().max(1) as u64);
        Duration::from_millis(ms)
    }
}

/// DELETEs of a whole record: a 404 after a lost answer means the first attempt did it. For
/// DELETEs of part of a contact (tags, followers, campaigns, workflows) a 404 means the contact
/// itself is gone, which the caller must hear.
fn deletes_a_record(op: &Operation) -> bool {
    matches!(
        op.id,
        "delete-contact"
            | "delete-task"
            | "delete-note"
            | "delete-event"
            | "delete-appointment-note"
    )
}

fn check_scope(location: &str, op: &Operation, token: &AccessToken) -> Result<()> {
    match &token.scopes {
        Some(scopes) if !scopes.iter().any(|s| s == op.scope) => Err(GhlError::ScopeMissing {
            location: location.to_string(),
            operation: op.id.to_string(),
            scope: op.scope.to_string(),
        }),
        _ => Ok(()),
    }
}

/// HighLevel's trace ids are UUIDs; anything empty or absurdly long is not one, and would
/// make every error message as long as the header.
fn trace_id(h: &HeaderMap) -> Option<String> {
    ["traceid", "x-trace-id", "x-request-id"]
        .iter()
        .find_map(|k| {
            h.get(*k)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.len() <= 128)
                .map(str::to_string)
        })
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    h.get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)))
}

fn daily_exhausted(h: &HeaderMap, message: &str) -> bool {
    let remaining = h
        .get("x-ratelimit-daily-remaining")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    remaining == Some(0) || message.to_ascii_lowercase().contains("daily")
}
