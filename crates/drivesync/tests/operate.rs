//! Operating drivesync: `/metrics` kept off the public address (token or an address of its
//! own), `/readyz`, and `drivesync doctor` against the sandbox — healthy, then each problem
//! it can be shown, with the exact line it prints.

mod common;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use testkit::process::ServeProcess;
use testkit::{Backend, TestDb};

fn bin() -> std::process::Command {
    testkit::process::drivesync(env!("CARGO_BIN_EXE_drivesync"))
}

/// A config file in the data directory: the public URL on `port`, plus `extra`.
fn config(db: &TestDb, port: u16, extra: &str) -> std::path::PathBuf {
    let path = db.data_dir().join("drivesync.toml");
    std::fs::write(
        &path,
        format!("[server]\npublic_url = \"http://127.0.0.1:{port}\"\n{extra}"),
    )
    .unwrap();
    path
}

/// `drivesync serve` on `port` over `db`, HighLevel at `ghl`.
async fn serve(
    db: &TestDb,
    port: u16,
    ghl: &str,
    token: Option<&str>,
    extra: &str,
) -> ServeProcess {
    let mut c = bin();
    c.arg("serve")
        .arg("--config")
        .arg(config(db, port, extra))
        .arg("--data-dir")
        .arg(db.data_dir())
        .arg("--database-url")
        .arg(&db.url)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--ghl-base-url")
        .arg(ghl)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(t) = token {
        c.env("DRIVESYNC_METRICS_TOKEN", t);
    }
    let p = ServeProcess::spawn(c, port);
    p.wait_healthy(Duration::from_secs(60)).await.unwrap();
    p
}

async fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut r = reqwest::Client::new().get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn open(backend: Backend) -> Option<TestDb> {
    match backend {
        Backend::Sqlite => Some(TestDb::sqlite()),
        // Its own database, so that it can be turned read-only.
        Backend::Postgres => TestDb::postgres_database().await,
    }
}

async fn metrics_ask_for_the_token_and_stay_off_the_public_port(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let port = testkit::free_port();
    let s = serve(&db, port, "http://127.0.0.1:9", None, "").await;
    let (status, _) = get(&format!("{}/metrics", s.url), None).await;
    assert_eq!(
        status, 404,
        "/metrics is not served without a token or an address"
    );
    assert_eq!(
        get(&format!("{}/healthz", s.url), None).await,
        (200, "ok".into())
    );
    drop(s);

    let port = testkit::free_port();
    let s = serve(&db, port, "http://127.0.0.1:9", Some("s3cret-scrape"), "").await;
    let url = format!("{}/metrics", s.url);
    let refusal = r#"{"error":"metrics need Authorization: Bearer <the DRIVESYNC_METRICS_TOKEN of this server>"}"#;
    assert_eq!(get(&url, None).await, (401, refusal.to_string()));
    assert_eq!(get(&url, Some("guess")).await, (401, refusal.to_string()));
    let (status, body) = get(&url, Some("s3cret-scrape")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("drivesync_jobs_total{outcome=\"retried\"}"),
        "{body}"
    );
    drop(s);

    // An address of its own: served there (with /readyz beside it), not on the public one.
    let port = testkit::free_port();
    let apart = testkit::free_port();
    let s = serve(
        &db,
        port,
        "http://127.0.0.1:9",
        None,
        &format!("[metrics]\nlisten = \"127.0.0.1:{apart}\"\n"),
    )
    .await;
    assert_eq!(get(&format!("{}/metrics", s.url), None).await.0, 404);
    let (status, body) = get(&format!("http://127.0.0.1:{apart}/metrics"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("drivesync_webhooks_accepted_total"), "{body}");
    assert_eq!(
        get(&format!("http://127.0.0.1:{apart}/readyz"), None)
            .await
            .0,
        200
    );
}

async fn readyz_says_when_the_store_takes_no_writes(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let port = testkit::free_port();
    let s = serve(&db, port, "http://127.0.0.1:9", None, "").await;
    let ready = format!("{}/readyz", s.url);
    let (status, body) = get(&ready, None).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], true);
    assert_eq!(v["workers"], true);

    let hold = db.hold_writes().await;
    let (status, body) = get(&ready, None).await;
    hold.release().await;
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false);
    assert_eq!(v["store"], false);
    assert_eq!(v["workers"], true);
    let reason = v["reasons"][0].as_str().unwrap();
    assert!(
        reason.starts_with("the store takes no writes: "),
        "{reason}"
    );
    // Healthy still: the process answers.
    assert_eq!(get(&format!("{}/healthz", s.url), None).await.0, 200);
}

/// Runs a case that opens its own database (see [`open`]).
async fn by_backend<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    case(backend).await
}

