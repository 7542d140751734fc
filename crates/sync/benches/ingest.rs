//! Ingest throughput: N signed webhooks POSTed concurrently over loopback to the ingest,
//! each committed before its 200. Reports webhooks/s and p50/p99 time to the 2xx, on SQLite
//! (with group commit, and without it for comparison) and on PostgreSQL when
//! `DRIVESYNC_TEST_PG_URL` is set.
//!
//! ```sh
//! cargo bench -p sync --bench ingest                     # N=2000, 64 concurrent
//! BENCH_WEBHOOKS=10000 BENCH_CONCURRENCY=128 cargo bench -p sync --bench ingest
//! ```

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use ghl::webhook::WebhookKeys;
use ghl_sandbox::Signer;
use sync::ingest::{BatchConfig, IngestConfig, IngestState};

use testkit::bench::{env_usize, peak_rss_mib, reset_peak_rss};

struct Signed {
    body: Vec<u8>,
    ed: String,
    rsa: String,
}

fn bodies(signer: &Signer, n: usize) -> Vec<Signed> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    (0..n)
        .map(|i| {
            let body = serde_json::to_vec(&serde_json::json!({
                "type": "ContactUpdate",
                "locationId": "bench-location",
                "id": format!("contact-{}", i % 500),
                "firstName": "Bench",
                "email": format!("bench{i}@example.com"),
                "tags": ["a", "b"],
                "timestamp": now,
                "webhookId": format!("bench-{:032x}", rand::random::<u128>()),
            }))
            .unwrap_or_default();
            let (ed, rsa) = signer.sign(&body);
            Signed { body, ed, rsa }
        })
        .collect()
}

async fn run(label: &str, url: &str, batch: BatchConfig, signer: &Signer, n: usize, conc: usize) {
    reset_peak_rss();
    let Some(store) = testkit::bench::open_store(label, url).await else {
        return;
    };
    testkit::bench::connect_location(&store, "bench-location").await;
    let mut keys = WebhookKeys::highlevel();
    let added = keys
        .add_pem(&format!(
            "{}{}",
            signer.ed25519_public_pem(),
            signer.rsa_public_pem()
        ))
        .unwrap_or(0);
    assert_eq!(added, 2);
    let mut config = IngestConfig::new(keys);
    config.batch = batch;
    // The benchmark measures throughput, not refusals: give the store time.
    config.store_timeout = Duration::from_secs(30);
    let state = IngestState::new(store.clone(), config);
    let server = testkit::serve(sync::ingest::router(state.clone())).await;
    let target = format!("{}{}", server.url, sync::ingest::PATH);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conc)
        .build()
        .expect("client");
    let work = bodies(signer, n);

    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(work)
        .map(|s| {
            let (client, target) = (client.clone(), target.clone());
            async move {
                let t = Instant::now();
                let res = client
                    .post(&target)
                    .header("x-ghl-signature", s.ed)
                    .header("x-wh-signature", s.rsa)
                    .body(s.body)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => Some(t.elapsed()),
                    Ok(r) => {
                        eprintln!("{label}: answered {}", r.status());
                        None
                    }
                    Err(e) => {
                        eprintln!("{label}: {e}");
                        None
                    }
                }
            }
        })
        .buffer_unordered(conc)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    let elapsed = started.elapsed();
    server.abort();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let m = state.metrics();
    println!(
        "{label:<28} {ok:>6}/{n} stored  {rate:>8.0} webhooks/s  p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  \
         {batches} transactions ({per:.1} webhooks each)  peak RSS {rss:.0} MiB",
        ok = latencies.len(),
        rate = latencies.len() as f64 / elapsed.as_secs_f64(),
        p50 = pct(0.50).as_secs_f64() * 1e3,
        p99 = pct(0.99).as_secs_f64() * 1e3,
        batches = m.batches,
        per = m.accepted as f64 / m.batches.max(1) as f64,
        rss = peak_rss_mib(),
    );
    store.close().await;
}

fn main() {
    let n = env_usize("BENCH_WEBHOOKS", 2000);
    let conc = env_usize("BENCH_CONCURRENCY", 64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let signer = Signer::load_or_create(&testkit::key_dir!()).expect("signing keys");
    println!("ingest: {n} signed webhooks, {conc} concurrent, over loopback");
    rt.block_on(async {
        let (a, b) = (testkit::TestDb::sqlite(), testkit::TestDb::sqlite());
        run(
            "sqlite, group commit",
            &a.url,
            BatchConfig::default(),
            &signer,
            n,
            conc,
        )
        .await;
        let single = BatchConfig {
            max_batch: 1,
            ..BatchConfig::default()
        };
        run(
            "sqlite, one per transaction",
            &b.url,
            single,
            &signer,
            n,
            conc,
        )
        .await;

        let Some(postgres) = testkit::bench::postgres().await else {
            return;
        };
        run(
            "postgres, group commit",
            &postgres.url,
            BatchConfig::default(),
            &signer,
            n,
            conc,
        )
        .await;
    });
}
