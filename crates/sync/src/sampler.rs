//! The dashboard's sampler: once a minute, one replica — whichever takes the minute's
//! `metrics_sampler` lease — stores each location's figures for the minute that just ended
//! ([`store::MetricSample`]) and prunes samples older than the retention. Every figure comes
//! from the store (shared by all replicas) except HighLevel's daily budget left, which is what
//! HighLevel's last answer to this process said (`None` until it answered today).

use std::time::Duration;

use store::{MetricSample, Store, StoreError};

/// The lease one replica takes per minute.
const LEASE: &str = "metrics_sampler";
const MINUTE_MS: i64 = 60_000;

/// Samples the minute starting at `minute_ms` (the one that ended at `minute_ms + 60 s`) if
/// `owner` wins its lease, then prunes samples older than `retention`. Returns how many
/// samples were stored, `None` when another replica holds the minute.
pub async fn sample_minute(
    store: &Store,
    client: &ghl::GhlClient,
    owner: &str,
    minute_ms: i64,
    retention: Duration,
) -> Result<Option<u64>, StoreError> {
    let minute_ms = minute_ms - minute_ms.rem_euclid(MINUTE_MS);
    // Held until just before the next minute's turn, so a replica that sampled does not
    // block the next minute, and two replicas never both sample this one.
    let until = minute_ms + 2 * MINUTE_MS - 5_000;
    if !store.try_lease_until(LEASE, owner, until).await? {
        return Ok(None);
    }
    let end = minute_ms + MINUTE_MS;
    let events = store.events_received(minute_ms, end).await?;
    let refusals = store.webhook_refusals().await?;
    let mut samples = Vec::new();
    for loc in store.locations().await? {
        if loc.user_type == ghl::UserType::Company {
            continue;
        }
        let id = loc.location_id;
        let state = store.sync_state(&id).await?;
        let depth = store.queue_depth(Some(&id)).await?;
        let (_, _, daily_remaining) = client.limits().for_location(&id).limits().await;
        samples.push(MetricSample {
            minute_ms,
            lag_ms: state.and_then(|s| s.last_event_lag_ms),
            events: events.get(&id).copied().unwrap_or(0),
            budget_remaining: daily_remaining.and_then(|d| i64::try_from(d).ok()),
            queue_pending: count(depth.pending),
            queue_running: count(depth.running),
            dead_letters: count(depth.dead),
            refusals: refusals
                .iter()
                .filter(|r| r.scope == id)
                .map(|r| (r.reason.clone(), i64::try_from(r.count).unwrap_or(i64::MAX)))
                .collect(),
            location_id: id,
        });
    }
    let stored = store.save_metric_samples(&samples).await?;
    let keep_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    store
        .prune_metric_samples(minute_ms.saturating_sub(keep_ms))
        .await?;
    Ok(Some(stored))
}

fn count<T: TryInto<i64>>(n: T) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// Samples each minute as it ends, until `stop`.
pub(crate) async fn sampler_loop(
    store: Store,
    client: ghl::GhlClient,
    owner: String,
    retention: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let next = now - now.rem_euclid(MINUTE_MS) + MINUTE_MS;
        let wait = Duration::from_millis(u64::try_from(next - now).unwrap_or(0) + 200);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match sample_minute(&store, &client, &owner, next - MINUTE_MS, retention).await {
            Ok(Some(n)) => tracing::debug!(samples = n, "dashboard sampled"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "sampling the dashboard's figures failed"),
        }
    }
}
