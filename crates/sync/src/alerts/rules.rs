//! The rules: from what the store says of a location ([`LocationFacts`]) to what is wrong
//! with it ([`Finding`]), each with what to do. Pure functions, so every threshold is tested
//! without a server.

use super::config::Thresholds;

/// An alert rule. Its name is the alert's key in the store and in outbound webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    WebhooksSilent,
    SignatureRefusals,
    Lag,
    DeadLetters,
    NeedsReauth,
    RefreshFailing,
    Budget,
    RateLimited,
    StoreWrites,
}

impl Rule {
    pub const ALL: [Rule; 9] = [
        Rule::WebhooksSilent,
        Rule::SignatureRefusals,
        Rule::Lag,
        Rule::DeadLetters,
        Rule::NeedsReauth,
        Rule::RefreshFailing,
        Rule::Budget,
        Rule::RateLimited,
        Rule::StoreWrites,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::WebhooksSilent => "webhooks_silent",
            Rule::SignatureRefusals => "signature_refusals",
            Rule::Lag => "lag",
            Rule::DeadLetters => "dead_letters",
            Rule::NeedsReauth => "needs_reauth",
            Rule::RefreshFailing => "refresh_failing",
            Rule::Budget => "budget",
            Rule::RateLimited => "rate_limited",
            Rule::StoreWrites => "store_writes",
        }
    }

    pub fn parse(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The alert's title.
    pub fn title(self) -> &'static str {
        match self {
            Rule::WebhooksSilent => "Webhooks have stopped arriving",
            Rule::SignatureRefusals => "Webhooks are refused for their signature",
            Rule::Lag => "The sync is falling behind",
            Rule::DeadLetters => "Jobs failed for good (dead letters)",
            Rule::NeedsReauth => "The location must be reconnected",
            Rule::RefreshFailing => "The access token is not being refreshed",
            Rule::Budget => "HighLevel's daily request budget is running out",
            Rule::RateLimited => "HighLevel is answering 429 (rate limited)",
            Rule::StoreWrites => "The store refuses writes",
        }
    }

    /// What to do about it.
    pub fn what_to_do(self) -> &'static str {
        match self {
            Rule::WebhooksSilent => {
                "Changes still arrive by polling, later. Check in HighLevel that the app's \
                 webhook URL points at this server's /webhooks/ghl and that the server is \
                 reachable from the internet."
            }
            Rule::SignatureRefusals => {
                "HighLevel signs with x-ghl-signature (Ed25519) only since 1 July 2026. Check \
                 the keys `drivesync serve` logs at start (webhooks.keys, webhooks.legacy_rsa); \
                 `drivesync status` shows the refusals. Until fixed, changes arrive only by \
                 polling."
            }
            Rule::Lag => {
                "Look at `drivesync status` for the queue and the last error; add workers \
                 (sync.workers) or replicas if the queue keeps growing."
            }
            Rule::DeadLetters => {
                "See why with `drivesync dlq list`, fix the cause, then `drivesync dlq retry` \
                 (or discard them)."
            }
            Rule::NeedsReauth => {
                "HighLevel refused the refresh token. An admin of the location must connect it \
                 again: `drivesync connect` or Settings → HighLevel in Drive Chat."
            }
            Rule::RefreshFailing => {
                "The access token expired and refreshing it keeps failing. Check that this \
                 server reaches HighLevel and that the app's client secret is right; the \
                 server log says why each refresh failed."
            }
            Rule::Budget => {
                "Lower the polling (sync.poll_interval, sync.reconcile_interval, per location \
                 under [sync.locations]) or pause backfills; the budget renews at midnight UTC."
            }
            Rule::RateLimited => {
                "Another app or replica may be spending this location's budget; drivesync \
                 backs off on its own. If it goes on, lower sync.workers or the polling."
            }
            Rule::StoreWrites => {
                "Webhooks are answered 429 (HighLevel retries them) and nothing is saved. Check \
                 the database: disk space, permissions, a lock held by another program, or a \
                 PostgreSQL in read-only mode."
            }
        }
    }
}

/// What the store says of one location, at one evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocationFacts {
    pub location: String,
    pub now_ms: i64,
    pub needs_reauth: bool,
    pub budget_exhausted: bool,
    /// OAuth access token's expiry (other kinds have no refresh to fail).
    pub oauth_expires_at_ms: Option<i64>,
    /// When its last webhook was applied.
    pub last_webhook_ms: Option<i64>,
    /// How late that webhook was applied after HighLevel sent it.
    pub last_webhook_lag_ms: Option<i64>,
    /// When a poll or reconcile last found a change.
    pub last_polled_change_ms: Option<i64>,
    /// Signature refusals recorded after the last verified webhook, and the last one's time.
    pub signature_refusals: u64,
    pub last_signature_refusal_ms: Option<i64>,
    pub oldest_pending_ms: Option<i64>,
    pub dead_letters: u64,
    pub daily_limit: Option<u64>,
    pub daily_remaining: Option<u64>,
    pub rate_limited_total: u64,
    pub last_rate_limited_ms: Option<i64>,
}

