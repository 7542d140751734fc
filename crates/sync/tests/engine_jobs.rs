//! The workers' handling of single jobs, on both backends: an event type drivesync does not
//! know is counted and completed, never failed; a job whose worker vanished mid-run is run
//! again after its lease expires and its effect lands once; a TaskCreate without `contactId`
//! is stored, then placed under its contact by the reconcile.

mod common;
mod engine_support;

use std::sync::Arc;
use std::time::Duration;

use common::{Env, Sig};
use engine_support::{config, wait_quiet, wait_until};
use serde_json::json;
use store::inbox::{Accepted, InboxEvent};
use store::RecordKind;
use sync::engine::Engine;

/// A client that is never called (every payload here is complete).
fn idle_client() -> ghl::GhlClient {
    ghl::GhlClient::new(
        ghl::ClientConfig::new(url::Url::parse("http://127.0.0.1:9").expect("url")),
        Arc::new(ghl::StaticTokens::default()),
    )
    .expect("client")
}

async fn unknown_event_is_counted_not_failed(env: Env) {
    let store = env.store().await;
    let ingest = common::serve_connected(store.clone(), common::config()).await;
    let engine = Engine::start(
        store.clone(),
        idle_client(),
        None,
        config(Some(ingest.state.notifier())),
    )
    .await
    .expect("engine");
    for _ in 0..2 {
        let body = serde_json::to_vec(&json!({
            "type": "OpportunityStageUpdate",
            // A connected location (the ingest drops webhooks of others).
            "locationId": "L",
            "id": "opp-1",
            "timestamp": common::timestamp(0),
            "webhookId": common::webhook_id(),
        }))
        .expect("json");
        let (status, answer) = common::post(&ingest.url, &body, Sig::Both).await;
        assert_eq!((status, answer["status"].as_str()), (200, Some("stored")));
    }
    wait_until(
        "both unknown events counted",
        Duration::from_secs(20),
        || {
            let store = store.clone();
            async move {
                store
                    .sync_state("L")
                    .await
                    .expect("sync state")
                    .is_some_and(|s| s.unknown_events == 2)
            }
        },
    )
    .await;
    wait_quiet(&store, Duration::from_secs(10)).await;
    let depth = store.queue_depth(None).await.expect("depth");
    assert_eq!(
        depth.dead, 0,
        "an unknown event must never be a dead letter"
    );
    let m = engine.metrics();
    assert_eq!((m.unknown_events, m.retried, m.dead), (2, 0, 0), "{m:?}");
    engine.shutdown().await;
}

async fn a_job_whose_worker_vanished_runs_again_and_lands_once(env: Env) {
    let store = env.store().await;
    let now = chrono::Utc::now();
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let body = serde_json::to_vec(&json!({
        "type": "ContactCreate",
        "locationId": "loc-crash",
        "id": "contact-crash",
        "firstName": "Ada",
        "lastName": "Crash",
        "dateAdded": ts,
        "dateUpdated": ts,
        "timestamp": ts,
        "webhookId": "wh-crash-1",
    }))
    .expect("json");
    let accepted = store
        .accept_webhook(&InboxEvent {
            webhook_id: "wh-crash-1".into(),
            location_id: "loc-crash".into(),
            event_type: "ContactCreate".into(),
            ordering_key: "contact:contact-crash".into(),
            body,
            received_at_ms: now.timestamp_millis(),
        })
        .await
        .expect("accept");
    let Accepted::Stored { event_id } = accepted else {
        panic!("stored once")
    };
    // A worker claims the job, applies it — and dies before completing it.
    let ghost = "ghost-worker";
    let jobs = store
        .claim_jobs(ghost, 1, Duration::from_millis(300))
        .await
        .expect("claim");
    assert_eq!(jobs.len(), 1);
    let event = store
        .inbox_event(event_id)
        .await
        .expect("read")
        .expect("the stored webhook");
    let gate = sync::gate::LocationGate::new(store.clone(), idle_client());
    sync::apply::apply_webhook(&store, &gate, None, &event)
        .await
        .expect("the ghost's apply");
    // The engine puts the expired lease back and runs the job again.
    let engine = Engine::start(store.clone(), idle_client(), None, config(None))
        .await
        .expect("engine");
    wait_until(
        "the job re-run and completed",
        Duration::from_secs(20),
        || {
            let store = store.clone();
            let id = jobs[0].id;
            async move { store.job(id).await.expect("job").is_none() }
        },
    )
    .await;
    assert!(
        !store
            .complete_job(jobs[0].id, ghost)
            .await
            .expect("late complete"),
        "the vanished worker no longer holds the job"
    );
    let changes = store
        .changes_after("loc-crash", None, 0, 100)
        .await
        .expect("changes");
    let for_contact: Vec<_> = changes
        .iter()
        .filter(|c| c.record_id == "contact-crash")
        .collect();
    assert_eq!(
        for_contact.len(),
        1,
        "the effect lands once, however often the job ran: {for_contact:?}"
    );
    assert_eq!(for_contact[0].action, "created");
    let rec = store
        .record("loc-crash", RecordKind::Contact, "contact-crash")
        .await
        .expect("read")
        .expect("the contact");
    assert_eq!(rec.title.as_deref(), Some("Ada Crash"));
    assert!(engine.metrics().completed >= 1);
    engine.shutdown().await;
}