testkit::on_both_backends!(crate::by_backend =>
    metrics_ask_for_the_token_and_stay_off_the_public_port,
    readyz_says_when_the_store_takes_no_writes,
    doctor_finds_each_problem,
);

/// `drivesync doctor` over `db`, HighLevel at `ghl`, its public URL on `port`: exit status
/// and the lines it printed.
async fn doctor(db: &TestDb, port: u16, ghl: &str, extra: &[&str]) -> (bool, Vec<String>) {
    let mut c = bin();
    c.arg("doctor")
        .arg("--config")
        .arg(config(db, port, ""))
        .arg("--data-dir")
        .arg(db.data_dir())
        .arg("--database-url")
        .arg(&db.url)
        .arg("--ghl-base-url")
        .arg(ghl)
        .args(extra);
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    (
        out.status.success(),
        text.lines().map(str::to_string).collect(),
    )
}

fn has(lines: &[String], line: &str) {
    assert!(
        lines.iter().any(|l| l == line),
        "no line {line:?} in:\n{}",
        lines.join("\n")
    );
}

/// A location connected with a Private Integration Token holding `scopes`.
async fn connect_pit(store: &store::Store, base: &str, loc: &str, scopes: &[&str]) {
    let pit = testkit::sandbox::mint_pit(&reqwest::Client::new(), base, loc, Some(scopes)).await;
    store
        .save_location(&store::NewLocation {
            location_id: loc.into(),
            company_id: None,
            name: None,
            auth: store::AuthKind::PrivateIntegration,
            user_type: ghl::UserType::Location,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            access_token: pit.token.into(),
            refresh_token: None,
            expires_at_ms: None,
        })
        .await
        .unwrap();
}

fn locations(sb: &ghl_sandbox::RunningSandbox) -> Vec<String> {
    sb.sandbox
        .read(|w| w.locations.values().map(|l| l.id.to_string()).collect())
}

async fn doctor_finds_each_problem(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let sb = common::sandbox(3).await;
    let base = sb.base_url();
    let locs = locations(&sb);
    let (a, b) = (&locs[0], &locs[1]);
    let store = db.connect(db.keyring()).await;
    connect_pit(&store, &base, a, ghl::DEFAULT_SCOPES).await;
    let port = testkit::free_port();
    let s = serve(&db, port, &base, None, "").await;

    let (ok, lines) = doctor(&db, port, &base, &[]).await;
    assert!(ok, "{lines:?}");
    has(&lines, &format!("✓ HighLevel reachable at {base}/"));
    has(
        &lines,
        &format!("✓ public URL http://127.0.0.1:{port}/ answers"),
    );
    has(&lines, &format!("✓ {a}: scopes cover what drivesync uses"));
    has(&lines, &format!("✓ {a}: token accepted, does not expire"));
    has(&lines, "✓ webhook signatures: none refused in the last day");
    has(&lines, "all checks passed");
    assert!(
        lines.iter().any(|l| l.starts_with("✓ clock within ")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("✓ {a}: rate budget "))),
        "{lines:?}"
    );

    // Missing scopes, and webhooks signed only the retired way.
    connect_pit(&store, &base, b, &["contacts.readonly", "contacts.write"]).await;
    let now = chrono::Utc::now().timestamp_millis();
    store
        .add_webhook_refusals(&[store::RefusalCount {
            scope: a.clone(),
            reason: "no_key_for_signature".into(),
            count: 3,
            first_ms: now - 1_000,
            last_ms: now,
        }])
        .await
        .unwrap();
    let (ok, lines) = doctor(&db, port, &base, &[]).await;
    assert!(!ok);
    let missing = ghl::missing_scopes(&["contacts.readonly".into(), "contacts.write".into()]);
    has(
        &lines,
        &format!(
            "✗ {b}: token lacks scopes {}; reconnect it (`drivesync connect`) granting them",
            missing.join(" ")
        ),
    );
    has(&lines, &format!(
        "✗ 3 webhooks of {a} carried only x-wh-signature (legacy RSA), which is off: have the \
         sender sign with x-ghl-signature (Ed25519), or set webhooks.legacy_rsa = true while it moves"
    ));
    has(&lines, "2 problems to fix");

    // A revoked token, for the one location asked about (serve stopped first: its engine would
    // meet the refusal too and mark the location, which doctor then reports as such).
    drop(s);
    common::admin(
        &base,
        "/_sandbox/revoke",
        serde_json::json!({ "locationId": a }),
    )
    .await;
    let (ok, lines) = doctor(&db, port, &base, &["--location", a]).await;
    assert!(!ok);
    has(
        &lines,
        &format!(
            "✗ {a}: HighLevel refuses its token (revoked, or the app uninstalled); reconnect it \
         with `drivesync connect`"
        ),
    );
    assert!(
        !lines.iter().any(|l| l.contains(b.as_str())),
        "only {a} is checked: {lines:?}"
    );

    // The public URL down (serve stopped), and HighLevel unreachable.
    let nowhere = format!("http://127.0.0.1:{}", testkit::free_port());
    let (ok, lines) = doctor(&db, port, &nowhere, &["--location", b]).await;
    assert!(!ok);
    has(
        &lines,
        &format!(
            "✗ public URL http://127.0.0.1:{port}/ unreachable from this host: Connection refused \
         (os error 111); start `drivesync serve`, or fix server.public_url (HighLevel sends \
         webhooks and people there)"
        ),
    );
    has(
        &lines,
        &format!(
            "✗ HighLevel unreachable at {nowhere}/: Connection refused (os error 111); check the \
         network, a proxy, or highlevel.api_base / --ghl-base-url"
        ),
    );

    // The store not writable.
    let hold = db.hold_writes().await;
    let (ok, lines) = doctor(&db, port, &base, &["--location", b]).await;
    hold.release().await;
    assert!(!ok);
    let prefix = format!("✗ store ({}) not writable: ", store.backend());
    assert!(lines.iter().any(|l| l.starts_with(&prefix)), "{lines:?}");
}