/// A rule firing.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: Rule,
    /// What is wrong, with the figures.
    pub summary: String,
}

/// A webhook's delay counts only while it is this recent: a slow webhook an hour ago, with
/// none since, is not a lag now.
const LAG_FRESH_MS: i64 = 5 * 60 * 1000;

/// An expired token is given this long to be refreshed before it is called failing (a
/// refresh happens on the first call after expiry, which may be a poll interval away).
const REFRESH_GRACE_MS: i64 = 10 * 60 * 1000;

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// "850 ms", "12 s", "5 min", "3 h".
pub fn span(ms: i64) -> String {
    match ms.max(0) {
        ms @ ..=999 => format!("{ms} ms"),
        ms @ 1_000..=119_999 => format!("{} s", ms / 1000),
        ms @ 120_000..=7_199_999 => format!("{} min", ms / 60_000),
        ms => format!("{} h", ms / 3_600_000),
    }
}

/// Every rule that fires for the location.
pub fn check(t: &Thresholds, f: &LocationFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut fire = |rule, summary: String| out.push(Finding { rule, summary });
    let now = f.now_ms;

    if let Some(after) = t.webhooks_silent_after.map(ms) {
        let silent = f.last_webhook_ms.is_none_or(|w| now - w > after);
        let polled_since = f
            .last_polled_change_ms
            .is_some_and(|p| now - p <= after && f.last_webhook_ms.is_none_or(|w| p > w));
        if silent && polled_since {
            let last = f
                .last_webhook_ms
                .map_or("none has arrived yet".to_string(), |w| {
                    format!("the last arrived {} ago", span(now - w))
                });
            fire(
                Rule::WebhooksSilent,
                format!(
                    "no webhook for over {} while polling found changes ({last})",
                    span(after)
                ),
            );
        }
    }
    if t.signature_refusals > 0 && f.signature_refusals >= t.signature_refusals {
        fire(
            Rule::SignatureRefusals,
            format!(
                "{} webhooks refused for their signature since the last one that verified",
                f.signature_refusals
            ),
        );
    }
    if let Some(above) = t.lag_above.map(ms) {
        let waiting = f.oldest_pending_ms.map(|t| now - t);
        let delayed = f
            .last_webhook_lag_ms
            .filter(|_| f.last_webhook_ms.is_some_and(|w| now - w <= LAG_FRESH_MS));
        match (waiting, delayed) {
            (Some(w), _) if w > above => fire(
                Rule::Lag,
                format!("the oldest waiting job was queued {} ago", span(w)),
            ),
            (_, Some(d)) if d > above => fire(
                Rule::Lag,
                format!(
                    "the last webhook was applied {} after HighLevel sent it",
                    span(d)
                ),
            ),
            _ => {}
        }
    }
    if f.dead_letters > t.dead_letters_above {
        fire(
            Rule::DeadLetters,
            format!("{} jobs are in the dead-letter queue", f.dead_letters),
        );
    }
    if f.needs_reauth {
        fire(
            Rule::NeedsReauth,
            "HighLevel refused its refresh token; nothing syncs until it is reconnected".into(),
        );
    } else if let Some(exp) = f.oauth_expires_at_ms.filter(|e| now - e > REFRESH_GRACE_MS) {
        fire(
            Rule::RefreshFailing,
            format!("its access token expired {} ago", span(now - exp)),
        );
    }
    let used = match (f.daily_limit, f.daily_remaining) {
        _ if f.budget_exhausted => Some(1.0),
        (Some(limit), Some(left)) if limit > 0 => Some(1.0 - left.min(limit) as f64 / limit as f64),
        _ => None,
    };
    if let Some(used) = used.filter(|u| *u > t.budget_above) {
        fire(
            Rule::Budget,
            format!(
                "{:.0} % of today's requests used{}",
                used * 100.0,
                f.daily_limit
                    .map(|l| format!(" (of {l})"))
                    .unwrap_or_default()
            ),
        );
    }
    if let Some(within) = t.rate_limited_within.map(ms) {
        if let Some(last) = f.last_rate_limited_ms.filter(|l| now - l <= within) {
            fire(
                Rule::RateLimited,
                format!(
                    "the last 429 came {} ago ({} in all)",
                    span(now - last),
                    f.rate_limited_total
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const NOW: i64 = 1_000_000_000;

    fn healthy() -> LocationFacts {
        LocationFacts {
            location: "L1".into(),
            now_ms: NOW,
            oauth_expires_at_ms: Some(NOW + 3_600_000),
            last_webhook_ms: Some(NOW - 1_000),
            last_webhook_lag_ms: Some(200),
            last_polled_change_ms: Some(NOW - 60_000),
            daily_limit: Some(200_000),
            daily_remaining: Some(150_000),
            ..LocationFacts::default()
        }
    }

    fn rules(f: &LocationFacts) -> Vec<Rule> {
        check(&Thresholds::default(), f)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn a_healthy_location_fires_nothing() {
        assert_eq!(rules(&healthy()), []);
    }

    #[test]
    fn each_rule_fires_at_its_threshold_and_not_below() {
        let min = 60_000;
        let silent = LocationFacts {
            last_webhook_ms: Some(NOW - 31 * min),
            last_polled_change_ms: Some(NOW - min),
            ..healthy()
        };
        assert_eq!(rules(&silent), [Rule::WebhooksSilent]);
        // Silent but polls find nothing either: a quiet location, not a broken one.
        let quiet = LocationFacts {
            last_polled_change_ms: Some(NOW - 40 * min),
            ..silent.clone()
        };
        assert_eq!(rules(&quiet), []);

        let refused = |n| LocationFacts {
            signature_refusals: n,
            ..healthy()
        };
        assert_eq!(rules(&refused(2)), []);
        assert_eq!(rules(&refused(3)), [Rule::SignatureRefusals]);

        let waiting = LocationFacts {
            oldest_pending_ms: Some(NOW - 6 * min),
            ..healthy()
        };
        assert_eq!(rules(&waiting), [Rule::Lag]);
        let late = LocationFacts {
            last_webhook_lag_ms: Some(6 * min),
            ..healthy()
        };
        assert_eq!(rules(&late), [Rule::Lag]);
        let late_long_ago = LocationFacts {
            last_webhook_ms: Some(NOW - 20 * min),
            last_polled_change_ms: None,
            ..late
        };
        assert_eq!(rules(&late_long_ago), []);

        let dead = LocationFacts {
            dead_letters: 1,
            ..healthy()
        };
        assert_eq!(rules(&dead), [Rule::DeadLetters]);
        let reauth = LocationFacts {
            needs_reauth: true,
            oauth_expires_at_ms: Some(NOW - 60 * min),
            ..healthy()
        };
        assert_eq!(rules(&reauth), [Rule::NeedsReauth]);
        let expired = LocationFacts {
            oauth_expires_at_ms: Some(NOW - 11 * min),
            ..healthy()
        };
        assert_eq!(rules(&expired), [Rule::RefreshFailing]);
        let just_expired = LocationFacts {
            oauth_expires_at_ms: Some(NOW - 5 * min),
            ..healthy()
        };
        assert_eq!(rules(&just_expired), []);

        let spent = |left| LocationFacts {
            daily_remaining: Some(left),
            ..healthy()
        };
        assert_eq!(rules(&spent(40_001)), []);
        assert_eq!(rules(&spent(39_000)), [Rule::Budget]);
        let exhausted = LocationFacts {
            budget_exhausted: true,
            ..healthy()
        };
        assert_eq!(rules(&exhausted), [Rule::Budget]);

        let limited = |ago| LocationFacts {
            rate_limited_total: 4,
            last_rate_limited_ms: Some(NOW - ago),
            ..healthy()
        };
        assert_eq!(rules(&limited(min)), [Rule::RateLimited]);
        assert_eq!(rules(&limited(16 * min)), []);
    }

    #[test]
    fn rules_switched_off_stay_quiet() {
        let off = Thresholds {
            webhooks_silent_after: None,
            signature_refusals: 0,
            lag_above: None,
            dead_letters_above: u64::MAX,
            budget_above: 1.0,
            rate_limited_within: None,
        };
        let everything = LocationFacts {
            last_webhook_ms: None,
            signature_refusals: 100,
            oldest_pending_ms: Some(NOW - 3_600_000),
            dead_letters: 5,
            daily_remaining: Some(0),
            last_rate_limited_ms: Some(NOW),
            ..healthy()
        };
        assert_eq!(check(&off, &everything), []);
        let d = Thresholds {
            lag_above: Some(Duration::from_secs(1)),
            ..Thresholds::default()
        };
        let f = LocationFacts {
            oldest_pending_ms: Some(NOW - 1_500),
            ..healthy()
        };
        assert_eq!(check(&d, &f)[0].rule, Rule::Lag);
        assert!(
            check(&d, &f)[0].summary.contains("1 s ago"),
            "{:?}",
            check(&d, &f)
        );
    }

    #[test]
    fn names_round_trip() {
        for r in Rule::ALL {
            assert_eq!(Rule::parse(r.name()), Some(r));
        }
    }
}
