//! Backfill of one sandbox location into a SQLite store: wall time, requests made, 429s
//! received, the share of the rate-limit budget used, and memory (peak RSS, and RSS as the
//! import advances, to show it stays flat).
//!
//! ```sh
//! cargo bench -p sync --bench backfill            # 10,000 contacts, 100 per 1,000 ms
//! BENCH_INTERVAL_MS=10000 cargo bench -p sync --bench backfill   # HighLevel's real 100/10 s
//! ```
//!
//! HighLevel allows 100 requests per 10 s per location; a 10,000-contact location needs
//! about 12,000 requests (a search page per 100 contacts and each contact's notes, a task
//! search page per 100 tasks, each calendar's events and each appointment's notes), so at the
//! real rate it takes about 20 minutes — all of it waiting on the limit. The default here keeps the burst of 100 and
//! shortens the window to 1 s (`BENCH_INTERVAL_MS`), which scales the wall time by 1/10 and
//! leaves what is measured — requests, 429s, the share of each window used — unchanged.
//!
//! Variables: `BENCH_CONTACTS` (10000), `BENCH_BURST` (100), `BENCH_INTERVAL_MS` (1000),
//! `BENCH_PAGE` (100), `BENCH_CONCURRENCY` (8).
//! The sandbox runs in this process, so RSS includes its seeded data; the baseline is taken
//! after seeding.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use sync::backfill::{backfill, BackfillOptions, Progress};

use testkit::bench::status_kib;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Bar {
    done: AtomicU64,
    total: AtomicU64,
    started: Instant,
    last_print: AtomicU64,
}

impl Progress for Bar {
    fn phase_started(&self, phase: &str, total: Option<u64>, before: u64) {
        self.total.store(total.unwrap_or(0), Ordering::Relaxed);
        eprintln!("{phase}: {before} done before, {total:?} in the location");
    }
    fn advanced(&self, n: u64) {
        let d = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let t = self.total.load(Ordering::Relaxed).max(1);
        let pct = d * 100 / t;
        if pct >= self.last_print.load(Ordering::Relaxed) + 10 {
            self.last_print.store(pct - pct % 10, Ordering::Relaxed);
            eprintln!(
                "  {d}/{t} contacts ({pct}%) after {:.0?}, RSS {} MiB",
                self.started.elapsed(),
                status_kib("VmRSS:").unwrap_or(0) / 1024
            );
        }
    }
}

#[tokio::main]
async fn main() {
    let contacts = env_u64("BENCH_CONTACTS", 10_000) as usize;
    let burst = env_u64("BENCH_BURST", 100) as u32;
    let interval = Duration::from_millis(env_u64("BENCH_INTERVAL_MS", 1000));
    let page = env_u64("BENCH_PAGE", 100) as u32;
    let concurrency = env_u64("BENCH_CONCURRENCY", 8) as usize;

    let mut cfg = ghl_sandbox::SandboxConfig {
        locations: 1,
        contacts_per_location: contacts,
        seed: 1,
        ..testkit::sandbox::config(testkit::key_dir!())
    };
    cfg.rate_limit.burst = burst;
    cfg.rate_limit.interval = interval;
    cfg.rate_limit.daily = u64::MAX / 2;
    let sb = testkit::sandbox::start(cfg).await;
    let (loc_id, company) = sb.sandbox.read(|w| {
        (
            w.locations.keys().next().expect("location").to_string(),
            w.company_id.to_string(),
        )
    });
    let token = sb.sandbox.auth.lock().mint_pit(
        &loc_id,
        &company,
        ghl::DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
    );
    let tokens = ghl::StaticTokens::default();
    tokens.insert(&loc_id, SecretString::from(token), None);
    let client = ghl::GhlClient::new(
        ghl::ClientConfig::new(url::Url::parse(&sb.base_url()).expect("url")),
        Arc::new(tokens),
    )
    .expect("client");
    let location = client.location(loc_id.clone());

    let db = testkit::TestDb::sqlite();
    let store = db.connect(store::Keyring::generate()).await;

    let baseline = status_kib("VmRSS:").unwrap_or(0);
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(rss) = status_kib("VmRSS:") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let bar = Bar {
        done: AtomicU64::new(0),
        total: AtomicU64::new(0),
        started: Instant::now(),
        last_print: AtomicU64::new(0),
    };
    eprintln!(
        "backfill of {contacts} contacts, limit {burst} per {interval:?}, page {page}, \
         {concurrency} contacts at once; RSS after seeding {} MiB",
        baseline / 1024
    );
    let report = backfill(
        &store,
        &location,
        &bar,
        BackfillOptions {
            restart: true,
            page_size: page,
            concurrency,
            ..Default::default()
        },
    )
    .await
    .expect("backfill");
    sampler.abort();

    let served: u64 = sb
        .sandbox
        .counters
        .requests_for(Some(&loc_id), 0)
        .iter()
        .filter(|r| r.status != 429)
        .count() as u64;
    let refused = sb.sandbox.counters.rate_limited.load(Ordering::Relaxed);
    let windows = report.wall.as_secs_f64() / interval.as_secs_f64();
    let share = served as f64 / (windows * f64::from(burst));
    let i = &report.imported;
    println!("backfill, SQLite, {contacts} contacts, limit {burst}/{interval:?}:");
    println!(
        "  imported   {} contacts, {} tasks, {} notes, {} appointments, {} appointment notes",
        i.contacts, i.tasks, i.notes, i.appointments, i.appointment_notes
    );
    println!("  wall       {:.1?}", report.wall);
    println!(
        "  requests   {} sent by the client, {} served by the sandbox",
        report.requests, served
    );
    println!(
        "  per contact {:.2} requests",
        served as f64 / (i.contacts.max(1)) as f64
    );
    println!(
        "  429s       {} seen by the client, {} sent by the sandbox",
        report.rate_limited, refused
    );
    println!(
        "  budget     {:.1}% of {burst} per {interval:?} over {:.1} windows",
        share * 100.0,
        windows
    );
    println!(
        "  memory     RSS {} MiB after seeding, peak {} MiB during the backfill (VmHWM {} MiB)",
        baseline / 1024,
        peak.load(Ordering::Relaxed) / 1024,
        status_kib("VmHWM:").unwrap_or(0) / 1024
    );
    println!(
        "  at HighLevel's real 100/10 s the same requests take {:.0} min",
        served as f64 / 10.0 / 60.0
    );
}
