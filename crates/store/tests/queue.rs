//! The event log and job queue, run identically on SQLite and on PostgreSQL (see
//! `on_both_backends!`): webhooks are stored once each and durably, jobs of one ordering key
//! run one at a time and in order (among concurrent claimers, across processes, and under a
//! random interleaving of claims, completions, failures and replays), leases expire and are
//! taken over, failures back off and end as dead letters, which can be listed, replayed and
//! dropped.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::Env;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use store::{
    Accepted, FailOutcome, InboxEvent, Job, JobState, Keyring, NewJob, QueueDepth, RetryPolicy,
    Store, StoreError,
};

/// The kind of the job queued with each webhook, as `jobs.kind` holds it.
const WEBHOOK_JOB_KIND: &str = store::JobKind::Webhook.as_str();

on_both_backends!(
    duplicate_webhook_is_stored_once,
    batches_dedupe_within_and_across,
    accepted_webhooks_are_durable,
    one_job_per_key_at_a_time_in_order,
    concurrent_claimers_keep_keys_exclusive,
    concurrent_producers_on_one_key_keep_its_order,
    queueing_on_postgres_waits_for_the_keys_lock,
    expired_lease_is_requeued_and_stale_worker_refused,
    failures_back_off_then_dead_letter,
    dead_letters_list_show_replay_drop,
    prune_forgets_old_webhook_ids,
    random_interleavings_keep_keys_exclusive_and_ordered,
    two_processes_complete_each_job_once,
);

const LEASE: Duration = Duration::from_secs(60);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A webhook whose body is not valid UTF-8, to show bytes are kept as received.
fn webhook(id: &str, location: &str, key: &str) -> InboxEvent {
    let mut body = format!("{{\"webhookId\":\"{id}\",\"type\":\"ContactUpdate\"}}").into_bytes();
    body.extend([0x00, 0xff, 0xfe, b'\n']);
    InboxEvent {
        webhook_id: id.into(),
        location_id: location.into(),
        event_type: "ContactUpdate".into(),
        ordering_key: key.into(),
        body,
        received_at_ms: now_ms(),
    }
}

fn job(location: &str, key: &str, n: u32) -> NewJob {
    NewJob::new(
        "poll",
        location,
        key,
        serde_json::json!({ "n": n, "key": key }),
    )
}

fn ids(jobs: &[Job]) -> Vec<i64> {
    jobs.iter().map(|j| j.id).collect()
}

fn stored(a: Accepted) -> i64 {
    match a {
        Accepted::Stored { event_id } => event_id,
        Accepted::Duplicate => panic!("expected Stored, got Duplicate"),
    }
}

async fn count(env: &Env, table: &str) -> i64 {
    env.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
}

/// Claims everything claimable for `worker` with a long lease.
async fn claim_all(store: &Store, worker: &str) -> Vec<Job> {
    store.claim_jobs(worker, 100, LEASE).await.unwrap()
}

async fn duplicate_webhook_is_stored_once(env: Env) {
    let store = env.store().await;
    let first = webhook("wh-1", "locA", "contact:c1");
    let event_id = stored(store.accept_webhook(&first).await.unwrap());
    assert!(store.webhook_stored("wh-1").await.unwrap());
    assert!(!store.webhook_stored("wh-2").await.unwrap());

    // The same delivery again, even with a different body: recognised, nothing written.
    let mut again = first.clone();
    again.body = b"different".to_vec();
    assert_eq!(
        store.accept_webhook(&again).await.unwrap(),
        Accepted::Duplicate
    );
    assert_eq!(count(&env, "inbox").await, 1);
    assert_eq!(count(&env, "jobs").await, 1);

    let event = store.inbox_event(event_id).await.unwrap().unwrap();
    assert_eq!(event.event_id, event_id);
    assert_eq!(event.webhook_id, first.webhook_id);
    assert_eq!(event.location_id, first.location_id);
    assert_eq!(event.event_type, first.event_type);
    assert_eq!(event.ordering_key, first.ordering_key);
    assert_eq!(event.body, first.body, "bytes kept exactly as received");
    assert_eq!(event.received_at_ms, first.received_at_ms);
    assert!(event.stored_at_ms >= first.received_at_ms);
    assert!(store.inbox_event(event_id + 1000).await.unwrap().is_none());

    let jobs = claim_all(&store, "w").await;
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.kind, WEBHOOK_JOB_KIND);
    assert_eq!(job.event_id, Some(event_id));
    assert_eq!(job.location_id, "locA");
    assert_eq!(job.ordering_key, "contact:c1");
    assert_eq!(job.payload["webhook_id"], "wh-1");
    assert_eq!(job.attempts, 0);
    assert_eq!(job.state, JobState::Running);

    // Many concurrent deliveries of one webhook: exactly one is stored.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .accept_webhook(&webhook("wh-race", "locA", "contact:c2"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let stored_count = outcomes
        .iter()
        .filter(|a| matches!(a, Accepted::Stored { .. }))
        .count();
    assert_eq!(stored_count, 1, "{outcomes:?}");
    assert_eq!(count(&env, "inbox").await, 2);
    assert_eq!(count(&env, "jobs").await, 2);

    // Invalid input is refused before anything is written.
    let mut nameless = webhook("", "locA", "contact:c3");
    assert!(matches!(
        store.accept_webhook(&nameless).await,
        Err(StoreError::InvalidArgument(_))
    ));
    nameless.webhook_id = "wh-3".into();
    nameless.ordering_key = String::new();
    assert!(matches!(
        store.accept_webhook(&nameless).await,
        Err(StoreError::InvalidArgument(_))
    ));
    assert_eq!(count(&env, "inbox").await, 2);
}

