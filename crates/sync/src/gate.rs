//! The gate in front of HighLevel: whether a location may be called now, and if so its
//! handle — from one [`ghl::GhlClient`] whose tokens come from the store (OAuth refreshed under
//! the store's lease, Private Integration Tokens, company-derived tokens minted again when
//! they expire — all the client's business).
//!
//! What is decided here is whether a location may be called at all: one marked
//! `needs_reauth` is not (a person must reconnect it; calling would only fail again), and one
//! marked `budget_exhausted` is tried once per [`BUDGET_PROBE`] to learn whether its daily
//! budget renewed (the store clears the mark when a call goes through). Each skip is logged
//! at most once a minute per location, so a stuck location is visible without flooding.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use store::{LocationState, Store};

use crate::error::SyncError;

/// How often a location whose daily budget ran out is tried again.
pub const BUDGET_PROBE: Duration = Duration::from_secs(15 * 60);
const SKIP_LOG_EVERY: Duration = Duration::from_secs(60);

/// Decides, per location, whether HighLevel may be called, and hands out the location's
/// handle when it may. Cloning is cheap and shares what it remembers (probes, log times).
#[derive(Clone)]
pub struct LocationGate {
    store: Store,
    client: ghl::GhlClient,
    seen: Arc<Mutex<HashMap<String, Seen>>>,
}

#[derive(Default)]
struct Seen {
    last_probe: Option<tokio::time::Instant>,
    last_log: Option<tokio::time::Instant>,
}

impl std::fmt::Debug for LocationGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocationGate").finish_non_exhaustive()
    }
}

impl LocationGate {
    pub fn new(store: Store, client: ghl::GhlClient) -> LocationGate {
        LocationGate {
            store,
            client,
            seen: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn client(&self) -> &ghl::GhlClient {
        &self.client
    }

    /// The handle of `location` if it may be called now; otherwise
    /// [`SyncError::LocationUnavailable`] (logged), which the worker retries with backoff.
    pub async fn location(&self, location: &str) -> Result<ghl::api::Location, SyncError> {
        let reason = match self.store.location(location).await? {
            None => Some("it is not connected (run `drivesync connect`)"),
            Some(rec) => match rec.state {
                LocationState::Ok => None,
                LocationState::NeedsReauth => {
                    Some("it needs to be connected again (run `drivesync connect`)")
                }
                LocationState::BudgetExhausted => {
                    let now = tokio::time::Instant::now();
                    let mut seen = self.seen.lock();
                    let s = seen.entry(location.to_string()).or_default();
                    if s.last_probe
                        .is_none_or(|t| now.duration_since(t) >= BUDGET_PROBE)
                    {
                        // One request to find out whether the budget renewed.
                        s.last_probe = Some(now);
                        None
                    } else {
                        Some("its daily HighLevel budget is used up")
                    }
                }
            },
        };
        match reason {
            None => Ok(self.client.location(location)),
            Some(reason) => {
                self.log_skip(location, reason);
                Err(SyncError::LocationUnavailable {
                    location: location.to_string(),
                    reason,
                })
            }
        }
    }

    /// Whether the poller should schedule work for a location in this state now.
    pub fn schedulable(&self, location: &str, state: LocationState) -> bool {
        match state {
            LocationState::Ok => true,
            LocationState::NeedsReauth => {
                self.log_skip(location, "it needs to be connected again");
                false
            }
            LocationState::BudgetExhausted => {
                let seen = self.seen.lock();
                let due = seen
                    .get(location)
                    .and_then(|s| s.last_probe)
                    .is_none_or(|t| tokio::time::Instant::now().duration_since(t) >= BUDGET_PROBE);
                drop(seen);
                if !due {
                    self.log_skip(location, "its daily HighLevel budget is used up");
                }
                due
            }
        }
    }

    fn log_skip(&self, location: &str, reason: &str) {
        let now = tokio::time::Instant::now();
        let mut seen = self.seen.lock();
        let s = seen.entry(location.to_string()).or_default();
        if s.last_log
            .is_none_or(|t| now.duration_since(t) >= SKIP_LOG_EVERY)
        {
            s.last_log = Some(now);
            tracing::warn!(
                location,
                reason,
                "location skipped: HighLevel is not called for it"
            );
        }
    }
}
