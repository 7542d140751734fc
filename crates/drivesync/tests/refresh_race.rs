//! Refresh tokens are single-use: two processes sharing one database, 50 tasks each, meet an
//! expired token, and HighLevel (the sandbox) sees exactly one refresh; a crash between the
//! token response and the commit leaves the location `needs_reauth`, never looping.
//!
//! The processes are this test binary run again in a child mode (`DRIVESYNC_TEST_CHILD`).

mod common;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const CHILD: &str = "DRIVESYNC_TEST_CHILD";

struct ChildSpec<'a> {
    db_url: &'a str,
    master: &'a str,
    base: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
    location: &'a str,
    contact: &'a str,
    tasks: usize,
    crash: bool,
    lease_ms: u64,
}

fn spawn_child(s: &ChildSpec) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("CHILD_DB", s.db_url)
        .env("CHILD_MASTER", s.master)
        .env("CHILD_BASE", s.base)
        .env("CHILD_CLIENT_ID", s.client_id)
        .env("CHILD_CLIENT_SECRET", s.client_secret)
        .env("CHILD_LOCATION", s.location)
        .env("CHILD_CONTACT", s.contact)
        .env("CHILD_TASKS", s.tasks.to_string())
        .env("CHILD_CRASH", if s.crash { "1" } else { "0" })
        .env("CHILD_LEASE_MS", s.lease_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What a child reports: `RESULT {"ok": n, "errors": [...]}`.
fn wait_child(c: std::process::Child) -> (Option<i32>, Option<Value>) {
    let out = c.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !text.contains("RESULT ") {
        eprintln!(
            "child stdout: {text}\nchild stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let result = text
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, j)| j))
        .map(|j| serde_json::from_str(j).unwrap());
    (out.status.code(), result)
}

/// The child: opens the shared database, calls get-contact from N tasks at once.
#[test]
fn child_process_entry() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let env = |k: &str| std::env::var(k).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let keyring = store::Keyring::from_env_value(&env("CHILD_MASTER")).unwrap();
        let store = Arc::new(
            store::Store::connect(&env("CHILD_DB"), keyring)
                .await
                .unwrap(),
        );
        let base = url::Url::parse(&env("CHILD_BASE")).unwrap();
        let app = ghl::OAuthApp::new(
            env("CHILD_CLIENT_ID"),
            secrecy::SecretString::from(env("CHILD_CLIENT_SECRET")),
            "http://127.0.0.1:8080/oauth/callback",
            vec![],
            base.clone(),
            base.clone(),
        )
        .unwrap();
        let mut tokens = ghl::OAuthTokens::new(Arc::new(store::GhlTokens::new(store)), app);
        tokens.lease_ttl = Duration::from_millis(env("CHILD_LEASE_MS").parse().unwrap());
        if env("CHILD_CRASH") == "1" {
            // The fault point: HighLevel has answered (and spent the old refresh token), the
            // new pair is not committed yet.
            tokens = tokens.with_crash_point(Arc::new(|| std::process::abort()));
        }
        let client = ghl::GhlClient::new(ghl::ClientConfig::new(base), Arc::new(tokens)).unwrap();
        let n: usize = env("CHILD_TASKS").parse().unwrap();
        let (loc, contact) = (env("CHILD_LOCATION"), env("CHILD_CONTACT"));
        let mut handles = Vec::new();
        for _ in 0..n {
            let l = client.location(&loc);
            let c = contact.clone();
            handles.push(tokio::spawn(async move { l.get_contact(&c).await }));
        }
        let mut ok = 0;
        let mut errors = Vec::new();
        for h in handles {
            match h.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) => errors.push(format!("{e:?}")),
            }
        }
        println!(
            "RESULT {}",
            serde_json::json!({ "ok": ok, "errors": errors })
        );
    });
}

