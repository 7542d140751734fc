//! Opening the database (SQLite file or PostgreSQL) and bringing its schema up to date.
//!
//! Every query in the crate is written once in SQL both backends accept (`$1` placeholders,
//! `ON CONFLICT ... DO UPDATE`, `RETURNING`) and run on whichever pool is open through
//! [`with_pool!`], which expands the same code once per backend. Where the backends must
//! differ (the job queue's claim, sequences, arrays), the SQL is chosen per backend before
//! entering `with_pool!`, and the few backend-only steps inside a transaction go through
//! [`KeyLocks`], which each connection type implements.

use std::future::Future;
use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::private_fs;
use crate::retry::Retry;
use crate::StoreError;

/// SQLite waits this long for another connection's (or process's) write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per pool. SQLite serialises writers anyway; PostgreSQL's default server limit
/// is 100, shared by every drivesync process.
const MAX_CONNECTIONS: u32 = 8;
/// Connections of the relaxed pool (see [`Db::relaxed`]): its writes are short and, on
/// SQLite, one at a time anyway.
const RELAXED_CONNECTIONS: u32 = 4;
/// How long PostgreSQL gets to hand out a connection before an operation fails.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The open pool. Pools are reference-counted, so cloning shares the connections.
#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the open pool, whichever backend it is. The body is
/// compiled once per backend, so generic sqlx calls in it resolve to each database's types.
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

impl Db {
    /// Opens the database; applies the migrations it lacks when `migrate`.
    pub(crate) async fn open(url: &str, migrate: bool) -> Result<Db, StoreError> {
        if url.starts_with("sqlite:") {
            connect_sqlite(url, migrate).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            connect_postgres(url, migrate).await
        } else {
            // Only the scheme is echoed: the rest of a URL may carry a password.
            let scheme = url.split_once(':').map_or("", |(s, _)| s);
            Err(StoreError::UnsupportedUrl {
                scheme: scheme.chars().take(32).collect(),
            })
        }
    }

    /// The newest migration this build knows for the backend `url` names.
    pub(crate) fn known_migration(url: &str) -> i64 {
        let m = if url.starts_with("sqlite:") {
            &SQLITE_MIGRATOR
        } else {
            &POSTGRES_MIGRATOR
        };
        m.iter().map(|m| m.version).max().unwrap_or(0)
    }

    pub(crate) fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Copies the SQLite WAL into the database file and truncates it, so superseded page
    /// images (e.g. values under a retired key) leave the disk. Best effort: readers in other
    /// processes can keep part of the WAL alive until they finish. A no-op on PostgreSQL.
    pub(crate) async fn checkpoint(&self) -> Result<(), StoreError> {
        if let Db::Sqlite(pool) = self {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await
                .map_err(StoreError::db("checkpointing the SQLite WAL"))?;
        }
        Ok(())
    }

    pub(crate) async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }

    /// A second pool on the same database whose commits do not wait for the disk: for writes
    /// that are re-derived if lost, i.e. the mirror of HighLevel's records that a job applies.
    ///
    /// Losing such a commit to a power cut is safe because both backends keep one ordered
    /// log (SQLite's WAL, PostgreSQL's WAL) and a crash loses only a suffix of it, never a
    /// commit in the middle. A record written here is followed by its job's completion and by
    /// every other durable write of the process: once a later commit is durable, so is the
    /// record, and if the record is lost, its job's completion is lost with it and the job
    /// runs again. What must survive on its own (a webhook acknowledged to HighLevel, a
    /// rotated token, a command accepted from the team) stays on the durable pool. A process
    /// that is killed loses nothing either way: the commit is in the operating system's hands.
    ///
    /// This halves the disk syncs per webhook on SQLite, where every sync holds the one write
    /// lock for as long as the disk takes (1.7 ms on the benchmark machine). Its connections
    /// are opened when first used, so commands that write no records never open one.
    pub(crate) fn relaxed(&self) -> Db {
        match self {
            Db::Sqlite(pool) => {
                let options = (*pool.connect_options())
                    .clone()
                    .synchronous(SqliteSynchronous::Normal);
                Db::Sqlite(sqlite_pool(RELAXED_CONNECTIONS).connect_lazy_with(options))
            }
            Db::Postgres(pool) => {
                let options = (*pool.connect_options())
                    .clone()
                    .options([("synchronous_commit", "off")]);
                Db::Postgres(pg_pool(RELAXED_CONNECTIONS).connect_lazy_with(options))
            }
        }
    }
}

