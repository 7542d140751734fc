//! End to end against the HighLevel sandbox, started in-process with its webhooks pointed at
//! the ingest: changes made through the sandbox's API arrive signed and are stored once each,
//! duplicated deliveries included, and webhooks refused with 429 while the store is locked
//! are stored from HighLevel's retries once it is free again.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{config, serve, Env, Ingest};
use ghl_sandbox::{RunningSandbox, SandboxConfig};
use serde_json::{json, Value};
use sync::ingest::Refusal;

async fn start_sandbox(ingest: &Ingest) -> RunningSandbox {
    // The ingest trusts the keys in this directory (loaded by `config()`), and the sandbox
    // signs with them.
    let _ = common::signer();
    let mut cfg = SandboxConfig {
        locations: 1,
        contacts_per_location: 5,
        ..testkit::sandbox::config(testkit::key_dir!())
    };
    cfg.webhooks.url = Some(ingest.url.clone());
    cfg.webhooks.retry_base = Duration::from_millis(200);
    let sb = testkit::sandbox::start(cfg).await;
    // Connected, so the ingest stores its webhooks (it drops those of other locations).
    let ids: Vec<String> = sb
        .sandbox
        .read(|w| w.locations.keys().map(|k| k.to_string()).collect());
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    common::connect(&ingest.store, &ids).await.expect("connect");
    sb
}

/// A client of the sandbox's API for its one location.
struct Api {
    base: String,
    location: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn new(sb: &RunningSandbox) -> Api {
        let http = common::client();
        let base = sb.base_url();
        let location = testkit::sandbox::location_ids(&http, &base).await[0].clone();
        let token = testkit::sandbox::mint_pit(&http, &base, &location, None)
            .await
            .token;
        Api {
            base,
            location,
            token,
            http,
        }
    }

    async fn create_contact(&self, n: usize) -> String {
        let res = self
            .http
            .post(format!("{}/contacts/", self.base))
            .bearer_auth(&self.token)
            .header("Version", "2021-07-28")
            .json(&json!({
                "locationId": self.location,
                "firstName": format!("Ingest{n}"),
                "email": format!("ingest-{n}-{:x}@example.com", rand::random::<u64>()),
            }))
            .send()
            .await
            .expect("create contact");
        assert!(res.status().is_success(), "{}", res.status());
        let v: Value = res.json().await.expect("json");
        v["contact"]["id"].as_str().expect("contact id").to_string()
    }

    async fn update_contact(&self, id: &str) {
        let res = self
            .http
            .put(format!("{}/contacts/{id}", self.base))
            .bearer_auth(&self.token)
            .header("Version", "2021-07-28")
            .json(&json!({ "lastName": "Updated" }))
            .send()
            .await
            .expect("update contact");
        assert!(res.status().is_success(), "{}", res.status());
    }

    async fn faults(&self, f: Value) {
        let res = self
            .http
            .post(format!("{}/_sandbox/faults", self.base))
            .json(&f)
            .send()
            .await
            .expect("faults");
        assert!(res.status().is_success());
    }
}

/// The webhook ids the sandbox has built so far.
fn sent_ids(sb: &RunningSandbox) -> BTreeSet<String> {
    sb.sandbox
        .recent_events()
        .iter()
        .filter_map(|e| e["webhookId"].as_str().map(str::to_string))
        .collect()
}

/// The webhook ids built once at least `n` have been (the dispatcher builds them shortly
/// after the API call that caused them returns).
async fn wait_sent(sb: &RunningSandbox, n: usize) -> BTreeSet<String> {
    wait_until(
        "the sandbox built its webhooks",
        Duration::from_secs(10),
        || sent_ids(sb).len() >= n,
    )
    .await;
    sent_ids(sb)
}

/// Waits until every id is in the store (or fails after `limit`).
async fn wait_stored(ingest: &Ingest, ids: &BTreeSet<String>, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let mut missing = 0;
        for id in ids {
            if !ingest.store.webhook_stored(id).await.expect("lookup") {
                missing += 1;
            }
        }
        if missing == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing} of {} webhooks not stored after {limit:?}; ingest {:?}",
            ids.len(),
            ingest.state.metrics()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn delivered(sb: &RunningSandbox) -> u64 {
    sb.sandbox
        .counters
        .webhooks_delivered
        .load(std::sync::atomic::Ordering::Relaxed)
}

