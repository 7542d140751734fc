//! `/healthz` (the process answers: open to anyone, for load balancers) and `/readyz` (it can
//! do its work: the store takes a write and the workers take jobs; 503 with the reason
//! otherwise, so an orchestrator sends no traffic to a replica whose database is gone).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

/// How long the store gets to take the probe's write: well under a probe's usual timeout.
const STORE_PROBE: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct Ready {
    store: store::Store,
    engine: sync::engine::EngineProbe,
}

/// `/healthz` and `/readyz`.
pub fn routes(store: store::Store, engine: sync::engine::EngineProbe) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz).with_state(Ready { store, engine }))
}

async fn readyz(State(r): State<Ready>) -> (StatusCode, Json<serde_json::Value>) {
    let store = r.store.check_writable(STORE_PROBE).await;
    let workers = r.engine.is_ready();
    let mut reasons = Vec::new();
    if let Err(e) = &store {
        reasons.push(format!("the store takes no writes: {e}"));
    }
    if !workers {
        reasons.push("the workers are not taking jobs (stopping, or their claimer ended)".into());
    }
    let body = json!({
        "ready": reasons.is_empty(),
        "store": store.is_ok(),
        "workers": workers,
        "reasons": reasons,
    });
    if reasons.is_empty() {
        (StatusCode::OK, Json(body))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}