async fn two_processes_one_refresh(db: testkit::TestDb) {
    let running = common::sandbox(5).await;
    let base = running.base_url();
    let (location, contact) = common::first_location(&running);
    let master = common::master_key();
    let store = common::open_store(&db, &master).await;
    let tokens = common::authorize(&running, &location).await;
    common::connect(&store, &location, &tokens).await;
    common::expire(&base, &location).await;
    let app = running.sandbox.config.app.clone();
    let spec = ChildSpec {
        db_url: &db.url,
        master: &master,
        base: &base,
        client_id: &app.client_id,
        client_secret: &app.client_secret,
        location: &location,
        contact: &contact,
        tasks: 50,
        crash: false,
        lease_ms: 30_000,
    };
    let (a, b) = (spawn_child(&spec), spawn_child(&spec));
    let (ra, rb) = tokio::task::spawn_blocking(move || (wait_child(a), wait_child(b)))
        .await
        .unwrap();
    for (code, result) in [ra, rb] {
        assert_eq!(code, Some(0));
        let r = result.expect("the child reports");
        assert_eq!(r["ok"], 50, "no task fails: {r}");
    }
    let c = common::counters(&base).await;
    assert_eq!(
        c["refreshes"], 1,
        "exactly one refresh across both processes: {c}"
    );
    assert_eq!(c["refreshRefused"], 0, "{c}");
    let rec = store.location(&location).await.unwrap().unwrap();
    assert_eq!(rec.state, store::LocationState::Ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_sharing_sqlite_refresh_once() {
    two_processes_one_refresh(testkit::TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_sharing_postgres_refresh_once() {
    if let Some(db) = testkit::TestDb::postgres().await {
        two_processes_one_refresh(db).await;
    }
}

async fn crash_before_commit(db: testkit::TestDb) {
    let running = common::sandbox(5).await;
    let base = running.base_url();
    let (location, contact) = common::first_location(&running);
    let master = common::master_key();
    let store = common::open_store(&db, &master).await;
    let tokens = common::authorize(&running, &location).await;
    common::connect(&store, &location, &tokens).await;
    common::expire(&base, &location).await;
    let app = running.sandbox.config.app.clone();
    let mut spec = ChildSpec {
        db_url: &db.url,
        master: &master,
        base: &base,
        client_id: &app.client_id,
        client_secret: &app.client_secret,
        location: &location,
        contact: &contact,
        tasks: 1,
        crash: true,
        lease_ms: 500,
    };
    let crashed = spawn_child(&spec);
    let (code, result) = tokio::task::spawn_blocking(move || wait_child(crashed))
        .await
        .unwrap();
    assert!(
        result.is_none() && code != Some(0),
        "the child died at the fault point"
    );
    assert_eq!(common::counters(&base).await["refreshes"], 1);

    // The next process finds the lease of the dead one, waits it out, spends the (already
    // spent) refresh token once, and gives the location up for reconnection.
    spec.crash = false;
    spec.tasks = 5;
    for _round in 0..2 {
        let c = spawn_child(&spec);
        let (code, result) = tokio::task::spawn_blocking(move || wait_child(c))
            .await
            .unwrap();
        assert_eq!(code, Some(0));
        let r = result.unwrap();
        assert_eq!(r["ok"], 0);
        let errors = r["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 5);
        assert!(
            errors
                .iter()
                .all(|e| e.as_str().unwrap().starts_with("NeedsReauth")),
            "{r}"
        );
        let c = common::counters(&base).await;
        assert_eq!(
            c["refreshRefused"], 1,
            "the token endpoint is asked once, never again: {c}"
        );
        assert_eq!(c["refreshes"], 1);
    }
    let rec = store.location(&location).await.unwrap().unwrap();
    assert_eq!(rec.state, store::LocationState::NeedsReauth);
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_between_token_response_and_commit_sqlite() {
    crash_before_commit(testkit::TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_between_token_response_and_commit_postgres() {
    if let Some(db) = testkit::TestDb::postgres().await {
        crash_before_commit(db).await;
    }
}
