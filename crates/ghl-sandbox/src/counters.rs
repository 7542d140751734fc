//! What the sandbox has done, for tests and for users checking a setup: requests per route and
//! location, 429s, refreshes, webhooks sent, retried, failed; and a log of API requests with
//! their times, so a test can check a client's rate over any sliding window.

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::time::Millis;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub at_ms: Millis,
    pub app_id: String,
    pub location_id: String,
    pub method: String,
    pub route: String,
    pub status: u16,
}

/// How many requests the log keeps (the oldest go first).
const LOG_CAPACITY: usize = 500_000;

#[derive(Default)]
pub struct Counters {
    requests: Mutex<BTreeMap<(String, String), u64>>,
    log: Mutex<VecDeque<RequestRecord>>,
    pub rate_limited: AtomicU64,
    pub api_faults: AtomicU64,
    pub token_exchanges: AtomicU64,
    pub refreshes: AtomicU64,
    pub refresh_refused: AtomicU64,
    pub webhooks_sent: AtomicU64,
    pub webhooks_delivered: AtomicU64,
    pub webhooks_retried: AtomicU64,
    pub webhooks_failed: AtomicU64,
    pub webhooks_dropped: AtomicU64,
    pub webhooks_duplicated: AtomicU64,
    pub webhooks_reordered: AtomicU64,
    pub webhooks_delayed: AtomicU64,
    pub webhooks_unsent: AtomicU64,
    /// Changes that called for a webhook (each counted once, whatever its faults).
    pub changes: AtomicU64,
}

pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub fn record(&self, rec: RequestRecord) {
        *self
            .requests
            .lock()
            .entry((
                format!("{} {}", rec.method, rec.route),
                rec.location_id.clone(),
            ))
            .or_default() += 1;
        let mut log = self.log.lock();
        if log.len() == LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(rec);
    }

    pub fn requests_for(&self, location: Option<&str>, since: Millis) -> Vec<RequestRecord> {
        self.log
            .lock()
            .iter()
            .filter(|r| r.at_ms >= since && location.is_none_or(|l| r.location_id == l))
            .cloned()
            .collect()
    }

    pub fn to_json(&self) -> Value {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut per_route: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for ((route, loc), n) in self.requests.lock().iter() {
            per_route
                .entry(route.clone())
                .or_default()
                .insert(loc.clone(), *n);
        }
        json!({
            "requests": per_route,
            "changes": g(&self.changes),
            "rateLimited": g(&self.rate_limited),
            "apiFaults": g(&self.api_faults),
            "tokenExchanges": g(&self.token_exchanges),
            "refreshes": g(&self.refreshes),
            "refreshRefused": g(&self.refresh_refused),
            "webhooks": {
                "sent": g(&self.webhooks_sent),
                "delivered": g(&self.webhooks_delivered),
                "retried": g(&self.webhooks_retried),
                "failed": g(&self.webhooks_failed),
                "dropped": g(&self.webhooks_dropped),
                "duplicated": g(&self.webhooks_duplicated),
                "reordered": g(&self.webhooks_reordered),
                "delayed": g(&self.webhooks_delayed),
                "unsent": g(&self.webhooks_unsent),
            }
        })
    }

    pub fn reset(&self) {
        self.requests.lock().clear();
        self.log.lock().clear();
        for c in [
            &self.rate_limited,
            &self.api_faults,
            &self.token_exchanges,
            &self.refreshes,
            &self.refresh_refused,
            &self.webhooks_sent,
            &self.webhooks_delivered,
            &self.webhooks_retried,
            &self.webhooks_failed,
            &self.webhooks_dropped,
            &self.webhooks_duplicated,
            &self.webhooks_reordered,
            &self.webhooks_delayed,
            &self.webhooks_unsent,
            &self.changes,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}
