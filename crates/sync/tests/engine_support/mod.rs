//! Setup shared by the engine tests: the HighLevel sandbox (in-process, on 127.0.0.1:0) with
//! its webhooks pointed at the ingest, each sandbox location connected in the store with a
//! Private Integration Token, and a client whose tokens come from the store — as
//! `drivesync serve` runs it.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::sync::Arc;
use std::time::Duration;

use ghl_sandbox::{RateLimitConfig, RunningSandbox, SandboxConfig};
use serde_json::Value;
use store::Store;
use sync::config::EngineConfig;

use crate::common;

pub struct World {
    pub sandbox: RunningSandbox,
    pub base: String,
    pub locations: Vec<String>,
    pub client: ghl::GhlClient,
    pub http: reqwest::Client,
}

/// Starts a sandbox with `locations` × `contacts` seeded records, webhooks to `webhook_url`
/// (if any), and `burst` requests per 10 s per location; connects every location in `store`.
pub async fn world(
    store: &Store,
    webhook_url: Option<String>,
    locations: usize,
    contacts: usize,
    burst: u32,
) -> World {
    let _ = common::signer();
    let mut cfg = SandboxConfig {
        locations,
        contacts_per_location: contacts,
        rate_limit: RateLimitConfig {
            burst,
            ..RateLimitConfig::default()
        },
        ..testkit::sandbox::config(testkit::key_dir!())
    };
    cfg.webhooks.url = webhook_url;
    cfg.webhooks.concurrency = 32;
    let sandbox = testkit::sandbox::start(cfg).await;
    let base = sandbox.base_url();
    let http = common::client();
    let ids = testkit::sandbox::location_ids(&http, &base).await;
    for id in &ids {
        connect(store, &http, &base, id, None).await;
    }
    let url = url::Url::parse(&base).expect("base url");
    // A Private Integration Token needs no app; the client still wants one to exist.
    let app = ghl::OAuthApp::new(
        "unset",
        String::new().into(),
        "http://127.0.0.1/unused",
        Vec::new(),
        url.clone(),
        url.clone(),
    )
    .expect("app");
    let tokens = ghl::OAuthTokens::new(
        Arc::new(store::GhlTokens::new(Arc::new(store.clone()))),
        app,
    );
    let client =
        ghl::GhlClient::new(ghl::ClientConfig::new(url), Arc::new(tokens)).expect("client");
    World {
        sandbox,
        base,
        locations: ids,
        client,
        http,
    }
}

/// Connects `location` in `store` with a Private Integration Token from the sandbox, granted
/// `scopes` (`None`: every scope the sandbox has), as `drivesync connect --token` would.
pub async fn connect(
    store: &Store,
    http: &reqwest::Client,
    base: &str,
    location: &str,
    scopes: Option<&[&str]>,
) {
    let pit = testkit::sandbox::mint_pit(http, base, location, scopes).await;
    store
        .save_location(&store::NewLocation {
            location_id: location.to_string(),
            company_id: None,
            name: None,
            auth: store::AuthKind::PrivateIntegration,
            user_type: ghl::UserType::Location,
            scopes: pit.scopes,
            access_token: pit.token.into(),
            refresh_token: None,
            expires_at_ms: None,
        })
        .await
        .expect("save the location");
}

impl World {
    pub async fn admin(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/_sandbox/{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("admin request");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap_or(Value::Null)
    }

    pub fn changes(&self) -> u64 {
        self.sandbox
            .sandbox
            .counters
            .changes
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// An engine configuration for tests: quick retries, no schedule unless asked.
pub fn config(wake: Option<Arc<tokio::sync::Notify>>) -> EngineConfig {
    EngineConfig {
        workers: 8,
        lease: Duration::from_secs(10),
        retry: store::RetryPolicy {
            max_attempts: 12,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        },
        idle_poll: Duration::from_millis(100),
        schedule: false,
        requeue_interval: Duration::from_millis(500),
        wake,
        ..EngineConfig::default()
    }
}

/// Waits until no job is pending or running (several looks in a row), or panics after
/// `limit`.
pub async fn wait_quiet(store: &Store, limit: Duration) {
    let end = tokio::time::Instant::now() + limit;
    let mut quiet = 0;
    loop {
        let d = store.queue_depth(None).await.expect("queue depth");
        if d.pending == 0 && d.running == 0 {
            quiet += 1;
            if quiet >= 3 {
                return;
            }
        } else {
            quiet = 0;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "the queue did not drain in {limit:?}: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `cond` holds, or panics with `what` after `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + limit;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < end,
            "{what}: not within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs a full reconcile of `location` through the engine's queue and waits for it.
pub async fn reconcile(engine: &sync::engine::Engine, store: &Store, location: &str) {
    let end = tokio::time::Instant::now() + Duration::from_secs(90);
    let id = loop {
        if let Some(id) = engine
            .request_reconcile(location)
            .await
            .expect("queue a reconcile")
        {
            break id;
        }
        // One is already queued or running: let it finish, then ask for ours.
        assert!(
            tokio::time::Instant::now() < end,
            "could not queue a reconcile"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    loop {
        match store.job(id).await.expect("read the job") {
            None => return,
            Some(j) => {
                assert!(
                    j.state != store::JobState::Dead,
                    "the reconcile died: {:?}",
                    j.last_error
                );
                assert!(
                    tokio::time::Instant::now() < end,
                    "the reconcile did not finish: {j:?}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
