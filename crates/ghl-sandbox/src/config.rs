//! How a sandbox is set up: its seed data, the registered app, token lifetimes, rate limits,
//! webhook delivery and faults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::faults::FaultSettings;

/// The OAuth app HighLevel's marketplace would hold for drivesync.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub app_id: String,
    pub client_id: String,
    /// Printed at start on purpose: it is the sandbox's own demo app, not a real secret.
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
}

pub const ALL_SCOPES: &[&str] = &[
    "contacts.readonly",
    "contacts.write",
    "calendars.readonly",
    "calendars/events.readonly",
    "calendars/events.write",
    "locations.readonly",
    "locations/customFields.readonly",
    "locations/tasks.readonly",
    "users.readonly",
    "oauth.readonly",
    "oauth.write",
];

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            app_id: "sandboxapp0000000001".into(),
            client_id: "sandboxapp0000000001-drivesync".into(),
            client_secret: "sandbox-client-secret-change-me".into(),
            redirect_uris: vec!["http://127.0.0.1:8080/oauth/callback".into()],
            scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RateLimitConfig {
    /// Requests allowed per interval per (app, location); HighLevel's burst limit is 100.
    pub burst: u32,
    pub interval: Duration,
    /// Requests per UTC day per (app, location); HighLevel's is 200,000.
    pub daily: u64,
    /// Off: no limiting at all (headers still sent), for client-overhead benchmarks.
    pub enabled: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            burst: 100,
            interval: Duration::from_secs(10),
            daily: 200_000,
            enabled: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: Option<String>,
    /// HighLevel retries a delivery answered with 429 at most this many times.
    pub max_retries: u32,
    /// First retry delay; doubled each retry. Short by default so tests finish quickly;
    /// HighLevel's own spacing is about 10 minutes.
    pub retry_base: Duration,
    pub timeout: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Also sign with the legacy `x-wh-signature` (RSA-SHA256). HighLevel stopped sending it on
    /// 1 July 2026 and signs with `x-ghl-signature` (Ed25519) only, which is the default here.
    pub legacy_signature: bool,
    /// Add the fields the sandbox knows but HighLevel's webhook schemas lack (`dateUpdated` on
    /// contact events), for experiments. Off: every body carries exactly its schema's
    /// properties plus `timestamp` and `webhookId`.
    pub extras: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: None,
            max_retries: 6,
            retry_base: Duration::from_millis(200),
            timeout: Duration::from_secs(10),
            concurrency: 16,
            legacy_signature: false,
            extras: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub addr: SocketAddr,
    pub seed: u64,
    pub locations: usize,
    pub contacts_per_location: usize,
    /// Midnight UTC the seeded dates hang from; `None` is the day the sandbox starts.
    pub anchor_day: Option<i64>,
    pub app: AppConfig,
    pub access_token_ttl: Duration,
    pub rate_limit: RateLimitConfig,
    pub webhooks: WebhookConfig,
    /// Changes per second made by the built-in activity generator (0: off).
    pub activity_rate: f64,
    pub faults: FaultSettings,
    /// Where the webhook signing keys are kept between runs.
    pub key_dir: PathBuf,
    /// Largest request body accepted.
    pub body_limit: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8090)),
            seed: 1,
            locations: 3,
            contacts_per_location: 1000,
            anchor_day: None,
            app: AppConfig::default(),
            access_token_ttl: Duration::from_secs(86_399),
            rate_limit: RateLimitConfig::default(),
            webhooks: WebhookConfig::default(),
            activity_rate: 0.0,
            faults: FaultSettings::default(),
            key_dir: PathBuf::from("drivesync-data/sandbox-keys"),
            body_limit: 1024 * 1024,
        }
    }
}
