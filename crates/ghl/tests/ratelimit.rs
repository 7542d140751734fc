//! The client's per-location limiter against the sandbox: a 429 storm on one location leaves
//! the others alone, and steady traffic stays inside the burst limit over every sliding window
//! while using nearly all of it.

mod common;

use common::{fast_config, start};
use ghl::api::Priority;
use ghl::GhlError;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

type Timed = JoinHandle<Result<Duration, GhlError>>;

/// The two tests measure time: they run one at a time so neither's burst skews the other's
/// clock (the sandbox logs `atMs` when it answers, so scheduling delays show up in it).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_storm_on_one_location_leaves_the_others_alone() {
    let _serial = SERIAL.lock().await;
    let env = start().await;
    let (a, b) = (env.locations[0].clone(), env.locations[1].clone());
    // The sandbox sends no Retry-After: a 429 pauses the location for one interval.
    env.limits(json!({ "intervalMs": 200 })).await;
    env.faults(json!({ "storm429": 1.0, "locations": [a] }))
        .await;
    let mut cfg = fast_config(&env.base);
    cfg.max_rate_limited_attempts = 100;
    let client = env.client(cfg);

    let a_done = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let spawn = |loc: &str, done: Option<Arc<AtomicUsize>>| -> Vec<Timed> {
        env.contact_ids(loc)[..20]
            .iter()
            .map(|id| {
                let l = client.location(loc);
                let (id, done) = (id.clone(), done.clone());
                tokio::spawn(async move {
                    l.get_contact(&id).await?;
                    if let Some(d) = done {
                        d.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(t0.elapsed())
                })
            })
            .collect()
    };
    let on_a = spawn(&a, Some(a_done.clone()));
    let on_b = spawn(&b, None);

    let b_times = join_all(on_b, Duration::from_secs(10)).await;
    let b_last = *b_times.iter().max().unwrap();
    assert_eq!(
        a_done.load(Ordering::SeqCst),
        0,
        "nothing gets through the storm"
    );
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(t0.elapsed())).await;
    env.faults(json!({ "reset": true })).await;
    let cleared = t0.elapsed();
    let a_times = join_all(on_a, Duration::from_secs(15)).await;
    let a_first = *a_times.iter().min().unwrap();
    let a_last = *a_times.iter().max().unwrap();
    println!("B's 20 done by {b_last:?}; storm cleared at {cleared:?}; A's 20 done from {a_first:?} to {a_last:?}");
    assert!(b_last < cleared, "B finished before the storm ended");
    assert!(a_first > cleared, "A finished only after the storm ended");
    assert_eq!(a_times.len(), 20, "none of A's requests was lost");

    let b_log = env.requests(&b).await;
    assert_eq!(statuses(&b_log), vec![200; 20], "B never met a 429");
    let a_log = env.requests(&a).await;
    let ok = a_log.iter().filter(|r| r["status"] == 200).count();
    let limited = a_log.iter().filter(|r| r["status"] == 429).count();
    assert_eq!(ok, 20);
    assert_eq!(ok + limited, a_log.len());
    assert!(
        limited >= 20,
        "every request of A met the storm at least once: {limited}"
    );
    assert_eq!(env.counter("rateLimited").await, limited as u64);
}

async fn join_all(handles: Vec<Timed>, within: Duration) -> Vec<Duration> {
    let all = futures::future::join_all(handles);
    let done = tokio::time::timeout(within, all)
        .await
        .unwrap_or_else(|_| panic!("requests still running after {within:?}"));
    done.into_iter()
        .map(|r| r.expect("task").expect("request"))
        .collect()
}

