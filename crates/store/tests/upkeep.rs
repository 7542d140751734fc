//! Table upkeep: on PostgreSQL, a store that filled up with no statistics (autovacuum off or
//! not yet round) gets them from `Store::upkeep`, after which a record read by its full key
//! is planned on the primary key rather than as a scan of its location; SQLite needs none.

mod common;

use common::{Backend, Env};
use serde_json::json;
use sqlx::{Connection as _, Row as _};
use store::{Expect, Record, RecordKind, Upkeep, Written};

on_both_backends!(statistics_are_refreshed_where_the_planner_needs_them);

fn contact(i: usize) -> Record {
    let id = format!("c{i:05}");
    Record {
        location_id: "L".into(),
        kind: RecordKind::Contact,
        record_id: id.clone(),
        contact_id: Some(id.clone()),
        parent_id: None,
        title: Some(format!("Person {i}")),
        body: None,
        assignee: Some("ana".into()),
        status: None,
        due_ms: None,
        search: format!("person {i}"),
        data: json!({ "id": id }),
        added_ms: None,
        version_ms: 1,
        deleted_at_ms: None,
        synced_at_ms: 0,
        tags: Vec::new(),
    }
}

/// The plan PostgreSQL would reuse for the store's record read (a prepared statement's
/// generic plan, as sqlx's cached statements get after a few runs).
async fn record_read_plan(url: String) -> String {
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    for sql in [
        "SET plan_cache_mode = force_generic_plan",
        "PREPARE read_record(text, text, text) AS SELECT * FROM records \
         WHERE location_id = $1 AND kind = $2 AND record_id = $3",
    ] {
        sqlx::query(sql).execute(&mut conn).await.expect("prepare");
    }
    let rows = sqlx::query("EXPLAIN EXECUTE read_record('L', 'contact', 'c00042')")
        .fetch_all(&mut conn)
        .await
        .expect("explain");
    rows.iter()
        .map(|r| r.get::<String, _>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn statistics_are_refreshed_where_the_planner_needs_them(env: Env) {
    let store = env.store().await;
    for i in 0..1500 {
        let w = store
            .write_record(&contact(i), Expect::Absent, &[])
            .await
            .expect("write");
        assert_eq!(w, Written::Written);
    }
    let done = store.upkeep().await.expect("upkeep");
    match env.backend {
        Backend::Sqlite => assert_eq!(done, Upkeep::default(), "SQLite needs no upkeep"),
        Backend::Postgres => {
            assert!(
                done.analyzed.iter().any(|t| t == "records"),
                "records was never analysed, so upkeep must analyse it: {done:?}"
            );
            let plan = record_read_plan(env.url.clone()).await;
            assert!(
                plan.contains("records_pkey"),
                "a record read by its full key must use the primary key:\n{plan}"
            );
        }
    }
    let read = store
        .record("L", RecordKind::Contact, "c00042")
        .await
        .expect("read");
    assert_eq!(read.map(|r| r.record_id).as_deref(), Some("c00042"));
}
