//! The store's test environment: a fresh database from `testkit` (a SQLite file, or a schema
//! of its own on the PostgreSQL named by `DRIVESYNC_TEST_PG_URL`) with the store opened on it
//! under the data directory's key file, and the locations the suites save.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::future::Future;
use std::ops::Deref;

use sqlx::Connection as _;
use store::{AuthKind, Keyring, NewLocation, SecretString, Store};
pub use testkit::Backend;
use testkit::TestDb;

/// One test's database and data directory (which holds `master.key`); the kit's
/// [`TestDb`] (`backend`, `url`, `data_dir()`, `keyring()`, `exec`, `scalar`) underneath.
pub struct Env(TestDb);

impl Deref for Env {
    type Target = TestDb;
    fn deref(&self) -> &TestDb {
        &self.0
    }
}

impl Env {
    pub async fn store(&self) -> Store {
        self.store_with(self.keyring()).await
    }

    pub async fn store_with(&self, keyring: Keyring) -> Store {
        self.connect(keyring).await
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
}

/// Runs `case` on a fresh database of `backend` (see `testkit::cases::run`).
pub async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    testkit::cases::run(backend, |db| case(Env(db))).await;
}

/// `mod sqlite` and `mod postgres` with one test per named case (an `async fn(Env)` at the
/// root of the test file), so both backends run the same behaviour.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        testkit::on_both_backends!($crate::common::run => $($case),*);
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
