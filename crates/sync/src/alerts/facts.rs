//! Reading what the rules look at from the store: the same figures `drivesync status`
//! shows, gathered once per evaluation for every location.

use std::collections::HashMap;

use store::{AuthKind, LocationState, RateUsage, RefusalCount, Store, StoreError};

use super::rules::LocationFacts;
use crate::ingest::Refusal;

/// How many of a location's latest changes are looked through for one a poll found.
const RECENT_CHANGES: u32 = 1000;

/// Whether a refusal reason is one of the signature's.
fn is_signature(reason: &str) -> bool {
    Refusal::ALL
        .iter()
        .any(|r| r.is_signature() && r.reason() == reason)
}

/// Signature refusals of `scope` recorded after `since` (its last verified webhook), and
/// when the last came. The store keeps totals per reason with their first and last time, so
/// a reason refused both before and after `since` counts in full: an alert errs towards
/// being raised.
pub(crate) fn signature_refusals(
    all: &[RefusalCount],
    scope: &str,
    since: Option<i64>,
) -> (u64, Option<i64>) {
    let after: Vec<&RefusalCount> = all
        .iter()
        .filter(|c| c.scope == scope && is_signature(&c.reason))
        .filter(|c| since.is_none_or(|s| c.last_ms > s))
        .collect();
    (
        after.iter().map(|c| c.count).sum(),
        after.iter().map(|c| c.last_ms).max(),
    )
}

/// The facts of every location that is a workspace (agency connections are not), and the
/// newest webhook any of them verified.
pub(crate) async fn gather(
    store: &Store,
    now_ms: i64,
) -> Result<(Vec<LocationFacts>, Option<i64>), StoreError> {
    let refusals = store.webhook_refusals().await?;
    let usage: HashMap<String, RateUsage> = store
        .rate_usage()
        .await?
        .into_iter()
        .map(|u| (u.location_id.clone(), u))
        .collect();
    let mut out = Vec::new();
    let mut newest_webhook = None;
    for loc in store.locations().await? {
        if loc.user_type == ghl::UserType::Company {
            continue;
        }
        let id = loc.location_id.clone();
        let state = store.sync_state(&id).await?;
        let depth = store.queue_depth(Some(&id)).await?;
        let last_webhook = state.as_ref().and_then(|s| s.last_event_ms);
        newest_webhook = newest_webhook.max(last_webhook);
        let polled = store.last_change_from(&id, "poll", RECENT_CHANGES).await?;
        let reconciled = store
            .last_change_from(&id, "reconcile", RECENT_CHANGES)
            .await?;
        let (refused, last_refused) = signature_refusals(&refusals, &id, last_webhook);
        let u = usage.get(&id).cloned().unwrap_or_default();
        let today = chrono::Utc::now().date_naive();
        let seen_today = u
            .daily_seen_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
            .is_some_and(|t| t.date_naive() == today);
        out.push(LocationFacts {
            location: id,
            now_ms,
            needs_reauth: loc.state == LocationState::NeedsReauth,
            budget_exhausted: loc.state == LocationState::BudgetExhausted,
            oauth_expires_at_ms: loc.expires_at_ms.filter(|_| loc.auth == AuthKind::OAuth),
            last_webhook_ms: last_webhook,
            last_webhook_lag_ms: state.as_ref().and_then(|s| s.last_event_lag_ms),
            last_polled_change_ms: polled.max(reconciled),
            signature_refusals: refused,
            last_signature_refusal_ms: last_refused,
            oldest_pending_ms: depth.oldest_pending_created_at_ms,
            dead_letters: depth.dead,
            daily_limit: u
                .daily_limit
                .and_then(|l| u64::try_from(l).ok())
                .or(Some(crate::fetch::listing::DAILY_BUDGET)),
            daily_remaining: u
                .daily_remaining
                .filter(|_| seen_today)
                .and_then(|r| u64::try_from(r).ok()),
            rate_limited_total: u64::try_from(u.rate_limited).unwrap_or(0),
            last_rate_limited_ms: u.last_rate_limited_ms,
        });
    }
    Ok((out, newest_webhook))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(scope: &str, reason: &str, n: u64, first: i64, last: i64) -> RefusalCount {
        RefusalCount {
            scope: scope.into(),
            reason: reason.into(),
            count: n,
            first_ms: first,
            last_ms: last,
        }
    }

    #[test]
    fn only_signature_refusals_after_the_last_verified_webhook_count() {
        let all = [
            count("L1", "bad_signature", 4, 100, 500),
            count("L1", "missing_signature", 2, 100, 150),
            count("L1", "stale_timestamp", 9, 100, 900),
            count("L2", "bad_signature", 7, 100, 900),
        ];
        assert_eq!(signature_refusals(&all, "L1", Some(200)), (4, Some(500)));
        assert_eq!(signature_refusals(&all, "L1", None), (6, Some(500)));
        assert_eq!(signature_refusals(&all, "L1", Some(600)), (0, None));
    }
}
