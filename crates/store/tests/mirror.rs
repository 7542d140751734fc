//! The Drive Chat store, the outbox and the sync state, identically on SQLite and PostgreSQL:
//! guarded writes refuse a writer that lost a race and keep rows and their feed lines
//! together; listings filter, order and page without gaps or repeats; the outbox keeps one
//! command per idempotency key, queued with its job; the poll cursor only moves forward.

mod common;

use std::collections::BTreeSet;

use common::Env;
use serde_json::json;
use store::{
    BackfillCheckpoint, CommandState, Expect, HighLevelCommand, NewChange, NewCommand, Record,
    RecordKind, RecordOrder, RecordQuery, Written,
};

/// The kind of the job queued with each outbox command, as `jobs.kind` holds it.
const WRITE_BACK_JOB_KIND: &str = store::JobKind::WriteBack.as_str();

on_both_backends!(
    guarded_writes_refuse_the_loser_of_a_race,
    feed_lines_commit_with_their_row,
    tags_follow_the_contact,
    listings_page_without_gaps_or_repeats,
    filters_and_search_narrow_listings,
    a_bad_cursor_is_refused,
    outbox_commands_are_queued_once_per_key,
    poll_cursor_only_moves_forward,
    backfill_checkpoints_round_trip,
);

fn task(id: &str, due: Option<i64>, status: &str, version: i64) -> Record {
    Record {
        location_id: "L".into(),
        kind: RecordKind::Task,
        record_id: id.into(),
        contact_id: Some("c1".into()),
        parent_id: None,
        title: Some(format!("Task {id}")),
        body: None,
        assignee: Some(if id.ends_with('1') { "ana" } else { "bo" }.into()),
        status: Some(status.into()),
        due_ms: due,
        search: format!("task {id}"),
        data: json!({ "id": id }),
        added_ms: None,
        version_ms: version,
        deleted_at_ms: None,
        synced_at_ms: 0,
        tags: Vec::new(),
    }
}

fn contact(id: &str, name: &str, tags: &[&str]) -> Record {
    Record {
        kind: RecordKind::Contact,
        contact_id: Some(id.into()),
        title: Some(name.into()),
        search: format!("{} {id}@example.com", name.to_lowercase()),
        data: json!({ "id": id, "tags": tags }),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        status: None,
        assignee: None,
        ..task(id, None, "open", 1)
    }
}

fn line(action: &str) -> NewChange {
    NewChange {
        action: action.into(),
        summary: format!("something {action}"),
        detail: json!({}),
        origin: "webhook".into(),
        actor: None,
    }
}

async fn guarded_writes_refuse_the_loser_of_a_race(env: Env) {
    let store = env.store().await;
    let t1 = task("t1", Some(10), "open", 100);
    assert_eq!(
        store.write_record(&t1, Expect::Absent, &[]).await.unwrap(),
        Written::Written
    );
    // A second writer that also read "absent" lost the race.
    assert_eq!(
        store.write_record(&t1, Expect::Absent, &[]).await.unwrap(),
        Written::Conflict
    );
    let stored = store
        .record("L", RecordKind::Task, "t1")
        .await
        .unwrap()
        .unwrap();
    let read = Expect::of(Some(&stored));
    let mut done = t1.clone();
    done.status = Some("done".into());
    done.version_ms = 200;
    assert_eq!(
        store.write_record(&done, read, &[]).await.unwrap(),
        Written::Written
    );
    // Whoever read version 100 too is now refused.
    let mut other = t1.clone();
    other.version_ms = 150;
    assert_eq!(
        store.write_record(&other, read, &[]).await.unwrap(),
        Written::Conflict
    );
    let now = store
        .record("L", RecordKind::Task, "t1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.status.as_deref(), Some("done"));
    assert_eq!(now.version_ms, 200);
    assert!(now.synced_at_ms > 0);
}

async fn feed_lines_commit_with_their_row(env: Env) {
    let store = env.store().await;
    let t = task("t1", None, "open", 1);
    store
        .write_record(&t, Expect::Absent, &[line("created")])
        .await
        .unwrap();
    // A refused write leaves no feed line behind.
    store
        .write_record(&t, Expect::Absent, &[line("created")])
        .await
        .unwrap();
    let feed = store.changes_after("L", None, 0, 100).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].action, "created");
    assert_eq!(feed[0].contact_id.as_deref(), Some("c1"));
    assert_eq!(feed[0].kind, RecordKind::Task);
    let newest = store
        .changes_before("L", Some("c1"), None, 10)
        .await
        .unwrap();
    assert_eq!(newest, feed);
    assert_eq!(store.last_change_id().await.unwrap(), feed[0].id);
    assert!(store
        .changes_after("other", None, 0, 100)
        .await
        .unwrap()
        .is_empty());
}

