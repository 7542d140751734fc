//! The store's side of alerts (#15): one open alert per rule and scope, announced once and
//! re-announced only when due, whoever races; a named lease one replica holds at a time; the
//! request-budget figures several processes add up.

mod common;

use std::time::Duration;

use common::Env;
use store::RateUsage;

on_both_backends!(
    an_alert_opens_once_renotifies_when_due_and_closes_once,
    a_named_lease_is_held_by_one_owner_until_it_expires,
    rate_usage_adds_429s_and_keeps_the_newest_budget
);

async fn an_alert_opens_once_renotifies_when_due_and_closes_once(env: Env) {
    let store = env.store().await;
    assert!(store
        .open_alert("dead_letters", "L1", "2 dead")
        .await
        .unwrap());
    assert!(!store
        .open_alert("dead_letters", "L1", "3 dead")
        .await
        .unwrap());
    assert!(store
        .open_alert("dead_letters", "L2", "1 dead")
        .await
        .unwrap());
    let open = store.open_alerts().await.unwrap();
    assert_eq!(open.len(), 2);
    let a = &open[0];
    assert_eq!(
        (a.scope.as_str(), a.notifications, a.summary.as_str()),
        ("L1", 1, "2 dead")
    );

    // Not due: last announced after the cut-off.
    assert!(!store
        .renotify_alert("dead_letters", "L1", "3 dead", a.notified_ms - 1)
        .await
        .unwrap());
    // Due, and two evaluators racing: one announces.
    let due = a.notified_ms;
    let (x, y) = tokio::join!(
        store.renotify_alert("dead_letters", "L1", "3 dead", due),
        store.renotify_alert("dead_letters", "L1", "3 dead", due)
    );
    assert!(x.unwrap() ^ y.unwrap(), "exactly one re-announces");
    let a = store.open_alerts().await.unwrap().remove(0);
    assert_eq!((a.notifications, a.summary.as_str()), (2, "3 dead"));

    let closed = store
        .close_alert("dead_letters", "L1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.notifications, 2);
    assert_eq!(store.close_alert("dead_letters", "L1").await.unwrap(), None);
    assert_eq!(store.open_alerts().await.unwrap().len(), 1);
    // Once closed, the next fault opens (and announces) a new one.
    assert!(store
        .open_alert("dead_letters", "L1", "1 dead")
        .await
        .unwrap());
}

async fn a_named_lease_is_held_by_one_owner_until_it_expires(env: Env) {
    let store = env.store().await;
    let ttl = Duration::from_millis(300);
    assert!(store.try_lease("alerts", "a", ttl).await.unwrap());
    assert!(!store.try_lease("alerts", "b", ttl).await.unwrap());
    // The holder renews; another name is another lease.
    assert!(store.try_lease("alerts", "a", ttl).await.unwrap());
    assert!(store.try_lease("other", "b", ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(store.try_lease("alerts", "b", ttl).await.unwrap());
    assert!(!store.try_lease("alerts", "a", ttl).await.unwrap());
    let e = store.try_lease("alerts", "", ttl).await.unwrap_err();
    assert!(e.to_string().contains("lease owner"), "{e}");
}

async fn rate_usage_adds_429s_and_keeps_the_newest_budget(env: Env) {
    let store = env.store().await;
    let seen = |remaining, at, limited, last| RateUsage {
        location_id: "L1".into(),
        daily_limit: Some(1000),
        daily_remaining: Some(remaining),
        daily_seen_ms: Some(at),
        rate_limited: limited,
        last_rate_limited_ms: last,
    };
    store
        .add_rate_usage(&seen(900, 10, 2, Some(10)))
        .await
        .unwrap();
    // Another process, which saw an older answer and more 429s.
    store
        .add_rate_usage(&seen(950, 5, 3, Some(8)))
        .await
        .unwrap();
    let u = store.rate_usage().await.unwrap();
    assert_eq!(u.len(), 1);
    assert_eq!(
        (
            u[0].daily_remaining,
            u[0].daily_seen_ms,
            u[0].rate_limited,
            u[0].last_rate_limited_ms
        ),
        (Some(900), Some(10), 5, Some(10))
    );
    store.add_rate_usage(&seen(100, 20, 0, None)).await.unwrap();
    let u = store.rate_usage().await.unwrap();
    assert_eq!(
        (
            u[0].daily_remaining,
            u[0].rate_limited,
            u[0].last_rate_limited_ms
        ),
        (Some(100), 5, Some(10))
    );
}