async fn batches_dedupe_within_and_across(env: Env) {
    let store = env.store().await;
    assert!(store.accept_webhooks(&[]).await.unwrap().is_empty());

    let batch = [
        webhook("w1", "locA", "contact:a"),
        webhook("w2", "locA", "contact:a"),
        webhook("w1", "locA", "contact:a"),
        webhook("w3", "locA", "contact:b"),
    ];
    let out = store.accept_webhooks(&batch).await.unwrap();
    assert_eq!(out.len(), 4);
    assert!(matches!(out[0], Accepted::Stored { .. }));
    assert!(matches!(out[1], Accepted::Stored { .. }));
    assert_eq!(out[2], Accepted::Duplicate, "repeated within the batch");
    assert!(matches!(out[3], Accepted::Stored { .. }));
    let (e1, e2, e3) = (stored(out[0]), stored(out[1]), stored(out[3]));
    assert!(e1 < e2 && e2 < e3, "event ids follow input order");

    let out = store
        .accept_webhooks(&[
            webhook("w2", "locA", "contact:a"),
            webhook("w4", "locB", "contact:a"),
            webhook("w4", "locB", "contact:a"),
            webhook("w5", "locB", "contact:c"),
        ])
        .await
        .unwrap();
    assert_eq!(out[0], Accepted::Duplicate, "stored by an earlier batch");
    let e4 = stored(out[1]);
    assert_eq!(out[2], Accepted::Duplicate);
    let e5 = stored(out[3]);
    assert_eq!(count(&env, "inbox").await, 5);
    assert_eq!(count(&env, "jobs").await, 5);

    // A batch with one invalid webhook stores none of them.
    let bad = [webhook("w6", "locA", "contact:d"), webhook("", "locA", "x")];
    assert!(matches!(
        store.accept_webhooks(&bad).await,
        Err(StoreError::InvalidArgument(_))
    ));
    assert!(!store.webhook_stored("w6").await.unwrap());

    // Jobs of one key are queued in input order: contact:a runs w1, w2, then w4.
    let events = |jobs: &[Job]| jobs.iter().map(|j| j.event_id.unwrap()).collect::<Vec<_>>();
    let first = claim_all(&store, "w").await;
    assert_eq!(events(&first), [e1, e3, e5]);
    for j in &first {
        assert!(store.complete_job(j.id, "w").await.unwrap());
    }
    let second = claim_all(&store, "w").await;
    assert_eq!(events(&second), [e2]);
    assert!(store.complete_job(second[0].id, "w").await.unwrap());
    assert_eq!(events(&claim_all(&store, "w").await), [e4]);
}

async fn accepted_webhooks_are_durable(env: Env) {
    let store = env.store().await;
    let event = webhook("durable-1", "locA", "contact:d");
    let event_id = stored(store.accept_webhook(&event).await.unwrap());
    let job_id = store
        .enqueue(&job("locA", "location:locA", 7))
        .await
        .unwrap();

    // Read back through a brand-new pool, as a restarted process would.
    let other = env.store().await;
    assert!(other.webhook_stored("durable-1").await.unwrap());
    assert_eq!(
        other.inbox_event(event_id).await.unwrap().unwrap().body,
        event.body
    );
    assert_eq!(
        other.accept_webhook(&event).await.unwrap(),
        Accepted::Duplicate
    );
    let jobs = claim_all(&other, "after-restart").await;
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].event_id, Some(event_id));
    assert_eq!(jobs[1].id, job_id);
    assert_eq!(
        jobs[1].payload,
        serde_json::json!({"n": 7, "key": "location:locA"})
    );
    store.close().await;
}

async fn one_job_per_key_at_a_time_in_order(env: Env) {
    let store = env.store().await;
    assert_eq!(
        store.queue_depth(None).await.unwrap(),
        QueueDepth::default()
    );
    let before = now_ms();
    let a1 = store.enqueue(&job("locA", "A", 1)).await.unwrap();
    let a2 = store.enqueue(&job("locA", "A", 2)).await.unwrap();
    let b1 = store.enqueue(&job("locB", "B", 1)).await.unwrap();
    assert!(a1 < a2 && a2 < b1);
    let depth = store.queue_depth(None).await.unwrap();
    assert_eq!((depth.pending, depth.running, depth.dead), (3, 0, 0));
    assert!(depth.oldest_pending_created_at_ms.unwrap() >= before);
    assert_eq!(store.queue_depth(Some("locA")).await.unwrap().pending, 2);
    assert_eq!(
        store.queue_depth(Some("nowhere")).await.unwrap(),
        QueueDepth::default()
    );

    // A2 waits for A1; B1 is free.
    let first = claim_all(&store, "w1").await;
    assert_eq!(ids(&first), [a1, b1]);
    for j in &first {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.lease_owner.as_deref(), Some("w1"));
        assert!(j.lease_until_ms.unwrap() > now_ms() + 30_000);
    }
    assert!(
        claim_all(&store, "w2").await.is_empty(),
        "A2 is held up by A1"
    );
    let depth = store.queue_depth(None).await.unwrap();
    assert_eq!((depth.pending, depth.running), (1, 2));

    // Only A1's completion frees A2, and only its holder can complete it.
    assert!(!store.complete_job(a1, "w2").await.unwrap());
    assert!(store.complete_job(b1, "w1").await.unwrap());
    assert!(claim_all(&store, "w2").await.is_empty());
    assert!(store.complete_job(a1, "w1").await.unwrap());
    assert!(!store.complete_job(a1, "w1").await.unwrap(), "done once");
    assert!(
        store.job(a1).await.unwrap().is_none(),
        "completed jobs are deleted"
    );
    assert_eq!(ids(&claim_all(&store, "w2").await), [a2]);

    // A job scheduled for later is not claimed, and holds up the later jobs of its key.
    let mut later = job("locA", "C", 1);
    later.run_at_ms = Some(now_ms() + 60_000);
    let c1 = store.enqueue(&later).await.unwrap();
    let c2 = store.enqueue(&job("locA", "C", 2)).await.unwrap();
    assert!(claim_all(&store, "w3").await.is_empty());
    assert_eq!(
        store.job(c1).await.unwrap().unwrap().state,
        JobState::Pending
    );
    assert_eq!(
        store.job(c2).await.unwrap().unwrap().state,
        JobState::Pending
    );

    // n limits the claim, earliest first; n = 0 claims nothing.
    let d: Vec<i64> = enqueue_each(&store, &["D1", "D2", "D3"]).await;
    assert!(store.claim_jobs("w4", 0, LEASE).await.unwrap().is_empty());
    assert_eq!(
        ids(&store.claim_jobs("w4", 2, LEASE).await.unwrap()),
        d[..2]
    );
    assert_eq!(
        ids(&store.claim_jobs("w4", 2, LEASE).await.unwrap()),
        d[2..]
    );
    assert!(matches!(
        store.claim_jobs("", 1, LEASE).await,
        Err(StoreError::InvalidArgument(_))
    ));
    assert!(matches!(
        store.enqueue(&job("locA", "", 1)).await,
        Err(StoreError::InvalidArgument(_))
    ));
}