/// A database whose newest migration is not applied: reported, not applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_a_schema_behind_without_migrating_it() {
    let db = TestDb::sqlite();
    drop(db.connect(db.keyring()).await);
    let known = db.scalar("SELECT MAX(version) FROM _sqlx_migrations").await;
    db.exec(&format!(
        "DELETE FROM _sqlx_migrations WHERE version = {known}"
    ))
    .await;
    let applied = db.scalar("SELECT MAX(version) FROM _sqlx_migrations").await;
    let (ok, lines) = doctor(&db, testkit::free_port(), "http://127.0.0.1:9", &[]).await;
    assert!(!ok);
    has(
        &lines,
        &format!(
            "✗ store schema at migration {applied} of {known}: back the database up, then start \
         `drivesync serve` (or any command) to migrate it"
        ),
    );
    assert_eq!(
        db.scalar("SELECT MAX(version) FROM _sqlx_migrations").await,
        applied,
        "doctor changed nothing"
    );
}

/// A serve over `db` whose webhooks the sandbox signs, the sandbox's first two locations
/// connected with every scope; its log in `log`.
async fn serve_synced(
    db: &TestDb,
    sb: &ghl_sandbox::RunningSandbox,
    extra: &str,
    env: &[(&str, &str)],
    log: &Path,
) -> (ServeProcess, Vec<String>) {
    let base = sb.base_url();
    let locs = locations(sb);
    let store = db.connect(db.keyring()).await;
    for l in &locs[..2] {
        connect_pit(&store, &base, l, ghl::DEFAULT_SCOPES).await;
    }
    let pem = db.data_dir().join("sandbox.pem");
    std::fs::write(&pem, sb.sandbox.signer.ed25519_public_pem()).unwrap();
    let port = testkit::free_port();
    let extra = format!(
        "[webhooks]\nkeys = [{:?}]\n{extra}",
        pem.display().to_string()
    );
    let mut c = bin();
    c.arg("serve")
        .arg("--config")
        .arg(config(db, port, &extra))
        .arg("--data-dir")
        .arg(db.data_dir())
        .arg("--database-url")
        .arg(&db.url)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--ghl-base-url")
        .arg(&base)
        .env("DRIVESYNC_METRICS_TOKEN", "t")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    let p = ServeProcess::spawn(c, port);
    p.wait_healthy(Duration::from_secs(60)).await.unwrap();
    (p, locs)
}

