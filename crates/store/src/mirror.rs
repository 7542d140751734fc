//! The Drive Chat store: HighLevel's contacts, tasks, notes, appointments and appointment
//! notes as last seen, one row per record, and the changes applied to them (the feed).
//!
//! A write is guarded by what the writer read: [`Store::write_record`] takes the version the
//! caller saw (or `None` for "no row") and writes only if the row is still exactly that, in
//! one transaction with the [`NewChange`]s the caller derived from the difference. A writer
//! that lost a race gets [`Written::Conflict`] and reads again. Deciding whether a state is
//! newer (versions) and what changed is the sync engine's business; the store only keeps the
//! row and its feed consistent with each other.

use serde_json::Value;

use crate::clock::now_ms;
use crate::db::with_pool;
use crate::{Store, StoreError};

/// What a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Contact,
    Task,
    Note,
    Appointment,
    AppointmentNote,
}

impl RecordKind {
    pub const ALL: [RecordKind; 5] = [
        RecordKind::Contact,
        RecordKind::Task,
        RecordKind::Note,
        RecordKind::Appointment,
        RecordKind::AppointmentNote,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Contact => "contact",
            RecordKind::Task => "task",
            RecordKind::Note => "note",
            RecordKind::Appointment => "appointment",
            RecordKind::AppointmentNote => "appointment_note",
        }
    }

    pub fn parse(value: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HighLevel record as stored. The indexed columns are derived from `data` by the
/// writer (see the 0003 migration for what each holds per kind).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub location_id: String,
    pub kind: RecordKind,
    pub record_id: String,
    pub contact_id: Option<String>,
    pub parent_id: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub assignee: Option<String>,
    pub status: Option<String>,
    pub due_ms: Option<i64>,
    /// Lower-cased text the search box matches (name, email, phone, company...).
    pub search: String,
    /// The record as HighLevel returned it.
    pub data: Value,
    pub added_ms: Option<i64>,
    /// Orders the states of one record (HighLevel's dateUpdated, or the webhook timestamp).
    pub version_ms: i64,
    /// Set on a tombstone: the record was deleted in HighLevel.
    pub deleted_at_ms: Option<i64>,
    /// When drivesync last wrote the row.
    pub synced_at_ms: i64,
    /// A contact's tags (empty for other kinds).
    pub tags: Vec<String>,
}

impl Record {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at_ms.is_some()
    }
}

/// What a writer read before writing: nothing, or a row at a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Absent,
    Version { version_ms: i64, deleted: bool },
}

impl Expect {
    pub fn of(current: Option<&Record>) -> Expect {
        match current {
            None => Expect::Absent,
            Some(r) => Expect::Version {
                version_ms: r.version_ms,
                deleted: r.is_deleted(),
            },
        }
    }
}

/// The result of a guarded write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Written,
    /// The row changed since it was read: read again and decide again.
    Conflict,
}

/// A change to record in the feed with a write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChange {
    /// created | updated | deleted | completed | reopened | tagged | untagged | ...
    pub action: String,
    /// The change in plain words, e.g. "Task 'Send proposal' completed".
    pub summary: String,
    pub detail: Value,
    /// webhook | poll | reconcile | backfill | writeback
    pub origin: String,
    pub actor: Option<String>,
}

/// A change from the feed.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub id: i64,
    pub location_id: String,
    pub kind: RecordKind,
    pub record_id: String,
    pub contact_id: Option<String>,
    pub action: String,
    pub summary: String,
    pub detail: Value,
    pub origin: String,
    pub actor: Option<String>,
    pub at_ms: i64,
}

/// Which changes a feed shows. `None` fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    /// Changes about this contact.
    pub contact_id: Option<String>,
    /// Changes of these kinds of record only (an empty list: none).
    pub kinds: Option<Vec<RecordKind>>,
    /// Of a contact's changes, only its tagging (`true`: tagged and untagged) or only the
    /// rest (`false`). Changes of other kinds are not affected.
    pub tagging: Option<bool>,
    /// Changes credited to this actor (the Drive Chat member whose write-back they are).
    pub actor: Option<String>,
}