/// Enqueues one job on each of `keys`, in order.
async fn enqueue_each(store: &Store, keys: &[&str]) -> Vec<i64> {
    let mut ids = Vec::new();
    for (n, key) in keys.iter().enumerate() {
        ids.push(store.enqueue(&job("locD", key, n as u32)).await.unwrap());
    }
    ids
}

async fn concurrent_claimers_keep_keys_exclusive(env: Env) {
    const JOBS: u32 = 200;
    const KEYS: u32 = 10;
    const CLAIMERS: usize = 8;
    let store = env.store().await;
    // Half queued up front, half by two producers racing the claimers (and each other, on
    // every key).
    let mut queued = Vec::new();
    for n in 0..JOBS / 2 {
        queued.push(
            store
                .enqueue(&job("locA", &format!("k{}", n % KEYS), n))
                .await
                .unwrap(),
        );
    }
    let producing = Arc::new(AtomicBool::new(true));
    let producers: Vec<_> = (0..2u32)
        .map(|p| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in (JOBS / 2..JOBS).filter(|n| (n / KEYS) % 2 == p) {
                    let key = format!("k{}", n % KEYS);
                    ids.push(store.enqueue(&job("locA", &key, n)).await.unwrap());
                }
                ids
            })
        })
        .collect();

    // key -> the job of that key a claimer is running now.
    let running: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    // (key, job id) in the order jobs finished.
    let trace: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let claimers: Vec<_> = (0..CLAIMERS)
        .map(|c| {
            let store = store.clone();
            let running = running.clone();
            let trace = trace.clone();
            let producing = producing.clone();
            tokio::spawn(async move {
                let worker = format!("claimer-{c}");
                // If another claimer dies holding jobs, fail instead of waiting for them.
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                loop {
                    assert!(std::time::Instant::now() < deadline, "{worker} stuck");
                    let jobs = store.claim_jobs(&worker, 3, LEASE).await.unwrap();
                    if jobs.is_empty() {
                        let depth = store.queue_depth(None).await.unwrap();
                        if !producing.load(Ordering::SeqCst) && depth.pending + depth.running == 0 {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        continue;
                    }
                    for j in &jobs {
                        let clash = running.lock().unwrap().insert(j.ordering_key.clone(), j.id);
                        assert_eq!(clash, None, "two jobs of {} at once", j.ordering_key);
                    }
                    tokio::task::yield_now().await;
                    for j in &jobs {
                        // Released before completing: the next job of the key can only be
                        // claimed once the completion has committed.
                        running.lock().unwrap().remove(&j.ordering_key);
                        trace.lock().unwrap().push((j.ordering_key.clone(), j.id));
                        assert!(store.complete_job(j.id, &worker).await.unwrap());
                    }
                }
            })
        })
        .collect();
    for p in producers {
        queued.extend(p.await.unwrap());
    }
    producing.store(false, Ordering::SeqCst);
    for c in claimers {
        c.await.unwrap();
    }

    let trace = trace.lock().unwrap().clone();
    let mut done: Vec<i64> = trace.iter().map(|(_, id)| *id).collect();
    done.sort_unstable();
    queued.sort_unstable();
    assert_eq!(done, queued, "every job completed exactly once");
    let mut per_key: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (key, id) in &trace {
        per_key.entry(key).or_default().push(*id);
    }
    assert_eq!(per_key.len(), KEYS as usize);
    for (key, ids) in per_key {
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "{key} out of order: {ids:?}"
        );
    }
    assert_eq!(
        store.queue_depth(None).await.unwrap(),
        QueueDepth::default()
    );
}

