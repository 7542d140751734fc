//! A workspace at scale, shared by `tests/scale.rs` (which checks what the pages show) and
//! `benches/pages.rs` (which times them): 10,000 contacts and 100,000 tasks written straight
//! into `records` in one transaction, as a backfill would leave them, then `ANALYZE`.
//!
//! The tasks are a cheap deterministic spread: due dates 60 days either side of today, one in
//! twenty undated, a third done, ten assignees (`u0`..`u9`), contact `i % 10,000`.

#![allow(dead_code)] // each target uses a different part of this module

use sqlx::Connection as _;

pub const CONTACTS: usize = 10_000;
pub const TASKS: usize = 100_000;
pub const DAY: i64 = 24 * 3600 * 1000;

/// One seeded task, as the tests compute what a page should show.
#[derive(Clone, Debug)]
pub struct Task {
    pub id: String,
    pub contact: String,
    pub title: String,
    pub assignee: String,
    pub done: bool,
    pub due: Option<i64>,
}

/// The seeded tasks, `today` being the start of the current UTC day.
pub fn tasks(today: i64) -> Vec<Task> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..TASKS)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Task {
                id: format!("t{i:06}"),
                contact: contact_id(i % CONTACTS),
                title: format!("Task {}", (x >> 24) % 1_000_000),
                assignee: format!("u{}", i % 10),
                done: (x >> 20).is_multiple_of(3),
                due: (!x.is_multiple_of(20))
                    .then(|| today + ((x >> 8) % 121) as i64 * DAY - 60 * DAY),
            }
        })
        .collect()
}

pub fn contact_id(i: usize) -> String {
    format!("c{i:05}")
}

/// A row of `records` with `data = '{}'`.
pub struct Row {
    pub kind: &'static str,
    pub record_id: String,
    pub contact_id: Option<String>,
    pub parent_id: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub assignee: Option<String>,
    pub status: Option<String>,
    pub due_ms: Option<i64>,
    pub search: String,
}

impl Row {
    fn new(kind: &'static str, id: String) -> Row {
        Row {
            kind,
            record_id: id,
            contact_id: None,
            parent_id: None,
            title: None,
            body: None,
            assignee: None,
            status: None,
            due_ms: None,
            search: String::new(),
        }
    }
}

/// The 10,000 contacts (`c00000`..`c09999`, "Contact 00042") and the tasks.
pub fn rows(tasks: &[Task]) -> Vec<Row> {
    let mut rows = Vec::with_capacity(CONTACTS + tasks.len());
    for i in 0..CONTACTS {
        let id = contact_id(i);
        rows.push(Row {
            contact_id: Some(id.clone()),
            title: Some(format!("Contact {i:05}")),
            assignee: Some(format!("u{}", i % 10)),
            search: format!("contact {i:05}"),
            ..Row::new("contact", id)
        });
    }
    for t in tasks {
        rows.push(Row {
            contact_id: Some(t.contact.clone()),
            title: Some(t.title.clone()),
            assignee: Some(t.assignee.clone()),
            status: Some(if t.done { "done" } else { "open" }.into()),
            due_ms: t.due,
            ..Row::new("task", t.id.clone())
        });
    }
    rows
}

/// `n` notes spread over the contacts (note `i` on contact `i % 10,000`), one a day back
/// from `today`.
pub fn notes(n: usize, today: i64) -> Vec<Row> {
    (0..n)
        .map(|i| Row {
            contact_id: Some(contact_id(i % CONTACTS)),
            body: Some(format!("Called about order {i}; follow up next week.")),
            due_ms: Some(today - (i / CONTACTS) as i64 * DAY),
            ..Row::new("note", format!("n{i:06}"))
        })
        .collect()
}

/// `n` appointments spread over the contacts, 30 days either side of today.
pub fn appointments(n: usize, today: i64) -> Vec<Row> {
    (0..n)
        .map(|i| Row {
            contact_id: Some(contact_id((i * 7) % CONTACTS)),
            title: Some(format!("Site visit {i}")),
            status: Some("confirmed".into()),
            due_ms: Some(today + (i % 61) as i64 * DAY - 30 * DAY + 10 * 3600 * 1000),
            ..Row::new("appointment", format!("a{i:05}"))
        })
        .collect()
}

/// Inserts `rows` into location `loc` of the store at `db_url` (SQLite, or PostgreSQL with
/// its schema in `options[search_path]`) in one transaction, then runs `ANALYZE` (PostgreSQL:
/// `VACUUM ANALYZE`).
pub async fn insert(db_url: &str, loc: &str, rows: &[Row]) {
    macro_rules! insert_on {
        ($conn:ty, $db:ty, $analyze:expr) => {{
            let mut conn = <$conn>::connect(db_url).await.expect("connect to seed");
            let mut tx = conn.begin().await.expect("begin");
            // 500 rows of 10 values a statement: under both databases' limits on parameters.
            for chunk in rows.chunks(500) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO records (location_id, kind, record_id, contact_id, parent_id, \
                     title, body, assignee, status, due_ms, search, data, added_ms, version_ms, \
                     synced_at_ms) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(loc)
                        .push_bind(r.kind)
                        .push_bind(&r.record_id)
                        .push_bind(&r.contact_id)
                        .push_bind(&r.parent_id)
                        .push_bind(&r.title)
                        .push_bind(&r.body)
                        .push_bind(&r.assignee)
                        .push_bind(&r.status)
                        .push_bind(r.due_ms)
                        .push_bind(&r.search)
                        .push_unseparated(", '{}', 0, 1, 0");
                });
                q.build().execute(&mut *tx).await.expect("insert rows");
            }
            tx.commit().await.expect("commit");
            sqlx::query($analyze)
                .execute(&mut conn)
                .await
                .expect("analyze");
            conn.close().await.ok();
        }};
    }
    if db_url.starts_with("sqlite:") {
        insert_on!(sqlx::SqliteConnection, sqlx::Sqlite, "ANALYZE");
    } else {
        // As autovacuum leaves a table after a backfill: statistics, and the visibility map
        // that lets an index-only scan skip the table.
        insert_on!(sqlx::PgConnection, sqlx::Postgres, "VACUUM ANALYZE records");
    }
}