/// The order of a record listing. Every order ends with the record id, so pages are stable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecordOrder {
    /// Soonest first; records without a date last.
    #[default]
    DueAsc,
    DueDesc,
    /// Alphabetical by title (a contact's name, a task's title).
    TitleAsc,
    /// Most recently changed first.
    UpdatedDesc,
}

/// Which records to list. `None` fields do not filter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordQuery {
    pub location_id: String,
    pub kind: Option<RecordKind>,
    pub contact_id: Option<String>,
    pub parent_id: Option<String>,
    pub assignee: Option<String>,
    pub status: Option<String>,
    /// Contacts with this tag.
    pub tag: Option<String>,
    /// Records whose search text contains this (case-insensitive). Text that reads as a
    /// phone number (digits and `+ - ( ) .` or spaces only, at least 3 digits) matches by its
    /// digits whatever the formatting on either side: "+1 201-000-0021" finds +12010000021.
    pub text: Option<String>,
    /// due_ms >= this
    pub due_from: Option<i64>,
    /// due_ms < this
    pub due_before: Option<i64>,
    pub include_deleted: bool,
    pub order: RecordOrder,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// At most this many (capped at 1,000).
    pub limit: u32,
}

/// A page of records and the cursor of the next one, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordPage {
    pub records: Vec<Record>,
    pub next: Option<String>,
}

const RECORD_COLUMNS: &str = "location_id, kind, record_id, contact_id, parent_id, title, body, \
     assignee, status, due_ms, search, data, added_ms, version_ms, deleted_at_ms, synced_at_ms";

/// A `records` row; [`RecordRow::into_record`] checks and decodes it.
#[derive(sqlx::FromRow)]
struct RecordRow {
    location_id: String,
    kind: String,
    record_id: String,
    contact_id: Option<String>,
    parent_id: Option<String>,
    title: Option<String>,
    body: Option<String>,
    assignee: Option<String>,
    status: Option<String>,
    due_ms: Option<i64>,
    search: String,
    /// HighLevel's JSON, as text.
    data: String,
    added_ms: Option<i64>,
    version_ms: i64,
    deleted_at_ms: Option<i64>,
    synced_at_ms: i64,
}

/// A `changes` row; [`ChangeRow::into_change`] checks and decodes it.
#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: i64,
    location_id: String,
    kind: String,
    record_id: String,
    contact_id: Option<String>,
    action: String,
    summary: String,
    /// JSON, as text.
    detail: String,
    origin: String,
    actor: Option<String>,
    at_ms: i64,
}

const CHANGE_COLUMNS: &str =
    "id, location_id, kind, record_id, contact_id, action, summary, detail, origin, actor, at_ms";

/// Far in the future: records without a date sort after every dated one.
const NO_DATE: i64 = 9_007_199_254_740_991;

/// Insert when absent; the conflict arm never fires for a guarded insert (the caller read
/// "absent"), so a row that appeared meanwhile leaves 0 rows affected: a conflict.
const INSERT_RECORD: &str = "INSERT INTO records (location_id, kind, record_id, contact_id, \
     parent_id, title, body, assignee, status, due_ms, search, data, added_ms, version_ms, \
     deleted_at_ms, synced_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
     ON CONFLICT (location_id, kind, record_id) DO NOTHING";

const UPDATE_RECORD: &str = "UPDATE records SET contact_id = $4, parent_id = $5, title = $6, \
     body = $7, assignee = $8, status = $9, due_ms = $10, search = $11, data = $12, \
     added_ms = $13, version_ms = $14, deleted_at_ms = $15, synced_at_ms = $16 \
     WHERE location_id = $1 AND kind = $2 AND record_id = $3 AND version_ms = $17 \
     AND (deleted_at_ms IS NOT NULL) = $18";

