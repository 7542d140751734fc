//! `POST /webhooks/ghl`: HighLevel's signed webhooks in, each committed once to the store's
//! inbox and job queue before the 200.
//!
//! A webhook goes through, in this order (the first failure answers):
//!
//! 1. **size** — over `max_body` (256 KiB) is 413, and no more than that is ever buffered;
//! 2. **signature** over the exact body bytes ([`ghl::webhook`]) — missing, malformed or not
//!    matching a configured key is 401 (checked before the body is parsed, so an unsigned
//!    garbage body is a 401, not a 400);
//! 3. **envelope** — not a JSON object, or no `type`, `locationId` (`companyId` will do for
//!    INSTALL/UNINSTALL) or `webhookId`, or an unreadable `timestamp`, is 400;
//! 4. **freshness** — a `timestamp` older than `replay_window` or more than `future_skew`
//!    ahead is 401. A webhook without `timestamp` (HighLevel's older events) is accepted,
//!    logged and counted: its `webhookId` is then its only replay protection;
//! 5. **destination** — a webhook for a location that is not connected, and for which no
//!    INSTALL arrived within the replay window, is answered 200 `{"status":"ignored"}`,
//!    counted (`unconnected`) and dropped: stored, its job could never apply (there is no
//!    token to read HighLevel with) and would retry forever. INSTALL and UNINSTALL always go
//!    on: they are how a location becomes connected (or stops being);
//! 6. **store** — committed in one transaction with any concurrent webhooks (group commit):
//!    200 `{"status":"stored"}`, or `{"status":"duplicate"}` when its `webhookId` was already
//!    stored (nothing applied twice). A store that refuses the write, or has not answered
//!    within `store_timeout` (1 s), is 429 — never a 5xx and never a hang — because 429 is the
//!    one answer HighLevel retries.
//!
//! **Why the replay window is 2 hours, not HighLevel's suggested 5 minutes.** HighLevel
//! re-sends a webhook answered 429 with the same body, hence the same `timestamp`, for about
//! 70 minutes. With a 5-minute window every webhook that met a busy store would be refused as
//! stale on retry, and lost for good. The window covers the retries with margin; replays
//! inside it are stopped by the `webhookId` uniqueness of the inbox, which must therefore keep
//! ids for at least the replay window.
//!
//! Every answer counts toward [`IngestMetrics`] (see [`IngestState::metrics`]).

mod body;
pub mod envelope;
pub mod metrics;
pub mod refusal;
pub mod watch;
mod writer;

use crate::millis;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use ghl::webhook::{WebhookKeys, GHL_SIGNATURE_HEADER, WH_SIGNATURE_HEADER};
use store::inbox::{Accepted, InboxEvent};
use store::Store;

pub use metrics::{IngestMetrics, MetricsSnapshot};
pub use refusal::Refusal;
pub use watch::LocationWatch;
pub use writer::BatchConfig;

/// Where HighLevel is told to POST.
pub const PATH: &str = "/webhooks/ghl";
/// Covers HighLevel's ~70 minutes of 429 retries, which carry the original timestamp.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(2 * 60 * 60);
/// Clock skew tolerated between HighLevel and this host.
pub const DEFAULT_FUTURE_SKEW: Duration = Duration::from_secs(5 * 60);
/// HighLevel's contact events are a few KiB; a quarter MiB leaves room for big custom fields.
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;
/// How long a webhook waits for the store before it is answered 429. Short, so a slow store
/// turns into HighLevel retries rather than piled-up connections.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The public keys signatures are checked against; [`WebhookKeys::highlevel`] by default.
    pub keys: WebhookKeys,
    pub replay_window: Duration,
    pub future_skew: Duration,
    pub max_body: usize,
    pub store_timeout: Duration,
    /// Group commit tuning.
    pub batch: BatchConfig,
    /// How often refusal counts are added to the store (for `drivesync status`).
    pub refusals_flush: Duration,
}