async fn tags_follow_the_contact(env: Env) {
    let store = env.store().await;
    let a = contact("c1", "Ana", &["vip", "lead"]);
    store.write_record(&a, Expect::Absent, &[]).await.unwrap();
    let stored = store
        .record("L", RecordKind::Contact, "c1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.tags, ["vip", "lead"]);
    let mut b = contact("c1", "Ana", &["vip"]);
    b.version_ms = 2;
    store
        .write_record(&b, Expect::of(Some(&stored)), &[])
        .await
        .unwrap();
    assert_eq!(
        store.tag_counts("L").await.unwrap(),
        vec![("vip".to_string(), 1)]
    );
    // A tombstone takes its tags out of the filters.
    let mut dead = b.clone();
    dead.version_ms = 3;
    dead.deleted_at_ms = Some(3);
    let now = store.record("L", RecordKind::Contact, "c1").await.unwrap();
    store
        .write_record(&dead, Expect::of(now.as_ref()), &[])
        .await
        .unwrap();
    assert!(store.tag_counts("L").await.unwrap().is_empty());
    assert!(store
        .record_ids("L", RecordKind::Contact)
        .await
        .unwrap()
        .is_empty());
}

async fn listings_page_without_gaps_or_repeats(env: Env) {
    let store = env.store().await;
    // Equal due dates and missing ones: the record id breaks ties, undated ones come last.
    for i in 0..57 {
        let due = (i % 4 != 0).then_some(1_000 + (i % 5) as i64);
        store
            .write_record(
                &task(&format!("t{i:02}"), due, "open", 1),
                Expect::Absent,
                &[],
            )
            .await
            .unwrap();
    }
    for order in [
        RecordOrder::DueAsc,
        RecordOrder::DueDesc,
        RecordOrder::TitleAsc,
        RecordOrder::UpdatedDesc,
    ] {
        let mut q = RecordQuery {
            location_id: "L".into(),
            kind: Some(RecordKind::Task),
            order,
            limit: 10,
            ..RecordQuery::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = store.list_records(&q).await.unwrap();
            assert!(page.records.len() <= 10);
            seen.extend(page.records.iter().map(|r| (r.due_ms, r.record_id.clone())));
            match page.next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
        let ids: BTreeSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
        assert_eq!(seen.len(), 57, "{order:?}: no repeats");
        assert_eq!(ids.len(), 57, "{order:?}: no gaps");
        if order == RecordOrder::DueAsc {
            let keys: Vec<_> = seen
                .iter()
                .map(|(d, id)| (d.unwrap_or(i64::MAX), id.clone()))
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "due order, ties by id, undated last");
        }
    }
    let q = RecordQuery {
        location_id: "L".into(),
        kind: Some(RecordKind::Task),
        ..RecordQuery::default()
    };
    assert_eq!(store.count_records(&q).await.unwrap(), 57);
}

async fn filters_and_search_narrow_listings(env: Env) {
    let store = env.store().await;
    store
        .write_record(&contact("c1", "Ana Ruiz", &["vip"]), Expect::Absent, &[])
        .await
        .unwrap();
    store
        .write_record(&contact("c2", "Bo_% Li", &[]), Expect::Absent, &[])
        .await
        .unwrap();
    for (id, due, status) in [("t1", 5, "open"), ("t2", 50, "done"), ("t3", 500, "open")] {
        store
            .write_record(&task(id, Some(due), status, 1), Expect::Absent, &[])
            .await
            .unwrap();
    }
    let base = RecordQuery {
        location_id: "L".into(),
        limit: 100,
        ..RecordQuery::default()
    };
    let ids = |p: store::RecordPage| {
        p.records
            .into_iter()
            .map(|r| r.record_id)
            .collect::<Vec<_>>()
    };
    let q = |f: fn(&mut RecordQuery)| {
        let mut q = base.clone();
        f(&mut q);
        q
    };
    let by_tag = q(|q| q.tag = Some("vip".into()));
    assert_eq!(ids(store.list_records(&by_tag).await.unwrap()), ["c1"]);
    let text = q(|q| q.text = Some("  RUIZ ".into()));
    assert_eq!(ids(store.list_records(&text).await.unwrap()), ["c1"]);
    // LIKE wildcards in the search box are literal characters.
    let wild = q(|q| q.text = Some("_%".into()));
    assert_eq!(ids(store.list_records(&wild).await.unwrap()), ["c2"]);
    let open = q(|q| {
        q.kind = Some(RecordKind::Task);
        q.status = Some("open".into());
    });
    assert_eq!(ids(store.list_records(&open).await.unwrap()), ["t1", "t3"]);
    let window = q(|q| {
        q.kind = Some(RecordKind::Task);
        q.due_from = Some(5);
        q.due_before = Some(500);
    });
    assert_eq!(
        ids(store.list_records(&window).await.unwrap()),
        ["t1", "t2"]
    );
    let ana = q(|q| {
        q.kind = Some(RecordKind::Task);
        q.assignee = Some("ana".into());
    });
    assert_eq!(ids(store.list_records(&ana).await.unwrap()), ["t1"]);
    assert_eq!(
        store.assignees("L", RecordKind::Task).await.unwrap(),
        ["ana", "bo"]
    );
    assert!(store
        .assignees("M", RecordKind::Task)
        .await
        .unwrap()
        .is_empty());
    let elsewhere = RecordQuery {
        location_id: "M".into(),
        ..base.clone()
    };
    assert!(store
        .list_records(&elsewhere)
        .await
        .unwrap()
        .records
        .is_empty());
}

async fn a_bad_cursor_is_refused(env: Env) {
    let store = env.store().await;
    for bad in ["", "not base64!", "bm90IGpzb24"] {
        let q = RecordQuery {
            location_id: "L".into(),
            after: Some(bad.into()),
            limit: 5,
            ..RecordQuery::default()
        };
        let e = store.list_records(&q).await.unwrap_err();
        assert!(
            e.to_string().contains("start from the first page"),
            "{bad:?}: {e}"
        );
    }
}

async fn outbox_commands_are_queued_once_per_key(env: Env) {
    let store = env.store().await;
    let cmd = NewCommand {
        location_id: "L".into(),
        command: HighLevelCommand::CompleteTask {
            contact_id: "c1".into(),
            task_id: "t1".into(),
        },
        requested_by: Some("7".into()),
        actor: None,
        idempotency_key: Some("form-123".into()),
    };
    let (id, created) = store.enqueue_command(&cmd).await.unwrap();
    assert!(created);
    let (again, created) = store.enqueue_command(&cmd).await.unwrap();
    assert_eq!(
        (again, created),
        (id, false),
        "a double submit is one command"
    );
    let jobs = store
        .claim_jobs("w", 10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1, "one job for the one command");
    assert_eq!(jobs[0].kind, WRITE_BACK_JOB_KIND);
    assert_eq!(jobs[0].ordering_key, "contact:c1");
    assert_eq!(jobs[0].payload, json!({ "outbox_id": id }));
    let c = store.command(id).await.unwrap().unwrap();
    assert_eq!(c.state, CommandState::Pending);
    // What `/metrics` exports per location and state.
    assert_eq!(
        store.outbox_counts().await.unwrap(),
        vec![("L".to_string(), CommandState::Pending, 1)]
    );
    assert!(store
        .settle_command(id, CommandState::Failed, None, None, Some("refused"))
        .await
        .unwrap());
    // Settled once: a late second outcome is ignored.
    assert!(!store
        .settle_command(id, CommandState::Done, None, None, None)
        .await
        .unwrap());
    let c = store.command(id).await.unwrap().unwrap();
    assert_eq!(
        (c.state, c.error.as_deref()),
        (CommandState::Failed, Some("refused"))
    );
    assert_eq!(
        store.outbox_counts().await.unwrap(),
        vec![("L".to_string(), CommandState::Failed, 1)]
    );
    let failed = store
        .commands("L", Some(CommandState::Failed), Some("c1"), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert!(store
        .commands("L", Some(CommandState::Pending), None, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn poll_cursor_only_moves_forward(env: Env) {
    let store = env.store().await;
    store
        .ensure_sync_state("L", 60_000, 86_400_000)
        .await
        .unwrap();
    store.record_poll("L", Some(500), None).await.unwrap();
    store.record_poll("L", Some(400), None).await.unwrap();
    store
        .record_poll("L", None, Some("HighLevel answered 503"))
        .await
        .unwrap();
    let s = store.sync_state("L").await.unwrap().unwrap();
    assert_eq!(s.poll_cursor_ms, Some(500));
    assert_eq!(s.last_error.as_deref(), Some("HighLevel answered 503"));
    assert!(s.last_poll_ms.is_some());
    // New intervals keep the cursor.
    store.ensure_sync_state("L", 5_000, 600_000).await.unwrap();
    let s = store.sync_state("L").await.unwrap().unwrap();
    assert_eq!((s.poll_cursor_ms, s.poll_interval_ms), (Some(500), 5_000));
    store
        .record_event_applied("L", Some(42), true)
        .await
        .unwrap();
    let s = store.sync_state("L").await.unwrap().unwrap();
    assert_eq!((s.unknown_events, s.last_event_lag_ms), (1, Some(42)));
}

async fn backfill_checkpoints_round_trip(env: Env) {
    let store = env.store().await;
    let cp = BackfillCheckpoint {
        phase: "contacts".into(),
        cursor: Some("[1, \"c9\"]".into()),
        items: 200,
        done: false,
    };
    store.save_backfill_checkpoint("L", &cp).await.unwrap();
    let done = BackfillCheckpoint {
        items: 250,
        done: true,
        ..cp.clone()
    };
    store.save_backfill_checkpoint("L", &done).await.unwrap();
    assert_eq!(store.backfill_checkpoints("L").await.unwrap(), vec![done]);
    store.reset_backfill("L").await.unwrap();
    assert!(store.backfill_checkpoints("L").await.unwrap().is_empty());
}