const INSERT_CHANGE: &str = "INSERT INTO changes (location_id, kind, record_id, contact_id, \
     action, summary, detail, origin, actor, at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

impl Store {
    /// The record (tombstones included), or `None` if drivesync has never seen it.
    pub async fn record(
        &self,
        location_id: &str,
        kind: RecordKind,
        record_id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM records \
             WHERE location_id = $1 AND kind = $2 AND record_id = $3"
        );
        let row: Option<RecordRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(location_id)
            .bind(kind.as_str())
            .bind(record_id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::db("reading a record"))?;
        row.map(RecordRow::into_record).transpose()
    }

    /// Writes `record` if the stored row is still what `expect` says, together with its tags
    /// (contacts) and `changes`, in one transaction. `record.synced_at_ms` is set to now.
    pub async fn write_record(
        &self,
        record: &Record,
        expect: Expect,
        changes: &[NewChange],
    ) -> Result<Written, StoreError> {
        let data = record.data.to_string();
        let now = now_ms();
        let (sql, guard_version, guard_deleted) = match expect {
            Expect::Absent => (INSERT_RECORD, 0, false),
            Expect::Version {
                version_ms,
                deleted,
            } => (UPDATE_RECORD, version_ms, deleted),
        };
        let r = record;
        // Re-derived from HighLevel if a power cut loses it (see `Db::relaxed`).
        let written = with_pool!(&self.relaxed, |pool| async {
            let mut tx = pool.begin().await?;
            let mut q = sqlx::query(sql)
                .bind(&r.location_id)
                .bind(r.kind.as_str())
                .bind(&r.record_id)
                .bind(&r.contact_id)
                .bind(&r.parent_id)
                .bind(&r.title)
                .bind(&r.body)
                .bind(&r.assignee)
                .bind(&r.status)
                .bind(r.due_ms)
                .bind(&r.search)
                .bind(&data)
                .bind(r.added_ms)
                .bind(r.version_ms)
                .bind(r.deleted_at_ms)
                .bind(now);
            if matches!(expect, Expect::Version { .. }) {
                q = q.bind(guard_version).bind(guard_deleted);
            }
            let affected = q.execute(&mut *tx).await?.rows_affected();
            if affected == 0 {
                tx.rollback().await?;
                return Ok::<_, sqlx::Error>(Written::Conflict);
            }
            if r.kind == RecordKind::Contact {
                sqlx::query("DELETE FROM record_tags WHERE location_id = $1 AND contact_id = $2")
                    .bind(&r.location_id)
                    .bind(&r.record_id)
                    .execute(&mut *tx)
                    .await?;
                if !r.is_deleted() {
                    let mut tags: Vec<&String> = r.tags.iter().collect();
                    tags.sort();
                    tags.dedup();
                    for tag in tags {
                        sqlx::query(
                            "INSERT INTO record_tags (location_id, contact_id, tag) \
                             VALUES ($1, $2, $3)",
                        )
                        .bind(&r.location_id)
                        .bind(&r.record_id)
                        .bind(tag)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            for c in changes {
                sqlx::query(INSERT_CHANGE)
                    .bind(&r.location_id)
                    .bind(r.kind.as_str())
                    .bind(&r.record_id)
                    .bind(&r.contact_id)
                    .bind(&c.action)
                    .bind(&c.summary)
                    .bind(c.detail.to_string())
                    .bind(&c.origin)
                    .bind(&c.actor)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Written::Written)
        }
        .await)
        .map_err(StoreError::db("writing a record"))?;
        Ok(written)
    }

    /// A page of records, filtered and ordered as `query` says.
    pub async fn list_records(&self, query: &RecordQuery) -> Result<RecordPage, StoreError> {
        let limit = query.limit.clamp(1, 1000);
        let mut b = Filter::new(query)?;
        let (key_expr, text_key) = order_key(query.order);
        if let Some(cursor) = &query.after {
            let (key, id) = parse_cursor(cursor)?;
            let cmp = if matches!(query.order, RecordOrder::DueDesc | RecordOrder::UpdatedDesc) {
                "<"
            } else {
                ">"
            };
            let k = if text_key {
                b.arg(Arg::S(key))
            } else {
                b.arg(Arg::I(key.parse().map_err(|_| bad_cursor())?))
            };
            let i = b.arg(Arg::S(id));
            b.clauses
                .push(format!("({key_expr}, record_id) {cmp} ({k}, {i})"));
        }
        let dir = if matches!(query.order, RecordOrder::DueDesc | RecordOrder::UpdatedDesc) {
            "DESC"
        } else {
            "ASC"
        };
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM records r WHERE {} \
             ORDER BY {key_expr} {dir}, record_id {dir} LIMIT {}",
            b.clauses.join(" AND "),
            limit + 1
        );
        let rows: Vec<RecordRow> = with_pool!(&self.db, |pool| {
            let mut q = sqlx::query_as(&sql);
            for a in &b.args {
                q = match a {
                    Arg::I(v) => q.bind(*v),
                    Arg::S(s) => q.bind(s.as_str()),
                };
            }
            q.fetch_all(pool).await
        })
        .map_err(StoreError::db("listing records"))?;
        let mut records = rows
            .into_iter()
            .map(RecordRow::into_record)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if records.len() > limit as usize {
            records.truncate(limit as usize);
            records.last().map(|r| cursor_of(r, query.order))
        } else {
            None
        };
        Ok(RecordPage { records, next })
    }

    /// How many records match `query` (its order, cursor and limit are ignored).
    pub async fn count_records(&self, query: &RecordQuery) -> Result<i64, StoreError> {
        let b = Filter::new(query)?;
        let sql = format!(
            "SELECT COUNT(*) FROM records r WHERE {}",
            b.clauses.join(" AND ")
        );
        with_pool!(&self.db, |pool| {
            let mut q = sqlx::query_scalar(&sql);
            for a in &b.args {
                q = match a {
                    Arg::I(v) => q.bind(*v),
                    Arg::S(s) => q.bind(s.as_str()),
                };
            }
            q.fetch_one(pool).await
        })
        .map_err(StoreError::db("counting records"))
    }

    /// Every live record id of `kind` in a location (what `verify` and reconcile compare).
    pub async fn record_ids(
        &self,
        location_id: &str,
        kind: RecordKind,
    ) -> Result<Vec<String>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT record_id FROM records WHERE location_id = $1 AND kind = $2 \
             AND deleted_at_ms IS NULL ORDER BY record_id"
        )
        .bind(location_id)
        .bind(kind.as_str())
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("listing record ids"))
    }

    /// The distinct tags of a location's live contacts, with how many contacts carry each.
    pub async fn tag_counts(&self, location_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT tag, COUNT(*) FROM record_tags WHERE location_id = $1 \
             GROUP BY tag ORDER BY tag"
        )
        .bind(location_id)
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("counting tags"))
    }

    /// The distinct assignees of a location's live records of `kind`.
    ///
    /// Written as a walk from one assignee to the next through the `records_by_assignee`
    /// index (a "skip scan"): PostgreSQL plans `SELECT DISTINCT` as a read of every task
    /// (~40 ms at 100,000 tasks), this as one index probe per assignee on both backends.
    pub async fn assignees(
        &self,
        location_id: &str,
        kind: RecordKind,
    ) -> Result<Vec<String>, StoreError> {
        with_pool!(&self.db, |pool| sqlx::query_scalar(
            "WITH RECURSIVE a(v) AS ( \
                 SELECT MIN(assignee) FROM records WHERE location_id = $1 AND kind = $2 \
                     AND assignee IS NOT NULL AND deleted_at_ms IS NULL \
                 UNION ALL \
                 SELECT (SELECT MIN(assignee) FROM records WHERE location_id = $1 AND kind = $2 \
                     AND assignee > a.v AND deleted_at_ms IS NULL) FROM a WHERE a.v IS NOT NULL \
             ) SELECT v FROM a WHERE v IS NOT NULL"
        )
        .bind(location_id)
        .bind(kind.as_str())
        .fetch_all(pool)
        .await)
        .map_err(StoreError::db("listing assignees"))
    }

    /// Changes of a location (or of one contact) with ids after `after_id`, oldest first.
    pub async fn changes_after(
        &self,
        location_id: &str,
        contact_id: Option<&str>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        let sql = format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE location_id = $1 AND id > $2 \
             AND ($3 IS NULL OR contact_id = $3) ORDER BY id LIMIT $4"
        );
        let rows: Vec<ChangeRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(location_id)
            .bind(after_id)
            .bind(contact_id)
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("reading changes"))?;
        rows.into_iter().map(ChangeRow::into_change).collect()
    }

    /// The newest changes of a location (or of one contact) with ids before `before_id`
    /// (`None`: the newest), newest first.
    pub async fn changes_before(
        &self,
        location_id: &str,
        contact_id: Option<&str>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        let q = ChangeFilter {
            contact_id: contact_id.map(str::to_string),
            ..ChangeFilter::default()
        };
        self.changes_matching(location_id, &q, before_id, limit)
            .await
    }

    /// The newest changes of a location that `filter` keeps, with ids before `before_id`
    /// (`None`: the newest), newest first.
    pub async fn changes_matching(
        &self,
        location_id: &str,
        filter: &ChangeFilter,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        let kinds = filter.kinds.as_ref();
        // An empty list keeps nothing; the numbered placeholders start after the fixed five.
        if kinds.is_some_and(|k| k.is_empty()) {
            return Ok(Vec::new());
        }
        let kind_clause = match kinds {
            Some(k) => {
                let ps: Vec<String> = (0..k.len()).map(|i| format!("${}", i + 7)).collect();
                format!("AND kind IN ({})", ps.join(", "))
            }
            None => String::new(),
        };
        let sql = format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE location_id = $1 AND id < $2 \
             AND ($3 IS NULL OR contact_id = $3) AND ($4 IS NULL OR actor = $4) \
             AND ($5 IS NULL OR kind <> 'contact' \
                  OR (action IN ('tagged', 'untagged')) = ($5 = 1)) \
             {kind_clause} ORDER BY id DESC LIMIT $6"
        );
        let rows: Vec<ChangeRow> = with_pool!(&self.db, |pool| {
            let mut q = sqlx::query_as(&sql)
                .bind(location_id)
                .bind(before_id.unwrap_or(i64::MAX))
                .bind(filter.contact_id.as_deref())
                .bind(filter.actor.as_deref())
                .bind(filter.tagging.map(i64::from))
                .bind(i64::from(limit.clamp(1, 1000)));
            for k in kinds.into_iter().flatten() {
                q = q.bind(k.as_str());
            }
            q.fetch_all(pool).await
        })
        .map_err(StoreError::db("reading changes"))?;
        rows.into_iter().map(ChangeRow::into_change).collect()
    }

    /// When the newest of a location's last `window` changes that came from `origin`
    /// (`poll`, `webhook`, …) was recorded; `None` when none of them did. Bounded to the last
    /// changes so it stays one short index range however old the location.
    pub async fn last_change_from(
        &self,
        location_id: &str,
        origin: &str,
        window: u32,
    ) -> Result<Option<i64>, StoreError> {
        let at: Option<i64> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT MAX(at_ms) FROM (SELECT at_ms, origin FROM changes WHERE location_id = $1 \
             ORDER BY id DESC LIMIT $3) AS recent WHERE origin = $2"
        )
        .bind(location_id)
        .bind(origin)
        .bind(i64::from(window.clamp(1, 10_000)))
        .fetch_one(pool)
        .await)
        .map_err(StoreError::db("reading recent changes"))?;
        Ok(at)
    }

    /// The id of the newest change of any location (0 when there is none): where a live
    /// feed starts following.
    pub async fn last_change_id(&self) -> Result<i64, StoreError> {
        let id: Option<i64> = with_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT MAX(id) FROM changes"
        )
        .fetch_one(pool)
        .await)
        .map_err(StoreError::db("reading the last change id"))?;
        Ok(id.unwrap_or(0))
    }

    /// Changes of every location after `after_id`, oldest first (what live feeds follow).
    pub async fn all_changes_after(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        let sql =
            format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<ChangeRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(after_id)
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("reading changes"))?;
        rows.into_iter().map(ChangeRow::into_change).collect()
    }
}