/// Many producers queue on one key while claimers take each job the moment it is visible:
/// the key's jobs still run one at a time in id order. (On PostgreSQL ids and places are
/// drawn before commit, and commits land in any order; the key's advisory lock is what keeps
/// a job from becoming visible after a later one of its key has already been claimed.)
async fn concurrent_producers_on_one_key_keep_its_order(env: Env) {
    const PRODUCERS: usize = 8;
    const EACH: u32 = 30;
    let store = env.store().await;
    let producing = Arc::new(AtomicBool::new(true));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..EACH {
                    // Trickle, so the claimers keep up and each job is claimed the moment it
                    // becomes visible.
                    tokio::time::sleep(Duration::from_micros(rand_micros(p, n))).await;
                    store
                        .enqueue(&job("locA", "hot", p as u32 * 1000 + n))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let order: Arc<Mutex<Vec<i64>>> = Arc::default();
    let claimers: Vec<_> = (0..4)
        .map(|c| {
            let store = store.clone();
            let order = order.clone();
            let producing = producing.clone();
            tokio::spawn(async move {
                let worker = format!("claimer-{c}");
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                loop {
                    assert!(std::time::Instant::now() < deadline, "{worker} stuck");
                    let jobs = store.claim_jobs(&worker, 2, LEASE).await.unwrap();
                    assert!(jobs.len() <= 1, "two jobs of one key claimed together");
                    let Some(j) = jobs.first() else {
                        let depth = store.queue_depth(None).await.unwrap();
                        if !producing.load(Ordering::SeqCst) && depth.pending + depth.running == 0 {
                            return;
                        }
                        tokio::task::yield_now().await;
                        continue;
                    };
                    order.lock().unwrap().push(j.id);
                    assert!(store.complete_job(j.id, &worker).await.unwrap());
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    producing.store(false, Ordering::SeqCst);
    for c in claimers {
        c.await.unwrap();
    }
    let order = order.lock().unwrap().clone();
    assert_eq!(order.len(), PRODUCERS * EACH as usize);
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "ran out of id order: {order:?}"
    );
}

/// A spread of small delays, 0 to 4 ms, different per producer and step.
fn rand_micros(p: usize, n: u32) -> u64 {
    (p as u64 * 7919 + u64::from(n) * 104_729) % 4_000
}

/// The mechanism behind the previous test's guarantee on PostgreSQL, shown deterministically
/// (a race that breaks order without it is real but rare): putting a job in line waits while
/// another transaction holds its ordering key's advisory lock, and only for that key. The
/// lock id is the store's: class "DSQ1" and the first four bytes of the key's SHA-256.
async fn queueing_on_postgres_waits_for_the_keys_lock(env: Env) {
    use sha2::Digest as _;
    use sqlx::Connection as _;
    if env.backend != common::Backend::Postgres {
        return; // SQLite has one writer at a time; there is no lock to take.
    }
    let store = env.store().await;
    let lock_id = |key: &str| {
        let d = sha2::Sha256::digest(key.as_bytes());
        i32::from_be_bytes([d[0], d[1], d[2], d[3]])
    };
    let mut holder = sqlx::PgConnection::connect(&env.url).await.unwrap();
    let mut tx = holder.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(0x4453_5131_i32)
        .bind(lock_id("contact:held"))
        .execute(&mut *tx)
        .await
        .unwrap();

    let waiting = {
        let store = store.clone();
        tokio::spawn(async move {
            let job_id = store
                .enqueue(&job("locA", "contact:held", 1))
                .await
                .unwrap();
            let accepted = store
                .accept_webhook(&webhook("held-1", "locA", "contact:held"))
                .await
                .unwrap();
            (job_id, accepted)
        })
    };
    // Another key is not held up.
    let free = tokio::time::timeout(
        Duration::from_secs(10),
        store.enqueue(&job("locA", "contact:free", 1)),
    )
    .await
    .expect("another key is not held up")
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "queued while the key's lock was held"
    );
    assert_eq!(ids(&claim_all(&store, "w").await), [free]);

    tx.commit().await.unwrap();
    let (job_id, accepted) = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("queued once the lock was released")
        .unwrap();
    assert!(matches!(accepted, Accepted::Stored { .. }));
    assert_eq!(ids(&claim_all(&store, "w").await), [job_id]);
    holder.close().await.unwrap();
}

async fn expired_lease_is_requeued_and_stale_worker_refused(env: Env) {
    let store = env.store().await;
    let j = store.enqueue(&job("locA", "A", 1)).await.unwrap();
    let behind = store.enqueue(&job("locA", "A", 2)).await.unwrap();
    let k = store.enqueue(&job("locA", "K", 1)).await.unwrap();
    let short = Duration::from_millis(1_000);
    assert_eq!(ids(&store.claim_jobs("slow", 1, short).await.unwrap()), [j]);
    assert_eq!(
        ids(&store.claim_jobs("steady", 1, short).await.unwrap()),
        [k]
    );
    // (A lease of a second leaves room for a loaded machine between these calls.)
    assert!(claim_all(&store, "other").await.is_empty(), "leased");
    assert_eq!(store.requeue_expired().await.unwrap(), 0, "not expired yet");
    assert_eq!(
        store.heartbeat("steady", &[k, j], LEASE).await.unwrap(),
        1,
        "only its own"
    );
    assert_eq!(store.heartbeat("steady", &[], LEASE).await.unwrap(), 0);

    tokio::time::sleep(Duration::from_millis(1_300)).await;
    // Expired but not yet requeued: still nobody else's, and its key stays held.
    assert!(claim_all(&store, "other").await.is_empty());
    assert_eq!(
        store.requeue_expired().await.unwrap(),
        1,
        "only the unrenewed one"
    );
    let requeued = store.job(j).await.unwrap().unwrap();
    assert_eq!(requeued.state, JobState::Pending);
    assert_eq!(
        requeued.attempts, 1,
        "an expired lease counts as an attempt"
    );
    assert_eq!(requeued.lease_owner, None);
    let error = requeued.last_error.unwrap();
    assert!(error.contains("slow") && error.contains("lease"), "{error}");
    assert_eq!(
        store.job(k).await.unwrap().unwrap().state,
        JobState::Running
    );

    // Another worker takes it (still ahead of the later job of its key) ...
    assert_eq!(ids(&claim_all(&store, "other").await), [j]);
    // ... and the first worker, back from the dead, can no longer touch it.
    assert_eq!(store.heartbeat("slow", &[j], LEASE).await.unwrap(), 0);
    assert!(!store.complete_job(j, "slow").await.unwrap());
    assert_eq!(
        store
            .fail_job(j, "slow", "late", &RetryPolicy::default())
            .await
            .unwrap(),
        FailOutcome::LostLease
    );
    assert_eq!(
        store.job(j).await.unwrap().unwrap().lease_owner.as_deref(),
        Some("other")
    );
    assert!(store.complete_job(j, "other").await.unwrap());
    assert_eq!(ids(&claim_all(&store, "other").await), [behind]);
    assert!(store.complete_job(k, "steady").await.unwrap());

    // Expired leases count toward max_attempts: at the limit the job is dead-lettered.
    let m = store.enqueue(&job("locA", "M", 1)).await.unwrap();
    assert_eq!(
        ids(&store.claim_jobs("dies", 1, Duration::ZERO).await.unwrap()),
        [m]
    );
    let once = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    assert_eq!(store.requeue_expired_with(&once).await.unwrap(), 1);
    let dead = store.dead_job(m).await.unwrap().unwrap();
    assert_eq!(dead.attempts, 1);
    assert!(dead.last_error.unwrap().contains("dies"));
}

async fn failures_back_off_then_dead_letter(env: Env) {
    let policy = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_secs(10),
        cap: Duration::from_secs(15),
    };
    assert_eq!(policy.backoff(1), Duration::from_secs(10));
    assert_eq!(policy.backoff(2), Duration::from_secs(15), "capped");
    assert_eq!(policy.backoff(1_000), Duration::from_secs(15));
    assert_eq!(policy.backoff(0), Duration::from_secs(10));
    let default = RetryPolicy::default();
    assert!(default.backoff(2) == default.base * 2 && default.backoff(100) == default.cap);

    let store = env.store().await;
    let a1 = store.enqueue(&job("locA", "A", 1)).await.unwrap();
    let a2 = store.enqueue(&job("locA", "A", 2)).await.unwrap();
    assert_eq!(ids(&claim_all(&store, "w").await), [a1]);
    assert_eq!(
        store.fail_job(a1, "intruder", "x", &policy).await.unwrap(),
        FailOutcome::LostLease
    );

    let before = now_ms();
    let FailOutcome::Retry {
        attempts,
        run_at_ms,
    } = store
        .fail_job(a1, "w", "HTTP 502 from HighLevel", &policy)
        .await
        .unwrap()
    else {
        panic!("expected a retry")
    };
    assert_eq!(attempts, 1);
    assert!(run_at_ms >= before + 10_000 && run_at_ms <= now_ms() + 10_000);
    let failed = store.job(a1).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Pending);
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.run_at_ms, run_at_ms);
    assert_eq!(
        failed.last_error.as_deref(),
        Some("HTTP 502 from HighLevel")
    );
    assert_eq!(failed.lease_owner, None);
    assert!(
        !store.complete_job(a1, "w").await.unwrap(),
        "no longer held"
    );
    // Backing off: not claimable, and A2 still waits behind it.
    assert!(claim_all(&store, "w").await.is_empty());

    // Skip the wait, fail again: the backoff doubles up to the cap.
    env.exec("UPDATE jobs SET run_at_ms = 0 WHERE state = 'pending'")
        .await;
    assert_eq!(ids(&claim_all(&store, "w").await), [a1]);
    let before = now_ms();
    let FailOutcome::Retry {
        attempts,
        run_at_ms,
    } = store.fail_job(a1, "w", "timeout", &policy).await.unwrap()
    else {
        panic!("expected a retry")
    };
    assert_eq!(attempts, 2);
    assert!(run_at_ms >= before + 15_000 && run_at_ms <= now_ms() + 15_000);

    // The third failure is the last: dead, with its last error; A2 is no longer held up.
    env.exec("UPDATE jobs SET run_at_ms = 0 WHERE state = 'pending'")
        .await;
    assert_eq!(ids(&claim_all(&store, "w").await), [a1]);
    let long_error = format!("boom: {}", "é".repeat(10_000));
    assert_eq!(
        store.fail_job(a1, "w", &long_error, &policy).await.unwrap(),
        FailOutcome::Dead { attempts: 3 }
    );
    let dead = store.dead_job(a1).await.unwrap().unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.attempts, 3);
    let kept = dead.last_error.unwrap();
    assert!(
        kept.starts_with("boom: éé") && kept.len() <= 8 * 1024,
        "cut: {}",
        kept.len()
    );
    assert_eq!((dead.lease_owner, dead.lease_until_ms), (None, None));
    assert_eq!(ids(&claim_all(&store, "w").await), [a2]);
    let depth = store.queue_depth(None).await.unwrap();
    assert_eq!((depth.pending, depth.running, depth.dead), (0, 1, 1));
}

