//! Shared helpers of drivesync's process tests: an in-process sandbox, a database per test
//! (an SQLite file, or a fresh schema of the PostgreSQL at `DRIVESYNC_TEST_PG_URL`), and
//! an OAuth-connected location.
#![allow(dead_code)]

use secrecy::SecretString;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

pub const PG_URL_ENV: &str = "DRIVESYNC_TEST_PG_URL";

pub fn key_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sandbox-keys")
}

pub async fn sandbox(contacts: usize) -> ghl_sandbox::RunningSandbox {
    let cfg = ghl_sandbox::SandboxConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        locations: 2,
        contacts_per_location: contacts,
        seed: 11,
        key_dir: key_dir(),
        ..Default::default()
    };
    ghl_sandbox::start(cfg).await.expect("sandbox starts")
}

/// A database for one test. Dropping it removes the PostgreSQL schema.
pub struct Db {
    pub url: String,
    pub dir: tempfile::TempDir,
    schema: Option<(String, String)>,
    /// A database of its own (server URL, name), dropped with this.
    database: Option<(String, String)>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((base, name)) = self.database.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(&base).await.ok()?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut c)
                        .await
                        .ok()
                })
            })
            .join();
        }
        if let Some((base, schema)) = self.schema.take() {
            // Best effort from a drop: a blocking connection on a helper thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(&base).await.ok()?;
                    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                        .execute(&mut c)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

pub fn sqlite_db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("drivesync.db").display());
    Db {
        url,
        dir,
        schema: None,
        database: None,
    }
}

/// A fresh schema of the test PostgreSQL; `None` (with a notice) when it is not configured.
pub async fn pg_db() -> Option<Db> {
    use sqlx::Connection;
    let Ok(base) = std::env::var(PG_URL_ENV) else {
        eprintln!("skipping PostgreSQL case: {PG_URL_ENV} is not set");
        return None;
    };
    let mut c = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("{PG_URL_ENV} is set but PostgreSQL cannot be reached: {e}"));
    let schema = format!(
        "drivesync_test_{}_{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(&mut c)
        .await
        .unwrap();
    let mut url = url::Url::parse(&base).unwrap();
    url.query_pairs_mut()
        .append_pair("options[search_path]", &schema);
    Some(Db {
        url: url.to_string(),
        dir: tempfile::tempdir().unwrap(),
        schema: Some((base, schema)),
        database: None,
    })
}

/// A fresh PostgreSQL database of its own (for tests that change database-wide settings);
/// `None` (with a notice) when PostgreSQL is not configured.
pub async fn pg_database() -> Option<Db> {
    use sqlx::Connection;
    let Ok(base) = std::env::var(PG_URL_ENV) else {
        eprintln!("skipping PostgreSQL case: {PG_URL_ENV} is not set");
        return None;
    };
    let mut c = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("{PG_URL_ENV} is set but PostgreSQL cannot be reached: {e}"));
    let name = format!(
        "drivesync_test_{}_{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut c)
        .await
        .unwrap();
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(&format!("/{name}"));
    Some(Db {
        url: url.to_string(),
        dir: tempfile::tempdir().unwrap(),
        schema: None,
        database: Some((base, name)),
    })
}

/// Makes the store unable to take writes until `release`: a PostgreSQL database of its own
/// turns read-only (its sessions are ended so the pool reconnects into read-only ones); an
/// SQLite file has its write lock held by this process.
pub async fn hold_writes(db: &Db) -> WriteHold {
    use sqlx::Connection;
    if let Some((base, name)) = &db.database {
        let mut c = sqlx::PgConnection::connect(base).await.unwrap();
        for sql in [
            format!("ALTER DATABASE \"{name}\" SET default_transaction_read_only = on"),
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ),
        ] {
            sqlx::query(&sql).execute(&mut c).await.unwrap();
        }
        return WriteHold::ReadOnly {
            base: base.clone(),
            name: name.clone(),
        };
    }
    assert!(
        db.schema.is_none(),
        "hold_writes needs pg_database() or sqlite_db()"
    );
    let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    // drivesync's writers retry the lock every 250 µs (store/src/sqlite_busy.rs); this
    // connection's default handler sleeps far longer between tries and can lose every race for
    // its 5 s under a busy engine. Trying again until it wins is what a person would do.
    sqlx::query("PRAGMA busy_timeout = 0")
        .execute(&mut c)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match sqlx::query("BEGIN EXCLUSIVE").execute(&mut c).await {
            Ok(_) => break,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_micros(250)).await;
            }
            Err(e) => panic!("could not take the SQLite write lock within 60 s: {e}"),
        }
    }
    WriteHold::Locked(c)
}