enum Arg {
    I(i64),
    S(String),
}

/// The WHERE clauses of a record query and their arguments, numbered `$1`, `$2`, ...
struct Filter {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    fn new(q: &RecordQuery) -> Result<Filter, StoreError> {
        let mut f = Filter {
            clauses: Vec::new(),
            args: Vec::new(),
        };
        let p = f.arg(Arg::S(q.location_id.clone()));
        f.clauses.push(format!("r.location_id = {p}"));
        if let Some(k) = q.kind {
            let p = f.arg(Arg::S(k.as_str().into()));
            f.clauses.push(format!("r.kind = {p}"));
        }
        for (col, v) in [
            ("contact_id", &q.contact_id),
            ("parent_id", &q.parent_id),
            ("assignee", &q.assignee),
            ("status", &q.status),
        ] {
            if let Some(v) = v {
                let p = f.arg(Arg::S(v.clone()));
                f.clauses.push(format!("r.{col} = {p}"));
            }
        }
        if let Some(tag) = &q.tag {
            let p = f.arg(Arg::S(tag.clone()));
            f.clauses.push(format!(
                "EXISTS (SELECT 1 FROM record_tags t WHERE t.location_id = r.location_id \
                 AND t.contact_id = r.record_id AND t.tag = {p})"
            ));
        }
        if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            if let Some(digits) = phone_digits(text) {
                let p = f.arg(Arg::S(format!("%{digits}%")));
                f.clauses
                    .push(format!("{} LIKE {p}", digits_only("r.search")));
            } else {
                let escaped = text
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let p = f.arg(Arg::S(format!("%{escaped}%")));
                f.clauses.push(format!("r.search LIKE {p} ESCAPE '\\'"));
            }
        }
        if let Some(from) = q.due_from {
            let p = f.arg(Arg::I(from));
            f.clauses.push(format!("r.due_ms >= {p}"));
        }
        if let Some(before) = q.due_before {
            let p = f.arg(Arg::I(before));
            f.clauses.push(format!("r.due_ms < {p}"));
        }
        if !q.include_deleted {
            f.clauses.push("r.deleted_at_ms IS NULL".into());
        }
        Ok(f)
    }

    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }
}

