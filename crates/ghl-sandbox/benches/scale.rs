//! Scale benchmark of the sandbox: seeds N contacts across locations, reports resident memory
//! and the latency of search pages over HTTP on loopback.
//!
//!     cargo bench -p ghl-sandbox --bench scale                 # 1,000,000 contacts
//!     SCALE_CONTACTS=100000 cargo bench -p ghl-sandbox --bench scale
//!
//! Figures go in BENCHMARKS.md. Medians and p99 over repeated requests; the machine is noisy.

use serde_json::{json, Value};

// The allocator the drivesync binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::{Duration, Instant};
use testkit::bench::rss_mib;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::var("SCALE_CONTACTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let locations = 4;
    let rounds: usize = std::env::var("SCALE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let before = rss_mib();
    let mut config = ghl_sandbox::SandboxConfig {
        locations,
        contacts_per_location: total / locations,
        ..testkit::sandbox::config(testkit::key_dir!())
    };
    config.rate_limit.enabled = false;
    let t = Instant::now();
    let running = testkit::sandbox::start(config).await;
    let seeded_in = t.elapsed();
    let after = rss_mib();
    let (contacts, tasks) = running.sandbox.read(|w| {
        let c: usize = w.locations.values().map(|l| l.contacts.len()).sum();
        let t: usize = w
            .locations
            .values()
            .flat_map(|l| l.contacts.values())
            .map(|c| c.tasks.len())
            .sum();
        (c, t)
    });
    println!(
        "seeded {contacts} contacts ({tasks} tasks) in {locations} locations in {seeded_in:.2?}"
    );
    println!("resident memory: {after:.0} MiB (before seeding {before:.0} MiB)");

    let base = running.base_url();
    let loc = running
        .sandbox
        .read(|w| w.locations.keys().next().cloned())
        .unwrap();
    let company = running.sandbox.read(|w| w.company_id.clone());
    let token =
        running
            .sandbox
            .auth
            .lock()
            .mint_pit(&loc, &company, vec!["contacts.readonly".into()]);
    let http = reqwest::Client::new();
    let email = running.sandbox.read(|w| {
        let l = w.location(&loc).unwrap();
        let id = &l.by_added.iter().nth(1234).unwrap().1;
        l.contacts[id].email.clone().unwrap()
    });
    let first = search(
        &http,
        &base,
        &token,
        json!({"locationId": loc, "pageLimit": 20}),
    )
    .await;
    let cursor = first["contacts"][19]["searchAfter"].clone();
    let cases: Vec<(&str, Value)> = vec![
        (
            "first page (20, dateAdded desc)",
            json!({"locationId": loc, "pageLimit": 20}),
        ),
        (
            "page 50 of 20",
            json!({"locationId": loc, "pageLimit": 20, "page": 50}),
        ),
        (
            "searchAfter continuation",
            json!({"locationId": loc, "pageLimit": 20, "searchAfter": cursor}),
        ),
        (
            "dateUpdated range, sorted by dateUpdated",
            json!({"locationId": loc, "pageLimit": 20,
            "sort": [{"field": "dateUpdated", "direction": "desc"}],
            "filters": [{"field": "dateUpdated", "operator": "range", "value": {"gte": "2020-01-01T00:00:00Z"}}]}),
        ),
        (
            "email eq",
            json!({"locationId": loc, "pageLimit": 20,
            "filters": [{"field": "email", "operator": "eq", "value": email}]}),
        ),
    ];
    println!(
        "search over HTTP, {} contacts in the location, {rounds} requests each:",
        contacts / locations
    );
    println!("| query | median | p99 |");
    println!("|---|---|---|");
    for (name, body) in cases {
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            let v = search(&http, &base, &token, body.clone()).await;
            times.push(t.elapsed());
            assert!(v["contacts"].is_array(), "{v}");
        }
        times.sort();
        println!(
            "| {name} | {:.2} ms | {:.2} ms |",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3
        );
    }
    println!(
        "peak resident memory after the searches: {:.0} MiB",
        rss_mib()
    );
    running.shutdown().await;
}

async fn search(http: &reqwest::Client, base: &str, token: &str, body: Value) -> Value {
    http.post(format!("{base}/contacts/search"))
        .header("Version", "2021-07-28")
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("search answers")
        .json()
        .await
        .expect("search JSON")
}
