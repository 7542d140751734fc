//! Delivering one webhook: its body (Standard Webhooks JSON or Slack's `{"text": …}`), signed
//! when a secret is set, a timeout per attempt, retries with [`backoff`] on network errors,
//! timeouts and retryable statuses. The same `webhook-id` goes with every attempt (receivers
//! deduplicate on it); each attempt gets a fresh timestamp and signature.
//!
//! Failures are counted ([`Sender::stats`]) and logged once when deliveries start failing
//! and once when they work again, not once per attempt: a receiver that is down for an hour
//! is one warning, not thousands.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::retry::{backoff, retryable};
use crate::sign::{sign, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::{OutboundError, WebhookSecret};

/// What the body looks like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    /// `{"type": …, "timestamp": …, "data": {…, "text": …}}`, the Standard Webhooks payload.
    #[default]
    Standard,
    /// `{"text": …}`: what Slack's incoming webhooks (and Mattermost, Rocket.Chat, Discord's
    /// `/slack` endpoints) take.
    Slack,
}

/// One thing to tell the receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened, dotted: `alert.opened`, `alert.recovered`.
    pub kind: String,
    /// The same in words, for people (Slack's whole message).
    pub text: String,
    /// The details, for programs.
    pub data: serde_json::Value,
}

impl Event {
    pub fn new(kind: &str, text: &str, data: serde_json::Value) -> Event {
        Event {
            kind: kind.to_string(),
            text: text.to_string(),
            data,
        }
    }

    fn body(&self, format: BodyFormat, at: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
        let value = match format {
            BodyFormat::Slack => serde_json::json!({ "text": self.text }),
            BodyFormat::Standard => {
                let mut data = match &self.data {
                    serde_json::Value::Object(m) => m.clone(),
                    serde_json::Value::Null => serde_json::Map::new(),
                    other => {
                        let mut m = serde_json::Map::new();
                        m.insert("value".into(), other.clone());
                        m
                    }
                };
                data.insert("text".into(), self.text.clone().into());
                serde_json::json!({
                    "type": self.kind,
                    "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "data": data,
                })
            }
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }
}

/// Where and how to deliver.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    pub url: Url,
    /// Signs every request when set (Slack ignores the headers; they do no harm).
    pub secret: Option<WebhookSecret>,
    pub format: BodyFormat,
    /// Per attempt, connecting included.
    pub timeout: Duration,
    /// Attempts in all (at least one).
    pub attempts: u32,
    /// The first retry waits up to this; each later one up to twice the one before.
    pub backoff: Duration,
}

impl SenderConfig {
    /// `url` with 10 s per attempt, 4 attempts, backoff from 1 s.
    pub fn new(url: Url, secret: Option<WebhookSecret>, format: BodyFormat) -> SenderConfig {
        SenderConfig {
            url,
            secret,
            format,
            timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_secs(1),
        }
    }
}

/// Deliveries so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    pub delivered: u64,
    /// Attempts that failed (each retry counts).
    pub failed_attempts: u64,
    /// Webhooks given up on.
    pub given_up: u64,
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    failed_attempts: AtomicU64,
    given_up: AtomicU64,
    failing: AtomicBool,
}

/// Sends webhooks to one receiver. Cloning is cheap and shares the counters.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    config: Arc<SenderConfig>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("origin", &self.origin())
            .field("format", &self.config.format)
            .field("signed", &self.config.secret.is_some())
            .finish()
    }
}

impl Sender {
    pub fn new(config: SenderConfig) -> Result<Sender, OutboundError> {
        if !matches!(config.url.scheme(), "http" | "https") {
            return Err(OutboundError::BadUrl(config.url.scheme().to_string()));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("drivesync/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the signed body somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OutboundError::Client(e.to_string()))?;
        Ok(Sender {
            http,
            config: Arc::new(config),
            counters: Arc::default(),
        })
    }

    /// The receiver's scheme, host and port: what logs and errors name (a path may be a
    /// secret, as Slack's are).
    pub fn origin(&self) -> String {
        self.config.url.origin().ascii_serialization()
    }

    pub fn stats(&self) -> DeliveryStats {
        let c = &self.counters;
        DeliveryStats {
            delivered: c.delivered.load(Ordering::Relaxed),
            failed_attempts: c.failed_attempts.load(Ordering::Relaxed),
            given_up: c.given_up.load(Ordering::Relaxed),
        }
    }

    /// Delivers `event`, retrying as configured; its `webhook-id` when taken.
    pub async fn send(&self, event: &Event) -> Result<String, OutboundError> {
        let id = format!("msg_{:032x}", rand::random::<u128>());
        let attempts = self.config.attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=attempts {
            match self.attempt(&id, event).await {
                Ok(()) => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    if self.counters.failing.swap(false, Ordering::Relaxed) {
                        tracing::info!(origin = %self.origin(), "outbound webhooks are delivered again");
                    }
                    return Ok(id);
                }
                Err(Failure::Permanent(status)) => {
                    self.counters
                        .failed_attempts
                        .fetch_add(1, Ordering::Relaxed);
                    return Err(self.give_up(OutboundError::Refused {
                        origin: self.origin(),
                        status,
                    }));
                }
                Err(Failure::Transient(why)) => {
                    self.counters
                        .failed_attempts
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(origin = %self.origin(), attempt, why = %why, "outbound webhook attempt failed");
                    last = why;
                    if attempt < attempts {
                        tokio::time::sleep(backoff(attempt, self.config.backoff)).await;
                    }
                }
            }
        }
        Err(self.give_up(OutboundError::GaveUp {
            origin: self.origin(),
            attempts,
            last,
        }))
    }

    /// Counts a webhook given up on; warns only on the first of a run of failures.
    fn give_up(&self, e: OutboundError) -> OutboundError {
        self.counters.given_up.fetch_add(1, Ordering::Relaxed);
        if !self.counters.failing.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %e, "an outbound webhook was not delivered; further failures are counted, not logged, until one is delivered");
        } else {
            tracing::debug!(error = %e, "an outbound webhook was not delivered");
        }
        e
    }

    async fn attempt(&self, id: &str, event: &Event) -> Result<(), Failure> {
        let now = chrono::Utc::now();
        let body = event.body(self.config.format, now);
        let ts = now.timestamp();
        let mut req = self
            .http
            .post(self.config.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, id)
            .header(TIMESTAMP_HEADER, ts.to_string());
        if let Some(secret) = &self.config.secret {
            req = req.header(SIGNATURE_HEADER, sign(secret, id, ts, &body));
        }
        match req.body(body).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) if retryable(r.status().as_u16()) => {
                Err(Failure::Transient(format!("HTTP {}", r.status().as_u16())))
            }
            Ok(r) => Err(Failure::Permanent(r.status().as_u16())),
            // Without the URL: reqwest's error text would carry its path.
            Err(e) => Err(Failure::Transient(describe(&e))),
        }
    }
}

enum Failure {
    Transient(String),
    Permanent(u16),
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "the request failed".into()
    }
}