async fn task_without_contact_is_placed(env: Env) {
    let store = env.store().await;
    let ingest = common::serve(store.clone(), common::config()).await;
    let w = engine_support::world(&store, Some(ingest.url.clone()), 1, 3, 1_000).await;
    let engine = Engine::start(
        store.clone(),
        w.client.clone(),
        None,
        config(Some(ingest.state.notifier())),
    )
    .await
    .expect("engine");
    let location = w.locations[0].clone();
    w.admin("faults", json!({"taskWithoutContact": 1.0})).await;
    let (contact, task) = w.sandbox.sandbox.write(|world| {
        let contact = world
            .location(&location)
            .expect("location")
            .contacts
            .keys()
            .next()
            .expect("a contact")
            .clone();
        let task = world
            .create_task(
                &location,
                &contact,
                ghl_sandbox::world::TaskInput {
                    title: Some("Orphan at first".into()),
                    due_date: Some(chrono::Utc::now().timestamp_millis()),
                    completed: Some(false),
                    ..Default::default()
                },
            )
            .expect("create a task");
        (contact.to_string(), task.id.to_string())
    });
    wait_until("the task stored", Duration::from_secs(20), || {
        let (store, location, task) = (store.clone(), location.clone(), task.clone());
        async move {
            store
                .record(&location, RecordKind::Task, &task)
                .await
                .expect("read")
                .is_some()
        }
    })
    .await;
    let stored = store
        .record(&location, RecordKind::Task, &task)
        .await
        .expect("read")
        .expect("the task");
    assert_eq!(
        stored.contact_id, None,
        "the webhook did not say its contact"
    );
    assert_eq!(stored.title.as_deref(), Some("Orphan at first"));
    // Completed in HighLevel behind a lost webhook: the open-task poll does not list it and
    // cannot read it without its contact — it must leave it for the reconcile, not bury it.
    w.admin("webhook", json!({"url": null})).await;
    w.sandbox.sandbox.write(|world| {
        world
            .update_task(
                &location,
                &contact,
                &task,
                ghl_sandbox::world::TaskInput {
                    completed: Some(true),
                    ..Default::default()
                },
            )
            .expect("complete");
    });
    let gate = sync::gate::LocationGate::new(store.clone(), w.client.clone());
    sync::poller::poll_open_tasks(&store, &gate, &location)
        .await
        .expect("task poll");
    let after_poll = store
        .record(&location, RecordKind::Task, &task)
        .await
        .expect("read")
        .expect("the task");
    assert!(
        !after_poll.is_deleted(),
        "an orphan the open-task poll did not list was buried"
    );
    engine_support::reconcile(&engine, &store, &location).await;
    let placed = store
        .record(&location, RecordKind::Task, &task)
        .await
        .expect("read")
        .expect("the task");
    assert_eq!(placed.contact_id.as_deref(), Some(contact.as_str()));
    assert_eq!(placed.status.as_deref(), Some("done"));
    assert_eq!(placed.data["contactId"], json!(contact));
    let report = sync::verify::verify(&store, &w.client.location(location.clone()))
        .await
        .expect("verify");
    assert!(report.is_clean(), "{:?}", report.lines());
    wait_quiet(&store, Duration::from_secs(10)).await;
    engine.shutdown().await;
}

