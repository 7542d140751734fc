//! The audit trail and the dashboard's samples: entries filtered, scoped and paged; a settled
//! write-back recorded once with HighLevel's answer; samples kept per minute and pruned; the
//! named lease held by one owner at a time.

mod common;

use std::collections::BTreeMap;

use common::Env;
use serde_json::json;
use store::{
    Actor, ActorKind, AuditEntry, AuditQuery, AuditScope, CommandState, HighLevelAnswer,
    HighLevelCommand, MetricSample, NewCommand, Outcome,
};

on_both_backends!(
    audit_entries_are_filtered_scoped_and_paged,
    a_settled_command_is_audited_once_with_highlevels_answer,
    samples_are_kept_per_minute_and_pruned,
    a_named_lease_has_one_owner_until_it_expires
);

fn scope(locations: &[&str], instance: bool) -> AuditScope {
    AuditScope {
        locations: locations.iter().map(|l| l.to_string()).collect(),
        instance,
    }
}

async fn audit_entries_are_filtered_scoped_and_paged(env: Env) {
    let store = env.store().await;
    let ana = Actor::member(1, "Ana");
    let bot = Actor::api_token(2, "Bo");
    for i in 0..5 {
        store
            .record_audit(
                &AuditEntry::new(ana.clone(), "api_token.create", Some("L1"))
                    .target(&format!("t{i}")),
            )
            .await
            .unwrap();
    }
    let mut refused = AuditEntry::new(bot.clone(), "highlevel.add_tag", Some("L1"));
    refused.outcome = Outcome::Refused;
    refused.status = Some(422);
    refused.trace_id = Some("trace-1".into());
    store.record_audit(&refused).await.unwrap();
    store
        .record_audit(&AuditEntry::new(ana.clone(), "timezone.set", Some("L2")))
        .await
        .unwrap();
    store
        .record_audit(&AuditEntry::new(Actor::command_line(), "keys.rotate", None))
        .await
        .unwrap();

    let q = |s: AuditScope| AuditQuery {
        scope: s,
        limit: 100,
        ..AuditQuery::default()
    };
    // Scope: only the reader's locations, plus the installation's own when allowed.
    let l1 = store.audit_page(&q(scope(&["L1"], false))).await.unwrap();
    assert_eq!(l1.entries.len(), 6);
    assert!(l1
        .entries
        .iter()
        .all(|e| e.location_id.as_deref() == Some("L1")));
    let with_instance = store.audit_page(&q(scope(&["L1"], true))).await.unwrap();
    assert_eq!(with_instance.entries.len(), 7);
    assert_eq!(with_instance.entries[0].kind, "keys.rotate", "newest first");
    assert_eq!(with_instance.entries[0].actor_kind, ActorKind::CommandLine);
    // A location filter outside the scope matches nothing.
    let outside = store
        .audit_page(&AuditQuery {
            location: Some("L2".into()),
            ..q(scope(&["L1"], true))
        })
        .await
        .unwrap();
    assert!(outside.entries.is_empty());
    let instance_only = store
        .audit_page(&AuditQuery {
            location: Some(String::new()),
            ..q(scope(&["L1"], true))
        })
        .await
        .unwrap();
    assert_eq!(instance_only.entries.len(), 1);

    // Filters: actor, kind, outcome, time.
    let all = scope(&["L1", "L2"], true);
    let by_bo = store
        .audit_page(&AuditQuery {
            actor: Some("Bo".into()),
            ..q(all.clone())
        })
        .await
        .unwrap();
    assert_eq!(by_bo.entries.len(), 1);
    let e = &by_bo.entries[0];
    assert_eq!(
        (e.actor_kind, e.outcome, e.status, e.trace_id.as_deref()),
        (
            ActorKind::ApiToken,
            Outcome::Refused,
            Some(422),
            Some("trace-1")
        )
    );
    let refusals = store
        .audit_page(&AuditQuery {
            outcome: Some(Outcome::Refused),
            ..q(all.clone())
        })
        .await
        .unwrap();
    assert_eq!(refusals.entries.len(), 1);
    let zones = store
        .audit_page(&AuditQuery {
            kind: Some("timezone.set".into()),
            ..q(all.clone())
        })
        .await
        .unwrap();
    assert_eq!(zones.entries.len(), 1);
    let future = store
        .audit_page(&AuditQuery {
            from_ms: Some(e.at_ms + 3_600_000),
            ..q(all.clone())
        })
        .await
        .unwrap();
    assert!(future.entries.is_empty());
    let past = store
        .audit_page(&AuditQuery {
            to_ms: Some(e.at_ms - 3_600_000),
            ..q(all.clone())
        })
        .await
        .unwrap();
    assert!(past.entries.is_empty());

    // Pages of 3 over the 8 entries: 3, 3, 2, then no next page.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .audit_page(&AuditQuery {
                limit: 3,
                before_id: before,
                ..q(all.clone())
            })
            .await
            .unwrap();
        seen.push(page.entries.len());
        before = page.next_before;
        if before.is_none() {
            break;
        }
    }
    assert_eq!(seen, vec![3, 3, 2]);

    let (actors, kinds) = store.audit_facets(&scope(&["L2"], false)).await.unwrap();
    assert_eq!(actors, vec!["Ana".to_string()]);
    assert_eq!(kinds, vec!["timezone.set".to_string()]);
}