/// Posts a ContactCreate for a new contact of `location`, sent `age_ms` ago, signed by the
/// sandbox; its webhook id.
async fn post_contact(
    s: &ServeProcess,
    sb: &ghl_sandbox::RunningSandbox,
    location: &str,
    age_ms: i64,
) -> String {
    let webhook_id = format!("wh-{:032x}", rand::random::<u128>());
    let sent = chrono::Utc::now() - chrono::Duration::milliseconds(age_ms);
    let body = serde_json::json!({
        "type": "ContactCreate", "locationId": location,
        "id": format!("c{:019x}", rand::random::<u64>()), "firstName": "Flo",
        "dateAdded": sent.to_rfc3339(), "dateUpdated": sent.to_rfc3339(),
        "webhookId": webhook_id, "timestamp": sent.to_rfc3339(),
    })
    .to_string();
    let sig = sb.sandbox.signer.sign_ed25519(body.as_bytes());
    let r = reqwest::Client::new()
        .post(format!("{}/webhooks/ghl", s.url))
        .header("content-type", "application/json")
        .header("x-ghl-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    webhook_id
}

/// A counter's value on `/metrics`.
async fn counter(s: &ServeProcess, line_start: &str) -> u64 {
    let (_, body) = get(&format!("{}/metrics", s.url), Some("t")).await;
    body.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or(0)
}

/// #15's flood, reproduced with another repeated failure: every read from HighLevel fails
/// (5xx), so each late first sighting of a contact — which is read back to confirm it — fails
/// and is retried, hundreds of times a minute. The counter has every retry; the log has at
/// most its burst of the line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_failing_jobs_writes_a_bounded_log() {
    let db = TestDb::sqlite();
    let sb = common::sandbox(3).await;
    let log = db.data_dir().join("serve.log");
    let (s, locs) = serve_synced(&db, &sb, "[sync]\nworkers = 32\n", &[], &log).await;
    common::admin(
        &sb.base_url(),
        "/_sandbox/faults",
        serde_json::json!({ "api5xx": 1.0 }),
    )
    .await;
    for n in 0..200 {
        post_contact(&s, &sb, &locs[n % 2], 60_000).await;
    }
    let retried = "drivesync_jobs_total{outcome=\"retried\"}";
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while counter(&s, retried).await < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "the jobs did not fail and retry"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let n = counter(&s, retried).await;
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = text.matches("job failed; will retry").count();
    assert!(lines <= 20 + 2, "{lines} lines for {n} retries:\n{text}");
    assert!(counter(&s, "drivesync_log_lines_suppressed_total").await >= n - 22);
}

/// One webhook followed through the JSON log (`log.format = "json"`): the line of the change
/// it made carries the job's span (id, kind, location) and the apply's (webhook id, record).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_followed_from_ingest_to_change_in_json_lines() {
    let db = TestDb::sqlite();
    let sb = common::sandbox(3).await;
    let log = db.data_dir().join("serve.log");
    let (s, locs) = serve_synced(
        &db,
        &sb,
        "[log]\nformat = \"json\"\n",
        &[("RUST_LOG", "info,sync=debug")],
        &log,
    )
    .await;
    let id = post_contact(&s, &sb, &locs[0], 0).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let json_lines = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect::<Vec<_>>()
    };
    let change = loop {
        let found = json_lines()
            .into_iter()
            .find(|v| v["message"] == "change applied" && v["webhook_id"] == id.as_str());
        if let Some(v) = found {
            break v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no change line for {id}:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let spans = change["spans"].as_array().expect("spans");
    let job = spans
        .iter()
        .find(|s| s["name"] == "job")
        .expect("a job span");
    assert_eq!(job["kind"], "webhook");
    assert_eq!(job["location"], locs[0].as_str());
    assert!(job["job_id"].is_u64(), "{job}");
    let apply = spans
        .iter()
        .find(|s| s["name"] == "apply")
        .expect("an apply span");
    assert_eq!(apply["webhook_id"], id.as_str());
    assert_eq!(apply["event_type"], "ContactCreate");
    assert!(
        apply["record_id"]
            .as_str()
            .is_some_and(|r| r.starts_with('c')),
        "{apply}"
    );
    // The ingest's line for the same webhook, under its webhook span.
    let stored = json_lines()
        .into_iter()
        .find(|v| v["message"] == "webhook stored" && v["span"]["webhook_id"] == id.as_str())
        .expect("the ingest's line");
    assert_eq!(stored["span"]["location"], locs[0].as_str());
}

/// The names and label keys `/metrics` serves, against `tests/snapshots/metrics.txt`: a
/// renamed metric or label breaks the dashboards and alerts built on it, so it must be a
/// decision (rewrite the file with `UPDATE_SNAPSHOTS=1`), not an accident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_names_and_labels_match_the_snapshot() {
    let db = TestDb::sqlite();
    let sb = common::sandbox(3).await;
    let log = db.data_dir().join("serve.log");
    let (s, _) = serve_synced(&db, &sb, "", &[], &log).await;
    let (status, body) = get(&format!("{}/metrics", s.url), Some("t")).await;
    assert_eq!(status, 200, "{body}");
    let mut series: Vec<String> = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let name_labels = l.rsplit_once(' ').map_or(l, |(n, _)| n);
            match name_labels.split_once('{') {
                None => name_labels.to_string(),
                Some((name, labels)) => {
                    let keys: Vec<&str> = labels
                        .trim_end_matches('}')
                        .split(',')
                        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
                        .collect();
                    format!("{name}{{{}}}", keys.join(","))
                }
            }
        })
        .collect();
    series.sort();
    series.dedup();
    let got = series.join("\n") + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/metrics.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        got, want,
        "the metric names or labels changed; if meant, run with UPDATE_SNAPSHOTS=1 and say so \
         in the release notes"
    );
}