/// The characters a phone number is written with besides its digits.
const PHONE_PUNCTUATION: [char; 6] = [' ', '+', '-', '(', ')', '.'];

/// The digits of `text` when it reads as a phone number: digits and phone punctuation only,
/// at least 3 digits. (A search such as "0021" is one too, and still matches as before.)
pub(crate) fn phone_digits(text: &str) -> Option<String> {
    let only_phone = text
        .chars()
        .all(|c| c.is_ascii_digit() || PHONE_PUNCTUATION.contains(&c));
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (only_phone && digits.len() >= 3).then_some(digits)
}

/// SQL for `column` with phone punctuation taken out (same in SQLite and PostgreSQL).
fn digits_only(column: &str) -> String {
    PHONE_PUNCTUATION.iter().fold(column.to_string(), |e, c| {
        format!("REPLACE({e}, '{c}', '')")
    })
}

/// The sort expression of an order, and whether it is text.
fn order_key(order: RecordOrder) -> (String, bool) {
    match order {
        RecordOrder::DueAsc | RecordOrder::DueDesc => {
            (format!("COALESCE(r.due_ms, {NO_DATE})"), false)
        }
        RecordOrder::TitleAsc => ("COALESCE(LOWER(r.title), '')".into(), true),
        RecordOrder::UpdatedDesc => ("r.version_ms".into(), false),
    }
}

