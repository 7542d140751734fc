//! One test's own database: a SQLite file in a temporary directory, or — when
//! `DRIVESYNC_TEST_PG_URL` names a PostgreSQL server — a schema (or a whole database) of its
//! own there, so tests run in parallel without seeing each other's rows.
//!
//! Without the variable a PostgreSQL case is skipped with a notice; with it set, a server
//! that cannot be reached fails the test. CI sets the variable, so there the PostgreSQL
//! suites cannot pass by running nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::Connection as _;
use store::{Keyring, Store};
use tempfile::TempDir;

/// The PostgreSQL server the tests may use: `postgres://user@host:port/database`.
pub const PG_URL_ENV: &str = "DRIVESYNC_TEST_PG_URL";

/// The SQLite file's name in the test's data directory: the one `drivesync` opens by default
/// under `--data-dir`, so a command pointed at [`TestDb::data_dir`] finds the same database.
pub const SQLITE_FILE: &str = "drivesync.db";

/// How often, and how far apart, dropping a PostgreSQL schema or database is tried: a writer
/// the case left behind may still be finishing a transaction, and dropping under it can
/// deadlock.
const DROP_ATTEMPTS: u32 = 10;
const DROP_PAUSE: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why no PostgreSQL database could be made although [`PG_URL_ENV`] is set.
#[derive(Debug, thiserror::Error)]
pub enum PgUnavailable {
    #[error("{PG_URL_ENV} is not a URL: {0}")]
    BadUrl(#[from] url::ParseError),
    #[error("{PG_URL_ENV} is set but PostgreSQL cannot be reached: {0}")]
    Unreachable(#[source] sqlx::Error),
    #[error("cannot create the test {what} {name}: {source}")]
    Create {
        what: &'static str,
        name: String,
        #[source]
        source: sqlx::Error,
    },
}

/// One test's database and data directory (which holds the key file, and for SQLite the
/// database file). Dropping it removes what it made on a PostgreSQL server, best effort;
/// [`crate::cases`] removes it explicitly and fails the test when it cannot.
pub struct TestDb {
    pub backend: Backend,
    /// The URL for `Store::connect` (for a PostgreSQL schema it selects that schema).
    pub url: String,
    dir: TempDir,
    made: Option<Made>,
}

/// What a test database occupies on the PostgreSQL server.
pub(crate) struct Made {
    /// The server as [`PG_URL_ENV`] names it, for the connection that removes it.
    admin_url: String,
    place: Place,
}

enum Place {
    Schema(String),
    Database(String),
}

impl TestDb {
    /// A fresh SQLite file, `drivesync.db` in a temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join(SQLITE_FILE).display());
        TestDb {
            backend: Backend::Sqlite,
            url,
            dir,
            made: None,
        }
    }

    /// A fresh schema on the test PostgreSQL; `None` after a notice when [`PG_URL_ENV`] is
    /// not set. Panics when it is set and the server cannot be reached.
    pub async fn postgres() -> Option<TestDb> {
        required(TestDb::try_postgres().await)
    }

    /// A fresh PostgreSQL database of its own, for tests that change database-wide settings
    /// (see [`TestDb::hold_writes`]); `None` and panics as [`TestDb::postgres`].
    pub async fn postgres_database() -> Option<TestDb> {
        required(TestDb::try_postgres_database().await)
    }

    /// The backend's fresh database; `None` when it is PostgreSQL and that is not configured.
    pub async fn open(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb::sqlite()),
            Backend::Postgres => TestDb::postgres().await,
        }
    }

    /// [`TestDb::postgres`] for callers that decide themselves what an unreachable server
    /// means (a benchmark reports it and goes on).
    pub async fn try_postgres() -> Result<Option<TestDb>, PgUnavailable> {
        let Some(base) = pg_url() else {
            return Ok(None);
        };
        let name = unique_name();
        let mut url = url::Url::parse(&base)?;
        // Every connection made from this URL starts with search_path = the test's schema.
        url.query_pairs_mut()
            .append_pair("options[search_path]", &name);
        let made = Made::create(base, Place::Schema(name)).await?;
        Ok(Some(TestDb::on_server(url.to_string(), made)))
    }

    /// [`TestDb::postgres_database`], with the error given back as [`TestDb::try_postgres`].
    pub async fn try_postgres_database() -> Result<Option<TestDb>, PgUnavailable> {
        let Some(base) = pg_url() else {
            return Ok(None);
        };
        let name = unique_name();
        let mut url = url::Url::parse(&base)?;
        url.set_path(&format!("/{name}"));
        let made = Made::create(base, Place::Database(name)).await?;
        Ok(Some(TestDb::on_server(url.to_string(), made)))
    }

    fn on_server(url: String, made: Made) -> TestDb {
        TestDb {
            backend: Backend::Postgres,
            url,
            dir: tempfile::tempdir().expect("a temporary directory"),
            made: Some(made),
        }
    }

    /// The test's data directory (`--data-dir` for a command run on this database).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The SQLite file (only meaningful on [`Backend::Sqlite`]).
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir().join(SQLITE_FILE)
    }

    /// The keyring of the data directory's key file (created on first use), as `drivesync`
    /// loads it.
    pub fn keyring(&self) -> Keyring {
        Keyring::load_or_create_file(self.data_dir()).expect("load the test key file")
    }

    /// The store on this database, sealing secrets with `keyring`.
    pub async fn connect(&self, keyring: Keyring) -> Store {
        Store::connect(&self.url, keyring)
            .await
            .expect("connect the store")
    }

    /// Hands what this database occupies on the server to the caller, who then removes it.
    pub(crate) fn take_made(&mut self) -> Option<Made> {
        self.made.take()
    }

    async fn raw(&self) -> Raw {
        match self.backend {
            Backend::Sqlite => Raw::Sqlite(
                sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect to the test database"),
            ),
            Backend::Postgres => Raw::Postgres(
                sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect to the test database"),
            ),
        }
    }

    /// Runs one SQL statement directly against the database, behind the store's back.
    pub async fn exec(&self, sql: &str) {
        match self.raw().await {
            Raw::Sqlite(mut c) => {
                sqlx::query(sql).execute(&mut c).await.expect(sql);
                c.close().await.ok();
            }
            Raw::Postgres(mut c) => {
                sqlx::query(sql).execute(&mut c).await.expect(sql);
                c.close().await.ok();
            }
        }
    }

    /// One integer (a `COUNT(*)`) read behind the store's back.
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.scalar_with(sql, &[]).await
    }

    /// [`TestDb::scalar`] of a query with text parameters `$1`, `$2`, ….
    pub async fn scalar_with(&self, sql: &str, args: &[&str]) -> i64 {
        match self.raw().await {
            Raw::Sqlite(mut c) => {
                let mut q = sqlx::query_scalar(sql);
                for a in args {
                    q = q.bind(*a);
                }
                let n = q.fetch_one(&mut c).await.expect(sql);
                c.close().await.ok();
                n
            }
            Raw::Postgres(mut c) => {
                let mut q = sqlx::query_scalar(sql);
                for a in args {
                    q = q.bind(*a);
                }
                let n = q.fetch_one(&mut c).await.expect(sql);
                c.close().await.ok();
                n
            }
        }
    }

    /// The rows of a query run directly on the database.
    pub async fn rows<T>(&self, sql: &str) -> Vec<T>
    where
        T: Send + Unpin,
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        match self.raw().await {
            Raw::Sqlite(mut c) => sqlx::query_as(sql).fetch_all(&mut c).await.expect(sql),
            Raw::Postgres(mut c) => sqlx::query_as(sql).fetch_all(&mut c).await.expect(sql),
        }
    }

    /// Makes the store unable to take writes until [`WriteHold::release`]: a PostgreSQL
    /// database of its own turns read-only (its sessions are ended so the pool reconnects
    /// into read-only ones); an SQLite file has its write lock held by this process.
    pub async fn hold_writes(&self) -> WriteHold {
        match &self.made {
            Some(Made {
                admin_url,
                place: Place::Database(name),
            }) => {
                read_only(admin_url, name, true).await;
                WriteHold(Hold::ReadOnly {
                    admin_url: admin_url.clone(),
                    name: name.clone(),
                })
            }
            Some(_) => panic!(
                "hold_writes needs TestDb::postgres_database() or TestDb::sqlite(), \
                 not a schema"
            ),
            None => WriteHold(Hold::Locked(Raw::Sqlite(self.sqlite_write_lock().await))),
        }
    }

    /// Holds the write lock of `table` until [`WriteHold::release`]: every write to it waits
    /// (on SQLite, every write to the file).
    pub async fn lock_table(&self, table: &str) -> WriteHold {
        match self.raw().await {
            Raw::Sqlite(c) => {
                c.close().await.ok();
                WriteHold(Hold::Locked(Raw::Sqlite(self.sqlite_write_lock().await)))
            }
            Raw::Postgres(mut c) => {
                sqlx::query("BEGIN").execute(&mut c).await.expect("begin");
                sqlx::query(&format!("LOCK TABLE \"{table}\" IN EXCLUSIVE MODE"))
                    .execute(&mut c)
                    .await
                    .expect("lock the table");
                WriteHold(Hold::Locked(Raw::Postgres(c)))
            }
        }
    }

    /// An SQLite connection inside an exclusive transaction: in WAL mode it holds the one
    /// write lock while readers go on.
    async fn sqlite_write_lock(&self) -> sqlx::SqliteConnection {
        let mut c = sqlx::SqliteConnection::connect(&self.url)
            .await
            .expect("connect to the test database");
        // drivesync's writers retry the lock every 250 µs (store/src/sqlite_busy.rs); this
        // connection's default handler sleeps far longer between tries and can lose every
        // race for its 5 s under a busy engine. Trying again until it wins is what a person
        // would do.
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut c)
            .await
            .expect("busy_timeout");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            match sqlx::query("BEGIN EXCLUSIVE").execute(&mut c).await {
                Ok(_) => return c,
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_micros(250)).await;
                }
                Err(e) => panic!("could not take the SQLite write lock within 60 s: {e}"),
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(made) = self.made.take() {
            made.remove_blocking();
        }
    }
}

