//! The dashboard's sampler on SQLite and PostgreSQL: one replica samples each minute (the
//! other finds the lease taken), the figures are the store's (webhooks received in that
//! minute, the queue, dead letters, refusal totals, the last lag) per location, and samples
//! older than the retention are pruned.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Env;
use secrecy::SecretString;
use store::{AuthKind, InboxEvent, MetricSample, NewLocation, RefusalCount};
use sync::sampler::sample_minute;

const MINUTE: i64 = 60_000;

fn client() -> ghl::GhlClient {
    let cfg = ghl::ClientConfig::new(url::Url::parse("http://127.0.0.1:9").expect("url"));
    ghl::GhlClient::new(cfg, Arc::new(ghl::StaticTokens::default())).expect("client")
}

fn webhook(id: &str, location: &str, at: i64) -> InboxEvent {
    InboxEvent {
        webhook_id: id.into(),
        location_id: location.into(),
        event_type: "ContactCreate".into(),
        ordering_key: format!("contact:{id}"),
        body: b"{}".to_vec(),
        received_at_ms: at,
    }
}

async fn one_replica_samples_each_minute_and_old_samples_go(env: Env) {
    let store = env.store().await;
    for loc in ["L1", "L2"] {
        store
            .save_location(&NewLocation {
                location_id: loc.into(),
                company_id: None,
                name: None,
                auth: AuthKind::PrivateIntegration,
                user_type: store::UserType::Location,
                scopes: Vec::new(),
                access_token: SecretString::from("pit".to_string()),
                refresh_token: None,
                expires_at_ms: None,
            })
            .await
            .expect("location");
    }
    let now = chrono::Utc::now().timestamp_millis();
    let minute = now - now.rem_euclid(MINUTE) - MINUTE;
    // Two webhooks for L1 in the minute, one just before it (another minute's).
    for (id, at) in [
        ("w1", minute + 1),
        ("w2", minute + 59_999),
        ("w0", minute - 1),
    ] {
        store
            .accept_webhook(&webhook(id, "L1", at))
            .await
            .expect("webhook");
    }
    store
        .add_webhook_refusals(&[RefusalCount {
            scope: "L1".into(),
            reason: "bad_signature".into(),
            count: 7,
            first_ms: minute,
            last_ms: minute,
        }])
        .await
        .expect("refusals");
    // An old sample, older than a day's retention.
    store
        .save_metric_samples(&[MetricSample {
            location_id: "L1".into(),
            minute_ms: minute - 2 * 24 * 60 * MINUTE,
            ..MetricSample::default()
        }])
        .await
        .expect("old sample");

    let day = Duration::from_secs(24 * 3600);
    let (a, b) = (client(), client());
    let first = sample_minute(&store, &a, "replica-a", minute + 123, day)
        .await
        .expect("sample");
    let second = sample_minute(&store, &b, "replica-b", minute, day)
        .await
        .expect("sample");
    assert_eq!(first, Some(2), "one sample per location");
    assert_eq!(second, None, "the other replica finds the minute taken");

    let l1 = store.metric_samples("L1", 0).await.expect("samples");
    assert_eq!(l1.len(), 1, "the old sample was pruned: {l1:?}");
    let s = &l1[0];
    assert_eq!(s.minute_ms, minute);
    assert_eq!(s.events, 2);
    assert_eq!(s.queue_pending, 3, "each webhook queued a job");
    assert_eq!(s.dead_letters, 0);
    assert_eq!(s.refusals.get("bad_signature"), Some(&7));
    assert_eq!(s.budget_remaining, None, "HighLevel has not answered today");
    let l2 = store.metric_samples("L2", 0).await.expect("samples");
    assert_eq!((l2.len(), l2[0].events, l2[0].queue_pending), (1, 0, 0));

    // The holder samples the next minute too (the other replica's turn comes when the lease
    // runs out, just before the minute after).
    let next = sample_minute(&store, &a, "replica-a", minute + MINUTE, day)
        .await
        .expect("sample");
    assert_eq!(next, Some(2));
    let again = sample_minute(&store, &b, "replica-b", minute + MINUTE, day)
        .await
        .expect("sample");
    assert_eq!(again, None);
}

on_both_backends!(one_replica_samples_each_minute_and_old_samples_go);
