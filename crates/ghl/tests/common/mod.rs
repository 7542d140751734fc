//! Shared helpers of the `ghl` integration tests: a real HighLevel sandbox started in-process
//! on an OS-chosen loopback port, its admin routes, and clients bound to it.
#![allow(dead_code)]

use ghl::{ClientConfig, GhlClient, StaticTokens};
use ghl_sandbox::{RunningSandbox, SandboxConfig};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Every scope the sandbox knows.
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

#[allow(unused_imports)] // not every test binary reads the reference files
pub use testkit::reference::{ghl_dir, read_json as read_spec};

pub fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        locations: 3,
        contacts_per_location: 30,
        seed: 7,
        ..testkit::sandbox::config(testkit::key_dir!())
    }
}

/// A running sandbox with its locations and an HTTP client for its admin routes.
pub struct Env {
    pub running: RunningSandbox,
    pub base: String,
    pub http: reqwest::Client,
    pub locations: Vec<String>,
    pub company_id: String,
}

pub async fn start() -> Env {
    start_with(sandbox_config()).await
}

pub async fn start_with(cfg: SandboxConfig) -> Env {
    let running = testkit::sandbox::start(cfg).await;
    let base = running.base_url();
    let (locations, company_id) = running.sandbox.read(|w| {
        (
            w.locations.keys().map(|k| k.to_string()).collect(),
            w.company_id.to_string(),
        )
    });
    Env {
        running,
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        locations,
        company_id,
    }
}

/// A client configuration for tests: the sandbox's address and backoffs of milliseconds.
pub fn fast_config(base: &str) -> ClientConfig {
    let mut c = ClientConfig::new(base.parse().unwrap());
    c.timeout = Duration::from_secs(10);
    c.max_attempts = 3;
    c.max_rate_limited_attempts = 12;
    c.backoff_base = Duration::from_millis(5);
    c.backoff_max = Duration::from_millis(20);
    c
}

pub fn scopes(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn sandbox(&self) -> &ghl_sandbox::Sandbox {
        &self.running.sandbox
    }

    /// POSTs to an admin route and returns its JSON; panics unless it succeeded.
    pub async fn admin(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "admin {path} answered {status}: {v}");
        v
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        assert!(
            r.status().is_success(),
            "admin {path} answered {}",
            r.status()
        );
        r.json().await.unwrap()
    }

    pub async fn faults(&self, body: Value) -> Value {
        self.admin("/_sandbox/faults", body).await
    }

    pub async fn limits(&self, body: Value) -> Value {
        self.admin("/_sandbox/limits", body).await
    }

    pub async fn counters(&self) -> Value {
        self.admin_get("/_sandbox/counters").await
    }

    /// A top-level number of `/_sandbox/counters` (`rateLimited`, `refreshes`, …).
    pub async fn counter(&self, name: &str) -> u64 {
        let c = self.counters().await;
        c[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name} in {c}"))
    }

    /// The sandbox's request log of one location: `{atMs, method, route, status, …}`.
    pub async fn requests(&self, location: &str) -> Vec<Value> {
        let v = self
            .admin_get(&format!("/_sandbox/requests?locationId={location}"))
            .await;
        v["requests"].as_array().cloned().unwrap_or_default()
    }

    /// A Private Integration Token minted through the admin route.
    pub async fn pit(&self, location: &str, scopes: Option<&[&str]>) -> String {
        let mut body = json!({ "locationId": location });
        if let Some(s) = scopes {
            body["scopes"] = json!(s);
        }
        self.admin("/_sandbox/pit", body).await["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A PIT minted directly in the sandbox's token table.
    pub fn mint_pit(&self, location: &str, scopes: &[&str]) -> String {
        self.sandbox()
            .auth
            .lock()
            .mint_pit(location, &self.company_id, self::scopes(scopes))
    }

    /// A client whose token for each of `locations` is a full-scope PIT, with the scopes known.
    pub fn client(&self, config: ClientConfig) -> GhlClient {
        let tokens = StaticTokens::default();
        for l in &self.locations {
            let pit = self.mint_pit(l, ALL_SCOPES);
            tokens.insert(l, SecretString::from(pit), Some(scopes(ALL_SCOPES)));
        }
        GhlClient::new(config, Arc::new(tokens)).unwrap()
    }

    /// `client(fast_config(..))`.
    pub fn fast_client(&self) -> GhlClient {
        self.client(fast_config(&self.base))
    }

    /// Contact ids of a location by the sandbox's own data, oldest first.
    pub fn contact_ids(&self, location: &str) -> Vec<String> {
        self.sandbox().read(|w| {
            w.location(location)
                .unwrap()
                .by_added
                .iter()
                .map(|(_, id)| id.to_string())
                .collect()
        })
    }

    /// The calendar ids of a location.
    pub fn calendars(&self, location: &str) -> Vec<String> {
        self.sandbox().read(|w| {
            w.location(location)
                .unwrap()
                .calendars
                .iter()
                .map(|c| c.id.to_string())
                .collect()
        })
    }
}

/// Waits (bounded) until `f` is true; returns whether it became true.
pub async fn wait_until<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + timeout;
    loop {
        if f().await {
            return true;
        }
        if tokio::time::Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