fn cursor_of(r: &Record, order: RecordOrder) -> String {
    let key = match order {
        RecordOrder::DueAsc | RecordOrder::DueDesc => r.due_ms.unwrap_or(NO_DATE).to_string(),
        RecordOrder::TitleAsc => r.title.as_deref().unwrap_or("").to_lowercase(),
        RecordOrder::UpdatedDesc => r.version_ms.to_string(),
    };
    encode_cursor(&key, &r.record_id)
}

/// A keyset page cursor: the sort key and id of the page's last row, opaque to clients.
pub(crate) fn encode_cursor(key: &str, id: &str) -> String {
    use base64::Engine as _;
    let raw = serde_json::json!([key, id]).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The sort key and id of a cursor made by [`encode_cursor`].
pub(crate) fn parse_cursor(cursor: &str) -> Result<(String, String), StoreError> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad_cursor())?;
    serde_json::from_slice::<(String, String)>(&raw).map_err(|_| bad_cursor())
}

pub(crate) fn bad_cursor() -> StoreError {
    StoreError::InvalidArgument(
        "the page cursor is not one this server gave out; start from the first page".into(),
    )
}

impl RecordRow {
    fn into_record(self) -> Result<Record, StoreError> {
        let kind = RecordKind::parse(&self.kind).ok_or_else(|| StoreError::Corrupt {
            what: format!("record {}", self.record_id),
            reason: format!("unknown kind {:?}", self.kind),
        })?;
        let data: Value = serde_json::from_str(&self.data).map_err(|e| StoreError::Corrupt {
            what: format!("record {}", self.record_id),
            reason: format!("data is not JSON: {e}"),
        })?;
        let tags = if kind == RecordKind::Contact {
            tags_of(&data)
        } else {
            Vec::new()
        };
        Ok(Record {
            location_id: self.location_id,
            kind,
            record_id: self.record_id,
            contact_id: self.contact_id,
            parent_id: self.parent_id,
            title: self.title,
            body: self.body,
            assignee: self.assignee,
            status: self.status,
            due_ms: self.due_ms,
            search: self.search,
            data,
            added_ms: self.added_ms,
            version_ms: self.version_ms,
            deleted_at_ms: self.deleted_at_ms,
            synced_at_ms: self.synced_at_ms,
            tags,
        })
    }
}

