//! The task board's page query: a location's tasks, filtered by status, assignee and due
//! range, ordered by due date or title, one keyset page at a time.
//!
//! It exists beside [`Store::list_records`] because the board must stay fast at 100,000
//! tasks, and that needs SQL shaped for the board indexes of migration 0004: every filter and
//! the cursor are written on the sort key itself (`COALESCE(due_ms, NO_DATE)` or
//! `COALESCE(LOWER(title), '')`), so SQLite and PostgreSQL both turn them into one range of
//! the index, and a page reads about one page of index entries however deep it is. (A
//! row-value cursor on an expression, or a filter on `due_ms` while ordering by the
//! expression, makes SQLite scan or sort every task instead.) It returns ids only; the caller
//! reads the page's records by key.

use crate::mirror::{bad_cursor, encode_cursor, parse_cursor};

use crate::db::with_pool;
use crate::{Store, StoreError};

/// Matches the expression in migration 0004's indexes and in `mirror.rs`: undated tasks sort
/// after every dated one.
const NO_DATE: i64 = 9_007_199_254_740_991;

/// How the board is ordered. Each order ends with the task id, so pages are stable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BoardOrder {
    /// Soonest first, undated last.
    #[default]
    DueAsc,
    DueDesc,
    TitleAsc,
}

/// Which tasks of a location to list. `None` fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoardQuery {
    pub location_id: String,
    /// open | done
    pub status: Option<String>,
    pub assignee: Option<String>,
    /// due_ms >= this (undated tasks excluded)
    pub due_from: Option<i64>,
    /// due_ms < this (undated tasks excluded)
    pub due_before: Option<i64>,
    pub order: BoardOrder,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// At most this many (capped at 1,000).
    pub limit: u32,
}

/// A page of task ids in board order, and the cursor of the next page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoardPage {
    pub task_ids: Vec<String>,
    pub next: Option<String>,
}

/// A task id and its sort key (a number or text, as the order has it).
#[derive(sqlx::FromRow)]
struct BoardRow<K> {
    record_id: String,
    sort_key: K,
}

enum Arg {
    I(i64),
    S(String),
}

struct Sql {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Sql {
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }
}

/// The sort key of an order, and whether it is text.
fn key(order: BoardOrder) -> (&'static str, bool) {
    match order {
        BoardOrder::DueAsc | BoardOrder::DueDesc => ("COALESCE(due_ms, 9007199254740991)", false),
        BoardOrder::TitleAsc => ("COALESCE(LOWER(title), '')", true),
    }
}

fn filters(q: &BoardQuery) -> Sql {
    let mut s = Sql {
        clauses: vec!["kind = 'task'".into(), "deleted_at_ms IS NULL".into()],
        args: Vec::new(),
    };
    let p = s.arg(Arg::S(q.location_id.clone()));
    s.clauses.push(format!("location_id = {p}"));
    if let Some(v) = &q.status {
        let p = s.arg(Arg::S(v.clone()));
        s.clauses.push(format!("status = {p}"));
    }
    if let Some(v) = &q.assignee {
        let p = s.arg(Arg::S(v.clone()));
        s.clauses.push(format!("assignee = {p}"));
    }
    // Written on the due key so the index range serves them; undated tasks have the key
    // NO_DATE, which no real bound reaches, and are excluded explicitly as well.
    let due = "COALESCE(due_ms, 9007199254740991)";
    if let Some(from) = q.due_from {
        let p = s.arg(Arg::I(from));
        s.clauses.push(format!("{due} >= {p}"));
        s.clauses.push("due_ms IS NOT NULL".into());
    }
    if let Some(before) = q.due_before {
        let p = s.arg(Arg::I(before.min(NO_DATE)));
        s.clauses.push(format!("{due} < {p}"));
    }
    s
}

impl Store {
    /// A page of the task board. See the module documentation for why it is its own query.
    pub async fn board_page(&self, q: &BoardQuery) -> Result<BoardPage, StoreError> {
        let limit = q.limit.clamp(1, 1000);
        let mut s = filters(q);
        let (key, text) = key(q.order);
        let desc = q.order == BoardOrder::DueDesc;
        if let Some(cursor) = &q.after {
            let (k, id) = parse_cursor(cursor)?;
            let k = if text {
                s.arg(Arg::S(k))
            } else {
                s.arg(Arg::I(k.parse().map_err(|_| bad_cursor())?))
            };
            let id = s.arg(Arg::S(id));
            // The first comparison bounds the index range; the second skips the ties already
            // shown.
            let (cmp, strict) = if desc { ("<=", "<") } else { (">=", ">") };
            s.clauses.push(format!(
                "{key} {cmp} {k} AND ({key} {strict} {k} OR record_id {strict} {id})"
            ));
        }
        let dir = if desc { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT record_id, {key} AS sort_key FROM records WHERE {} \
             ORDER BY {key} {dir}, record_id {dir} LIMIT {}",
            s.clauses.join(" AND "),
            limit + 1
        );
        let mut rows: Vec<BoardRow<String>> = if text {
            self.board_rows::<String>(&sql, &s.args).await?
        } else {
            self.board_rows::<i64>(&sql, &s.args)
                .await?
                .into_iter()
                .map(|r| BoardRow {
                    record_id: r.record_id,
                    sort_key: r.sort_key.to_string(),
                })
                .collect()
        };
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|r| encode_cursor(&r.sort_key, &r.record_id))
        } else {
            None
        };
        Ok(BoardPage {
            task_ids: rows.into_iter().map(|r| r.record_id).collect(),
            next,
        })
    }

    async fn board_rows<K>(&self, sql: &str, args: &[Arg]) -> Result<Vec<BoardRow<K>>, StoreError>
    where
        K: Send
            + Unpin
            + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'r> sqlx::Decode<'r, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>,
    {
        with_pool!(&self.db, |pool| {
            let mut query = sqlx::query_as(sql);
            for a in args {
                query = match a {
                    Arg::I(v) => query.bind(*v),
                    Arg::S(v) => query.bind(v.as_str()),
                };
            }
            query.fetch_all(pool).await
        })
        .map_err(StoreError::db("listing the task board"))
    }

    /// How many tasks the board query matches, counting no further than `cap` (so a count
    /// over 100,000 tasks costs no more than one over `cap`); `cap + 1` means "more".
    pub async fn board_count(&self, q: &BoardQuery, cap: u32) -> Result<i64, StoreError> {
        let s = filters(q);
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM records WHERE {} LIMIT {}) AS matched",
            s.clauses.join(" AND "),
            i64::from(cap) + 1
        );
        with_pool!(&self.db, |pool| {
            let mut query = sqlx::query_scalar(&sql);
            for a in &s.args {
                query = match a {
                    Arg::I(v) => query.bind(*v),
                    Arg::S(v) => query.bind(v.as_str()),
                };
            }
            query.fetch_one(pool).await
        })
        .map_err(StoreError::db("counting the task board"))
    }
}
