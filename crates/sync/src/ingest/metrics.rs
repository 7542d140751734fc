//! The ingest's counters: plain atomics, read as a [`MetricsSnapshot`] (serialisable, for a
//! status page or a log line). No metrics framework: the embedding binary decides how to
//! export them, and the tests read them directly.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::Serialize;

use super::refusal::Refusal;

/// Distinct unknown event types remembered by name; beyond this they are only counted, so a
/// stream of made-up types cannot grow memory.
const MAX_UNKNOWN_NAMES: usize = 64;

#[derive(Debug, Default)]
pub struct IngestMetrics {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    unconnected: AtomicU64,
    unknown_types: AtomicU64,
    missing_timestamps: AtomicU64,
    verified_ed25519: AtomicU64,
    verified_rsa: AtomicU64,
    batches: AtomicU64,
    refused: [AtomicU64; Refusal::ALL.len()],
    unknown_names: Mutex<BTreeMap<String, u64>>,
}

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    /// Webhooks committed to the store (200 `stored`).
    pub accepted: u64,
    /// Webhooks whose id was already stored (200 `duplicate`).
    pub duplicates: u64,
    /// Webhooks for a location that is not connected, with no INSTALL for it pending:
    /// acknowledged (200 `ignored`) and dropped, neither stored nor applied.
    pub unconnected: u64,
    /// Accepted webhooks of a type not in `shared/ghl/webhooks/`.
    pub unknown_types: u64,
    /// Unknown types by name (the first 64 names seen).
    pub unknown_type_names: BTreeMap<String, u64>,
    /// Accepted webhooks without a `timestamp` (not replay-checked beyond their id).
    pub missing_timestamps: u64,
    /// Signatures verified per scheme: shows when the legacy RSA header stops being used.
    pub verified_ed25519: u64,
    pub verified_rsa: u64,
    /// Store transactions written (group commit: several webhooks per transaction).
    pub batches: u64,
    /// Refusals by reason (every reason listed, zeros included).
    pub refused: BTreeMap<&'static str, u64>,
}

impl MetricsSnapshot {
    /// The count of one refusal reason.
    pub fn refused(&self, r: Refusal) -> u64 {
        self.refused.get(r.reason()).copied().unwrap_or(0)
    }

    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl IngestMetrics {
    pub(crate) fn accepted(&self) {
        bump(&self.accepted)
    }

    pub(crate) fn duplicate(&self) {
        bump(&self.duplicates)
    }

    pub(crate) fn unconnected(&self) {
        bump(&self.unconnected)
    }

    pub(crate) fn refused(&self, r: Refusal) {
        bump(&self.refused[r.index()])
    }

    pub(crate) fn missing_timestamp(&self) {
        bump(&self.missing_timestamps)
    }

    pub(crate) fn verified(&self, scheme: ghl::webhook::Scheme) {
        match scheme {
            ghl::webhook::Scheme::Ed25519 => bump(&self.verified_ed25519),
            ghl::webhook::Scheme::Rsa => bump(&self.verified_rsa),
        }
    }

    pub(crate) fn batch(&self) {
        bump(&self.batches)
    }

    pub(crate) fn unknown_type(&self, name: &str) {
        bump(&self.unknown_types);
        let mut names = self.unknown_names.lock();
        if let Some(n) = names.get_mut(name) {
            *n += 1;
        } else if names.len() < MAX_UNKNOWN_NAMES {
            names.insert(name.to_string(), 1);
        }
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            accepted: get(&self.accepted),
            duplicates: get(&self.duplicates),
            unconnected: get(&self.unconnected),
            unknown_types: get(&self.unknown_types),
            unknown_type_names: self.unknown_names.lock().clone(),
            missing_timestamps: get(&self.missing_timestamps),
            verified_ed25519: get(&self.verified_ed25519),
            verified_rsa: get(&self.verified_rsa),
            batches: get(&self.batches),
            refused: Refusal::ALL
                .iter()
                .map(|r| (r.reason(), get(&self.refused[r.index()])))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bounds_unknown_names() {
        let m = IngestMetrics::default();
        m.refused(Refusal::BadSignature);
        m.refused(Refusal::BadSignature);
        for i in 0..100 {
            m.unknown_type(&format!("T{i}"));
        }
        m.unknown_type("T0");
        let s = m.snapshot();
        assert_eq!(s.refused(Refusal::BadSignature), 2);
        assert_eq!(s.refused_total(), 2);
        assert_eq!(s.refused.len(), Refusal::ALL.len());
        assert_eq!(s.unknown_types, 101);
        assert_eq!(s.unknown_type_names.len(), MAX_UNKNOWN_NAMES);
        assert_eq!(s.unknown_type_names.get("T0"), Some(&2));
    }
}
