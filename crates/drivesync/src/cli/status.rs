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
    let mut rows = Vec::new();
    for loc in store.locations().await? {
        let id = loc.location_id.clone();
        let state = store.sync_state(&id).await?;
        let depth = store.queue_depth(Some(&id)).await?;
        rows.push(json!({
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
    if args.json {
        say!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        say!("No location is connected; run `drivesync connect`.");
        return Ok(());
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