impl IngestConfig {
    /// The defaults, with these keys.
    pub fn new(keys: WebhookKeys) -> IngestConfig {
        IngestConfig {
            keys,
            replay_window: DEFAULT_REPLAY_WINDOW,
            future_skew: DEFAULT_FUTURE_SKEW,
            max_body: DEFAULT_MAX_BODY,
            store_timeout: DEFAULT_STORE_TIMEOUT,
            batch: BatchConfig::default(),
            refusals_flush: Duration::from_secs(5),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig::new(WebhookKeys::highlevel())
    }
}

/// The ingest's shared state: configuration, the group-commit writer and the counters.
/// Cloning is cheap; the writer stops when the last clone is dropped.
#[derive(Clone)]
pub struct IngestState {
    inner: Arc<Inner>,
}

struct Inner {
    keys: WebhookKeys,
    replay_window_ms: i64,
    future_skew_ms: i64,
    max_body: usize,
    store_timeout: Duration,
    writer: writer::Writer,
    metrics: Arc<IngestMetrics>,
    watch: Arc<watch::SignatureWatch>,
    stored: Arc<tokio::sync::Notify>,
    store: Store,
    /// Locations found connected, and when: asked again after [`CONNECTED_FOR`], so a
    /// connected location costs one lookup a minute rather than one per webhook.
    connected: parking_lot::Mutex<std::collections::HashMap<String, tokio::time::Instant>>,
    /// Taken to look a location up: a burst of webhooks for a location not yet in
    /// `connected` makes one lookup, not one each (which would queue on the pool and time
    /// out).
    lookup: tokio::sync::Mutex<()>,
}

/// How long a location found connected is taken to still be.
const CONNECTED_FOR: Duration = Duration::from_secs(60);

/// What became of a webhook that passed every check.
enum Outcome {
    Accepted(Accepted),
    /// For a location that is not connected: acknowledged and dropped.
    Unconnected,
}

impl std::fmt::Debug for IngestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestState")
            .field("keys", &self.inner.keys)
            .field("replay_window_ms", &self.inner.replay_window_ms)
            .field("max_body", &self.inner.max_body)
            .finish_non_exhaustive()
    }
}

impl IngestState {
    /// Starts the group-commit writer on the current Tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (the writer is a spawned task).
    pub fn new(store: Store, config: IngestConfig) -> IngestState {
        let metrics = Arc::new(IngestMetrics::default());
        let stored = Arc::new(tokio::sync::Notify::new());
        let watch = Arc::new(watch::SignatureWatch::default());
        tokio::spawn(keep_refusals(
            store.clone(),
            Arc::downgrade(&watch),
            config.refusals_flush,
        ));
        let writer =
            writer::Writer::spawn(store.clone(), config.batch, metrics.clone(), stored.clone());
        IngestState {
            inner: Arc::new(Inner {
                keys: config.keys,
                replay_window_ms: millis(config.replay_window),
                future_skew_ms: millis(config.future_skew),
                max_body: config.max_body,
                store_timeout: config.store_timeout,
                writer,
                metrics,
                watch,
                stored,
                store,
                connected: parking_lot::Mutex::default(),
                lookup: tokio::sync::Mutex::const_new(()),
            }),
        }
    }

    /// Notified after every commit that queued new webhook jobs: hand it to the engine
    /// (`EngineConfig::wake`) so idle workers in this process start on them at once instead
    /// of at their next poll of the queue.
    pub fn notifier(&self) -> Arc<tokio::sync::Notify> {
        self.inner.stored.clone()
    }

    /// The counters so far.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// Signature refusals per location that delivered before (see [`watch`]).
    pub fn signature_watch(&self) -> Vec<(String, LocationWatch)> {
        self.inner.watch.snapshot()
    }

    /// The public keys webhooks are checked against.
    pub fn keys(&self) -> &WebhookKeys {
        &self.inner.keys
    }

    async fn ingest(&self, headers: &HeaderMap, body: Body) -> Result<Outcome, Refusal> {
        let me = &*self.inner;
        let now = chrono::Utc::now().timestamp_millis();
        let raw = body::read_limited(headers, body, me.max_body)
            .await
            .inspect_err(|r| me.watch.refused(*r, None, now))?;
        let result = self.check_and_store(headers, &raw).await;
        match &result {
            Ok(_) => {}
            Err(r) => me.watch.refused(*r, Some(&raw), now),
        }
        result
    }

    async fn check_and_store(
        &self,
        headers: &HeaderMap,
        raw: &bytes::Bytes,
    ) -> Result<Outcome, Refusal> {
        let me = &*self.inner;
        let verified = me
            .keys
            .verify(
                raw,
                headers.get(GHL_SIGNATURE_HEADER).map(|v| v.as_bytes()),
                headers.get(WH_SIGNATURE_HEADER).map(|v| v.as_bytes()),
            )
            .map_err(|e| {
                tracing::debug!(error = %e, "webhook signature refused");
                Refusal::from(e)
            })?;
        me.metrics.verified(verified.scheme);
        let env = envelope::read(raw)?;
        crate::telemetry::record_webhook(&env.webhook_id, &env.location_id, &env.event_type);
        let now = chrono::Utc::now().timestamp_millis();
        me.watch.verified(&env.location_id, now);
        if let Some(ts) = env.timestamp_ms {
            if ts < now.saturating_sub(me.replay_window_ms) {
                tracing::debug!(webhook_id = %env.webhook_id, age_ms = now.saturating_sub(ts), "webhook older than the replay window");
                return Err(Refusal::StaleTimestamp);
            }
            if ts > now.saturating_add(me.future_skew_ms) {
                tracing::debug!(webhook_id = %env.webhook_id, ahead_ms = ts.saturating_sub(now), "webhook timestamp too far in the future");
                return Err(Refusal::FutureTimestamp);
            }
        }
        let deadline = tokio::time::Instant::now() + me.store_timeout;
        let app_event = env.event_type == "INSTALL" || env.event_type == "UNINSTALL";
        if !app_event && !self.wanted(&env.location_id, now, deadline).await? {
            tracing::debug!(location_id = %env.location_id, event_type = %env.event_type,
                "webhook for a location that is not connected dropped");
            return Ok(Outcome::Unconnected);
        }
        let event = InboxEvent {
            webhook_id: env.webhook_id.clone(),
            location_id: env.location_id.clone(),
            event_type: env.event_type.clone(),
            ordering_key: env.ordering_key,
            body: raw.to_vec(),
            received_at_ms: now,
        };
        let accepted = me.writer.submit(event, deadline).await?;
        tracing::debug!(?accepted, "webhook stored");
        if matches!(accepted, Accepted::Stored { .. }) {
            if env.timestamp_ms.is_none() {
                tracing::info!(webhook_id = %env.webhook_id, event_type = %env.event_type,
                    "webhook without a timestamp accepted; only its id guards against replay");
                me.metrics.missing_timestamp();
            }
            if !env.known_type {
                tracing::info!(event_type = %env.event_type, "webhook of an unknown type stored");
                me.metrics.unknown_type(&env.event_type);
            }
        }
        Ok(Outcome::Accepted(accepted))
    }

