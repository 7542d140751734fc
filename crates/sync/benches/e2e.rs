//! End to end: signed webhooks POSTed to the ingest at a steady rate (500/s by default) with
//! the engine running, and the time from each send until its change is in the Drive Chat
//! store's feed (followed every 2 ms, as a live feed would). Reports p50/p99 and the peak
//! resident memory of the process (ingest, engine and sender together), on SQLite and on
//! PostgreSQL when `DRIVESYNC_TEST_PG_URL` is set.
//!
//! ```sh
//! cargo bench -p sync --bench e2e                        # 5,000 webhooks at 500/s
//! BENCH_WEBHOOKS=10000 BENCH_RATE=500 cargo bench -p sync --bench e2e
//! BENCH_STORE=postgres cargo bench -p sync --bench e2e   # one store only (sqlite|postgres)
//! BENCH_UPKEEP=0 cargo bench -p sync --bench e2e         # without the engine's table upkeep
//! BENCH_LOG=1 cargo bench -p sync --bench e2e            # with a logger as `serve` has one
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ghl::webhook::WebhookKeys;
use ghl_sandbox::Signer;
use parking_lot::Mutex;
use sync::config::EngineConfig;
use sync::engine::Engine;
use sync::ingest::{IngestConfig, IngestState};

use testkit::bench::{env_usize, peak_rss_mib, reset_peak_rss};

/// How often the measuring side reads the feed, and how far back (PostgreSQL draws ids before
/// commit, so a lower id can appear after a higher one; at most a few jobs are in flight).
/// The measurement shares the two cores with what it measures: reading hundreds of rows every
/// 2 ms, as a first version did, cost the engine a good part of a core.
const FOLLOW_EVERY: Duration = Duration::from_millis(5);
const LOOK_BACK: i64 = 64;

