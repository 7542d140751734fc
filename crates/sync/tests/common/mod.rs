//! Shared test setup: a store on a fresh database from `testkit` (a SQLite file, or a
//! PostgreSQL schema of its own when `DRIVESYNC_TEST_PG_URL` is set), the ingest served over
//! real HTTP on a loopback port, the sandbox's signer, and ways to make the store unable to
//! write.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::future::Future;
use std::ops::Deref;
use std::sync::OnceLock;
use std::time::Duration;

use ghl::webhook::WebhookKeys;
use ghl_sandbox::Signer;
use serde_json::Value;
use store::{Keyring, Store};
use sync::ingest::{IngestConfig, IngestState};
pub use testkit::Backend;
use testkit::{db::WriteHold, TestDb};

/// One test's database; the kit's [`TestDb`] (`backend`, `url`) underneath.
pub struct Env(TestDb);

impl Deref for Env {
    type Target = TestDb;
    fn deref(&self) -> &TestDb {
        &self.0
    }
}

impl Env {
    /// The store, under a keyring of its own (each call makes a new one).
    pub async fn store(&self) -> Store {
        self.connect(Keyring::generate()).await
    }

    /// Takes the inbox's write lock from another connection and keeps it until the returned
    /// hold is released: every write of the ingest waits behind it.
    pub async fn lock_writes(&self) -> WriteHold {
        self.lock_table("inbox").await
    }

    /// How many inbox rows carry this webhook id, counted behind the store's back.
    pub async fn rows_for(&self, webhook_id: &str) -> i64 {
        self.scalar_with(
            "SELECT COUNT(*) FROM inbox WHERE webhook_id = $1",
            &[webhook_id],
        )
        .await
    }

    /// Rows in the inbox.
    pub async fn inbox_rows(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM inbox").await
    }
}

/// A case that has not finished by then is stuck: fail it rather than hang the suite.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `case` on a fresh database of `backend`, failing it after [`CASE_TIMEOUT`].
pub async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    testkit::cases::run_within(backend, CASE_TIMEOUT, |db| case(Env(db))).await;
}

/// `mod sqlite` and `mod postgres` with one test per named case (an `async fn(Env)` at the
/// root of the test file).
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        testkit::on_both_backends!($crate::common::run => $($case),*);
    };
}

/// The signer HighLevel's part is played by (loaded once per test binary).
pub fn signer() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| Signer::load_or_create(&testkit::key_dir!()).expect("sandbox signing keys"))
}

/// A signer whose keys the ingest does not know.
pub fn stranger() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| Signer::load_or_create(&testkit::key_dir!("stranger")).expect("stranger keys"))
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
    server: testkit::Served,
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The locations the tests' webhooks name: connected, as the ingest stores webhooks only for
/// connected locations (or ones with an INSTALL pending).
pub const LOCATIONS: &[&str] = &["L", "loc-1", "loc-fuzz"];

/// Connects [`LOCATIONS`] (a private integration each).
pub async fn connect_locations(store: &Store) -> Result<(), store::StoreError> {
    connect(store, LOCATIONS).await
}

/// Connects `locations` (a private integration each).
pub async fn connect(store: &Store, locations: &[&str]) -> Result<(), store::StoreError> {
    for l in locations {
        store
            .save_location(&store::NewLocation {
                location_id: l.to_string(),
                company_id: None,
                name: None,
                auth: store::AuthKind::PrivateIntegration,
                user_type: ghl::UserType::Location,
                scopes: Vec::new(),
                access_token: format!("pit-{l}").into(),
                refresh_token: None,
                expires_at_ms: None,
            })
            .await?;
    }
    Ok(())
}

/// [`serve`], with [`LOCATIONS`] connected first (a read-only store cannot take them: its
/// test connects them beforehand).
pub async fn serve_connected(store: Store, config: IngestConfig) -> Ingest {
    let _ = connect_locations(&store).await;
    serve(store, config).await
}

pub async fn serve(store: Store, config: IngestConfig) -> Ingest {
    let state = IngestState::new(store.clone(), config);
    let server = testkit::serve(sync::ingest::router(state.clone())).await;
    Ingest {
        url: format!("{}{}", server.url, sync::ingest::PATH),
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
