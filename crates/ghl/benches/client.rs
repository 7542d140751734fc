//! Client benchmarks against the sandbox on loopback.
//!
//!     cargo bench -p ghl --bench client
//!
//! 1. Overhead: the same `GET /contacts/{id}` through the client and through bare reqwest,
//!    sequential latency (p50/p99) and concurrent throughput, with the sandbox's limits off.
//! 2. Budget use: more requests than the rate limit allows, from many tasks at once; reports
//!    429s received and the share of the budget used (requests / (windows × burst)).

use secrecy::SecretString;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn sandbox(burst: u32, interval_ms: u64) -> ghl_sandbox::RunningSandbox {
    let mut cfg = ghl_sandbox::SandboxConfig {
        locations: 2,
        contacts_per_location: 200,
        ..testkit::sandbox::config(testkit::key_dir!())
    };
    cfg.rate_limit.burst = burst;
    cfg.rate_limit.daily = u64::MAX / 2;
    cfg.rate_limit.interval = Duration::from_millis(interval_ms);
    testkit::sandbox::start(cfg).await
}

fn client_for(base: &str, loc: &str, token: &str) -> ghl::GhlClient {
    let tokens = ghl::StaticTokens::default();
    tokens.insert(loc, SecretString::from(token.to_string()), None);
    ghl::GhlClient::new(
        ghl::ClientConfig::new(url::Url::parse(base).unwrap()),
        Arc::new(tokens),
    )
    .unwrap()
}

fn setup(running: &ghl_sandbox::RunningSandbox) -> (String, String, String) {
    let sb = &running.sandbox;
    let (loc, contact, company) = sb.read(|w| {
        let l = w.locations.values().next().unwrap();
        (
            l.id.clone(),
            l.by_added.iter().next().unwrap().1.clone(),
            w.company_id.clone(),
        )
    });
    let token = sb
        .auth
        .lock()
        .mint_pit(&loc, &company, vec!["contacts.readonly".into()]);
    (loc.to_string(), contact.to_string(), token)
}

async fn overhead(n: usize, concurrency: usize) {
    // "Limits off": the headers still tell the client the limit, so it is set beyond reach.
    let running = sandbox(u32::MAX / 2, 1000).await;
    let base = running.base_url();
    let (loc, contact, token) = setup(&running);
    let client = client_for(&base, &loc, &token);
    let raw = reqwest::Client::new();
    let url = format!("{base}/contacts/{contact}");
    // Warm both paths (connections, allocations).
    for _ in 0..200 {
        client.location(&loc).get_contact(&contact).await.unwrap();
        raw.get(&url)
            .header("Version", "2021-07-28")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let mut through_client = Vec::with_capacity(n);
    let mut bare = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        client.location(&loc).get_contact(&contact).await.unwrap();
        through_client.push(t.elapsed());
        let t = Instant::now();
        let body = raw
            .get(&url)
            .header("Version", "2021-07-28")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let _: serde_json::Value = serde_json::from_slice(&body).unwrap();
        bare.push(t.elapsed());
    }
    through_client.sort();
    bare.sort();
    println!("sequential GET /contacts/{{id}}, {n} requests each:");
    println!("| path | p50 | p99 |");
    println!("|---|---|---|");
    for (name, v) in [
        ("ghl client", &through_client),
        ("bare reqwest + serde_json", &bare),
    ] {
        println!(
            "| {name} | {:.0} µs | {:.0} µs |",
            pct(v, 0.5).as_secs_f64() * 1e6,
            pct(v, 0.99).as_secs_f64() * 1e6
        );
    }
    let t = Instant::now();
    let per = n / concurrency;
    let mut hs = Vec::new();
    for _ in 0..concurrency {
        let l = client.location(&loc);
        let c = contact.clone();
        hs.push(tokio::spawn(async move {
            for _ in 0..per {
                l.get_contact(&c).await.unwrap();
            }
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    let rate = (per * concurrency) as f64 / t.elapsed().as_secs_f64();
    println!("concurrent ({concurrency} tasks): {rate:.0} requests/s through the client");
}

async fn budget(burst: u32, interval_ms: u64, requests: usize, tasks: usize) {
    let running = sandbox(burst, interval_ms).await;
    let base = running.base_url();
    let (loc, contact, token) = setup(&running);
    let client = client_for(&base, &loc, &token);
    let t = Instant::now();
    let per = requests / tasks;
    let mut hs = Vec::new();
    for _ in 0..tasks {
        let l = client.location(&loc);
        let c = contact.clone();
        hs.push(tokio::spawn(async move {
            for _ in 0..per {
                l.get_contact(&c).await.unwrap();
            }
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    let elapsed = t.elapsed();
    let sent = per * tasks;
    let limited = running
        .sandbox
        .counters
        .rate_limited
        .load(std::sync::atomic::Ordering::Relaxed);
    // The budget of the elapsed time: the first window opens at once, each further full
    // interval allows another burst.
    let windows = (elapsed.as_millis() as f64 / interval_ms as f64)
        .ceil()
        .max(1.0);
    let use_share = sent as f64 / (windows * burst as f64);
    println!(
        "budget {burst} per {interval_ms} ms, {sent} requests from {tasks} tasks: {:.2} s, 429s received: {limited}, budget used: {:.1}%",
        elapsed.as_secs_f64(),
        use_share * 100.0
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    overhead(n, 16).await;
    budget(20, 1000, 400, 32).await;
    if std::env::var("BENCH_REAL_LIMITS").is_ok() {
        // HighLevel's own numbers: 100 per 10 s (takes about 40 s).
        budget(100, 10_000, 400, 32).await;
    }
}
