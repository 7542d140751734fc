//! Alerts (#15) as an operator meets them: `drivesync serve` against the sandbox, evaluating
//! every 300 ms, with a capturing webhook receiver (a small axum server on an OS-picked port)
//! that checks every Standard Webhooks signature with HMAC computed here. Faults are made
//! the way they happen — a job dead-lettered, webhooks with bad signatures, a 429 storm,
//! webhooks dropped or delayed, a revoked token, the store locked for writes — and each must
//! be announced once in the affected workspace's #alerts and at the receiver, re-announced
//! once per `renotify_every` while it lasts (no storm), and announced recovered once.
//!
//! Two replicas serve the one database throughout, so "once" means once between them.
//!
//! On SQLite always; on PostgreSQL too when `DRIVESYNC_TEST_PG_URL` is set.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use base64::Engine as _;
use hmac::Mac as _;
use serde_json::{json, Value};
use testkit::process::ServeProcess;
use testkit::TestDb;
use tokio::sync::Mutex;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const RENOTIFY: Duration = Duration::from_secs(4);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_drivesync")
}

/// What the receiver got: the body, and whether its signature verified.
#[derive(Clone, Debug)]
struct Delivery {
    body: Value,
    verified: bool,
}

#[derive(Default)]
struct Receiver {
    got: Mutex<Vec<Delivery>>,
}

/// The Standard Webhooks check, written here apart from the `outbound` crate: HMAC-SHA256 of
/// `id.timestamp.body` under the secret's decoded bytes, base64, after `v1,`; the timestamp
/// within 5 minutes.
fn verified(headers: &HeaderMap, body: &[u8]) -> bool {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", h("webhook-id"), h("webhook-timestamp")).as_bytes());
    mac.update(body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    let fresh = h("webhook-timestamp")
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    fresh && h("webhook-signature").split(' ').any(|s| s == expected)
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> &'static str {
    let ok = verified(&headers, &body);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    r.got.lock().await.push(Delivery { body, verified: ok });
    "ok"
}

async fn start_receiver() -> (Arc<Receiver>, u16) {
    let r = Arc::new(Receiver::default());
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, port)
}

struct Setup {
    db: TestDb,
    config: PathBuf,
    master: String,
    client_secret: String,
    port: u16,
    sandbox: ghl_sandbox::RunningSandbox,
    /// Two locations: `a` and `b`.
    a: String,
    b: String,
    receiver: Arc<Receiver>,
    store: store::Store,
    logs: PathBuf,
}

async fn setup(db: TestDb) -> Setup {
    let port = testkit::free_port();
    let cfg = ghl_sandbox::SandboxConfig {
        locations: 2,
        contacts_per_location: 5,
        seed: 41,
        ..testkit::sandbox::config(testkit::key_dir!())
    };
    let sandbox = testkit::sandbox::start(cfg).await;
    let master = common::master_key();
    let store = common::open_store(&db, &master).await;
    let mut locations: Vec<String> = sandbox
        .sandbox
        .read(|w| w.locations.keys().map(|k| k.to_string()).collect());
    locations.sort();
    for l in &locations {
        let t = common::authorize(&sandbox, l).await;
        common::connect(&store, l, &t).await;
    }
    let (receiver, hook_port) = start_receiver().await;
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
workers = 2
poll_interval = "5s"
reconcile_interval = "1h"
task_poll_interval = "0s"
[alerts]
evaluate_every = "300ms"
renotify_every = "{renotify}s"
rate_limited_within = "3s"
webhook_url = "http://127.0.0.1:{hook_port}/hook"
webhook_format = "standard"
[alerts.locations.{b}]
lag_above = "3s"
webhooks_silent_after = "3s"
"#,
            dir = dir.display(),
            url = db.url,
            base = sandbox.base_url(),
            client_id = app.client_id,
            key = key.display(),
            renotify = RENOTIFY.as_secs(),
            b = locations[1],
        ),
    )
    .unwrap();
    let client_secret = app.client_secret.clone();
    let backend = if db.url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("alerts-{backend}"));
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).unwrap();
    Setup {
        db,
        config,
        master,
        client_secret,
        port,
        sandbox,
        a: locations[0].clone(),
        b: locations[1].clone(),
        receiver,
        store,
        logs,
    }
}