/// The `tags` array of a contact's JSON.
pub fn tags_of(data: &Value) -> Vec<String> {
    data.get("tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl ChangeRow {
    fn into_change(self) -> Result<Change, StoreError> {
        let kind = RecordKind::parse(&self.kind).ok_or_else(|| StoreError::Corrupt {
            what: format!("change {}", self.id),
            reason: format!("unknown kind {:?}", self.kind),
        })?;
        Ok(Change {
            id: self.id,
            location_id: self.location_id,
            kind,
            record_id: self.record_id,
            contact_id: self.contact_id,
            action: self.action,
            summary: self.summary,
            detail: serde_json::from_str(&self.detail).unwrap_or(Value::Null),
            origin: self.origin,
            actor: self.actor,
            at_ms: self.at_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_searches_are_read_as_digits() {
        assert_eq!(
            phone_digits("+1 201-000-0021").as_deref(),
            Some("12010000021")
        );
        assert_eq!(
            phone_digits("(201) 000.0021").as_deref(),
            Some("2010000021")
        );
        assert_eq!(phone_digits("0021").as_deref(), Some("0021"));
        assert_eq!(phone_digits("12"), None, "too short to be a phone");
        assert_eq!(phone_digits("Suite 12-3"), None, "words are text");
        assert_eq!(
            digits_only("r.search"),
            "REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(r.search, ' ', ''), '+', ''), \
             '-', ''), '(', ''), ')', ''), '.', '')"
        );
    }
}