async fn run(label: &str, url: &str, signer: &Signer, n: usize, rate: usize) {
    reset_peak_rss();
    let Some(store) = testkit::bench::open_store(label, url).await else {
        return;
    };
    testkit::bench::connect_location(&store, "bench-location").await;
    let mut keys = WebhookKeys::highlevel();
    keys.add_pem(&format!(
        "{}{}",
        signer.ed25519_public_pem(),
        signer.rsa_public_pem()
    ))
    .expect("keys");
    let ingest = IngestState::new(store.clone(), IngestConfig::new(keys));
    let server = testkit::serve(sync::ingest::router(ingest.clone())).await;
    let target = format!("{}{}", server.url, sync::ingest::PATH);

    // Complete payloads are applied without calling HighLevel, so the client is never used.
    let tokens = Arc::new(ghl::StaticTokens::default());
    let client = ghl::GhlClient::new(
        ghl::ClientConfig::new(url::Url::parse("http://127.0.0.1:9").expect("url")),
        tokens,
    )
    .expect("client");
    let config = EngineConfig {
        schedule: false,
        // BENCH_UPKEEP=0 leaves PostgreSQL's statistics to autovacuum (to compare).
        upkeep_interval: if std::env::var("BENCH_UPKEEP").as_deref() == Ok("0") {
            None
        } else {
            EngineConfig::default().upkeep_interval
        },
        workers: env_usize("BENCH_WORKERS", EngineConfig::default().workers),
        ..EngineConfig::default()
    }
    .wake_on(ingest.notifier());
    let engine = Engine::start(store.clone(), client, None, config)
        .await
        .expect("engine");

    // Follow the feed: when each contact's change first appears.
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let follower = {
        let (store, seen) = (store.clone(), seen.clone());
        tokio::spawn(async move {
            let mut after = store.last_change_id().await.unwrap_or(0);
            let start = after;
            loop {
                // On PostgreSQL ids are drawn before commit, so a lower id can become visible
                // after a higher one: look back over the last few hundred each time.
                let from = after.saturating_sub(LOOK_BACK).max(start);
                if let Ok(changes) = store.all_changes_after(from, 5_000).await {
                    let now = Instant::now();
                    let mut s = seen.lock();
                    for c in changes {
                        after = after.max(c.id);
                        s.entry(c.record_id).or_insert(now);
                    }
                }
                tokio::time::sleep(FOLLOW_EVERY).await;
            }
        })
    };

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("http");
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    // Each webhook is stamped and signed when it is sent, as HighLevel does (a body stamped
    // long before its delivery is a late one, which the engine checks against HighLevel).
    // Ed25519 only: HighLevel's current header, and cheap to sign; RSA-4096 would cost more
    // than everything measured.
    // A warm-up (pool connections opened, caches filled, the engine's loops running) is sent
    // first and not counted: the figures are the steady state.
    let warmup = env_usize("BENCH_WARMUP", 1000);
    let mut ok = 0;
    let mut send_time = Duration::ZERO;
    for (phase, n) in [("warm-up", warmup), ("measured", n)] {
        sent.lock().clear();
        seen.lock().clear();
        let run_id = rand::random::<u32>();
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let started = Instant::now();
        let mut posts = Vec::with_capacity(n);
        for i in 0..n {
            tick.tick().await;
            let id = format!("c{run_id:08x}-{i}");
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let body = serde_json::to_vec(&serde_json::json!({
                "type": "ContactCreate",
                "locationId": "bench-location",
                "id": id,
                "firstName": "Bench",
                "lastName": format!("Person {i}"),
                "email": format!("bench{i}@example.com"),
                "tags": ["bench"],
                "dateAdded": now,
                "dateUpdated": now,
                "timestamp": now,
                "webhookId": format!("e2e-{run_id:08x}-{i}"),
            }))
            .expect("json");
            let ed = signer.sign_ed25519(&body);
            let (http, target, sent) = (http.clone(), target.clone(), sent.clone());
            posts.push(tokio::spawn(async move {
                sent.lock().insert(id, Instant::now());
                let r = http
                    .post(&target)
                    .header("x-ghl-signature", ed)
                    .body(body)
                    .send()
                    .await;
                matches!(r, Ok(r) if r.status().is_success())
            }));
        }
        send_time = started.elapsed();
        ok = 0;
        for p in posts {
            if p.await.unwrap_or(false) {
                ok += 1;
            }
        }
        // Wait (up to 60 s) for every change to be visible.
        let deadline = Instant::now() + Duration::from_secs(60);
        // Counted over this phase's ids: the follower's look-back re-reads the last rows, so
        // the seen map also holds a few of the previous phase's.
        let visible = || {
            let (sent, seen) = (sent.lock(), seen.lock());
            sent.keys().filter(|id| seen.contains_key(*id)).count()
        };
        while visible() < ok && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if phase == "warm-up" {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    follower.abort();
    let mut lat: Vec<Duration> = {
        let (sent, seen) = (sent.lock(), seen.lock());
        sent.iter()
            .filter_map(|(id, t)| seen.get(id).map(|s| s.saturating_duration_since(*t)))
            .collect()
    };
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3
    };
    println!(
        "{label:<10} {vis:>6}/{n} visible (2xx {ok})  sent at {rate:>5.0}/s  \
         send→visible p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  max {max:>7.2} ms  peak RSS {rss:.0} MiB",
        vis = lat.len(),
        rate = n as f64 / send_time.as_secs_f64(),
        p50 = pct(0.50),
        p99 = pct(0.99),
        max = pct(1.0),
        rss = peak_rss_mib(),
    );
    engine.shutdown().await;
    server.abort();
    store.close().await;
}

fn main() {
    // A logger at `info`, as `serve` runs, writing to nowhere: spans and lines are built and
    // formatted as in production, so their cost is in the figures.
    if std::env::var("BENCH_LOG").as_deref() == Ok("1") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(std::io::sink)
            .init();
    }
    let n = env_usize("BENCH_WEBHOOKS", 5000);
    let rate = env_usize("BENCH_RATE", 500).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let signer = Signer::load_or_create(&testkit::key_dir!()).expect("signing keys");
    println!(
        "end to end: {n} signed ContactCreate webhooks at {rate}/s, ingest + engine in one process"
    );
    let only = std::env::var("BENCH_STORE").unwrap_or_default();
    rt.block_on(async {
        let sqlite = testkit::TestDb::sqlite();
        if only.is_empty() || only == "sqlite" {
            run("sqlite", &sqlite.url, &signer, n, rate).await;
        }
        if !(only.is_empty() || only == "postgres") {
            return;
        }
        let Some(postgres) = testkit::bench::postgres().await else {
            return;
        };
        run("postgres", &postgres.url, &signer, n, rate).await;
    });
}
