//! The sync engine under HighLevel's worst habits, as processes: `drivesync serve` against the
//! sandbox with duplicated, reordered and dropped webhooks and failing API calls, over more
//! than 5,000 changes across 3 locations, killed with SIGKILL again and again (right after it
//! acknowledged a webhook, too), and with its database locked for writes mid-run. Then:
//! - every webhook the server acknowledged (2xx) is in its inbox;
//! - no effect happened twice (no record announced as created twice);
//! - `drivesync verify` finds zero differences with HighLevel in every location.
//!
//! On SQLite always; on PostgreSQL too when `DRIVESYNC_TEST_PG_URL` is set.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::process::ServeProcess;
use testkit::TestDb;

const LOCATIONS: usize = 3;
const CONTACTS: usize = 25;
const MIN_CHANGES: u64 = 5_000;
const KILLS: usize = 6;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_drivesync")
}

struct Setup {
    dir: PathBuf,
    /// Server logs, kept under target/ after the test for a look when it fails.
    logs: PathBuf,
    config: PathBuf,
    master: String,
    client_secret: String,
    port: u16,
    sandbox: ghl_sandbox::RunningSandbox,
    locations: Vec<String>,
}

impl Setup {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = testkit::process::drivesync(bin());
        c.args(args)
            .arg("--config")
            .arg(&self.config)
            .env("DRIVESYNC_MASTER_KEY", &self.master)
            .env("DRIVESYNC_CLIENT_SECRET", &self.client_secret)
            .env(
                "RUST_LOG",
                std::env::var("DRIVESYNC_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null());
        c
    }

    fn serve(&self, n: usize) -> ServeProcess {
        let log = std::fs::File::create(self.logs.join(format!("serve-{n}.log"))).unwrap();
        let mut serve = self.command(&["serve"]);
        serve
            .env("DRIVESYNC_METRICS_TOKEN", METRICS_TOKEN)
            .stdout(Stdio::null())
            .stderr(log);
        ServeProcess::spawn(serve, self.port)
    }

    async fn wait_healthy(&self, serve: &ServeProcess) {
        if let Err(e) = serve.wait_healthy(Duration::from_secs(30)).await {
            panic!("{e}; see {}", self.dir.display());
        }
    }

    fn base(&self) -> String {
        self.sandbox.base_url()
    }

    async fn counters(&self) -> Value {
        common::counters(&self.base()).await
    }
}

/// What `/metrics` asks for (it is not open on the public port).
const METRICS_TOKEN: &str = "reliability-scrape";

async fn setup(db: &TestDb) -> Setup {
    let port = testkit::free_port();
    let cfg = ghl_sandbox::SandboxConfig {
        locations: LOCATIONS,
        contacts_per_location: CONTACTS,
        seed: 29,
        // This run is about loss and duplication, not throughput (the client's tests hold
        // it to HighLevel's 100 per 10 s): a roomier limit keeps each full reconcile of the
        // ~250 contacts the activity leaves per location to seconds.
        rate_limit: ghl_sandbox::config::RateLimitConfig {
            burst: 1000,
            ..Default::default()
        },
        ..testkit::sandbox::config(testkit::key_dir!())
    };
    let sandbox = testkit::sandbox::start(cfg).await;
    let master = common::master_key();
    let store = common::open_store(db, &master).await;
    let locations: Vec<String> = sandbox
        .sandbox
        .read(|w| w.locations.keys().map(|k| k.to_string()).collect());
    for l in &locations {
        let t = common::authorize(&sandbox, l).await;
        common::connect(&store, l, &t).await;
    }
    store.close().await;
    let dir = db.data_dir().to_path_buf();
    let key = dir.join("sandbox-webhook.pem");
    std::fs::write(&key, sandbox.sandbox.signer.ed25519_public_pem()).unwrap();
    let app = &sandbox.sandbox.config.app;
    let config = dir.join("drivesync.toml");
    std::fs::write(
        &config,
        format!(
            r#"[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
[store]
data_dir = "{dir}"
database_url = "{url}"
[highlevel]
api_base = "{base}"
authorize_url = "{base}"
client_id = "{client_id}"
[webhooks]
keys = ["{key}"]
[sync]
workers = 4
poll_interval = "5s"
reconcile_interval = "10m"
"#,
            dir = dir.display(),
            url = db.url,
            base = sandbox.base_url(),
            client_id = app.client_id,
            key = key.display(),
        ),
    )
    .unwrap();
    let client_secret = app.client_secret.clone();
    let backend = if db.url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("reliability-{backend}"));
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).unwrap();
    Setup {
        dir,
        logs,
        config,
        master,
        client_secret,
        port,
        sandbox,
        locations,
    }
}

