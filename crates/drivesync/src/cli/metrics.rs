//! `GET /metrics`: Prometheus text for `serve`. The figures live where they are kept (the
//! ingest's counters, the job queue, each location's sync state and token state); each scrape
//! copies them into the `metrics` recorder and renders it, so nothing drifts from the truth
//! and the hot paths carry no extra instrumentation.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    store: store::Store,
    ingest: sync::ingest::IngestState,
}

/// The process-wide recorder: `metrics` has one global recorder, installed once even when a
/// process serves twice (the demo, tests).
fn handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .clone()
}

impl Metrics {
    pub fn new(store: store::Store, ingest: sync::ingest::IngestState) -> Option<Arc<Metrics>> {
        Some(Arc::new(Metrics {
            handle: handle()?,
            store,
            ingest,
        }))
    }
}

pub async fn scrape(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    match collect(&m).await {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            m.handle.render(),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            format!("# the store could not be read: {e}\n"),
        ),
    }
}

async fn collect(m: &Metrics) -> Result<(), store::StoreError> {
    let i = m.ingest.metrics();
    metrics::counter!("drivesync_webhooks_accepted_total").absolute(i.accepted);
    metrics::counter!("drivesync_webhooks_duplicate_total").absolute(i.duplicates);
    metrics::counter!("drivesync_webhooks_unconnected_total").absolute(i.unconnected);
    metrics::counter!("drivesync_webhooks_unknown_type_total").absolute(i.unknown_types);
    metrics::counter!("drivesync_webhook_batches_total").absolute(i.batches);
    metrics::counter!("drivesync_webhooks_verified_total", "scheme" => "ed25519")
        .absolute(i.verified_ed25519);
    metrics::counter!("drivesync_webhooks_verified_total", "scheme" => "rsa")
        .absolute(i.verified_rsa);
    for (reason, n) in &i.refused {
        metrics::counter!("drivesync_webhooks_refused_total", "reason" => *reason).absolute(*n);
    }
    let now = chrono::Utc::now().timestamp_millis();
    let watched: std::collections::HashMap<String, sync::ingest::LocationWatch> =
        m.ingest.signature_watch().into_iter().collect();
    for loc in m.store.locations().await? {
        let id = loc.location_id.clone();
        let depth = m.store.queue_depth(Some(&id)).await?;
        let g = |name: &'static str, v: f64| {
            metrics::gauge!(name, "location" => id.clone()).set(v);
        };
        // Signature refusals since the location's last verified webhook: above zero for
        // long is the failure that silently stops a sync (HighLevel changed key or scheme).
        g(
            "drivesync_webhook_signature_refusals_in_row",
            watched
                .get(&id)
                .map_or(0.0, |w| w.signature_refusals_in_row as f64),
        );
        g("drivesync_queue_pending", depth.pending as f64);
        g("drivesync_queue_running", depth.running as f64);
        g("drivesync_dead_letters", depth.dead as f64);
        g(
            "drivesync_queue_oldest_pending_seconds",
            depth
                .oldest_pending_created_at_ms
                .map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0),
        );
        g(
            "drivesync_token_ok",
            f64::from(u8::from(loc.state == store::LocationState::Ok)),
        );
        if let Some(s) = m.store.sync_state(&id).await? {
            let age = |t: Option<i64>| t.map_or(-1.0, |t| (now - t).max(0) as f64 / 1000.0);
            g("drivesync_last_event_age_seconds", age(s.last_event_ms));
            g(
                "drivesync_last_event_lag_seconds",
                s.last_event_lag_ms.map_or(-1.0, |l| l as f64 / 1000.0),
            );
            g("drivesync_last_poll_age_seconds", age(s.last_poll_ms));
            g(
                "drivesync_last_reconcile_age_seconds",
                age(s.last_reconcile_ms),
            );
            g("drivesync_unknown_events", s.unknown_events as f64);
        }
    }
    Ok(())
}