async fn a_settled_command_is_audited_once_with_highlevels_answer(env: Env) {
    let store = env.store().await;
    let queue = |task: &str, actor: Option<Actor>| NewCommand {
        location_id: "L".into(),
        command: HighLevelCommand::CompleteTask {
            contact_id: "c1".into(),
            task_id: task.into(),
        },
        requested_by: Some("Ana".into()),
        actor,
        idempotency_key: None,
    };
    let (done, _) = store
        .enqueue_command(&queue("t1", Some(Actor::api_token(7, "Ana"))))
        .await
        .unwrap();
    let (refused, _) = store.enqueue_command(&queue("t2", None)).await.unwrap();
    let ok = HighLevelAnswer {
        status: Some(200),
        trace_id: Some("tr-ok".into()),
    };
    assert!(store
        .settle_command_answered(done, CommandState::Done, Some("t1"), None, None, &ok)
        .await
        .unwrap());
    // Settling again changes nothing and records nothing.
    assert!(!store
        .settle_command_answered(done, CommandState::Failed, None, None, Some("late"), &ok)
        .await
        .unwrap());
    let no = HighLevelAnswer {
        status: Some(404),
        trace_id: Some("tr-404".into()),
    };
    store
        .settle_command_answered(
            refused,
            CommandState::Failed,
            None,
            None,
            Some("The task no longer exists in HighLevel"),
            &no,
        )
        .await
        .unwrap();
    let page = store
        .audit_page(&AuditQuery {
            scope: scope(&["L"], false),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.entries.len(), 2, "{page:?}");
    let (r, d) = (&page.entries[0], &page.entries[1]);
    assert_eq!(d.kind, "highlevel.complete_task");
    assert_eq!(
        (d.actor_kind, d.actor_id.as_deref(), d.actor_name.as_str()),
        (ActorKind::ApiToken, Some("7"), "Ana")
    );
    assert_eq!(
        (
            d.outcome,
            d.status,
            d.trace_id.as_deref(),
            d.target.as_deref()
        ),
        (Outcome::Ok, Some(200), Some("tr-ok"), Some("t1"))
    );
    assert_eq!(d.detail["command_id"], json!(done));
    assert_eq!(d.detail["arguments"]["task_id"], json!("t1"));
    assert_eq!(
        (r.actor_kind, r.outcome, r.status, r.trace_id.as_deref()),
        (
            ActorKind::Member,
            Outcome::Refused,
            Some(404),
            Some("tr-404")
        )
    );
    assert_eq!(
        r.message.as_deref(),
        Some("The task no longer exists in HighLevel")
    );
    // A failure without an answer from HighLevel (no connection) is `failed`.
    let (gave_up, _) = store.enqueue_command(&queue("t3", None)).await.unwrap();
    store
        .settle_command(gave_up, CommandState::Failed, None, None, Some("no token"))
        .await
        .unwrap();
    let page = store
        .audit_page(&AuditQuery {
            scope: scope(&["L"], false),
            limit: 1,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.entries[0].outcome, Outcome::Failed);
}

fn sample(location: &str, minute: i64, pending: i64) -> MetricSample {
    MetricSample {
        location_id: location.into(),
        minute_ms: minute * 60_000,
        lag_ms: Some(250),
        events: 3,
        budget_remaining: Some(199_000),
        queue_pending: pending,
        queue_running: 1,
        dead_letters: 0,
        refusals: BTreeMap::from([("bad_signature".to_string(), 4)]),
    }
}

async fn samples_are_kept_per_minute_and_pruned(env: Env) {
    let store = env.store().await;
    let added = store
        .save_metric_samples(&[sample("L", 1, 5), sample("L", 2, 6), sample("M", 2, 9)])
        .await
        .unwrap();
    assert_eq!(added, 3);
    // Another replica's sample of the same minute is not a second row.
    let again = store
        .save_metric_samples(&[sample("L", 2, 99)])
        .await
        .unwrap();
    assert_eq!(again, 0);
    let l = store.metric_samples("L", 0).await.unwrap();
    assert_eq!(l, vec![sample("L", 1, 5), sample("L", 2, 6)]);
    assert_eq!(
        store.metric_samples("L", 2 * 60_000).await.unwrap().len(),
        1
    );
    assert_eq!(store.prune_metric_samples(2 * 60_000).await.unwrap(), 1);
    assert_eq!(
        store.metric_samples("L", 0).await.unwrap(),
        vec![sample("L", 2, 6)]
    );
    assert_eq!(store.metric_samples("M", 0).await.unwrap().len(), 1);
}

async fn a_named_lease_has_one_owner_until_it_expires(env: Env) {
    let store = env.store().await;
    let now = chrono::Utc::now().timestamp_millis();
    assert!(store
        .try_lease_until("sampler", "a", now + 60_000)
        .await
        .unwrap());
    assert!(!store
        .try_lease_until("sampler", "b", now + 60_000)
        .await
        .unwrap());
    assert!(
        store
            .try_lease_until("sampler", "a", now + 120_000)
            .await
            .unwrap(),
        "the holder extends"
    );
    assert!(store
        .try_lease_until("other", "b", now + 60_000)
        .await
        .unwrap());
    // Expired: anyone takes it.
    assert!(store.try_lease_until("old", "a", now - 1).await.unwrap());
    assert!(store
        .try_lease_until("old", "b", now + 60_000)
        .await
        .unwrap());
    assert!(store.try_lease_until("", "", 0).await.is_err());
}
