//! Shared test setup: a store on a SQLite file in a temporary directory or in a PostgreSQL
//! schema of its own (when `DRIVESYNC_TEST_PG_URL` is set), the ingest served over real HTTP
//! on 127.0.0.1:0, the sandbox's signer, and ways to make the store unable to write.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use ghl::webhook::WebhookKeys;
use ghl_sandbox::Signer;
use serde_json::Value;
use sqlx::Connection as _;
use store::{Keyring, Store};
use sync::ingest::{IngestConfig, IngestState};
use tempfile::TempDir;

pub const PG_URL_ENV: &str = "DRIVESYNC_TEST_PG_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test's database.
pub struct Env {
    pub backend: Backend,
    /// The URL for `Store::connect` (for PostgreSQL it selects the test's schema).
    pub url: String,
    pub dir: TempDir,
}

impl Env {
    pub async fn store(&self) -> Store {
        Store::connect(&self.url, Keyring::generate())
            .await
            .expect("connect the store")
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("drivesync.db")
    }

    /// Takes the database's write lock from another connection and keeps it until the
    /// returned guard is released: every write of the store waits behind it.
    pub async fn lock_writes(&self) -> WriteLock {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                // In WAL mode an exclusive transaction holds the one write lock; readers go on.
                sqlx::query("BEGIN EXCLUSIVE")
                    .execute(&mut c)
                    .await
                    .expect("lock");
                WriteLock::Sqlite(c)
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query("BEGIN").execute(&mut c).await.expect("begin");
                sqlx::query("LOCK TABLE inbox IN EXCLUSIVE MODE")
                    .execute(&mut c)
                    .await
                    .expect("lock");
                WriteLock::Postgres(c)
            }
        }
    }

    /// How many inbox rows carry this webhook id, counted behind the store's back.
    pub async fn rows_for(&self, webhook_id: &str) -> i64 {
        let sql = "SELECT COUNT(*) FROM inbox WHERE webhook_id = $1";
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sql)
                    .bind(webhook_id)
                    .fetch_one(&mut c)
                    .await
                    .expect("count")
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sql)
                    .bind(webhook_id)
                    .fetch_one(&mut c)
                    .await
                    .expect("count")
            }
        }
    }

    /// Rows in the inbox.
    pub async fn inbox_rows(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM inbox";
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut c)
                    .await
                    .expect("count")
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut c)
                    .await
                    .expect("count")
            }
        }
    }
}

pub enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    pub async fn release(self) {
        match self {
            WriteLock::Sqlite(mut c) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut c)
                    .await
                    .expect("unlock");
                c.close().await.ok();
            }
            WriteLock::Postgres(mut c) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut c)
                    .await
                    .expect("unlock");
                c.close().await.ok();
            }
        }
    }
}

/// Runs `case` on a fresh SQLite file.
pub async fn run_sqlite<F, Fut>(case: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("drivesync.db").display());
    let run = case(Env {
        backend: Backend::Sqlite,
        url,
        dir,
    });
    if tokio::time::timeout(CASE_TIMEOUT, run).await.is_err() {
        panic!("the case did not finish in {CASE_TIMEOUT:?}");
    }
}

/// A case that has not finished by then is stuck: fail it rather than hang the suite.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `case` in a new schema of the PostgreSQL database named by `DRIVESYNC_TEST_PG_URL`,
/// dropping it afterwards even if the case panics; skipped with a notice when it is unset.
pub async fn run_postgres<F, Fut>(case: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(base) = std::env::var(PG_URL_ENV) else {
        eprintln!("skipping PostgreSQL case: {PG_URL_ENV} is not set");
        return;
    };
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("{PG_URL_ENV} is set but PostgreSQL cannot be reached: {e}"));
    let schema = unique_schema_name();
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(&mut admin)
        .await
        .expect("create the test schema");
    let mut url = url::Url::parse(&base).expect("DRIVESYNC_TEST_PG_URL is a URL");
    url.query_pairs_mut()
        .append_pair("options[search_path]", &schema);
    let env = Env {
        backend: Backend::Postgres,
        url: url.to_string(),
        dir: tempfile::tempdir().expect("temp dir"),
    };
    let task = tokio::spawn(case(env));
    let abort = task.abort_handle();
    let outcome = tokio::time::timeout(CASE_TIMEOUT, task).await;
    // Aborting drops the case's connections, and with them any lock it holds.
    abort.abort();
    // The ingest's writer may still be finishing a transaction the case left behind (one a
    // request gave up on); dropping the schema under it can deadlock, so try again.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&mut admin)
            .await
        {
            Ok(_) => break,
            Err(e) if attempt < 10 => {
                eprintln!("dropping the test schema failed ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot drop the test schema {schema}: {e}"),
        }
    }
    admin.close().await.ok();
    match outcome {
        Err(_) => panic!("the case did not finish in {CASE_TIMEOUT:?}"),
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(_) => {}
    }
}

