//! Keeping PostgreSQL's planner statistics and dead rows in step with a fast-changing store.
//!
//! PostgreSQL plans from statistics that ANALYZE gathers, and reuses space that VACUUM frees;
//! both are normally autovacuum's job. But autovacuum looks at each database once a minute at
//! best, can be switched off (it was, on the machine the benchmarks ran on), and a drivesync
//! store changes fast: at 500 webhooks a second the queue leaves a thousand dead rows a second
//! and `records` grows by five hundred. Measured without statistics, a record looked up by its
//! full key was planned as a scan of every record of its location through another index whose
//! leading columns match (each index looked one page long), so one read took 30–50 ms at 20,000
//! records and the engine fell behind for good.
//!
//! [`Store::upkeep`] therefore does autovacuum's arithmetic itself on drivesync's own tables
//! (those in the connection's current schema) and runs what is due: ANALYZE for a table never
//! analysed that now holds rows, or changed by more than 50 rows plus 10% since; VACUUM for
//! one with more than 50 dead rows plus 20% of its live rows. `SKIP_LOCKED` makes a replica skip a table another
//! one is already working on. On SQLite it does nothing: SQLite's planner prefers a unique
//! index that every column of the lookup matches without statistics, and it reuses free pages
//! on its own.

use crate::db::Db;
use crate::{Store, StoreError};

/// What [`Store::upkeep`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Upkeep {
    /// Tables whose statistics were refreshed.
    pub analyzed: Vec<String>,
    /// Tables whose dead rows were cleared.
    pub vacuumed: Vec<String>,
}

/// A never-analysed table is first analysed at this size (eight pages: a hundred records or
/// so, enough for the planner to see that a record id is unique and a location id is not).
const FIRST_ANALYZE_BYTES: i64 = 64 * 1024;

/// drivesync's tables in the current schema, each with whether it needs ANALYZE and VACUUM
/// (autovacuum's default thresholds), and its name quoted as an identifier. A table never
/// analysed (`reltuples` is -1) is analysed once it holds [`FIRST_ANALYZE_BYTES`], judged by
/// its size on disk: the activity counters reach the view up to 10 s late, so they cannot be
/// relied on to notice a table that just filled, and statistics of an empty table are worse
/// than none (measured: at 1,000 webhooks a second the engine fell behind with them, p99
/// 0.3–1.3 s against 0.1 s without).
const DUE: &str = "SELECT format('%I', s.relname) AS quoted_name, \
         CASE WHEN c.reltuples < 0 THEN pg_relation_size(c.oid) >= $1 \
              ELSE s.n_mod_since_analyze > 50 + 0.1 * c.reltuples END AS needs_analyze, \
         s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, s.n_live_tup, 0) AS needs_vacuum \
     FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid \
     WHERE s.schemaname = current_schema() AND s.relname <> '_sqlx_migrations' \
     ORDER BY s.relname";

/// A row of [`DUE`].
#[derive(sqlx::FromRow)]
struct DueTable {
    /// The table's name, quoted as an identifier.
    quoted_name: String,
    needs_analyze: bool,
    needs_vacuum: bool,
}

impl Store {
    /// Refreshes PostgreSQL's statistics and clears dead rows where autovacuum would, for
    /// drivesync's tables (see the module docs); nothing on SQLite. Run it every few seconds
    /// from one place per process (the sync engine's housekeeping does); it reads one catalog
    /// view when nothing is due.
    pub async fn upkeep(&self) -> Result<Upkeep, StoreError> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(Upkeep::default());
        };
        let due: Vec<DueTable> = sqlx::query_as(DUE)
            .bind(FIRST_ANALYZE_BYTES)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("reading table statistics"))?;
        let mut done = Upkeep::default();
        for DueTable {
            quoted_name: table,
            needs_analyze,
            needs_vacuum,
        } in due
        {
            // VACUUM cannot run in a transaction, so these go as plain statements.
            if needs_vacuum {
                sqlx::raw_sql(&format!("VACUUM (ANALYZE, SKIP_LOCKED) {table}"))
                    .execute(pool)
                    .await
                    .map_err(StoreError::db("vacuuming a table"))?;
                done.vacuumed.push(table.clone());
                done.analyzed.push(table);
            } else if needs_analyze {
                sqlx::raw_sql(&format!("ANALYZE (SKIP_LOCKED) {table}"))
                    .execute(pool)
                    .await
                    .map_err(StoreError::db("analysing a table"))?;
                done.analyzed.push(table);
            }
        }
        Ok(done)
    }
}
