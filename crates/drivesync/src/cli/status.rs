//! `drivesync status`: per location, how far behind HighLevel the store is and why.

use clap::Args;
use serde_json::json;

use super::common::StoreArgs;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let now = chrono::Utc::now().timestamp_millis();
    let refusals = store.webhook_refusals().await?;
    let mut rows = Vec::new();
    for loc in store.locations().await? {
        let id = loc.location_id.clone();
        let state = store.sync_state(&id).await?;
        let depth = store.queue_depth(Some(&id)).await?;
        let last_event = state.as_ref().and_then(|s| s.last_event_ms);
        let (cost, measured) = reconcile_cost(&store, &id, state.as_ref()).await?;
        let context = store.location_context(&id).await?;
        let mut missing_scopes: Vec<String> = ghl::missing_scopes(&loc.scopes)
            .into_iter()
            .map(str::to_string)
            .filter(|_| !loc.scopes.is_empty())
            .collect();
        for s in context.missing_scopes {
            if !missing_scopes.contains(&s) {
                missing_scopes.push(s);
            }
        }
        rows.push(json!({
            "missing_scopes": missing_scopes,
            "reconcile_cost_requests": cost,
            "reconcile_cost_measured": measured,
            "reconcile_cost_daily_share": daily_share(cost, state.as_ref()),
            "webhooks_refused": refused_json(&refusals, &id),
            "signatures_failing_since_ms": signatures_failing_since(&refusals, &id, last_event),
            "location": id,
            "name": loc.name,
            "token": loc.state.as_str(),
            "last_event_ms": state.as_ref().and_then(|s| s.last_event_ms),
            "last_event_lag_ms": state.as_ref().and_then(|s| s.last_event_lag_ms),
            "queue_pending": depth.pending,
            "queue_running": depth.running,
            "dead_letters": depth.dead,
            "oldest_pending_ms": depth.oldest_pending_created_at_ms,
            "poll_cursor_ms": state.as_ref().and_then(|s| s.poll_cursor_ms),
            "last_poll_ms": state.as_ref().and_then(|s| s.last_poll_ms),
            "poll_interval_ms": state.as_ref().map(|s| s.poll_interval_ms),
            "last_reconcile_ms": state.as_ref().and_then(|s| s.last_reconcile_ms),
            "reconcile_interval_ms": state.as_ref().map(|s| s.reconcile_interval_ms),
            "unknown_events": state.as_ref().map_or(0, |s| s.unknown_events),
            "last_error": state.as_ref().and_then(|s| s.last_error.clone()),
        }));
    }
    let unattributed = refused_json(&refusals, store::refusals::UNATTRIBUTED);
    if args.json {
        let out = json!({ "locations": rows, "webhooks_refused_unattributed": unattributed });
        say!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if rows.is_empty() {
        say!("No location is connected; run `drivesync connect`.");
        return Ok(());
    }
    if let Some(m) = unattributed.as_object().filter(|m| !m.is_empty()) {
        say!(
            "webhooks refused that name no location delivering here: {}",
            reasons(m)
        );
    }
    for r in &rows {
        let since = |k: &str| r[k].as_i64().map_or("never".to_string(), |t| ago(now - t));
        let every = |k: &str| {
            r[k].as_i64().map_or("not scheduled yet".to_string(), |ms| {
                format!("every {}", span(ms))
            })
        };
        say!(
            "{} {}",
            r["location"].as_str().unwrap_or(""),
            r["name"]
                .as_str()
                .map(|n| format!("({n})"))
                .unwrap_or_default()
        );
        say!("  token          {}", r["token"].as_str().unwrap_or(""));
        if let Some(t) = r["signatures_failing_since_ms"].as_i64() {
            say!(
                "  !! WEBHOOKS REFUSED: every webhook since {} failed its signature check, none \
                 verified since. HighLevel signs with x-ghl-signature (Ed25519); check the keys \
                 `drivesync serve` logs at start (webhooks.keys, webhooks.legacy_rsa). Until \
                 then changes arrive only by polling.",
                ago(now - t)
            );
        }
        if let Some(m) = r["missing_scopes"].as_array().filter(|m| !m.is_empty()) {
            let names: Vec<&str> = m.iter().filter_map(|s| s.as_str()).collect();
            say!(
                "  missing scopes {} (reconnect granting them: until then names show as ids and \
                 tasks and appointments are read contact by contact)",
                names.join(" ")
            );
        }
        if let Some(m) = r["webhooks_refused"].as_object().filter(|m| !m.is_empty()) {
            say!("  refused        {}", reasons(m));
        }
        say!(
            "  last event     {}{}",
            since("last_event_ms"),
            r["last_event_lag_ms"]
                .as_i64()
                .map(|l| format!(", applied {} after HighLevel sent it", span(l)))
                .unwrap_or_default()
        );
        let lag = r["oldest_pending_ms"]
            .as_i64()
            .map(|t| format!(", oldest waiting {}", ago(now - t)))
            .unwrap_or_default();
        say!(
            "  queue          {} pending, {} running{lag}",
            r["queue_pending"],
            r["queue_running"]
        );
        say!(
            "  dead letters   {}{}",
            r["dead_letters"],
            if r["dead_letters"].as_u64() > Some(0) {
                "  (drivesync dlq list)"
            } else {
                ""
            }
        );
        let cursor = r["poll_cursor_ms"]
            .as_i64()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map_or("none yet".to_string(), |t| t.to_rfc3339());
        say!(
            "  poll           {}, last {}, cursor {cursor}",
            every("poll_interval_ms"),
            since("last_poll_ms")
        );
        say!(
            "  reconcile      {}, last {}",
            every("reconcile_interval_ms"),
            since("last_reconcile_ms")
        );
        say!(
            "  reconcile cost {} requests each, {:.1} % of HighLevel's {} a day at its interval ({})",
            r["reconcile_cost_requests"],
            r["reconcile_cost_daily_share"].as_f64().unwrap_or(0.0) * 100.0,
            DAILY_BUDGET,
            if r["reconcile_cost_measured"] == true {
                "measured at the last reconcile"
            } else {
                "estimated from the records held"
            }
        );
        if r["unknown_events"].as_i64() > Some(0) {
            say!(
                "  unknown events {} (stored, not applied)",
                r["unknown_events"]
            );
        }
        if let Some(e) = r["last_error"].as_str() {
            say!("  last error     {e}");
        }
    }
    Ok(())
}

