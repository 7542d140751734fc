//! Whether the store can do its work right now, for `/readyz` and `drivesync doctor`: the
//! schema is the one this build knows, and a write can be made (a database turned read-only,
//! a disk full, or another process holding SQLite's one write lock all fail it).

use std::time::Duration;

use sqlx::Connection as _;

use crate::db::{with_pool, Db};
use crate::{Store, StoreError};

/// Where the database's schema stands against this build's migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaState {
    /// The newest migration the database has applied (0: none).
    pub applied: i64,
    /// The newest this build knows.
    pub known: i64,
}

impl SchemaState {
    pub fn is_current(&self) -> bool {
        self.applied >= self.known
    }
}

impl Store {
    /// Proves a write can be committed within `within`: a row written to the refusal
    /// counts inside a transaction that is then rolled back, so nothing is left behind.
    pub async fn check_writable(&self, within: Duration) -> Result<(), StoreError> {
        let probe = async {
            with_pool!(&self.db, |pool| async {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "INSERT INTO webhook_refusals (scope, reason, count, first_ms, last_ms) \
                     VALUES ('~probe', 'probe', 0, 0, 0) ON CONFLICT (scope, reason) \
                     DO UPDATE SET count = webhook_refusals.count",
                )
                .execute(&mut *tx)
                .await?;
                tx.rollback().await
            }
            .await)
        };
        match tokio::time::timeout(within, probe).await {
            Ok(r) => r.map_err(StoreError::db("trying a write")),
            Err(_) => Err(StoreError::WriteTimeout { within }),
        }
    }

    /// The newest migration applied, read without applying any (unlike [`Store::connect`]),
    /// so a database left behind is reported rather than changed.
    pub async fn schema_state(url: &str) -> Result<SchemaState, StoreError> {
        let known = Db::known_migration(url);
        let sql = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
        let connect = |backend: &'static str| move |source| StoreError::Connect { backend, source };
        let applied: Result<i64, sqlx::Error> = if url.starts_with("sqlite:") {
            let opts: sqlx::sqlite::SqliteConnectOptions =
                url.parse()
                    .map_err(|e: sqlx::Error| StoreError::InvalidUrl {
                        backend: "sqlite",
                        reason: e.to_string(),
                    })?;
            let mut c = sqlx::SqliteConnection::connect_with(&opts.read_only(true))
                .await
                .map_err(connect("sqlite"))?;
            sqlx::query_scalar(sql).fetch_one(&mut c).await
        } else {
            let mut c = sqlx::PgConnection::connect(url)
                .await
                .map_err(connect("postgres"))?;
            sqlx::query_scalar(sql).fetch_one(&mut c).await
        };
        // A database without the table has applied nothing.
        let applied = match applied {
            Ok(v) => v,
            Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => 0,
            Err(e) => return Err(StoreError::db("reading the applied migrations")(e)),
        };
        Ok(SchemaState { applied, known })
    }
}