/// Holding back, until the current transaction ends, every other transaction that puts jobs
/// in line behind the same ordering keys, so that within one key the order jobs are given
/// places in line (`jobs.seq`) is also the order they become visible. SQLite needs nothing:
/// it has one writer at a time. PostgreSQL draws `seq` from a sequence, whose values commit
/// in any order, so it takes a transaction-scoped advisory lock per key first.
pub(crate) trait KeyLocks {
    fn lock_ordering_keys(
        &mut self,
        keys: &[i32],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

impl KeyLocks for sqlx::SqliteConnection {
    async fn lock_ordering_keys(&mut self, _keys: &[i32]) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl KeyLocks for sqlx::PgConnection {
    async fn lock_ordering_keys(&mut self, keys: &[i32]) -> Result<(), sqlx::Error> {
        if keys.is_empty() {
            return Ok(());
        }
        // `keys` is sorted and deduplicated, and unnest yields it in order, so every
        // transaction takes its locks in the same global order and none can deadlock on them.
        sqlx::query("SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int4[]) AS t(k)")
            .bind(ORDERING_LOCK_CLASS)
            .bind(keys)
            .execute(self)
            .await
            .map(|_| ())
    }
}

/// The first half of the two-int advisory lock keys used for ordering keys ("DSQ1"); the
/// two-int key space does not overlap the one-bigint space sqlx's migration lock uses.
const ORDERING_LOCK_CLASS: i32 = 0x4453_5131;

/// The advisory lock ids for `keys`: a 32-bit hash of each (a collision only makes two keys
/// wait for each other), sorted and deduplicated.
pub(crate) fn ordering_lock_ids<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<i32> {
    use sha2::Digest as _;
    let mut ids: Vec<i32> = keys
        .into_iter()
        .map(|key| {
            let digest = sha2::Sha256::digest(key.as_bytes());
            i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A list of ids bound as one parameter: a JSON array, which both backends unpack.
pub(crate) fn id_list(ids: &[i64]) -> String {
    let items: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
}

/// A subquery yielding the ids of an [`id_list`] bound at `$param`, for `id IN (...)`.
pub(crate) fn ids_in(db: &Db, param: u8) -> String {
    match db {
        Db::Sqlite(_) => format!("SELECT value FROM json_each(${param})"),
        Db::Postgres(_) => {
            format!("SELECT value::bigint FROM json_array_elements_text(${param}::json)")
        }
    }
}

/// A subquery yielding the strings of a JSON array bound at `$param`, for `column IN (...)`.
pub(crate) fn texts_in(db: &Db, param: u8) -> String {
    match db {
        Db::Sqlite(_) => format!("SELECT value FROM json_each(${param})"),
        Db::Postgres(_) => format!("SELECT json_array_elements_text(${param}::json)"),
    }
}

/// Pool options for `connections` to SQLite, each with drivesync's busy handler.
fn sqlite_pool(connections: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(connections)
        .after_connect(|conn, _| Box::pin(crate::sqlite_busy::install(conn, SQLITE_BUSY_TIMEOUT)))
}

/// Pool options for `connections` to PostgreSQL.
fn pg_pool(connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(PG_ACQUIRE_TIMEOUT)
}

async fn connect_sqlite(url: &str, migrate: bool) -> Result<Db, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::InvalidUrl {
            backend: "sqlite",
            reason: e.to_string(),
        })?
        .create_if_missing(true)
        // WAL lets readers run beside the one writer; FULL syncs the WAL on every commit, so
        // a rotated refresh token is on disk before commit_refresh returns (HighLevel has
        // already invalidated the old one, so losing the new one would strand the location).
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true)
        // Overwrite deleted and replaced content: otherwise a value re-encrypted under a new
        // key would linger in free pages under the old (perhaps leaked) key.
        .pragma("secure_delete", "ON");
    let file = options.get_filename();
    // An in-memory database (tests) has no file to protect.
    if file != Path::new(":memory:") && !url.contains("mode=memory") {
        let io = |e| StoreError::Connect {
            backend: "sqlite",
            source: sqlx::Error::Io(e),
        };
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_fs::create_dir(dir).map_err(io)?;
        }
        private_fs::prepare_database_file(file).map_err(io)?;
    }
    let pool = sqlite_pool(MAX_CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect {
            backend: "sqlite",
            source,
        })?;
    // SQLite has no migration lock: two processes opening a new file at once can both try to
    // apply the first migration, and the loser fails. Retrying sees it applied and moves on.
    if migrate {
        Retry::MIGRATION
            .run(|_| true, || SQLITE_MIGRATOR.run(&pool))
            .await
            .map_err(|source| StoreError::Migrate {
                backend: "sqlite",
                source,
            })?;
    }
    tracing::debug!(path = %pool.connect_options().get_filename().display(), "opened the SQLite store");
    Ok(Db::Sqlite(pool))
}

async fn connect_postgres(url: &str, migrate: bool) -> Result<Db, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl {
        backend: "postgres",
        reason: e.to_string(),
    })?;
    let pool = pg_pool(MAX_CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect {
            backend: "postgres",
            source,
        })?;
    // sqlx takes a PostgreSQL advisory lock around migrations, so concurrent starts are safe.
    if migrate {
        POSTGRES_MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: "postgres",
                source,
            })?;
    }
    tracing::debug!("opened the PostgreSQL store");
    Ok(Db::Postgres(pool))
}

/// Each backend's migrations, compiled into the binary from `migrations/<backend>/` (so a
/// deployed drivesync needs no migrations folder). A migration's version and description come
/// from its file name (`0006_refusals_and_task_poll.sql`: 6, "refusals and task poll") and its
/// checksum from its text, exactly as the hand-written list of earlier releases made them, so
/// a database those releases migrated opens unchanged (`tests/migrations.rs`). `build.rs`
/// makes cargo rebuild the crate when a migration file is added.
static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");