fn statuses(log: &[Value]) -> Vec<u64> {
    log.iter().map(|r| r["status"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn steady_traffic_never_overruns_any_sliding_window() {
    const BURST: usize = 10;
    const INTERVAL_MS: i64 = 1000;
    const REQUESTS: usize = 60;
    let _serial = SERIAL.lock().await;
    let env = start().await;
    let loc = env.locations[2].clone();
    env.limits(json!({ "burst": BURST, "intervalMs": INTERVAL_MS }))
        .await;
    let client = env.client(fast_config(&env.base));
    let ids = env.contact_ids(&loc);

    let t0 = Instant::now();
    let tasks: Vec<JoinHandle<Result<(), GhlError>>> = (0..10)
        .map(|worker| {
            let l = client.location(&loc);
            let mine: Vec<String> = (0..REQUESTS / 10)
                .map(|i| ids[(worker * 6 + i) % ids.len()].clone())
                .collect();
            tokio::spawn(async move {
                for id in mine {
                    l.get_contact(&id).await?;
                }
                Ok(())
            })
        })
        .collect();
    let all = tokio::time::timeout(Duration::from_secs(20), futures::future::join_all(tasks))
        .await
        .expect("60 requests finish within 20 s");
    for r in all {
        r.expect("task").expect("request");
    }
    let elapsed = t0.elapsed();

    assert_eq!(env.counter("rateLimited").await, 0, "no 429 at all");
    let log = env.requests(&loc).await;
    assert_eq!(statuses(&log), vec![200; REQUESTS]);
    let mut at: Vec<i64> = log.iter().map(|r| r["atMs"].as_i64().unwrap()).collect();
    at.sort();
    let mut busiest = 0;
    for (i, start) in at.iter().enumerate() {
        let in_window = at[i..]
            .iter()
            .take_while(|t| **t < start + INTERVAL_MS)
            .count();
        busiest = busiest.max(in_window);
        assert!(
            in_window <= BURST,
            "{in_window} requests within {INTERVAL_MS} ms from {start}: {at:?}"
        );
    }
    // 60 requests at 10 per second need 5 whole intervals after the first burst.
    let span = (at[REQUESTS - 1] - at[0]) as f64;
    let ideal = ((REQUESTS / BURST - 1) as i64 * INTERVAL_MS) as f64;
    let rate_use =
        REQUESTS as f64 / (elapsed.as_secs_f64() * BURST as f64 * 1000.0 / INTERVAL_MS as f64);
    println!(
        "{REQUESTS} requests in {elapsed:?} (sandbox saw them over {span} ms; ideal {ideal} ms): \
         {:.0}% of the budget by span, {:.0}% by requests per second; busiest window {busiest}",
        100.0 * ideal / span,
        100.0 * rate_use,
    );
    assert!(
        elapsed < Duration::from_millis(6900),
        "too slow: {elapsed:?} uses under 85% of the budget"
    );
    assert!(ideal / span >= 0.85, "{span} ms for {ideal} ms of budget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_handles_priority_reaches_the_limiter_for_every_call() {
    let _serial = SERIAL.lock().await;
    let env = start().await;
    let loc = env.locations[1].clone();
    // A whole second between slots: the clicks queue long before the next one frees.
    env.limits(json!({ "burst": 2, "intervalMs": 1000 })).await;
    let client = env.client(fast_config(&env.base));
    let ids = env.contact_ids(&loc);
    let plain = client.location(&loc);
    assert_eq!(plain.priority(), Priority::Sync, "the default");
    // The first answer teaches the limiter the sandbox's burst of 2.
    plain.get_contact(&ids[0]).await.expect("probe");

    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let spawn = |p: Priority, id: String| {
        let (l, order) = (client.location(&loc).with_priority(p), order.clone());
        assert_eq!(l.priority(), p);
        tokio::spawn(async move {
            l.get_contact(&id).await?;
            order.lock().unwrap().push(p);
            Ok::<_, GhlError>(())
        })
    };
    let mut tasks: Vec<_> = (1..9)
        .map(|i| spawn(Priority::Bulk, ids[i].clone()))
        .collect();
    // Wait until the bulk requests fill the window and the rest queue behind it.
    let limiter = client.location(&loc).limiter();
    let deadline = Instant::now() + Duration::from_secs(5);
    while limiter.waiting(Priority::Bulk) < 5 {
        assert!(Instant::now() < deadline, "bulk requests never queued");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let queued_bulk = limiter.waiting(Priority::Bulk);
    tasks.extend((9..11).map(|i| spawn(Priority::Interactive, ids[i].clone())));
    let all = tokio::time::timeout(Duration::from_secs(20), futures::future::join_all(tasks))
        .await
        .expect("all requests finish");
    for r in all {
        r.expect("task").expect("request");
    }
    let order = order.lock().unwrap().clone();
    let last_interactive = order
        .iter()
        .rposition(|p| *p == Priority::Interactive)
        .expect("interactive requests ran");
    // Every bulk request still queued when the clicks arrived went after them.
    let bulk_before = order[..last_interactive]
        .iter()
        .filter(|p| **p == Priority::Bulk)
        .count();
    assert!(
        bulk_before <= 8 - queued_bulk,
        "{bulk_before} bulk requests went before the clicks though {queued_bulk} were queued: {order:?}"
    );
    assert_eq!(env.counter("rateLimited").await, 0, "no 429 at all");
}