fn unique_schema_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "sync_test_{}_{}_{:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// Defines `mod sqlite` and `mod postgres`, each with one test per named case (an
/// `async fn(Env)` at the root of the test file).
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run_sqlite(super::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run_postgres(super::$case).await;
                }
            )*
        }
    };
}

/// The key directory of this test binary, under the target's temporary directory so keys
/// are generated once and reused across runs.
pub fn key_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sync-keys-{name}"))
}

/// The signer HighLevel's part is played by (loaded once per test binary).
pub fn signer() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| Signer::load_or_create(&key_dir("main")).expect("sandbox signing keys"))
}

/// A signer whose keys the ingest does not know.
pub fn stranger() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| Signer::load_or_create(&key_dir("stranger")).expect("stranger keys"))
}

/// The ingest's keys: both of [`signer`]'s, plus HighLevel's published one.
pub fn keys() -> WebhookKeys {
    let s = signer();
    let mut keys = WebhookKeys::highlevel();
    keys.add_ed25519_pem(&s.ed25519_public_pem())
        .expect("ed25519");
    keys.add_rsa_pem(&s.rsa_public_pem()).expect("rsa");
    keys
}

pub fn config() -> IngestConfig {
    IngestConfig::new(keys())
}

/// The ingest, served over real HTTP.
pub struct Ingest {
    pub url: String,
    pub state: IngestState,
    pub store: Store,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn serve(store: Store, config: IngestConfig) -> Ingest {
    let state = IngestState::new(store.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = sync::ingest::router(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    Ingest {
        url: format!("http://{addr}{}", sync::ingest::PATH),
        state,
        store,
        server,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Which signature headers a request carries.
#[derive(Clone, Debug)]
pub enum Sig {
    Both,
    Ed25519Only,
    RsaOnly,
    None,
    Custom(Vec<(&'static str, String)>),
}

/// POSTs `body` signed (over these exact bytes) as `sig` says; the status and JSON answer.
pub async fn post(url: &str, body: &[u8], sig: Sig) -> (u16, Value) {
    post_signed_by(url, body, body, sig).await
}

/// POSTs `body` with signatures computed over `signed` (to send an altered body).
pub async fn post_signed_by(url: &str, signed: &[u8], body: &[u8], sig: Sig) -> (u16, Value) {
    let (ed, rsa) = signer().sign(signed);
    let headers: Vec<(&str, String)> = match sig {
        Sig::Both => vec![("x-ghl-signature", ed), ("x-wh-signature", rsa)],
        Sig::Ed25519Only => vec![("x-ghl-signature", ed)],
        Sig::RsaOnly => vec![("x-wh-signature", rsa)],
        Sig::None => vec![],
        Sig::Custom(h) => h,
    };
    let mut req = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let bytes = res.bytes().await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json)
}

/// A fresh webhook id.
pub fn webhook_id() -> String {
    format!("wh-{:032x}", rand::random::<u128>())
}

/// The current time as HighLevel writes it, shifted by `offset_ms`.
pub fn timestamp(offset_ms: i64) -> String {
    let t = chrono::Utc::now() + chrono::Duration::milliseconds(offset_ms);
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A ContactCreate body with a new webhook id and a current timestamp.
pub fn contact_create() -> (String, Vec<u8>) {
    let id = webhook_id();
    let body = serde_json::json!({
        "type": "ContactCreate",
        "locationId": "loc-1",
        "id": format!("c-{id}"),
        "email": "someone@example.com",
        "timestamp": timestamp(0),
        "webhookId": id,
    });
    (id, serde_json::to_vec(&body).expect("json"))
}

/// POSTs over a bare TCP connection: `declared` as Content-Length (or chunked transfer when
/// `None`), then `chunks` of body, written while the answer is read — so a server that
/// answers before reading everything (as for an oversized body) is observed as it is.
/// Returns the status and JSON answer, or `None` when the connection died before one.
pub async fn raw_post(
    url: &str,
    headers: &[(&str, String)],
    declared: Option<usize>,
    chunks: Vec<Vec<u8>>,
) -> Option<(u16, Value)> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let u = url::Url::parse(url).expect("url");
    let addr = format!(
        "{}:{}",
        u.host_str().expect("host"),
        u.port().expect("port")
    );
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let mut head = format!(
        "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\nconnection: close\r\n",
        u.path(),
        u.host_str().unwrap_or("")
    );
    match declared {
        Some(n) => head.push_str(&format!("content-length: {n}\r\n")),
        None => head.push_str("transfer-encoding: chunked\r\n"),
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let chunked = declared.is_none();
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        for c in chunks {
            if chunked {
                wr.write_all(format!("{:x}\r\n", c.len()).as_bytes())
                    .await?;
                wr.write_all(&c).await?;
                wr.write_all(b"\r\n").await?;
            } else {
                wr.write_all(&c).await?;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if chunked {
            wr.write_all(b"0\r\n\r\n").await?;
        }
        wr.flush().await?;
        Ok::<_, std::io::Error>(wr)
    });
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rd.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    writer.abort();
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}
