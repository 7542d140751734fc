//! Shared helpers of the `ghl` integration tests: a real HighLevel sandbox started in-process
//! on an OS-chosen loopback port, its admin routes, and clients bound to it.
#![allow(dead_code)]

use ghl::{ClientConfig, GhlClient, StaticTokens};
use ghl_sandbox::{RunningSandbox, SandboxConfig};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::path::PathBuf;
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

/// `shared/ghl/` beside the repository (`../shared/ghl` from the workspace root), or
/// `shared/ghl` inside it.
pub fn ghl_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    for candidate in [root.join("../shared/ghl"), root.join("shared/ghl")] {
        if candidate.join("apps/contacts.json").exists() {
            return candidate;
        }
    }
    panic!("HighLevel's reference files were not found at ../shared/ghl beside the repository nor at shared/ghl inside it");
}

pub fn read_spec(rel: &str) -> Value {
    let path = ghl_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The signing keys every test sandbox shares (generated once per target directory).
pub fn key_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sandbox-keys")
}

/// Creates the keys once per process before any sandbox starts: the sandbox's key writer
/// names its temporary file after the process, so two threads creating them at once could
/// interleave their writes.
fn ensure_keys() {
    static ONCE: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut done = ONCE.lock().unwrap_or_else(|p| p.into_inner());
    if !*done {
        ghl_sandbox::Signer::load_or_create(&key_dir()).expect("sandbox signing keys");
        *done = true;
    }
}

pub fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        locations: 3,
        contacts_per_location: 30,
        seed: 7,
        key_dir: key_dir(),
        ..Default::default()
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
    ensure_keys();
    let running = ghl_sandbox::start(cfg).await.expect("sandbox starts");
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