const DAILY_BUDGET: u64 = sync::fetch::listing::DAILY_BUDGET;

/// The share of the daily budget the location's reconciles take at its interval.
fn daily_share(cost: u64, state: Option<&store::SyncState>) -> f64 {
    let per_day = state
        .map(|s| s.reconcile_interval_ms.max(1))
        .map_or(1.0, |every| 86_400_000.0 / every as f64);
    cost as f64 * per_day / DAILY_BUDGET as f64
}

/// What a full reconcile of the location costs: measured at its last one, else estimated
/// from what the store holds.
async fn reconcile_cost(
    store: &store::Store,
    location: &str,
    state: Option<&store::SyncState>,
) -> anyhow::Result<(u64, bool)> {
    if let Some(n) = state.and_then(|s| s.last_reconcile_requests) {
        return Ok((u64::try_from(n).unwrap_or(0), true));
    }
    let mut counts = [0u64; 3];
    for (i, kind) in [
        store::RecordKind::Contact,
        store::RecordKind::Task,
        store::RecordKind::Appointment,
    ]
    .into_iter()
    .enumerate()
    {
        let q = store::RecordQuery {
            location_id: location.to_string(),
            kind: Some(kind),
            ..store::RecordQuery::default()
        };
        counts[i] = u64::try_from(store.count_records(&q).await?).unwrap_or(0);
    }
    let [c, t, a] = counts;
    Ok((
        sync::fetch::listing::reconcile_cost_estimate(c, t, a),
        false,
    ))
}

/// `{reason: {count, last_ms}}` of one scope.
fn refused_json(all: &[store::RefusalCount], scope: &str) -> serde_json::Value {
    let m: serde_json::Map<String, serde_json::Value> = all
        .iter()
        .filter(|c| c.scope == scope)
        .map(|c| {
            (
                c.reason.clone(),
                json!({ "count": c.count, "first_ms": c.first_ms, "last_ms": c.last_ms }),
            )
        })
        .collect();
    serde_json::Value::Object(m)
}

/// When signature refusals began for a location that has verified no webhook since: the
/// first refusal after its last applied event. `None` when it is delivering (or never was
/// refused).
fn signatures_failing_since(
    all: &[store::RefusalCount],
    scope: &str,
    last_event_ms: Option<i64>,
) -> Option<i64> {
    let signature = |reason: &str| {
        sync::ingest::Refusal::ALL
            .iter()
            .any(|r| r.is_signature() && r.reason() == reason)
    };
    let failing: Vec<_> = all
        .iter()
        .filter(|c| c.scope == scope && signature(&c.reason))
        .collect();
    let last_refused = failing.iter().map(|c| c.last_ms).max()?;
    if last_event_ms.is_some_and(|e| e >= last_refused) {
        return None;
    }
    let since = failing.iter().map(|c| c.first_ms).min()?;
    let since = last_event_ms.map_or(since, |e| since.max(e));
    // A few forged requests (anyone can send them) are not a failing location; refusals
    // that go on for a minute with nothing verifying are.
    (last_refused - since >= sync::ingest::watch::ALARM_SPAN_MS).then_some(since)
}

fn reasons(m: &serde_json::Map<String, serde_json::Value>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} {}", v["count"]))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ago(ms: i64) -> String {
    format!("{} ago", span(ms.max(0)))
}

/// 850 ms, 12 s, 5 min, 3 h, 2 days.
fn span(ms: i64) -> String {
    match ms {
        ..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{} s", ms / 1000),
        60_000..=3_599_999 => format!("{} min", ms / 60_000),
        3_600_000..=172_799_999 => format!("{} h", ms / 3_600_000),
        _ => format!("{} days", ms / 86_400_000),
    }
}
