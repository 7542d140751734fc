//! Test environments for running one behavioural suite on both backends: a SQLite file in a
//! temporary directory, and a PostgreSQL schema of its own (so tests run in parallel) on the
//! server named by `DRIVESYNC_TEST_PG_URL`.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection as _;
use store::{AuthKind, Keyring, NewLocation, SecretString, Store};
use tempfile::TempDir;

pub const PG_URL_ENV: &str = "DRIVESYNC_TEST_PG_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test's database and data directory (which holds `master.key`).
pub struct Env {
    pub backend: Backend,
    /// The URL to hand to `Store::connect` (for PostgreSQL it selects the test's schema).
    pub url: String,
    dir: TempDir,
}

impl Env {
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The keyring from this test's key file (created on first use).
    pub fn keyring(&self) -> Keyring {
        Keyring::load_or_create_file(self.data_dir()).expect("load the test key file")
    }

    pub async fn store(&self) -> Store {
        self.store_with(self.keyring()).await
    }

    pub async fn store_with(&self, keyring: Keyring) -> Store {
        Store::connect(&self.url, keyring)
            .await
            .expect("connect the store")
    }

    /// Runs one SQL statement directly against the database, behind the store's back.
    pub async fn exec(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query(sql).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query(sql).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }

    /// Runs one query returning a single integer (e.g. a `COUNT(*)`) behind the store's back.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
                conn.close().await.unwrap();
                n
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
                conn.close().await.unwrap();
                n
            }
        }
    }

    /// Everything the database holds, as raw bytes: for SQLite the database file and its WAL
    /// (where fresh writes live until a checkpoint); for PostgreSQL every text column of every
    /// table in the test's schema.
    pub async fn raw_contents(&self) -> Vec<u8> {
        match self.backend {
            Backend::Sqlite => {
                let db = self.sqlite_path();
                let mut bytes = Vec::new();
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut path = db.clone().into_os_string();
                    path.push(suffix);
                    if let Ok(b) = std::fs::read(&path) {
                        bytes.extend(b);
                    }
                }
                assert!(!bytes.is_empty(), "the SQLite file exists");
                bytes
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                let columns: Vec<(String, String)> = sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() \
                       AND data_type IN ('text', 'character varying', 'character')",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                assert!(
                    columns.iter().any(|(t, _)| t == "locations"),
                    "scan sees the tables"
                );
                let mut bytes = Vec::new();
                for (table, column) in columns {
                    let values: Vec<Option<String>> =
                        sqlx::query_scalar(&format!("SELECT \"{column}\" FROM \"{table}\""))
                            .fetch_all(&mut conn)
                            .await
                            .unwrap();
                    for value in values.into_iter().flatten() {
                        bytes.extend(value.into_bytes());
                        bytes.push(b'\n');
                    }
                }
                conn.close().await.unwrap();
                bytes
            }
        }
    }

    fn sqlite_path(&self) -> PathBuf {
        self.data_dir().join("drivesync.db")
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
    case(Env {
        backend: Backend::Sqlite,
        url,
        dir,
    })
    .await;
}

/// Runs `case` in a new schema of the PostgreSQL database named by `DRIVESYNC_TEST_PG_URL`,
/// dropping the schema afterwards even if the case panics. Without the variable the case is
/// skipped with a notice; with it set, an unreachable server fails the test.
pub async fn run_postgres<F, Fut>(case: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(base) = std::env::var(PG_URL_ENV) else {
        eprintln!("skipping PostgreSQL suite: {PG_URL_ENV} is not set");
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
    // Every connection made from this URL starts with search_path = the test's schema.
    url.query_pairs_mut()
        .append_pair("options[search_path]", &schema);
    let env = Env {
        backend: Backend::Postgres,
        url: url.to_string(),
        dir: tempfile::tempdir().expect("temp dir"),
    };
    // Run the case as its own task so a panic comes back as a value and cleanup still runs.
    let outcome = tokio::spawn(case(env)).await;
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&mut admin)
        .await
        .expect("drop the test schema");
    admin.close().await.ok();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn unique_schema_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "store_test_{}_{}_{:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// Defines `mod sqlite` and `mod postgres`, each with one `#[tokio::test]` per named case (an
/// `async fn(Env)` at the root of the test file), so both backends run the same behaviour.
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

/// An OAuth location whose tokens carry a recognisable marker, to look for in raw storage.
pub fn oauth_location(id: &str) -> NewLocation {
    NewLocation {
        location_id: id.into(),
        company_id: Some("company-1".into()),
        name: Some(format!("Location {id}")),
        auth: AuthKind::OAuth,
        user_type: ghl::UserType::Location,
        scopes: vec!["contacts.readonly".into(), "contacts.write".into()],
        access_token: SecretString::from(format!("PLAINTEXT-ACCESS-{id}-a1b2c3")),
        refresh_token: Some(SecretString::from(format!("PLAINTEXT-REFRESH-{id}-d4e5f6"))),
        expires_at_ms: Some(1_900_000_000_000),
    }
}

/// A Private Integration location: one long-lived token, no refresh token.
pub fn private_location(id: &str) -> NewLocation {
    NewLocation {
        location_id: id.into(),
        company_id: None,
        name: None,
        auth: AuthKind::PrivateIntegration,
        user_type: ghl::UserType::Location,
        scopes: vec![],
        access_token: SecretString::from(format!("PLAINTEXT-PIT-{id}-778899")),
        refresh_token: None,
        expires_at_ms: None,
    }
}