/// A connection opened behind the store's back.
enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// Writes held off by [`TestDb::hold_writes`] or [`TestDb::lock_table`], until released.
pub struct WriteHold(Hold);

enum Hold {
    /// A transaction holding the lock; rolled back on release.
    Locked(Raw),
    ReadOnly {
        admin_url: String,
        name: String,
    },
}

impl WriteHold {
    pub async fn release(self) {
        match self.0 {
            Hold::Locked(Raw::Sqlite(mut c)) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut c)
                    .await
                    .expect("unlock");
                c.close().await.ok();
            }
            Hold::Locked(Raw::Postgres(mut c)) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut c)
                    .await
                    .expect("unlock");
                c.close().await.ok();
            }
            Hold::ReadOnly { admin_url, name } => read_only(&admin_url, &name, false).await,
        }
    }
}

/// Turns database `name` read-only (or back), ending its sessions so that the pool's next
/// connections see the setting.
async fn read_only(admin_url: &str, name: &str, on: bool) {
    let mut c = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    let set = if on {
        format!("ALTER DATABASE \"{name}\" SET default_transaction_read_only = on")
    } else {
        format!("ALTER DATABASE \"{name}\" RESET default_transaction_read_only")
    };
    let end =
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'");
    for sql in [set, end] {
        sqlx::query(&sql).execute(&mut c).await.expect(&sql);
    }
    c.close().await.ok();
}

