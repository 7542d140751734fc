//! Watching refusals per location, so that the failure which silently stops a sync — a
//! location whose webhooks used to verify and now are all refused (HighLevel changed its key
//! or its scheme, as it did on 1 July 2026 when it dropped `x-wh-signature`) — is said loudly
//! instead of showing up days later as a stale mirror.
//!
//! - Every refusal is counted by reason, under the location its (unverified) body names when
//!   that location has delivered a verified webhook before, else under
//!   [`store::refusals::UNATTRIBUTED`]: a stranger's made-up ids cannot grow memory or the
//!   table. The counts are added to the store every few seconds
//!   ([`store::Store::add_webhook_refusals`]) for `drivesync status`.
//! - A location that delivered before and then has [`ALARM_AFTER`] signature refusals in a row
//!   over at least [`ALARM_SPAN_MS`] is reported at `error` level, again at most every
//!   [`ALARM_EVERY`] while it lasts, and once more when a webhook verifies again.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use store::refusals::{RefusalCount, UNATTRIBUTED};

use super::refusal::Refusal;

/// Signature refusals in a row, on a location that delivered before, that raise the alarm…
pub const ALARM_AFTER: u64 = 3;
/// …once they have gone on this long with no webhook verifying: a few forged requests naming
/// a location (anyone can send them) do not cry wolf, a real change of key or scheme (every
/// webhook refused, for good) does within minutes.
pub const ALARM_SPAN_MS: i64 = 60_000;
/// How often a lasting alarm is repeated.
pub const ALARM_EVERY: Duration = Duration::from_secs(5 * 60);
/// Locations remembered as delivering; beyond this new ones are not tracked (an agency with
/// more locations than this would need a bigger number, not a different design).
const MAX_LOCATIONS: usize = 100_000;

/// What the watch knows of one location, for `/metrics` and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LocationWatch {
    /// When a webhook of this location last verified (Unix ms).
    pub last_verified_ms: Option<i64>,
    /// Signature refusals since then.
    pub signature_refusals_in_row: u64,
    /// When the first of those came.
    pub refused_since_ms: Option<i64>,
}

#[derive(Default)]
struct Tracked {
    watch: LocationWatch,
    last_alarm: Option<tokio::time::Instant>,
}

#[derive(Default)]
pub(crate) struct SignatureWatch {
    locations: Mutex<HashMap<String, Tracked>>,
    pending: Mutex<HashMap<(String, &'static str), RefusalCount>>,
}

impl SignatureWatch {
    /// Locations known to deliver (from the store at start): a refusal run on them alarms even
    /// before this process has verified one of their webhooks.
    pub(crate) fn know(&self, location: &str, last_event_ms: Option<i64>) {
        let mut l = self.locations.lock();
        if l.len() < MAX_LOCATIONS || l.contains_key(location) {
            let t = l.entry(location.to_string()).or_default();
            if t.watch.last_verified_ms.is_none() {
                t.watch.last_verified_ms = last_event_ms;
            }
        }
    }

    pub(crate) fn verified(&self, location: &str, now_ms: i64) {
        let mut l = self.locations.lock();
        if l.len() >= MAX_LOCATIONS && !l.contains_key(location) {
            return;
        }
        let t = l.entry(location.to_string()).or_default();
        if t.watch.signature_refusals_in_row >= ALARM_AFTER {
            tracing::warn!(
                location,
                refused = t.watch.signature_refusals_in_row,
                "webhooks verify again for this location after a run of signature refusals"
            );
        }
        t.watch = LocationWatch {
            last_verified_ms: Some(now_ms),
            signature_refusals_in_row: 0,
            refused_since_ms: None,
        };
        t.last_alarm = None;
    }

    /// Counts a refusal; `body` is the refused request's body, read only for its
    /// `locationId`.
    pub(crate) fn refused(&self, refusal: Refusal, body: Option<&[u8]>, now_ms: i64) {
        let named = body.and_then(location_of);
        let mut scope = UNATTRIBUTED.to_string();
        if let Some(loc) = named {
            let mut l = self.locations.lock();
            if let Some(t) = l.get_mut(&loc) {
                scope = loc.clone();
                if refusal.is_signature() {
                    t.watch.signature_refusals_in_row += 1;
                    t.watch.refused_since_ms.get_or_insert(now_ms);
                    alarm(&loc, refusal, t, now_ms);
                }
            }
        }
        let mut p = self.pending.lock();
        let c = p
            .entry((scope.clone(), refusal.reason()))
            .or_insert_with(|| RefusalCount {
                scope,
                reason: refusal.reason().to_string(),
                count: 0,
                first_ms: now_ms,
                last_ms: now_ms,
            });
        c.count += 1;
        c.last_ms = now_ms;
    }

    /// The counts since the last call, emptied.
    pub(crate) fn take(&self) -> Vec<RefusalCount> {
        self.pending.lock().drain().map(|(_, c)| c).collect()
    }