/// Queues a job and fails it once under a one-attempt policy, making it a dead letter.
async fn make_dead(store: &Store, location: &str, key: &str, error: &str) -> i64 {
    let id = store.enqueue(&job(location, key, 0)).await.unwrap();
    let claimed = claim_all(store, "dlq-maker").await;
    assert!(ids(&claimed).contains(&id), "{id} claimable");
    let once = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    assert_eq!(
        store.fail_job(id, "dlq-maker", error, &once).await.unwrap(),
        FailOutcome::Dead { attempts: 1 }
    );
    id
}

async fn dead_letters_list_show_replay_drop(env: Env) {
    let store = env.store().await;
    let d1 = make_dead(&store, "locA", "A", "first failure").await;
    let d2 = make_dead(&store, "locB", "B", "second failure").await;
    let d3 = make_dead(&store, "locA", "C", "third failure").await;
    let pending = store.enqueue(&job("locA", "P", 0)).await.unwrap();

    assert_eq!(ids(&store.dead_jobs(None, 10).await.unwrap()), [d1, d2, d3]);
    assert_eq!(
        ids(&store.dead_jobs(Some("locA"), 10).await.unwrap()),
        [d1, d3]
    );
    assert_eq!(ids(&store.dead_jobs(None, 2).await.unwrap()), [d1, d2]);
    assert!(store
        .dead_jobs(Some("nowhere"), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.queue_depth(Some("locA")).await.unwrap().dead, 2);

    let shown = store.dead_job(d2).await.unwrap().unwrap();
    assert_eq!(shown.location_id, "locB");
    assert_eq!(shown.last_error.as_deref(), Some("second failure"));
    assert_eq!(shown.payload, serde_json::json!({"n": 0, "key": "B"}));
    assert!(store.dead_job(pending).await.unwrap().is_none(), "not dead");
    assert!(store.dead_job(999_999).await.unwrap().is_none());

    // Replay: pending again, attempts reset, last error kept for reference; runnable.
    assert!(store.replay_dead(d1).await.unwrap());
    assert!(!store.replay_dead(d1).await.unwrap(), "no longer dead");
    assert!(!store.replay_dead(pending).await.unwrap());
    let replayed = store.job(d1).await.unwrap().unwrap();
    assert_eq!(replayed.state, JobState::Pending);
    assert_eq!(replayed.attempts, 0);
    assert!(store.dead_job(d1).await.unwrap().is_none());
    assert_eq!(
        ids(&claim_all(&store, "w").await),
        [pending, d1],
        "replayed to the back of the line"
    );

    // Drop: gone for good; only dead jobs can be dropped.
    assert!(store.drop_dead(d2).await.unwrap());
    assert!(!store.drop_dead(d2).await.unwrap());
    assert!(
        !store.drop_dead(pending).await.unwrap(),
        "running, not dead"
    );
    assert!(store.job(d2).await.unwrap().is_none());
    assert_eq!(ids(&store.dead_jobs(None, 10).await.unwrap()), [d3]);

    // A replayed dead letter goes to the back of its key's line: behind jobs queued since.
    let old = make_dead(&store, "locA", "Q", "old").await;
    let newer = store.enqueue(&job("locA", "Q", 1)).await.unwrap();
    assert!(store.replay_dead(old).await.unwrap());
    let next = store.enqueue(&job("locA", "Q", 2)).await.unwrap();
    let claimed = claim_all(&store, "q").await;
    assert_eq!(ids(&claimed), [newer]);
    assert!(store.complete_job(newer, "q").await.unwrap());
    assert_eq!(ids(&claim_all(&store, "q").await), [old]);
    assert!(store.complete_job(old, "q").await.unwrap());
    assert_eq!(ids(&claim_all(&store, "q").await), [next]);
}

async fn prune_forgets_old_webhook_ids(env: Env) {
    let store = env.store().await;
    let day = 24 * 3_600_000;
    let mut old_done = webhook("old-done", "locA", "contact:1");
    old_done.received_at_ms = now_ms() - 10 * day;
    let mut old_dead = webhook("old-dead", "locA", "contact:2");
    old_dead.received_at_ms = now_ms() - 10 * day;
    let new_done = webhook("new-done", "locA", "contact:3");
    let out = store
        .accept_webhooks(&[old_done.clone(), old_dead.clone(), new_done])
        .await
        .unwrap();
    let (e_old_done, e_old_dead) = (stored(out[0]), stored(out[1]));
    let jobs = claim_all(&store, "w").await;
    assert_eq!(jobs.len(), 3);
    let once = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let dead_job = jobs
        .iter()
        .find(|j| j.event_id == Some(e_old_dead))
        .unwrap()
        .id;
    for j in &jobs {
        if j.id == dead_job {
            store.fail_job(j.id, "w", "bad", &once).await.unwrap();
        } else {
            assert!(store.complete_job(j.id, "w").await.unwrap());
        }
    }
    // Completed webhooks are still recognised until pruned.
    assert_eq!(
        store.accept_webhook(&old_done).await.unwrap(),
        Accepted::Duplicate
    );

    // Only the old webhook whose job is finished goes; the dead letter keeps its webhook.
    assert_eq!(store.prune_inbox(now_ms() - day).await.unwrap(), 1);
    assert!(!store.webhook_stored("old-done").await.unwrap());
    assert!(store.inbox_event(e_old_done).await.unwrap().is_none());
    assert!(store.webhook_stored("old-dead").await.unwrap());
    assert!(store.webhook_stored("new-done").await.unwrap());
    assert_eq!(store.prune_inbox(now_ms() - day).await.unwrap(), 0);

    // Forgotten, so a re-delivery is accepted as new.
    assert!(matches!(
        store.accept_webhook(&old_done).await.unwrap(),
        Accepted::Stored { .. }
    ));
    // Once its dead letter is dropped, the other old webhook can go too.
    assert!(store.drop_dead(dead_job).await.unwrap());
    assert_eq!(store.prune_inbox(now_ms() - day).await.unwrap(), 1);
    assert!(store.inbox_event(e_old_dead).await.unwrap().is_none());
    assert_eq!(count(&env, "inbox").await, 2);
}

/// One step of a random schedule against the queue.
#[derive(Clone, Debug)]
enum Op {
    Enqueue {
        key: u8,
    },
    Claim {
        worker: u8,
        n: u8,
    },
    Complete {
        worker: u8,
        pick: u8,
    },
    Fail {
        worker: u8,
        pick: u8,
    },
    /// Complete a running job as a worker that does not hold it: refused.
    CompleteAsStranger {
        pick: u8,
    },
    Replay {
        pick: u8,
    },
    Drop {
        pick: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3).prop_map(|key| Op::Enqueue { key }),
        3 => (0u8..3, 1u8..4).prop_map(|(worker, n)| Op::Claim { worker, n }),
        2 => (0u8..3, any::<u8>()).prop_map(|(worker, pick)| Op::Complete { worker, pick }),
        2 => (0u8..3, any::<u8>()).prop_map(|(worker, pick)| Op::Fail { worker, pick }),
        1 => any::<u8>().prop_map(|pick| Op::CompleteAsStranger { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Replay { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Drop { pick }),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ModelState {
    Pending,
    Running(u8),
    Dead,
}

#[derive(Debug)]
struct ModelJob {
    key: String,
    /// Place in line: set when queued and again when replayed.
    place: u64,
    state: ModelState,
    attempts: i32,
}

/// What the queue should do, for `random_interleavings_keep_keys_exclusive_and_ordered`.
#[derive(Debug, Default)]
struct Model {
    jobs: BTreeMap<i64, ModelJob>,
    next_place: u64,
}

impl Model {
    fn place(&mut self) -> u64 {
        self.next_place += 1;
        self.next_place
    }

    /// The jobs a claim of `n` must return: pending, first in line among their key's live
    /// jobs, no job of their key running; earliest place first.
    fn claimable(&self, n: usize) -> Vec<i64> {
        let mut heads: BTreeMap<&str, (u64, i64, ModelState)> = BTreeMap::new();
        for (id, j) in &self.jobs {
            if j.state == ModelState::Dead {
                continue;
            }
            let entry = heads.entry(&j.key).or_insert((j.place, *id, j.state));
            if j.place < entry.0 {
                *entry = (j.place, *id, j.state);
            }
        }
        let mut runnable: Vec<(u64, i64)> = heads
            .values()
            .filter(|(_, _, state)| *state == ModelState::Pending)
            .map(|(place, id, _)| (*place, *id))
            .collect();
        runnable.sort_unstable();
        runnable.into_iter().take(n).map(|(_, id)| id).collect()
    }

    fn held_by(&self, worker: u8) -> Vec<i64> {
        self.ids_where(|s| s == ModelState::Running(worker))
    }

    fn ids_where(&self, f: impl Fn(ModelState) -> bool) -> Vec<i64> {
        self.jobs
            .iter()
            .filter(|(_, j)| f(j.state))
            .map(|(id, _)| *id)
            .collect()
    }

    fn depth(&self) -> (u64, u64, u64) {
        let count = |f: &dyn Fn(ModelState) -> bool| self.ids_where(f).len() as u64;
        (
            count(&|s| s == ModelState::Pending),
            count(&|s| matches!(s, ModelState::Running(_))),
            count(&|s| s == ModelState::Dead),
        )
    }
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if cond {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

/// Runs `ops` against an empty queue and the model side by side, checking every claim
/// returns exactly the jobs the model says may start (so never two jobs of a key at once,
/// never out of order) and every other answer matches.
async fn check_schedule(store: &Store, env: &Env, ops: &[Op]) -> Result<(), TestCaseError> {
    env.exec("DELETE FROM jobs").await;
    // Failures retry at once (no backoff) and the second failure is fatal.
    let policy = RetryPolicy {
        max_attempts: 2,
        base: Duration::ZERO,
        cap: Duration::ZERO,
    };
    let worker = |w: u8| format!("worker-{w}");
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let at = || format!("step {step} ({op:?})");
        match *op {
            Op::Enqueue { key } => {
                let key = format!("key-{key}");
                let id = store
                    .enqueue(&job("locP", &key, step as u32))
                    .await
                    .unwrap();
                let place = model.place();
                model.jobs.insert(
                    id,
                    ModelJob {
                        key,
                        place,
                        state: ModelState::Pending,
                        attempts: 0,
                    },
                );
            }
            Op::Claim { worker: w, n } => {
                let want = model.claimable(n as usize);
                let got = ids(&store
                    .claim_jobs(&worker(w), n as usize, LEASE)
                    .await
                    .unwrap());
                ensure(got == want, || {
                    format!("{}: claimed {got:?}, expected {want:?}", at())
                })?;
                for id in got {
                    model.jobs.get_mut(&id).unwrap().state = ModelState::Running(w);
                }
            }
            Op::Complete { worker: w, pick } => {
                let held = model.held_by(w);
                if held.is_empty() {
                    continue;
                }
                let id = held[pick as usize % held.len()];
                let done = store.complete_job(id, &worker(w)).await.unwrap();
                ensure(done, || format!("{}: complete {id} refused", at()))?;
                model.jobs.remove(&id);
            }
            Op::Fail { worker: w, pick } => {
                let held = model.held_by(w);
                if held.is_empty() {
                    continue;
                }
                let id = held[pick as usize % held.len()];
                let outcome = store
                    .fail_job(id, &worker(w), "failed", &policy)
                    .await
                    .unwrap();
                let j = model.jobs.get_mut(&id).unwrap();
                j.attempts += 1;
                let expected_dead = j.attempts >= 2;
                j.state = if expected_dead {
                    ModelState::Dead
                } else {
                    ModelState::Pending
                };
                let ok = match outcome {
                    FailOutcome::Retry { attempts, .. } => !expected_dead && attempts == j.attempts,
                    FailOutcome::Dead { attempts } => expected_dead && attempts == j.attempts,
                    FailOutcome::LostLease => false,
                };
                ensure(ok, || format!("{}: fail {id} gave {outcome:?}", at()))?;
            }
            Op::CompleteAsStranger { pick } => {
                let running = model.ids_where(|s| matches!(s, ModelState::Running(_)));
                if running.is_empty() {
                    continue;
                }
                let id = running[pick as usize % running.len()];
                let done = store.complete_job(id, "stranger").await.unwrap();
                ensure(!done, || format!("{}: a stranger completed {id}", at()))?;
            }
            Op::Replay { pick } => {
                let dead = model.ids_where(|s| s == ModelState::Dead);
                if dead.is_empty() {
                    continue;
                }
                let id = dead[pick as usize % dead.len()];
                let replayed = store.replay_dead(id).await.unwrap();
                ensure(replayed, || format!("{}: replay {id} refused", at()))?;
                let place = model.place();
                let j = model.jobs.get_mut(&id).unwrap();
                (j.place, j.state, j.attempts) = (place, ModelState::Pending, 0);
            }
            Op::Drop { pick } => {
                let dead = model.ids_where(|s| s == ModelState::Dead);
                if dead.is_empty() {
                    continue;
                }
                let id = dead[pick as usize % dead.len()];
                ensure(store.drop_dead(id).await.unwrap(), || {
                    format!("{}: drop {id} refused", at())
                })?;
                model.jobs.remove(&id);
            }
        }
        let depth = store.queue_depth(None).await.unwrap();
        let got = (depth.pending, depth.running, depth.dead);
        ensure(got == model.depth(), || {
            format!("{}: depth {got:?}, model {:?}", at(), model.depth())
        })?;
    }
    Ok(())
}

async fn random_interleavings_keep_keys_exclusive_and_ordered(env: Env) {
    let store = env.store().await;
    let handle = tokio::runtime::Handle::current();
    // proptest drives the cases (and shrinks a failure) on a blocking thread; each case runs
    // on this runtime.
    let result = tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config {
            cases: 24,
            failure_persistence: None,
            ..Config::default()
        });
        runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
            handle.block_on(check_schedule(&store, &env, &ops))
        })
    })
    .await
    .unwrap();
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Set in a child process to make `queue_child_process` work the queue (see below).
const CHILD_MODE_ENV: &str = "STORE_TEST_QUEUE_CHILD";

async fn two_processes_complete_each_job_once(env: Env) {
    const JOBS: u32 = 300;
    const KEYS: u32 = 10;
    let store = env.store().await;
    let mut queued = BTreeSet::new();
    for n in 0..JOBS {
        let key = format!("k{}", n % KEYS);
        queued.insert(store.enqueue(&job("locA", &key, n)).await.unwrap());
    }
    // Both children connect first, then start claiming at the same instant.
    let start_at = now_ms() + 2_000;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["proc-a", "proc-b"]
        .into_iter()
        .map(|worker| {
            let child = tokio::process::Command::new(&exe)
                .args(["--exact", "queue_child_process", "--nocapture"])
                .env(CHILD_MODE_ENV, "1")
                .env("STORE_TEST_CHILD_URL", &env.url)
                .env("STORE_TEST_CHILD_DATA_DIR", env.data_dir())
                .env("STORE_TEST_CHILD_WORKER", worker)
                .env("STORE_TEST_CHILD_START_AT_MS", start_at.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn the test binary as a child");
            (worker, child)
        })
        .collect();
    // (job id, key, started ns, finished ns, worker)
    let mut runs: Vec<(i64, String, u128, u128, &str)> = Vec::new();
    for (worker, child) in children {
        let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("child finished in time")
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child {worker} failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut finished = false;
        for line in stdout.lines() {
            if let Some(rest) = line.strip_prefix("QUEUE_CHILD_RAN ") {
                let f: Vec<&str> = rest.split(' ').collect();
                runs.push((
                    f[0].parse().unwrap(),
                    f[1].to_string(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                    worker,
                ));
            }
            finished |= line == "QUEUE_CHILD_FINISHED";
        }
        assert!(finished, "child {worker} did not finish: {stdout}");
    }
    let done: Vec<i64> = runs.iter().map(|r| r.0).collect();
    let unique: BTreeSet<i64> = done.iter().copied().collect();
    assert_eq!(done.len(), unique.len(), "a job was completed twice");
    assert_eq!(unique, queued, "every job completed");
    for worker in ["proc-a", "proc-b"] {
        assert!(
            runs.iter().any(|r| r.4 == worker),
            "{worker} did some of the work"
        );
    }
    // Per key: the runs never overlap in time, and follow the queue order.
    runs.sort_by_key(|r| r.2);
    let mut last: HashMap<&str, (i64, u128)> = HashMap::new();
    for (id, key, started, finished, _) in &runs {
        if let Some((prev_id, prev_finished)) = last.get(key.as_str()) {
            assert!(
                prev_finished < started,
                "{key}: {prev_id} and {id} overlapped"
            );
            assert!(prev_id < id, "{key}: {id} ran after {prev_id}");
        }
        last.insert(key, (*id, *finished));
    }
    assert_eq!(
        store.queue_depth(None).await.unwrap(),
        QueueDepth::default()
    );
}

/// The child half of `two_processes_complete_each_job_once`: a no-op in a normal test run; in
/// a child, it waits for the agreed instant, then claims and completes jobs until the queue
/// is empty, printing each job it ran with when it started and finished (wall clock, ns).
#[test]
fn queue_child_process() {
    if std::env::var_os(CHILD_MODE_ENV).is_none() {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    let url = var("STORE_TEST_CHILD_URL");
    let worker = var("STORE_TEST_CHILD_WORKER");
    let start_at: i64 = var("STORE_TEST_CHILD_START_AT_MS").parse().unwrap();
    let keyring = Keyring::load_or_create_file(var("STORE_TEST_CHILD_DATA_DIR").as_ref()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::connect(&url, keyring).await.unwrap();
        let wait = start_at - now_ms();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            assert!(std::time::Instant::now() < deadline, "{worker} stuck");
            let jobs = store.claim_jobs(&worker, 4, LEASE).await.unwrap();
            if jobs.is_empty() {
                let depth = store.queue_depth(None).await.unwrap();
                if depth.pending + depth.running == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            }
            let started = now_ns();
            tokio::task::yield_now().await;
            for j in jobs {
                let finished = now_ns();
                println!(
                    "QUEUE_CHILD_RAN {} {} {started} {finished}",
                    j.id, j.ordering_key
                );
                assert!(
                    store.complete_job(j.id, &worker).await.unwrap(),
                    "job {} lost",
                    j.id
                );
            }
        }
        println!("QUEUE_CHILD_FINISHED");
        store.close().await;
    });
}