    /// Whether webhooks for `location_id` are wanted: it is connected, or an INSTALL for it
    /// arrived within the replay window.
    async fn wanted(
        &self,
        location_id: &str,
        now: i64,
        deadline: tokio::time::Instant,
    ) -> Result<bool, Refusal> {
        let me = &*self.inner;
        let fresh = |at: &tokio::time::Instant| at.elapsed() < CONNECTED_FOR;
        if me.connected.lock().get(location_id).is_some_and(fresh) {
            return Ok(true);
        }
        let _one_at_a_time = tokio::time::timeout_at(deadline, me.lookup.lock())
            .await
            .map_err(|_| Refusal::StoreTimeout)?;
        if me.connected.lock().get(location_id).is_some_and(fresh) {
            return Ok(true);
        }
        let since = now.saturating_sub(me.replay_window_ms);
        let wanted = tokio::time::timeout_at(
            deadline,
            me.store.webhooks_wanted(location_id, since),
        )
        .await
        .map_err(|_| Refusal::StoreTimeout)?
        .map_err(|e| {
            tracing::warn!(error = %e, "cannot tell whether a webhook's location is connected");
            Refusal::StoreUnavailable
        })?;
        if wanted {
            let mut connected = me.connected.lock();
            connected.retain(|_, at| fresh(at));
            connected.insert(location_id.to_string(), tokio::time::Instant::now());
        }
        Ok(wanted)
    }
}

/// Adds the watch's refusal counts to the store every `every` until the ingest is dropped;
/// first teaches it which locations delivered before.
async fn keep_refusals(
    store: Store,
    watch: std::sync::Weak<watch::SignatureWatch>,
    every: Duration,
) {
    if let (Ok(states), Some(w)) = (store.sync_states().await, watch.upgrade()) {
        for s in states.iter().filter(|s| s.last_event_ms.is_some()) {
            w.know(&s.location_id, s.last_event_ms);
        }
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(w) = watch.upgrade() else { return };
        let counts = w.take();
        if counts.is_empty() {
            continue;
        }
        if let Err(e) = store.add_webhook_refusals(&counts).await {
            tracing::debug!(error = %e, "refusal counts not stored yet; kept for the next try");
            w.restore(counts);
        }
    }
}

/// The ingest's routes: `POST /webhooks/ghl`.
pub fn router(state: IngestState) -> Router {
    Router::new().route(PATH, post(receive)).with_state(state)
}

async fn receive(State(state): State<IngestState>, headers: HeaderMap, body: Body) -> Response {
    use tracing::Instrument as _;
    let metrics = &state.inner.metrics;
    let span = crate::telemetry::webhook_span();
    let result = state.ingest(&headers, body).instrument(span.clone()).await;
    let _in = span.enter();
    match result {
        Ok(Outcome::Accepted(Accepted::Stored { .. })) => {
            metrics.accepted();
            ok("stored")
        }
        Ok(Outcome::Accepted(Accepted::Duplicate)) => {
            metrics.duplicate();
            ok("duplicate")
        }
        Ok(Outcome::Unconnected) => {
            metrics.unconnected();
            ok("ignored")
        }
        Err(refusal) => {
            metrics.refused(refusal);
            // Every refusal of a genuine HighLevel webhook other than a 429 loses it for good,
            // so each one is worth a line.
            tracing::warn!(
                reason = refusal.reason(),
                status = refusal.status().as_u16(),
                "webhook refused"
            );
            refusal.into_response()
        }
    }
}

fn ok(status: &'static str) -> Response {
    (
        StatusCode::OK,
        Json(serde_json::json!({ "status": status })),
    )
        .into_response()
}
