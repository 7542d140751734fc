//! What the alert rules look for, with the documented defaults (`drivesync init`'s template
//! is held to these by its tests).

use std::collections::HashMap;
use std::time::Duration;

/// The thresholds of the rules that apply per location; each location may have its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Webhooks silent this long while polls find changes HighLevel sent none for. `None`: off.
    pub webhooks_silent_after: Option<Duration>,
    /// Signature refusals since the location's last verified webhook that raise an alert.
    /// 0: off.
    pub signature_refusals: u64,
    /// How far behind HighLevel (the oldest waiting job, or the last webhook's delay) is too
    /// far. `None`: off.
    pub lag_above: Option<Duration>,
    /// Dead letters above this raise an alert.
    pub dead_letters_above: u64,
    /// The share of HighLevel's daily request budget (0–1) above which an alert is raised.
    pub budget_above: f64,
    /// A 429 seen within this raises an alert; none for this long is a recovery. `None`: off.
    pub rate_limited_within: Option<Duration>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            webhooks_silent_after: Some(Duration::from_secs(30 * 60)),
            signature_refusals: 3,
            lag_above: Some(Duration::from_secs(5 * 60)),
            dead_letters_above: 0,
            budget_above: 0.8,
            rate_limited_within: Some(Duration::from_secs(15 * 60)),
        }
    }
}

/// How the alerts run.
#[derive(Debug, Clone)]
pub struct AlertConfig {
    /// How often the rules are evaluated (by one replica at a time).
    pub evaluate_every: Duration,
    /// A lasting alert is announced again at most this often.
    pub renotify_every: Duration,
    pub thresholds: Thresholds,
    /// Locations with thresholds of their own.
    pub per_location: HashMap<String, Thresholds>,
    /// Names this process in the evaluation lease: host, pid and a random suffix by default.
    pub owner: String,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            evaluate_every: Duration::from_secs(30),
            renotify_every: Duration::from_secs(60 * 60),
            thresholds: Thresholds::default(),
            per_location: HashMap::new(),
            owner: format!(
                "{}-{}-{:08x}-alerts",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into()),
                std::process::id(),
                rand::random::<u32>()
            ),
        }
    }
}

impl AlertConfig {
    pub fn thresholds(&self, location: &str) -> &Thresholds {
        self.per_location.get(location).unwrap_or(&self.thresholds)
    }
}
