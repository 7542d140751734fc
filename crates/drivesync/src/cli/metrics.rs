//! `GET /metrics`: Prometheus text for `serve`. The figures live where they are kept (the
//! ingest's counters, the job queue, each location's sync state and token state); each scrape
//! copies them into the `metrics` recorder and renders it, so nothing drifts from the truth
//! and the hot paths carry no extra instrumentation.
//!
//! Who may read it ([`Exposure`]): the figures name every location, its queues and its
//! failures, so they are never open on the public address. `metrics.listen` serves them on an
//! address of their own; `DRIVESYNC_METRICS_TOKEN` asks for `Authorization: Bearer <token>`
//! (on whichever address serves them); with neither, `/metrics` is not served and `serve`
//! says so at start. That default breaks no one silently: a scraper gets a 404 and the log
//! line says what to set, whereas an open default would publish the figures to anyone who can
//! reach Drive Chat until someone noticed.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::{ExposeSecret, SecretString};

#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    store: store::Store,
    ingest: sync::ingest::IngestState,
    engine: sync::engine::EngineProbe,
}

/// Where `/metrics` is served and what it asks for.
#[derive(Clone, Default)]
pub struct Exposure {
    /// `metrics.listen`: an address of its own.
    pub listen: Option<SocketAddr>,
    /// `DRIVESYNC_METRICS_TOKEN`: a bearer token to ask for.
    pub token: Option<SecretString>,
}

impl Exposure {
    /// The `/metrics` route for the public router: only behind a token, and only when no
    /// address of its own is configured.
    pub fn public_routes(&self, m: Arc<Metrics>) -> Router {
        match (&self.listen, &self.token) {
            (None, Some(_)) => self.routes(m),
            _ => Router::new(),
        }
    }

    /// `/metrics` (behind the token when one is set), for the router that serves it.
    pub fn routes(&self, m: Arc<Metrics>) -> Router {
        let route = Router::new().route("/metrics", get(scrape).with_state(m));
        match self.token.clone() {
            Some(token) => route.layer(axum::middleware::from_fn(move |req, next| {
                bearer(token.clone(), req, next)
            })),
            None => route,
        }
    }

    /// Says at start where the figures are, or how to turn them on.
    pub fn log(&self) {
        match (&self.listen, &self.token) {
            (Some(addr), t) => tracing::info!(
                %addr,
                token = t.is_some(),
                "/metrics served on its own address"
            ),
            (None, Some(_)) => tracing::info!("/metrics served behind a bearer token"),
            (None, None) => tracing::info!(
                "/metrics is not served: set metrics.listen (an address of its own) or \
                 DRIVESYNC_METRICS_TOKEN (a bearer token on the public address)"
            ),
        }
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `metrics.listen` until `stopped` turns
/// true; the address bound.
pub async fn serve_apart(
    exposure: &Exposure,
    m: Arc<Metrics>,
    health: Router,
    limits: crate::http_server::Limits,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<SocketAddr> {
    use anyhow::Context as _;
    let Some(listen) = exposure.listen else {
        anyhow::bail!("metrics.listen is not set");
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} for /metrics; stop what uses it or change metrics.listen"))?;
    let addr = listener.local_addr()?;
    let router = exposure.routes(m).merge(health);
    // The same listener as the public one: its header and request deadlines and its cap on
    // connections hold here too.
    tokio::spawn(crate::http_server::serve(
        listener,
        router,
        limits,
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        },
    ));
    Ok(addr)
}

/// Lets the request through when it carries `Authorization: Bearer <token>`; 401 otherwise,
/// the same answer for a missing and a wrong token.
async fn bearer(token: SecretString, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if drivechat::constant_time_eq(g, token.expose_secret()) => next.run(req).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(serde_json::json!({
                "error": "metrics need Authorization: Bearer <the DRIVESYNC_METRICS_TOKEN of this server>"
            })),
        )
            .into_response(),
    }
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
    pub fn new(
        store: store::Store,
        ingest: sync::ingest::IngestState,
        engine: sync::engine::EngineProbe,
    ) -> Option<Arc<Metrics>> {
        Some(Arc::new(Metrics {
            handle: handle()?,
            store,
            ingest,
            engine,
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
    let w = m.engine.metrics();
    for (outcome, n) in [
        ("completed", w.completed),
        ("retried", w.retried),
        ("dead", w.dead),
        ("released", w.released),
    ] {
        metrics::counter!("drivesync_jobs_total", "outcome" => outcome).absolute(n);
    }
    metrics::counter!("drivesync_webhooks_applied_total").absolute(w.webhooks_applied);
    metrics::counter!("drivesync_polls_total").absolute(w.polls);
    metrics::counter!("drivesync_reconciles_total").absolute(w.reconciles);
    metrics::counter!("drivesync_log_lines_suppressed_total")
        .absolute(super::logging::suppressed_total());
    let outbox: std::collections::HashMap<(String, &str), u64> = m
        .store
        .outbox_counts()
        .await?
        .into_iter()
        .map(|(location, state, n)| ((location, state.as_str()), n))
        .collect();
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
        // Every state each scrape, so a count that fell to none reads 0, not its last value.
        for state in [
            store::CommandState::Pending,
            store::CommandState::Done,
            store::CommandState::Failed,
        ] {
            let n = outbox
                .get(&(id.clone(), state.as_str()))
                .copied()
                .unwrap_or(0);
            metrics::gauge!(
                "drivesync_outbox_commands",
                "location" => id.clone(),
                "state" => state.as_str()
            )
            .set(n as f64);
        }
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