async fn run(db: TestDb) {
    let s = setup(&db).await;
    let base = s.base();
    common::admin(
        &base,
        "/_sandbox/webhook",
        json!({ "url": format!("http://127.0.0.1:{}/webhooks/ghl", s.port) }),
    )
    .await;

    // What is there before any webhook: imported by backfill.
    let out = s.command(&["backfill"]).output().unwrap();
    assert!(
        out.status.success(),
        "backfill failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut serve = s.serve(0);
    s.wait_healthy(&serve).await;
    common::admin(
        &base,
        "/_sandbox/faults",
        json!({"duplicate": 0.2, "reorder": 0.2, "drop": 0.1, "api5xx": 0.05}),
    )
    .await;
    common::admin(&base, "/_sandbox/activity", json!({ "rate": 150.0 })).await;

    let started = Instant::now();
    let mut kills = 0;
    let mut locked = false;
    while kills < KILLS || changes(&s).await < MIN_CHANGES {
        tokio::time::sleep(Duration::from_millis(1500 + rand::random::<u64>() % 2500)).await;
        if kills < KILLS {
            // Kill right after the server acknowledged a webhook: the moment a lost commit
            // would show.
            let seen = delivered(&s).await;
            let deadline = Instant::now() + Duration::from_secs(5);
            while delivered(&s).await == seen && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            serve.kill();
            kills += 1;
            serve = s.serve(kills);
            s.wait_healthy(&serve).await;
        }
        if !locked && kills == 3 {
            locked = true;
            store_unavailable(&s, &db).await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the run took too long"
        );
    }
    common::admin(&base, "/_sandbox/activity", json!({ "rate": 0.0 })).await;
    common::admin(&base, "/_sandbox/faults", json!({ "reset": true })).await;
    // Held and delayed webhooks go out within a few seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let quiet = chrono::Utc::now().timestamp_millis();
    wait_settled(&s, &db, quiet).await;

    for l in &s.locations {
        let out = s.command(&["verify", "--location", l]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "verify {l} found differences:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("0 differences"), "{text}");
    }
    // What an operator scrapes tells the same story.
    let metrics = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/metrics", s.port))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("drivesync_webhooks_accepted_total")
            && metrics.contains(&format!(
                "drivesync_dead_letters{{location=\"{}\"}} 0",
                s.locations[0]
            )),
        "{metrics}"
    );
    serve.kill();
    check_acknowledged_kept(&s, &db).await;
    check_no_double_effect(&s, &db).await;
    let c = s.counters().await;
    eprintln!(
        "changes {} · webhooks {} · kills {kills}",
        c["changes"], c["webhooks"]
    );
}

async fn changes(s: &Setup) -> u64 {
    s.counters().await["changes"].as_u64().unwrap_or(0)
}

async fn delivered(s: &Setup) -> u64 {
    s.counters().await["webhooks"]["delivered"]
        .as_u64()
        .unwrap_or(0)
}

/// The store cannot take writes for a while (PostgreSQL: the database is made read-only;
/// SQLite: another process holds its write lock, since an open SQLite file cannot be made
/// read-only under a running process): a webhook is answered 429 within 2 s, and the sandbox's retries of what
/// was refused are stored once the store is back.
async fn store_unavailable(s: &Setup, db: &TestDb) {
    let retried_before = s.counters().await["webhooks"]["retried"]
        .as_u64()
        .unwrap_or(0);
    let hold = db.hold_writes().await;
    let body = json!({
        "type": "ContactCreate", "locationId": s.locations[0], "id": "lockprobe0000000001",
        "webhookId": format!("probe-{}", rand::random::<u64>()),
        "timestamp": chrono::Utc::now().to_rfc3339(),
    })
    .to_string();
    let (ghl_sig, _) = s.sandbox.sandbox.signer.sign(body.as_bytes());
    let t = Instant::now();
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/webhooks/ghl", s.port))
        .header("content-type", "application/json")
        .header("x-ghl-signature", ghl_sig)
        .body(body)
        .send()
        .await
        .unwrap();
    let took = t.elapsed();
    assert_eq!(
        r.status().as_u16(),
        429,
        "a store that cannot write is a 429"
    );
    assert!(took < Duration::from_secs(2), "429 took {took:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    hold.release().await;
    // HighLevel (the sandbox) retried what was refused meanwhile.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = s.counters().await["webhooks"]["retried"]
            .as_u64()
            .unwrap_or(0);
        if now > retried_before || Instant::now() > deadline {
            assert!(now > retried_before, "no webhook was refused and retried");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Queues a reconcile of every location after the last change (`quiet`, Unix ms) and waits
/// until each has finished one: then whatever webhooks were lost, the store has been brought
/// to HighLevel's state.
async fn wait_settled(s: &Setup, db: &TestDb, quiet: i64) {
    let out = s.command(&["reconcile"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let out = s.command(&["status", "--json"]).output().unwrap();
        let status: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let rows = &status["locations"];
        let reconciled = rows.as_array().is_some_and(|rows| {
            rows.len() == LOCATIONS
                && rows.iter().all(|r| {
                    r["dead_letters"] == 0
                        && r["last_reconcile_ms"].as_i64().is_some_and(|t| t > quiet)
                })
        });
        // Reconciles of a location run in the order queued, so once none is left, the one
        // queued after `quiet` has run; webhooks still queued would be older states.
        let left: Vec<(i64,)> = db
            .rows("SELECT COUNT(*) FROM jobs WHERE kind IN ('reconcile', 'webhook') AND state <> 'dead'")
            .await;
        if reconciled && left.first().is_some_and(|(n,)| *n == 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the engine did not settle: {rows:#}\nlogs in {}",
            s.logs.display()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn check_acknowledged_kept(s: &Setup, db: &TestDb) {
    let ids: Vec<String> = reqwest::get(format!("{}/_sandbox/deliveries", s.base()))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["delivered"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert!(
        ids.len() as u64 > MIN_CHANGES / 2,
        "only {} delivered",
        ids.len()
    );
    let store = common::open_store(db, &s.master).await;
    let mut missing = Vec::new();
    for id in &ids {
        if !store.webhook_stored(id).await.unwrap() {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged webhooks are not in the inbox, e.g. {:?}",
        missing.len(),
        ids.len(),
        &missing[..missing.len().min(5)]
    );
}

async fn check_no_double_effect(_s: &Setup, db: &TestDb) {
    let twice: Vec<(String, String, i64)> = db
        .rows(
            "SELECT kind, record_id, COUNT(*) FROM changes WHERE action = 'created' \
             GROUP BY kind, record_id HAVING COUNT(*) > 1",
        )
        .await;
    assert!(twice.is_empty(), "announced as created twice: {twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_kills_and_a_locked_store_lose_nothing_sqlite() {
    run(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_kills_and_a_read_only_store_lose_nothing_postgres() {
    if let Some(db) = TestDb::postgres_database().await {
        run(db).await;
    }
}