fn counter(c: &std::sync::atomic::AtomicU64) -> u64 {
    c.load(std::sync::atomic::Ordering::Relaxed)
}

/// Contacts created and updated through the API: each webhook arrives signed and is stored
/// exactly once, byte for byte as signed.
async fn api_changes_arrive_signed_and_are_stored_once(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let sb = start_sandbox(&ingest).await;
    let api = Api::new(&sb).await;
    for n in 0..5 {
        let id = api.create_contact(n).await;
        api.update_contact(&id).await;
    }
    let ids = wait_sent(&sb, 10).await;
    wait_stored(&ingest, &ids, Duration::from_secs(15)).await;
    wait_until("all delivered", Duration::from_secs(5), || {
        delivered(&sb) >= ids.len() as u64
    })
    .await;
    for id in &ids {
        assert_eq!(env.rows_for(id).await, 1, "{id}");
    }
    let m = ingest.state.metrics();
    assert_eq!(m.accepted, ids.len() as u64);
    assert_eq!((m.duplicates, m.refused_total()), (0, 0), "{m:?}");
    // Ed25519 is checked when its key is configured, as here.
    assert_eq!(m.verified_ed25519, ids.len() as u64);
    assert_eq!(counter(&sb.sandbox.counters.webhooks_failed), 0);
}

/// With every delivery duplicated, each webhook id is stored once and the copies are
/// answered `duplicate`.
async fn duplicated_deliveries_are_stored_once(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let sb = start_sandbox(&ingest).await;
    let api = Api::new(&sb).await;
    api.faults(json!({ "duplicate": 1.0 })).await;
    for n in 0..6 {
        api.create_contact(n).await;
    }
    let ids = wait_sent(&sb, 6).await;
    wait_stored(&ingest, &ids, Duration::from_secs(15)).await;
    let n = ids.len() as u64;
    wait_until("both copies delivered", Duration::from_secs(10), || {
        delivered(&sb) >= 2 * n
    })
    .await;
    for id in &ids {
        assert_eq!(env.rows_for(id).await, 1, "{id}");
    }
    let m = ingest.state.metrics();
    assert_eq!((m.accepted, m.duplicates), (n, n), "{m:?}");
    assert_eq!(counter(&sb.sandbox.counters.webhooks_duplicated), n);
    assert_eq!(env.inbox_rows().await, n as i64);
}

/// While the store's write lock is held elsewhere, deliveries are answered 429 within the
/// store timeout; the sandbox retries them (as HighLevel does) and, the lock gone, every one
/// is stored once.
async fn refused_while_locked_then_stored_from_retries(env: Env) {
    let ingest = serve(env.store().await, config()).await;
    let sb = start_sandbox(&ingest).await;
    let api = Api::new(&sb).await;
    let lock = env.lock_writes().await;
    for n in 0..3 {
        api.create_contact(n).await;
    }
    let ids = wait_sent(&sb, 3).await;
    assert_eq!(ids.len(), 3);
    wait_until(
        "each delivery refused with 429 while locked",
        Duration::from_secs(10),
        || ingest.state.metrics().refused(Refusal::StoreTimeout) >= 3,
    )
    .await;
    for id in &ids {
        assert_eq!(env.rows_for(id).await, 0, "nothing stored while locked");
    }
    lock.release().await;
    wait_stored(&ingest, &ids, Duration::from_secs(20)).await;
    wait_until("all delivered", Duration::from_secs(15), || {
        delivered(&sb) >= 3
    })
    .await;
    for id in &ids {
        assert_eq!(env.rows_for(id).await, 1, "{id}");
    }
    let c = &sb.sandbox.counters;
    assert!(counter(&c.webhooks_retried) >= 3);
    assert_eq!(counter(&c.webhooks_failed), 0, "no delivery given up");
    let m = ingest.state.metrics();
    assert_eq!(
        m.refused_total(),
        m.refused(Refusal::StoreTimeout) + m.refused(Refusal::StoreUnavailable),
        "{m:?}"
    );
}

on_both_backends!(
    api_changes_arrive_signed_and_are_stored_once,
    duplicated_deliveries_are_stored_once,
    refused_while_locked_then_stored_from_retries,
);