impl Made {
    async fn create(admin_url: String, place: Place) -> Result<Made, PgUnavailable> {
        let mut c = sqlx::PgConnection::connect(&admin_url)
            .await
            .map_err(PgUnavailable::Unreachable)?;
        let (what, name, sql) = match &place {
            Place::Schema(n) => ("schema", n, format!("CREATE SCHEMA \"{n}\"")),
            Place::Database(n) => ("database", n, format!("CREATE DATABASE \"{n}\"")),
        };
        sqlx::query(&sql)
            .execute(&mut c)
            .await
            .map_err(|source| PgUnavailable::Create {
                what,
                name: name.clone(),
                source,
            })?;
        c.close().await.ok();
        Ok(Made { admin_url, place })
    }

    fn drop_sql(&self) -> String {
        match &self.place {
            Place::Schema(n) => format!("DROP SCHEMA \"{n}\" CASCADE"),
            Place::Database(n) => format!("DROP DATABASE IF EXISTS \"{n}\" WITH (FORCE)"),
        }
    }

    /// Drops the schema or database, trying again while something the case left behind
    /// still holds it.
    pub(crate) async fn remove(self) -> Result<(), sqlx::Error> {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url).await?;
        let sql = self.drop_sql();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match sqlx::query(&sql).execute(&mut admin).await {
                Ok(_) => break,
                Err(e) if attempt < DROP_ATTEMPTS => {
                    eprintln!("{sql} failed ({e}); retrying");
                    tokio::time::sleep(DROP_PAUSE).await;
                }
                Err(e) => return Err(e),
            }
        }
        admin.close().await.ok();
        Ok(())
    }

    /// [`Made::remove`] from a `Drop`, which may run inside or outside a runtime: on a
    /// helper thread with a runtime of its own. Best effort.
    fn remove_blocking(self) {
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(self.remove()).ok()
        })
        .join();
    }
}

fn pg_url() -> Option<String> {
    std::env::var(PG_URL_ENV).ok()
}

/// Turns "not configured" into `None` after a notice, and a configured server that cannot be
/// used into a failed test.
fn required(made: Result<Option<TestDb>, PgUnavailable>) -> Option<TestDb> {
    match made {
        Ok(Some(db)) => Some(db),
        Ok(None) => {
            eprintln!("skipping PostgreSQL case: {PG_URL_ENV} is not set");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// A schema or database name no other test (of this process or another) uses.
fn unique_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "drivesync_test_{}_{}_{:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}
