//! HighLevel's rate limits per (app, location): a burst of `burst` requests per `interval`
//! and a daily cap, reported on every response in the `X-RateLimit-*` headers.
//!
//! A fixed window that opens at the first request after the previous one closed: the headers
//! must report an exact remaining count and a reset, which is what HighLevel's headers describe
//! (a GCRA limiter such as `governor` has no such count to report).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::RateLimitConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Burst,
    Daily,
}

#[derive(Debug, Clone, Copy)]
pub struct Decision {
    pub refused: Option<Refusal>,
    pub max: u32,
    pub remaining: u32,
    pub interval_ms: u64,
    pub daily_limit: u64,
    pub daily_remaining: u64,
    /// Time until the burst window resets.
    pub reset_in: Duration,
}

#[derive(Debug)]
struct Bucket {
    window_start: Instant,
    count: u32,
    day: i64,
    day_count: u64,
}

pub struct RateLimiter {
    pub config: RateLimitConfig,
    buckets: HashMap<(String, String), Bucket>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config,
            buckets: HashMap::new(),
        }
    }

    /// Counts one request of `app` on `location` made at `now` on UTC day `day`.
    pub fn check(&mut self, app: &str, location: &str, now: Instant, day: i64) -> Decision {
        let cfg = self.config;
        let b = self
            .buckets
            .entry((app.to_string(), location.to_string()))
            .or_insert(Bucket {
                window_start: now,
                count: 0,
                day,
                day_count: 0,
            });
        if now.duration_since(b.window_start) >= cfg.interval {
            b.window_start = now;
            b.count = 0;
        }
        if b.day != day {
            b.day = day;
            b.day_count = 0;
        }
        let refused = if !cfg.enabled {
            None
        } else if b.day_count >= cfg.daily {
            Some(Refusal::Daily)
        } else if b.count >= cfg.burst {
            Some(Refusal::Burst)
        } else {
            None
        };
        if refused.is_none() {
            b.count += 1;
            b.day_count += 1;
        }
        Decision {
            refused,
            max: cfg.burst,
            remaining: cfg.burst.saturating_sub(b.count),
            interval_ms: cfg.interval.as_millis() as u64,
            daily_limit: cfg.daily,
            daily_remaining: cfg.daily.saturating_sub(b.day_count),
            reset_in: cfg
                .interval
                .saturating_sub(now.duration_since(b.window_start)),
        }
    }

    pub fn reset(&mut self) {
        self.buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, daily: u64) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            burst,
            interval: Duration::from_secs(10),
            daily,
            enabled: true,
        })
    }

    #[test]
    fn counts_down_refuses_and_resets_after_the_interval() {
        let mut l = limiter(3, 100);
        let t0 = Instant::now();
        let rem: Vec<u32> = (0..3)
            .map(|_| l.check("app", "loc", t0, 1).remaining)
            .collect();
        assert_eq!(rem, vec![2, 1, 0]);
        let d = l.check("app", "loc", t0, 1);
        assert_eq!(d.refused, Some(Refusal::Burst));
        let d = l.check("app", "loc", t0 + Duration::from_secs(10), 1);
        assert_eq!((d.refused, d.remaining), (None, 2));
    }

    #[test]
    fn locations_and_apps_have_their_own_budgets() {
        let mut l = limiter(1, 100);
        let t0 = Instant::now();
        assert!(l.check("app", "a", t0, 1).refused.is_none());
        assert!(l.check("app", "a", t0, 1).refused.is_some());
        assert!(l.check("app", "b", t0, 1).refused.is_none());
        assert!(l.check("other", "a", t0, 1).refused.is_none());
    }

    #[test]
    fn daily_cap_refuses_until_the_next_day() {
        let mut l = limiter(100, 2);
        let t0 = Instant::now();
        l.check("app", "a", t0, 1);
        let d = l.check("app", "a", t0, 1);
        assert_eq!(d.daily_remaining, 0);
        assert_eq!(l.check("app", "a", t0, 1).refused, Some(Refusal::Daily));
        assert_eq!(l.check("app", "a", t0, 2).refused, None);
    }
}