/// `GET /contacts/{id}` requests the sandbox served (the test touches one contact).
fn contact_reads(w: &engine_support::World, location: &str) -> usize {
    w.sandbox
        .sandbox
        .counters
        .requests_for(Some(location), 0)
        .iter()
        .filter(|r| r.method == "GET" && r.route.starts_with("/contacts/{"))
        .filter(|r| r.route.matches('/').count() == 2)
        .count()
}

/// Contact webhooks are exactly HighLevel's schema: no `type`, `dateUpdated`, `timezone`. A
/// first sight is settled by one read however many events of the contact come in a burst,
/// and an event whose payload changes nothing (the change was in a field it does not carry)
/// is settled by a read too.
async fn contact_events_are_settled_by_coalesced_reads(env: Env) {
    let store = env.store().await;
    let ingest = common::serve(store.clone(), common::config()).await;
    let w = engine_support::world(&store, Some(ingest.url.clone()), 1, 3, 1_000).await;
    let engine = Engine::start(
        store.clone(),
        w.client.clone(),
        None,
        config(Some(ingest.state.notifier())),
    )
    .await
    .expect("engine");
    let location = w.locations[0].clone();
    let contact = w.sandbox.sandbox.write(|world| {
        let created = world
            .create_contact(
                &location,
                ghl_sandbox::world::ContactInput {
                    first_name: ghl_sandbox::body::Patch::Set("Burst".into()),
                    email: ghl_sandbox::body::Patch::Set("burst@example.com".into()),
                    ..Default::default()
                },
            )
            .expect("create");
        for city in ["Austin", "Denver", "Miami", "Boston"] {
            world
                .update_contact(
                    &location,
                    &created.id,
                    ghl_sandbox::world::ContactInput {
                        city: ghl_sandbox::body::Patch::Set(city.into()),
                        ..Default::default()
                    },
                )
                .expect("update");
        }
        created.id.to_string()
    });
    let settled = |city: &'static str, tz: Option<&'static str>| {
        let (store, location, contact) = (store.clone(), location.clone(), contact.clone());
        move || {
            let (store, location, contact) = (store.clone(), location.clone(), contact.clone());
            async move {
                store
                    .record(&location, RecordKind::Contact, &contact)
                    .await
                    .expect("read")
                    .is_some_and(|r| {
                        r.data["type"] == "lead"
                            && r.data["city"] == city
                            && tz.is_none_or(|tz| r.data["timezone"] == tz)
                    })
            }
        }
    };
    wait_until(
        "the contact's type read and its last city applied",
        Duration::from_secs(10),
        settled("Boston", None),
    )
    .await;
    wait_quiet(&store, Duration::from_secs(10)).await;
    assert_eq!(
        contact_reads(&w, &location),
        1,
        "five events of one new contact, one read"
    );
    // Filling in what the webhook could not say (its type) is not news for the feed.
    let feed = store
        .changes_after(&location, None, 0, 1000)
        .await
        .expect("feed");
    let about: Vec<&str> = feed
        .iter()
        .filter(|c| c.record_id == contact)
        .map(|c| c.summary.as_str())
        .collect();
    assert!(
        about.iter().all(|s| !s.contains("type")),
        "the settle read was announced: {about:?}"
    );
    w.sandbox.sandbox.write(|world| {
        world
            .update_contact(
                &location,
                &contact,
                ghl_sandbox::world::ContactInput {
                    timezone: ghl_sandbox::body::Patch::Set("Europe/Oslo".into()),
                    ..Default::default()
                },
            )
            .expect("update the time zone");
    });
    wait_until(
        "a change the payload cannot carry, read",
        Duration::from_secs(10),
        settled("Boston", Some("Europe/Oslo")),
    )
    .await;
    assert_eq!(contact_reads(&w, &location), 2);
    engine.shutdown().await;
}

