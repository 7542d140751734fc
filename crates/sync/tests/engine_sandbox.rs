//! The engine end to end against the HighLevel sandbox: at least 5,000 random changes across
//! 3 locations while the sandbox duplicates 20%, reorders 20% and drops 10% of the webhooks,
//! answers 5% of API calls with a 5xx and sends some TaskCreate webhooks without their
//! `contactId`; ingest, workers and the poller run throughout. Once the queue is quiet a
//! reconcile runs, and `verify` must find HighLevel and the store equal, record by record.

mod common;
mod engine_support;

use std::time::Duration;

use common::Env;
use engine_support::{config, world};
use serde_json::json;
use sync::engine::Engine;

const CHANGES: u64 = 5_000;

async fn faults_converge(env: Env) {
    let store = env.store().await;
    let ingest = common::serve(store.clone(), common::config()).await;
    // 2,000 requests per 10 s keeps the reconciles inside the test's time; the default 100
    // would take minutes per location.
    let w = world(&store, Some(ingest.url.clone()), 3, 40, 2_000).await;
    let mut cfg = config(Some(ingest.state.notifier()));
    cfg.schedule = true;
    cfg.schedule_tick = Duration::from_millis(500);
    cfg.poll_interval = Duration::from_secs(3);
    cfg.poll_overlap = Duration::from_secs(5);
    let engine = Engine::start(store.clone(), w.client.clone(), None, cfg)
        .await
        .expect("start the engine");
    w.admin(
        "faults",
        json!({"duplicate": 0.2, "reorder": 0.2, "drop": 0.1, "api5xx": 0.05,
               "taskWithoutContact": 0.05}),
    )
    .await;
    let started = w.changes();
    // ~400 changes a second, through the activity generator's own change function.
    while w.changes() - started < CHANGES {
        for _ in 0..40 {
            w.sandbox
                .sandbox
                .write(ghl_sandbox::activity::random_change);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let made = w.changes() - started;
    let t0 = std::time::Instant::now();
    eprintln!("{made} changes made; engine {:?}", engine.metrics());
    // Held-back (reordered) webhooks go out within 2 s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Polls keep running; quiet means every stored webhook has been applied.
    engine_support::wait_until("every webhook applied", Duration::from_secs(60), || {
        let (applied, stored) = (
            engine.metrics().webhooks_applied,
            ingest.state.metrics().accepted,
        );
        async move { applied >= stored }
    })
    .await;
    eprintln!(
        "quiet after {:?}; engine {:?}",
        t0.elapsed(),
        engine.metrics()
    );
    // The API faults stay on for the reconcile: it goes through them as the rest did.
    futures::future::join_all(
        w.locations
            .iter()
            .map(|l| engine_support::reconcile(&engine, &store, l)),
    )
    .await;
    eprintln!("reconciled after {:?}", t0.elapsed());
    let depth = store.queue_depth(None).await.expect("depth");
    assert_eq!(
        depth.dead,
        0,
        "no job may die: {:?}",
        store.dead_jobs(None, 5).await
    );
    // The faults were the engine's to survive, reconcile included; `verify` is the measuring
    // stick, and a stick that fails one request in twenty would flake (five 5xx in a row
    // exhaust the client's retries on some read among thousands).
    w.admin("faults", json!({"reset": true})).await;
    let mut problems = Vec::new();
    let mut checked = 0;
    for l in &w.locations {
        let r = sync::verify::verify(&store, &w.client.location(l.clone()))
            .await
            .expect("verify");
        checked += r.checked;
        problems.extend(r.lines().into_iter().map(|line| format!("{l}: {line}")));
    }
    let counters = w.sandbox.sandbox.counters.to_json();
    eprintln!(
        "{made} changes; {checked} records verified; engine {:?}; sandbox webhooks {}",
        engine.metrics(),
        counters["webhooks"]
    );
    assert!(made >= CHANGES);
    assert!(checked > 500, "too few records compared: {checked}");
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    engine.shutdown().await;
}

on_both_backends!(faults_converge);
