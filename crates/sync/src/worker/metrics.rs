//! What the workers did, counted: plain atomics the runner and the handlers bump, read as a
//! [`WorkerMetricsSnapshot`] by [`crate::engine::Engine::metrics`]. Each is bumped with its log
//! line by [`crate::count_and_log!`].

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of what the workers did.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    pub webhooks_applied: AtomicU64,
    pub unknown_events: AtomicU64,
    pub polls: AtomicU64,
    pub reconciles: AtomicU64,
    pub completed: AtomicU64,
    pub retried: AtomicU64,
    pub dead: AtomicU64,
    pub released: AtomicU64,
}

/// A copy of [`WorkerMetrics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorkerMetricsSnapshot {
    pub webhooks_applied: u64,
    pub unknown_events: u64,
    pub polls: u64,
    pub reconciles: u64,
    pub completed: u64,
    pub retried: u64,
    pub dead: u64,
    pub released: u64,
}

impl WorkerMetrics {
    pub fn snapshot(&self) -> WorkerMetricsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WorkerMetricsSnapshot {
            webhooks_applied: g(&self.webhooks_applied),
            unknown_events: g(&self.unknown_events),
            polls: g(&self.polls),
            reconciles: g(&self.reconciles),
            completed: g(&self.completed),
            retried: g(&self.retried),
            dead: g(&self.dead),
            released: g(&self.released),
        }
    }
}