/// HighLevel sends no webhook when a task is edited or reopened: the open-task poll (task
/// search, `completed: false`) finds both within its interval, long before the reconcile.
async fn task_edits_without_webhooks_are_found_by_the_task_poll(env: Env) {
    let store = env.store().await;
    let ingest = common::serve(store.clone(), common::config()).await;
    let w = engine_support::world(&store, Some(ingest.url.clone()), 1, 12, 1_000).await;
    let mut cfg = config(Some(ingest.state.notifier()));
    cfg.schedule = true;
    cfg.schedule_tick = Duration::from_millis(200);
    cfg.poll_interval = Duration::from_secs(3600);
    cfg.reconcile_interval = Duration::from_secs(3600);
    cfg.task_poll_interval = Some(Duration::from_secs(1));
    let engine = Engine::start(store.clone(), w.client.clone(), None, cfg)
        .await
        .expect("engine");
    let location = w.locations[0].clone();
    // The scheduler's first reconcile imports the location; task polls follow it.
    wait_until("the first reconcile", Duration::from_secs(30), || {
        let (store, location) = (store.clone(), location.clone());
        async move {
            store
                .sync_state(&location)
                .await
                .expect("state")
                .is_some_and(|s| s.last_reconcile_ms.is_some())
        }
    })
    .await;
    let (contact, open, done) = w.sandbox.sandbox.write(|world| {
        let loc = world.location(&location).expect("location");
        let mut open = None;
        let mut done = None;
        for (cid, c) in &loc.contacts {
            for t in &c.tasks {
                match t.completed {
                    false if open.is_none() => open = Some((cid.to_string(), t.id.to_string())),
                    true if done.is_none() => done = Some((cid.to_string(), t.id.to_string())),
                    _ => {}
                }
            }
        }
        let (oc, ot) = open.expect("an open task in the seed");
        let (dc, dt) = done.expect("a completed task in the seed");
        let edit = |title: &str, completed: Option<bool>| ghl_sandbox::world::TaskInput {
            title: Some(title.into()),
            completed,
            ..Default::default()
        };
        world
            .update_task(&location, &oc, &ot, edit("Renamed in HighLevel", None))
            .expect("rename");
        world
            .update_task(
                &location,
                &dc,
                &dt,
                edit("Reopened in HighLevel", Some(false)),
            )
            .expect("reopen");
        (oc, ot, (dc, dt))
    });
    let _ = contact;
    for (task, title, status) in [
        (open.clone(), "Renamed in HighLevel", "open"),
        (done.1.clone(), "Reopened in HighLevel", "open"),
    ] {
        wait_until(
            &format!("{title} seen without a webhook"),
            Duration::from_secs(15),
            || {
                let (store, location, task) = (store.clone(), location.clone(), task.clone());
                async move {
                    store
                        .record(&location, RecordKind::Task, &task)
                        .await
                        .expect("read")
                        .is_some_and(|r| {
                            r.title.as_deref() == Some(title) && r.status.as_deref() == Some(status)
                        })
                }
            },
        )
        .await;
    }
    // The poll records itself after its last write: the records can be seen a moment before.
    wait_until("the task poll recorded", Duration::from_secs(15), || {
        let (store, location) = (store.clone(), location.clone());
        async move {
            store
                .sync_state(&location)
                .await
                .expect("state")
                .is_some_and(|s| s.last_task_poll_ms.is_some())
        }
    })
    .await;
    engine.shutdown().await;
}

/// A token without the task-search and calendar scopes (a connection made before drivesync
/// asked for them) still gets a whole reconcile, reading under each contact instead; and
/// the context it could not read is recorded as missing scopes.
async fn a_reconcile_without_the_listing_scopes_is_still_whole(env: Env) {
    let store = env.store().await;
    let w = engine_support::world(&store, None, 1, 8, 1_000).await;
    let location = w.locations[0].clone();
    let narrow = [
        "contacts.readonly",
        "contacts.write",
        "calendars/events.readonly",
    ];
    engine_support::connect(&store, &w.http, &w.base, &location, Some(&narrow)).await;
    let engine = Engine::start(store.clone(), w.client.clone(), None, config(None))
        .await
        .expect("engine");
    engine_support::reconcile(&engine, &store, &location).await;
    let report = sync::verify::verify(&store, &w.client.location(location.clone()))
        .await
        .expect("verify");
    assert!(report.checked > 8, "{report:?}");
    assert!(report.is_clean(), "{:?}", report.lines());
    // Its open-task poll completes (and is recorded) instead of retrying a refusal that
    // would hold up the location's polls and reconciles.
    let gate = sync::gate::LocationGate::new(store.clone(), w.client.clone());
    sync::poller::poll_open_tasks(&store, &gate, &location)
        .await
        .expect("a task poll without the scope is skipped, not failed");
    let state = store
        .sync_state(&location)
        .await
        .expect("state")
        .expect("state");
    assert!(state.last_task_poll_ms.is_some());
    let ctx = store.location_context(&location).await.expect("context");
    for scope in [
        "locations.readonly",
        "locations/customFields.readonly",
        "users.readonly",
    ] {
        assert!(
            ctx.missing_scopes.iter().any(|s| s == scope),
            "{scope} not recorded as missing: {:?}",
            ctx.missing_scopes
        );
    }
    engine.shutdown().await;
}