pub enum WriteHold {
    ReadOnly { base: String, name: String },
    Locked(sqlx::SqliteConnection),
}

impl WriteHold {
    pub async fn release(self) {
        use sqlx::Connection;
        match self {
            WriteHold::ReadOnly { base, name } => {
                let mut c = sqlx::PgConnection::connect(&base).await.unwrap();
                for sql in [
                    format!("ALTER DATABASE \"{name}\" RESET default_transaction_read_only"),
                    format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{name}'"
                    ),
                ] {
                    sqlx::query(&sql).execute(&mut c).await.unwrap();
                }
            }
            WriteHold::Locked(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
                c.close().await.unwrap();
            }
        }
    }
}

/// Rows of a query run directly on the test database.
pub async fn query_rows<T>(db: &Db, sql: &str) -> Vec<T>
where
    T: Send + Unpin,
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    use sqlx::Connection;
    if db.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
    }
}

pub fn master_key() -> String {
    use base64::Engine;
    let key: [u8; 32] = rand::random();
    format!(
        "testkey1:{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

pub async fn open_store(db: &Db, master: &str) -> store::Store {
    let keyring = store::Keyring::from_env_value(master).unwrap();
    store::Store::connect(&db.url, keyring).await.unwrap()
}

pub fn app(base: &str, running: &ghl_sandbox::RunningSandbox) -> ghl::OAuthApp {
    let a = &running.sandbox.config.app;
    ghl::OAuthApp::new(
        a.client_id.clone(),
        SecretString::from(a.client_secret.clone()),
        a.redirect_uris[0].clone(),
        vec![
            "contacts.readonly".into(),
            "contacts.write".into(),
            "calendars/events.readonly".into(),
            "calendars/events.write".into(),
        ],
        url::Url::parse(base).unwrap(),
        url::Url::parse(base).unwrap(),
    )
    .unwrap()
}

/// Approves the app for `location` on the sandbox's install page and exchanges the code.
pub async fn authorize(
    running: &ghl_sandbox::RunningSandbox,
    location: &str,
) -> ghl::TokenResponse {
    let base = running.base_url();
    let app = app(&base, running);
    let req = app.authorization_url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .get(format!("{}&location_id={location}&approve=1", req.url))
        .send()
        .await
        .unwrap();
    let to = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    ghl::OAuthApp::check_state(&req.state, &q["state"]).unwrap();
    app.exchange_code(&q["code"], ghl::UserType::Location)
        .await
        .unwrap()
}

/// Stores an OAuth connection for `location` as `drivesync connect` would.
pub async fn connect(store: &store::Store, location: &str, t: &ghl::TokenResponse) {
    store
        .save_location(&store::NewLocation {
            location_id: location.to_string(),
            company_id: t.company_id.clone(),
            name: None,
            auth: store::AuthKind::OAuth,
            user_type: ghl::UserType::Location,
            scopes: t.scopes.clone(),
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            expires_at_ms: Some(chrono::Utc::now().timestamp_millis() + 86_000_000),
        })
        .await
        .unwrap();
}

pub async fn admin(base: &str, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn counters(base: &str) -> Value {
    reqwest::get(format!("{base}/_sandbox/counters"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub fn first_location(running: &ghl_sandbox::RunningSandbox) -> (String, String) {
    running.sandbox.read(|w| {
        let l = w.locations.values().next().unwrap();
        (
            l.id.to_string(),
            l.by_added.iter().next().unwrap().1.to_string(),
        )
    })
}

pub fn expire(base: &str, location: &str) -> impl std::future::Future<Output = Value> {
    let (b, l) = (base.to_string(), location.to_string());
    async move { admin(&b, "/_sandbox/expire-tokens", json!({ "locationId": l })).await }
}

pub fn arc<T>(t: T) -> Arc<T> {
    Arc::new(t)
}