impl Setup {
    /// A replica serving on `port`; all share the config and the database.
    fn serve(&self, n: usize, port: u16) -> ServeProcess {
        let log = std::fs::File::create(self.logs.join(format!("serve-{n}.log"))).unwrap();
        let mut c: Command = testkit::process::drivesync(bin());
        c.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(&self.config)
        .env("DRIVESYNC_MASTER_KEY", &self.master)
        .env("DRIVESYNC_CLIENT_SECRET", &self.client_secret)
        .env("DRIVESYNC_ALERTS_WEBHOOK_SECRET", SECRET)
        .env(
            "RUST_LOG",
            std::env::var("DRIVESYNC_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
        ServeProcess::spawn(c, port)
    }

    /// The bodies posted in a workspace's #alerts, oldest first.
    async fn posted(&self, location: &str) -> Vec<String> {
        let mut m: Vec<String> = self
            .store
            .messages_before(location, Some(&store::Channel::Alerts), None, 500)
            .await
            .unwrap()
            .into_iter()
            .map(|m| {
                assert_eq!(m.author_name, "drivesync alerts");
                m.body
            })
            .collect();
        m.reverse();
        m
    }

    /// Posts in `location`'s #alerts about `title` that start with `mark`.
    async fn count(&self, location: &str, mark: &str, title: &str) -> usize {
        self.posted(location)
            .await
            .iter()
            .filter(|b| b.starts_with(mark) && b.contains(title))
            .count()
    }

    /// Alerts about `title` opened in `location`'s #alerts (reminders not counted).
    async fn openings(&self, location: &str, title: &str) -> usize {
        self.count(location, OPENED, title).await - self.count(location, REMINDER, title).await
    }

    /// Deliveries of `kind` for `rule` (and `location`, unless `None`: installation-wide).
    async fn received(&self, kind: &str, rule: &str, location: Option<&str>) -> usize {
        let got = self.receiver.got.lock().await;
        assert!(
            got.iter().all(|d| d.verified),
            "a delivery's signature did not verify: {got:?}"
        );
        got.iter()
            .filter(|d| {
                d.body["type"] == kind
                    && d.body["data"]["rule"] == rule
                    && d.body["data"]["location"] == json!(location)
            })
            .count()
    }

    async fn wait_for(&self, what: &str, mut cond: impl AsyncFnMut() -> bool, within: Duration) {
        let deadline = Instant::now() + within;
        while !cond().await {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}; #alerts a: {:#?}\nb: {:#?}\nlogs in {}",
                self.posted(&self.a).await,
                self.posted(&self.b).await,
                self.logs.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn admin(&self, path: &str, body: Value) -> Value {
        common::admin(&self.sandbox.base_url(), path, body).await
    }

    /// A webhook for `location` signed with a key drivesync does not know.
    async fn forged_webhook(&self, location: &str) -> u16 {
        let body = json!({
            "type": "ContactUpdate", "locationId": location, "id": "forged00000000000001",
            "webhookId": format!("forged-{}", rand::random::<u64>()),
            "timestamp": chrono::Utc::now().to_rfc3339(),
        })
        .to_string();
        let sig = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/webhooks/ghl", self.port))
            .header("content-type", "application/json")
            .header("x-ghl-signature", sig)
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

const DEAD: &str = "Jobs failed for good (dead letters)";
const SIGNATURES: &str = "Webhooks are refused for their signature";
const LIMITED: &str = "HighLevel is answering 429 (rate limited)";
const SILENT: &str = "Webhooks have stopped arriving";
const LAG: &str = "The sync is falling behind";
const REAUTH: &str = "The location must be reconnected";
const STORE: &str = "The store refuses writes";
const OPENED: &str = "🔴 ";
const REMINDER: &str = "🔴 Still going on";
const RECOVERED: &str = "✅ Recovered: ";

async fn run(db: TestDb) {
    let s = setup(db).await;
    // Two replicas on one database: every "once" below holds across them.
    let mut serve = s.serve(1, s.port);
    let mut replica = s.serve(2, testkit::free_port());
    for p in [&serve, &replica] {
        if let Err(e) = p.wait_healthy(Duration::from_secs(30)).await {
            panic!("{e}; logs in {}", s.logs.display());
        }
    }
    s.admin(
        "/_sandbox/webhook",
        json!({ "url": format!("http://127.0.0.1:{}/webhooks/ghl", s.port) }),
    )
    .await;

    // A healthy start says nothing: the first polls run, many evaluations pass.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.posted(&s.a).await, Vec::<String>::new());
    assert_eq!(s.posted(&s.b).await, Vec::<String>::new());
    assert!(s.receiver.got.lock().await.is_empty());

    dead_letters(&s).await;
    bad_signatures(&s).await;
    storm_429(&s).await;
    webhooks_silent(&s).await;
    lag(&s).await;
    needs_reauth(&s).await;
    store_refuses_writes(&s).await;
    serve.kill();
    replica.kill();
}

/// A dead letter on `a`: one post, one reminder after `renotify_every` however many
/// evaluations see it, one recovery when it is dropped; nothing in `b`.
async fn dead_letters(s: &Setup) {
    let job = store::NewJob {
        // Far in the future: the server never claims it; it is made dead below.
        run_at_ms: Some(chrono::Utc::now().timestamp_millis() + 86_400_000),
        ..store::NewJob::new("poll", &s.a, "alerts-test", json!({}))
    };
    let id = s.store.enqueue(&job).await.unwrap();
    s.db.exec(&format!(
        "UPDATE jobs SET state = 'dead', last_error = 'HighLevel answered 500' WHERE id = {id}"
    ))
    .await;
    s.wait_for(
        "the dead letter is posted",
        async || s.openings(&s.a, DEAD).await == 1,
        Duration::from_secs(10),
    )
    .await;
    let opened_at = Instant::now();
    let first = s.posted(&s.a).await.remove(0);
    assert!(
        first.contains("1 jobs are in the dead-letter queue")
            && first.contains("What to do: See why with `drivesync dlq list`"),
        "{first}"
    );
    s.wait_for(
        "the receiver has the dead letter",
        async || s.received("alert.opened", "dead_letters", Some(&s.a)).await == 1,
        Duration::from_secs(10),
    )
    .await;
    // About 20 evaluations later: still one post, then one reminder after RENOTIFY.
    tokio::time::sleep(RENOTIFY + Duration::from_millis(2500) - opened_at.elapsed()).await;
    assert_eq!(s.count(&s.a, REMINDER, DEAD).await, 1);
    assert_eq!(
        s.openings(&s.a, DEAD).await,
        1,
        "opened once, reminded once"
    );
    assert_eq!(
        s.received("alert.reminder", "dead_letters", Some(&s.a))
            .await,
        1
    );
    assert_eq!(
        s.received("alert.opened", "dead_letters", Some(&s.a)).await,
        1
    );
    assert_eq!(s.posted(&s.b).await, Vec::<String>::new());

    assert!(s.store.drop_dead(id).await.unwrap());
    s.wait_for(
        "the dead letter's recovery is posted",
        async || s.count(&s.a, RECOVERED, DEAD).await == 1,
        Duration::from_secs(10),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        s.count(&s.a, RECOVERED, DEAD).await,
        1,
        "recovery is said once"
    );
    s.wait_for(
        "the receiver has the recovery",
        async || {
            s.received("alert.recovered", "dead_letters", Some(&s.a))
                .await
                == 1
        },
        Duration::from_secs(10),
    )
    .await;
}

/// Webhooks for `a` with signatures no key verifies (what HighLevel's move to Ed25519 did to
/// receivers that knew only the RSA key), after `a` delivered verified ones; recovery when a
/// webhook verifies again.
async fn bad_signatures(s: &Setup) {
    // Real changes, delivered and verified, so `a` is known to deliver.
    s.admin("/_sandbox/activity", json!({ "rate": 4.0 })).await;
    s.wait_for(
        "a webhook of a is applied",
        async || {
            s.store
                .sync_state(&s.a)
                .await
                .unwrap()
                .is_some_and(|st| st.last_event_ms.is_some())
        },
        Duration::from_secs(30),
    )
    .await;
    s.admin("/_sandbox/activity", json!({ "rate": 0.0 })).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..4 {
        assert_eq!(s.forged_webhook(&s.a).await, 401);
    }
    s.wait_for(
        "the refusals are posted",
        async || s.openings(&s.a, SIGNATURES).await == 1,
        Duration::from_secs(20),
    )
    .await;
    let post = s.posted(&s.a).await;
    let post = post.iter().find(|p| p.contains(SIGNATURES)).unwrap();
    assert!(
        post.contains("webhooks refused for their signature since the last one that verified")
            && post.contains("x-ghl-signature (Ed25519)"),
        "{post}"
    );
    s.wait_for(
        "the receiver has the refusals",
        async || {
            s.received("alert.opened", "signature_refusals", Some(&s.a))
                .await
                == 1
        },
        Duration::from_secs(10),
    )
    .await;
    // HighLevel's own webhooks verify again.
    s.admin("/_sandbox/activity", json!({ "rate": 4.0 })).await;
    s.wait_for(
        "the refusals' recovery is posted",
        async || s.count(&s.a, RECOVERED, SIGNATURES).await == 1,
        Duration::from_secs(30),
    )
    .await;
    s.admin("/_sandbox/activity", json!({ "rate": 0.0 })).await;
    assert_eq!(s.openings(&s.a, SIGNATURES).await, 1);
    assert_eq!(
        s.received("alert.opened", "signature_refusals", None).await,
        0,
        "the refusals named a delivering location: not installation-wide"
    );
}

/// Every request of `a` answered 429 for a while, then not.
async fn storm_429(s: &Setup) {
    s.admin(
        "/_sandbox/faults",
        json!({ "storm429": 1.0, "locations": [s.a] }),
    )
    .await;
    s.wait_for(
        "the 429s are posted",
        async || s.openings(&s.a, LIMITED).await == 1,
        Duration::from_secs(30),
    )
    .await;
    s.admin("/_sandbox/faults", json!({ "reset": true })).await;
    s.wait_for(
        "the 429s' recovery is posted",
        async || s.count(&s.a, RECOVERED, LIMITED).await == 1,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(s.openings(&s.b, LIMITED).await, 0);
    s.wait_for(
        "the receiver has the 429s and their recovery",
        async || {
            s.received("alert.opened", "rate_limited", Some(&s.a)).await == 1
                && s.received("alert.recovered", "rate_limited", Some(&s.a))
                    .await
                    == 1
        },
        Duration::from_secs(10),
    )
    .await;
}

/// Every webhook of `b` lost while its contacts change: polling finds the changes, and `b`'s
/// own threshold (3 s, `[alerts.locations.B]`) says the webhooks stopped; they resume, it
/// recovers. `a`, on the default 30 minutes, says nothing.
async fn webhooks_silent(s: &Setup) {
    s.admin(
        "/_sandbox/faults",
        json!({ "drop": 1.0, "locations": [s.b] }),
    )
    .await;
    s.admin("/_sandbox/activity", json!({ "rate": 4.0 })).await;
    s.wait_for(
        "the silence is posted",
        async || s.openings(&s.b, SILENT).await == 1,
        Duration::from_secs(40),
    )
    .await;
    let post = s.posted(&s.b).await;
    let post = post.iter().find(|p| p.contains(SILENT)).unwrap();
    assert!(post.contains("while polling found changes"), "{post}");
    s.admin("/_sandbox/faults", json!({ "reset": true })).await;
    s.wait_for(
        "the silence's recovery is posted",
        async || s.count(&s.b, RECOVERED, SILENT).await == 1,
        Duration::from_secs(30),
    )
    .await;
    s.admin("/_sandbox/activity", json!({ "rate": 0.0 })).await;
    assert_eq!(s.openings(&s.b, SILENT).await, 1);
    assert_eq!(s.openings(&s.a, SILENT).await, 0);
    assert_eq!(
        s.received("alert.opened", "webhooks_silent", Some(&s.b))
            .await,
        1
    );
}

/// `b`'s webhooks delivered 6 s late, over its 3 s threshold; once the late ones are in,
/// prompt ones recover it.
async fn lag(s: &Setup) {
    s.admin(
        "/_sandbox/faults",
        json!({ "delay": 1.0, "delayMs": 6000, "locations": [s.b] }),
    )
    .await;
    s.admin("/_sandbox/activity", json!({ "rate": 4.0 })).await;
    s.wait_for(
        "the lag is posted",
        async || s.openings(&s.b, LAG).await == 1,
        Duration::from_secs(40),
    )
    .await;
    let post = s.posted(&s.b).await;
    let post = post.iter().find(|p| p.contains(LAG)).unwrap();
    assert!(post.contains("after HighLevel sent it"), "{post}");
    // The late webhooks still on their way arrive first (the alert holds), then prompt ones.
    s.admin("/_sandbox/activity", json!({ "rate": 0.0 })).await;
    s.admin("/_sandbox/faults", json!({ "reset": true })).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    s.admin("/_sandbox/activity", json!({ "rate": 4.0 })).await;
    s.wait_for(
        "the lag's recovery is posted",
        async || s.count(&s.b, RECOVERED, LAG).await == 1,
        Duration::from_secs(30),
    )
    .await;
    s.admin("/_sandbox/activity", json!({ "rate": 0.0 })).await;
    assert_eq!(s.openings(&s.b, LAG).await, 1);
    assert_eq!(s.openings(&s.a, LAG).await, 0);
    assert_eq!(s.received("alert.recovered", "lag", Some(&s.b)).await, 1);
}

/// `b`'s tokens revoked in HighLevel (its UNINSTALL webhook lost): the next poll's refresh is
/// refused and `b` needs reconnecting; reconnected, it recovers.
async fn needs_reauth(s: &Setup) {
    s.admin(
        "/_sandbox/faults",
        json!({ "drop": 1.0, "locations": [s.b] }),
    )
    .await;
    s.admin("/_sandbox/revoke", json!({ "locationId": s.b }))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.admin("/_sandbox/faults", json!({ "reset": true })).await;
    s.wait_for(
        "the reconnect is posted",
        async || s.openings(&s.b, REAUTH).await == 1,
        Duration::from_secs(40),
    )
    .await;
    let post = s.posted(&s.b).await;
    let post = post.iter().find(|p| p.contains(REAUTH)).unwrap();
    assert!(post.contains("drivesync connect"), "{post}");
    let t = common::authorize(&s.sandbox, &s.b).await;
    common::connect(&s.store, &s.b, &t).await;
    s.wait_for(
        "the reconnect's recovery is posted",
        async || s.count(&s.b, RECOVERED, REAUTH).await == 1,
        Duration::from_secs(10),
    )
    .await;
    s.wait_for(
        "the receiver has the reconnect and its recovery",
        async || {
            s.received("alert.opened", "needs_reauth", Some(&s.b)).await == 1
                && s.received("alert.recovered", "needs_reauth", Some(&s.b))
                    .await
                    == 1
        },
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(s.openings(&s.a, REAUTH).await, 0);
}

/// The store locked for writes (SQLite: another process holds the write lock; PostgreSQL:
/// the database read-only): said at the receiver while it lasts, since Drive Chat cannot
/// take a post; the recovery posted in every workspace's #alerts and at the receiver.
async fn store_refuses_writes(s: &Setup) {
    let hold = s.db.hold_writes().await;
    s.wait_for(
        "the receiver hears the store refuses writes",
        async || s.received("alert.opened", "store_writes", None).await == 1,
        Duration::from_secs(30),
    )
    .await;
    hold.release().await;
    s.wait_for(
        "the store's recovery is posted in both workspaces",
        async || {
            s.count(&s.a, RECOVERED, STORE).await == 1 && s.count(&s.b, RECOVERED, STORE).await == 1
        },
        Duration::from_secs(30),
    )
    .await;
    s.wait_for(
        "the receiver has the store's recovery",
        async || s.received("alert.recovered", "store_writes", None).await == 1,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(s.received("alert.opened", "store_writes", None).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_alert_fires_once_and_recovers_once_sqlite() {
    run(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_alert_fires_once_and_recovers_once_postgres() {
    if let Some(db) = TestDb::postgres_database().await {
        run(db).await;
    }
}