/// With every scope, the reconcile reads the location's profile, users and custom fields.
async fn a_reconcile_refreshes_the_location_context(env: Env) {
    let store = env.store().await;
    let w = engine_support::world(&store, None, 1, 4, 1_000).await;
    let location = w.locations[0].clone();
    let engine = Engine::start(store.clone(), w.client.clone(), None, config(None))
        .await
        .expect("engine");
    engine_support::reconcile(&engine, &store, &location).await;
    let ctx = store.location_context(&location).await.expect("context");
    let (tz, users, fields) = w.sandbox.sandbox.read(|world| {
        let l = world.location(&location).expect("location");
        (
            l.profile.timezone.to_string(),
            l.user_profiles.len(),
            l.custom_fields.len(),
        )
    });
    assert_eq!(ctx.timezone(), Some(tz.as_str()));
    assert_eq!(ctx.users.len(), users);
    assert_eq!(ctx.custom_fields.len(), fields);
    assert!(ctx.missing_scopes.is_empty(), "{:?}", ctx.missing_scopes);
    engine.shutdown().await;
}

/// `verify` on a live location: a difference that settles while it checks again is a change
/// in flight, not a difference; one that stays is reported with its fields.
async fn verify_tells_changes_in_flight_from_differences(env: Env) {
    let store = env.store().await;
    let w = engine_support::world(&store, None, 1, 6, 1_000).await;
    let location = w.locations[0].clone();
    let engine = Engine::start(store.clone(), w.client.clone(), None, config(None))
        .await
        .expect("engine");
    engine_support::reconcile(&engine, &store, &location).await;
    engine.shutdown().await;
    let q = store::RecordQuery {
        location_id: location.clone(),
        kind: Some(RecordKind::Contact),
        limit: 2,
        ..Default::default()
    };
    let two = store.list_records(&q).await.expect("contacts").records;
    assert_eq!(two.len(), 2);
    // Both made to differ from HighLevel in the store.
    for rec in &two {
        let mut wrong = rec.clone();
        wrong.data["city"] = json!("Nowhere");
        store
            .write_record(
                &wrong,
                store::Expect::Version {
                    version_ms: rec.version_ms,
                    deleted: false,
                },
                &[],
            )
            .await
            .expect("corrupt");
    }
    // One is put right while verify waits to check again, as an applied webhook would.
    let fixer = {
        let (store, good) = (store.clone(), two[1].clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            let now = store
                .record(&good.location_id, good.kind, &good.record_id)
                .await
                .expect("read")
                .expect("stored");
            let mut fixed = good.clone();
            fixed.version_ms = now.version_ms + 1;
            store
                .write_record(
                    &fixed,
                    store::Expect::Version {
                        version_ms: now.version_ms,
                        deleted: false,
                    },
                    &[],
                )
                .await
                .expect("fix");
        })
    };
    let opts = sync::verify::VerifyOptions {
        recheck_after: Duration::from_secs(2),
        ..Default::default()
    };
    let r = sync::verify::verify_with(&store, &w.client.location(location.clone()), opts)
        .await
        .expect("verify");
    fixer.await.expect("fixer");
    assert_eq!(
        r.differing
            .iter()
            .map(|d| (d.id.as_str(), d.fields.clone()))
            .collect::<Vec<_>>(),
        vec![(two[0].record_id.as_str(), vec!["city".to_string()])]
    );
    assert_eq!(
        r.in_flight
            .iter()
            .map(|x| x.id.as_str())
            .collect::<Vec<_>>(),
        vec![two[1].record_id.as_str()]
    );
    assert!(
        r.missing.is_empty() && r.extra.is_empty(),
        "{:?}",
        r.lines()
    );
}

on_both_backends!(
    verify_tells_changes_in_flight_from_differences,
    task_edits_without_webhooks_are_found_by_the_task_poll,
    a_reconcile_without_the_listing_scopes_is_still_whole,
    a_reconcile_refreshes_the_location_context,
    contact_events_are_settled_by_coalesced_reads,
    unknown_event_is_counted_not_failed,
    a_job_whose_worker_vanished_runs_again_and_lands_once,
    task_without_contact_is_placed,
);