    /// Puts counts that could not be stored back, to go with the next flush.
    pub(crate) fn restore(&self, counts: Vec<RefusalCount>) {
        let mut p = self.pending.lock();
        for c in counts {
            let key = (c.scope.clone(), reason_static(&c.reason));
            match p.get_mut(&key) {
                Some(e) => {
                    e.count += c.count;
                    e.first_ms = e.first_ms.min(c.first_ms);
                    e.last_ms = e.last_ms.max(c.last_ms);
                }
                None => {
                    p.insert(key, c);
                }
            }
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<(String, LocationWatch)> {
        let mut v: Vec<_> = self
            .locations
            .lock()
            .iter()
            .map(|(k, t)| (k.clone(), t.watch.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

fn alarm(location: &str, refusal: Refusal, t: &mut Tracked, now_ms: i64) {
    let lasted = t
        .watch
        .refused_since_ms
        .is_some_and(|since| now_ms - since >= ALARM_SPAN_MS);
    if t.watch.signature_refusals_in_row < ALARM_AFTER || !lasted {
        return;
    }
    let now = tokio::time::Instant::now();
    if t.last_alarm
        .is_some_and(|a| now.duration_since(a) < ALARM_EVERY)
    {
        return;
    }
    t.last_alarm = Some(now);
    tracing::error!(
        location,
        reason = refusal.reason(),
        refused_in_row = t.watch.signature_refusals_in_row,
        refused_since_ms = t.watch.refused_since_ms,
        last_verified_ms = t.watch.last_verified_ms,
        "every webhook for this location is now refused for its signature, although it used to \
         verify: HighLevel may have changed its signing key or scheme. Changes reach drivesync \
         only through polling until this is fixed. Check the keys `drivesync serve` logged at \
         start (webhooks.keys, webhooks.legacy_rsa); `drivesync status` shows the refusals"
    );
}

/// The `locationId` an untrusted body names, if it is a short plain string.
fn location_of(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(rename = "locationId")]
        location_id: Option<String>,
    }
    let n: Named = serde_json::from_slice(body).ok()?;
    n.location_id
        .filter(|l| !l.is_empty() && l.len() <= 64 && l.chars().all(|c| c.is_ascii_graphic()))
}

fn reason_static(reason: &str) -> &'static str {
    Refusal::ALL
        .iter()
        .map(|r| r.reason())
        .find(|r| *r == reason)
        .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(loc: &str) -> Vec<u8> {
        format!(r#"{{"type":"ContactCreate","locationId":"{loc}"}}"#).into_bytes()
    }

    #[tokio::test]
    async fn only_delivering_locations_get_their_own_counts() {
        let w = SignatureWatch::default();
        w.verified("L1", 1);
        for i in 0..5 {
            w.refused(Refusal::BadSignature, Some(&body("L1")), 10 + i);
        }
        w.refused(Refusal::BadSignature, Some(&body("stranger")), 20);
        w.refused(Refusal::InvalidJson, Some(b"not json"), 21);
        let mut counts = w.take();
        counts.sort_by(|a, b| (&a.scope, &a.reason).cmp(&(&b.scope, &b.reason)));
        let seen: Vec<_> = counts
            .iter()
            .map(|c| (c.scope.as_str(), c.reason.as_str(), c.count))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("", "bad_signature", 1),
                ("", "invalid_json", 1),
                ("L1", "bad_signature", 5)
            ]
        );
        let snap = w.snapshot();
        assert_eq!(snap.len(), 1, "the stranger is not remembered");
        assert_eq!(snap[0].1.signature_refusals_in_row, 5);
        assert_eq!(snap[0].1.refused_since_ms, Some(10));
        assert!(w.take().is_empty());
        w.verified("L1", 99);
        assert_eq!(w.snapshot()[0].1.signature_refusals_in_row, 0);
    }

    #[tokio::test]
    async fn only_a_lasting_run_raises_the_alarm() {
        let w = SignatureWatch::default();
        w.verified("L1", 0);
        for t in [1_000, 1_010, 1_020, 1_030] {
            w.refused(Refusal::BadSignature, Some(&body("L1")), t);
        }
        let alarmed = |w: &SignatureWatch| {
            w.locations
                .lock()
                .get("L1")
                .is_some_and(|t| t.last_alarm.is_some())
        };
        assert!(!alarmed(&w), "four refusals within 30 ms are no alarm");
        w.refused(
            Refusal::BadSignature,
            Some(&body("L1")),
            1_000 + ALARM_SPAN_MS,
        );
        assert!(alarmed(&w), "a minute of nothing but refusals is");
        w.verified("L1", 2_000 + ALARM_SPAN_MS);
        assert!(!alarmed(&w));
    }

    #[tokio::test]
    async fn restored_counts_merge_with_new_ones() {
        let w = SignatureWatch::default();
        w.know("L1", Some(1));
        w.refused(Refusal::NoKeyForSignature, Some(&body("L1")), 5);
        let taken = w.take();
        w.refused(Refusal::NoKeyForSignature, Some(&body("L1")), 7);
        w.restore(taken);
        let c = w.take();
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].count, c[0].first_ms, c[0].last_ms), (2, 5, 7));
    }
}
