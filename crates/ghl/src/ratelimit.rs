//! The client-side limiter: one per location, shared by every task that calls it, so steady
//! traffic never meets a 429.
//!
//! HighLevel counts requests per (app, location) in windows of `X-RateLimit-Interval-Milliseconds`
//! and allows `X-RateLimit-Max` in each. Keeping the send times of the last `max` requests and
//! sending the next only once the oldest is an interval (plus a small margin for network
//! jitter) old means no window of the server's, wherever it starts, can see more than `max`.
//! A GCRA limiter (the `governor` crate) lets a full burst through and then keeps refilling,
//! which overruns a fixed window, and it cannot be resized from response headers at runtime,
//! so this one is written here.
//!
//! Requests of three [`Priority`] classes share a location's budget. A class takes a slot
//! only while no request of a higher class is waiting, so when the window is full a person's
//! click is let out at the next free slot however many backfill requests queued before it.
//! Nothing stops a steady stream of higher-class requests from holding a lower class back:
//! interactive and sync traffic is small beside the budget, and a backfill can wait.

use reqwest::header::HeaderMap;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::GhlError;

/// HighLevel's documented burst limit, used until a response says otherwise.
pub const DEFAULT_MAX: u32 = 100;
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Window {
    max: u32,
    interval: Duration,
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
    daily_remaining: Option<u64>,
    /// `X-RateLimit-Limit-Daily`, once an answer said it.
    daily_limit: Option<u64>,
    daily_seen: Option<chrono::NaiveDate>,
    /// No answer seen yet: the limits are HighLevel's defaults, which a location (or the
    /// sandbox) may have lower. One request goes first to learn them; the rest wait for its
    /// answer (or a short while, should it never come back).
    probe_sent: Option<Instant>,
    learned: bool,
}

/// How long the others wait for the first request's answer before trusting the defaults.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// How long a request held back by a higher class's waiter waits before looking again: the
/// higher one takes the free slot within this (it wakes at the same instant).
const YIELD_WAIT: Duration = Duration::from_millis(2);

/// Which requests go first when a location's budget is short. Ordered: `Bulk < Sync <
/// Interactive`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Backfills and reconciles: everything else goes first.
    Bulk,
    /// Webhook settle reads and polls: the default.
    #[default]
    Sync,
    /// What a person waits on: write-backs of a click in Drive Chat.
    Interactive,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Bulk, Priority::Sync, Priority::Interactive];

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Priority::Bulk => "bulk",
            Priority::Sync => "sync",
            Priority::Interactive => "interactive",
        })
    }
}

/// Counts one waiting request of a class for as long as it waits, including when the waiting
/// future is dropped (a caller's timeout): a count left behind would hold lower classes back
/// for good.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Window {
    fn margin(&self) -> Duration {
        (self.interval / 100).max(Duration::from_millis(50))
    }
}

/// The limiter of one location.
#[derive(Debug)]
pub struct LocationLimiter {
    location: String,
    window: Mutex<Window>,
    /// Requests let out since the limiter was created (every attempt, retries included).
    sent_total: AtomicU64,
    /// 429s HighLevel answered since the limiter was created.
    refused_total: AtomicU64,
    /// Requests waiting in [`LocationLimiter::acquire_with`], per [`Priority`] (by index).
    waiting: [AtomicUsize; 3],
}

/// What a location has spent, read without waiting on the limiter: for progress bars and
/// reports (differences between two readings are what one job spent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Requests sent (every attempt, retries included).
    pub requests: u64,
    /// 429s received.
    pub rate_limited: u64,
}

impl LocationLimiter {
    fn new(location: &str) -> Self {
        LocationLimiter {
            location: location.to_string(),
            window: Mutex::new(Window {
                max: DEFAULT_MAX,
                interval: DEFAULT_INTERVAL,
                sent: VecDeque::new(),
                paused_until: None,
                daily_remaining: None,
                daily_limit: None,
                daily_seen: None,
                probe_sent: None,
                learned: false,
            }),
            sent_total: AtomicU64::new(0),
            refused_total: AtomicU64::new(0),
            waiting: Default::default(),
        }
    }

    /// The location this limiter is for.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Requests sent and 429s received so far.
    pub fn usage(&self) -> Usage {
        Usage {
            requests: self.sent_total.load(Ordering::Relaxed),
            rate_limited: self.refused_total.load(Ordering::Relaxed),
        }
    }

    /// Waits for a slot at [`Priority::Sync`], or says the day's budget is gone.
    pub async fn acquire(&self) -> Result<(), GhlError> {
        self.acquire_with(Priority::default()).await
    }

    /// How many requests of `priority` are waiting for a slot now.
    pub fn waiting(&self, priority: Priority) -> usize {
        self.waiting[priority.index()].load(Ordering::SeqCst)
    }

    /// Whether a request of a class above `priority` is waiting.
    fn outranked(&self, priority: Priority) -> bool {
        self.waiting[priority.index() + 1..]
            .iter()
            .any(|w| w.load(Ordering::SeqCst) > 0)
    }

    /// Waits for a slot, letting every waiting request of a higher class go first, or says
    /// the day's budget is gone.
    pub async fn acquire_with(&self, priority: Priority) -> Result<(), GhlError> {
        let _waiting = Waiting::new(&self.waiting[priority.index()]);
        loop {
            let wait = {
                let mut w = self.window.lock().await;
                let now = Instant::now();
                let today = chrono::Utc::now().date_naive();
                if w.daily_remaining == Some(0) && w.daily_seen == Some(today) {
                    return Err(GhlError::DailyBudgetExhausted {
                        location: self.location.clone(),
                        resets_in: until_midnight_utc(),
                    });
                }
                let horizon = w.interval + w.margin();
                while w
                    .sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= horizon)
                {
                    w.sent.pop_front();
                }
                if !w.learned {
                    match w.probe_sent {
                        None => {
                            w.probe_sent = Some(now);
                            w.sent.push_back(now);
                            self.sent_total.fetch_add(1, Ordering::Relaxed);
                            return Ok(());
                        }
                        Some(t) if now.duration_since(t) < PROBE_WAIT => {
                            let wait = Duration::from_millis(5);
                            drop(w);
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        Some(_) => w.learned = true,
                    }
                }
                match w.paused_until {
                    Some(p) if p > now => p - now,
                    _ if (w.sent.len() as u32) < w.max && self.outranked(priority) => YIELD_WAIT,
                    _ if (w.sent.len() as u32) < w.max => {
                        w.sent.push_back(now);
                        self.sent_total.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    }
                    _ => {
                        let oldest = w.sent.front().copied().unwrap_or(now);
                        (oldest + horizon).saturating_duration_since(now)
                    }
                }
            };
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }

    /// Learns the limits from a response's `X-RateLimit-*` headers.
    pub async fn observe(&self, headers: &HeaderMap) {
        let num = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut w = self.window.lock().await;
        w.learned = true;
        if let Some(max) = num("x-ratelimit-max").filter(|m| *m > 0) {
            w.max = max.min(u32::MAX as u64) as u32;
        }
        // Capped at an hour: a garbled header must not pause a location for days.
        if let Some(ms) = num("x-ratelimit-interval-milliseconds").filter(|m| *m > 0) {
            w.interval = Duration::from_millis(ms.min(3_600_000));
        }
        if let Some(l) = num("x-ratelimit-limit-daily").filter(|l| *l > 0) {
            w.daily_limit = Some(l);
        }
        if let Some(d) = num("x-ratelimit-daily-remaining") {
            w.daily_remaining = Some(d);
            w.daily_seen = Some(chrono::Utc::now().date_naive());
        }
        // Another process spending this location's budget shows up as the server's count
        // running out before ours: wait a whole interval rather than meet a 429.
        if num("x-ratelimit-remaining") == Some(0) && (w.sent.len() as u32) < w.max {
            let until = Instant::now() + w.interval;
            w.paused_until = Some(w.paused_until.map_or(until, |p| p.max(until)));
        }
    }

    /// A 429 pauses this location only, for `retry_after` or one interval.
    pub async fn pause(&self, retry_after: Option<Duration>) {
        self.refused_total.fetch_add(1, Ordering::Relaxed);
        let mut w = self.window.lock().await;
        let d = retry_after.unwrap_or(w.interval);
        let until = Instant::now() + d;
        w.paused_until = Some(w.paused_until.map_or(until, |p| p.max(until)));
    }

    /// Marks the day's budget spent (a 429 that says so).
    pub async fn exhaust_daily(&self) {
        self.refused_total.fetch_add(1, Ordering::Relaxed);
        let mut w = self.window.lock().await;
        w.daily_remaining = Some(0);
        w.daily_seen = Some(chrono::Utc::now().date_naive());
    }

    /// The day's budget as HighLevel last said: (limit, remaining), each `None` until an
    /// answer carried it. Only today's figures: yesterday's remaining says nothing of today.
    pub async fn daily(&self) -> (Option<u64>, Option<u64>) {
        let w = self.window.lock().await;
        if w.daily_seen != Some(chrono::Utc::now().date_naive()) {
            return (w.daily_limit, None);
        }
        (w.daily_limit, w.daily_remaining)
    }

    pub async fn limits(&self) -> (u32, Duration, Option<u64>) {
        let w = self.window.lock().await;
        (w.max, w.interval, w.daily_remaining)
    }
}

pub(crate) fn until_midnight_utc() -> Duration {
    let now = chrono::Utc::now();
    let tomorrow = (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    (tomorrow - now).to_std().unwrap_or_default()
}

/// Every location's limiter, created on first use.
#[derive(Debug, Default)]
pub struct RateLimits {
    locations: std::sync::Mutex<HashMap<String, Arc<LocationLimiter>>>,
}

impl RateLimits {
    /// Every location's limiter created so far (those this process has called).
    pub fn all(&self) -> Vec<Arc<LocationLimiter>> {
        let m = self
            .locations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        m.values().cloned().collect()
    }

    pub fn for_location(&self, location: &str) -> Arc<LocationLimiter> {
        let mut m = self
            .locations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        m.entry(location.to_string())
            .or_insert_with(|| Arc::new(LocationLimiter::new(location)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_max_in_any_window() {
        let l = LocationLimiter::new("loc");
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-max", HeaderValue::from_static("5"));
        h.insert(
            "x-ratelimit-interval-milliseconds",
            HeaderValue::from_static("1000"),
        );
        l.observe(&h).await;
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..20 {
            l.acquire().await.unwrap();
            times.push(Instant::now() - start);
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .filter(|u| **u < *t + Duration::from_millis(1000))
                .count();
            assert!(
                in_window <= 5,
                "{in_window} requests within one interval from {t:?}"
            );
        }
        // 20 requests at 5 per second take a little over 3 intervals, not more.
        assert!(times[19] < Duration::from_millis(3200), "{:?}", times[19]);
    }

    /// A limiter that has learned `max` requests per second.
    async fn learned(max: &'static str) -> Arc<LocationLimiter> {
        let l = Arc::new(LocationLimiter::new("loc"));
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-max", HeaderValue::from_static(max));
        h.insert(
            "x-ratelimit-interval-milliseconds",
            HeaderValue::from_static("1000"),
        );
        l.observe(&h).await;
        l
    }

    /// Queues `n` acquires of `p` one after another (each waiting before the next is queued);
    /// each records its class in `order` when let out.
    async fn queue(
        l: &Arc<LocationLimiter>,
        p: Priority,
        n: usize,
        order: &Arc<std::sync::Mutex<Vec<Priority>>>,
        tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    ) {
        for _ in 0..n {
            let (l, order) = (l.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                l.acquire_with(p).await.expect("slot");
                order.lock().unwrap().push(p);
            }));
            // Let it reach the limiter and start waiting.
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn higher_classes_queued_later_are_let_out_first() {
        let l = learned("2").await;
        l.acquire_with(Priority::Bulk).await.unwrap();
        l.acquire_with(Priority::Bulk).await.unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        queue(&l, Priority::Bulk, 8, &order, &mut tasks).await;
        queue(&l, Priority::Sync, 2, &order, &mut tasks).await;
        queue(&l, Priority::Interactive, 3, &order, &mut tasks).await;
        assert_eq!(l.waiting(Priority::Bulk), 8);
        assert_eq!(l.waiting(Priority::Interactive), 3);
        assert!(order.lock().unwrap().is_empty(), "the window is full");
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        use Priority::*;
        assert_eq!(
            order,
            [vec![Interactive; 3], vec![Sync; 2], vec![Bulk; 8]].concat()
        );
        assert_eq!(Priority::ALL.map(|p| l.waiting(p)), [0, 0, 0]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_higher_class_waits_for_the_window_like_any_other() {
        // Priority orders the queue; it never adds a slot. 2 per second: the 2 Interactive
        // requests after a full window go at the first interval, the Bulk one at the second.
        let l = learned("2").await;
        let start = Instant::now();
        l.acquire_with(Priority::Bulk).await.unwrap();
        l.acquire_with(Priority::Bulk).await.unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        queue(&l, Priority::Bulk, 1, &order, &mut tasks).await;
        queue(&l, Priority::Interactive, 2, &order, &mut tasks).await;
        let times: Vec<Duration> = {
            let mut v = Vec::new();
            for t in tasks {
                t.await.unwrap();
                v.push(Instant::now() - start);
            }
            v
        };
        let bulk_at = times[0];
        assert!(bulk_at >= Duration::from_secs(2), "{times:?}");
        assert!(bulk_at < Duration::from_millis(2200), "{times:?}");
        assert_eq!(
            order.lock().unwrap().clone(),
            [Priority::Interactive, Priority::Interactive, Priority::Bulk]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_gives_up_no_longer_holds_lower_classes_back() {
        let l = learned("1").await;
        l.acquire_with(Priority::Bulk).await.unwrap();
        let gave_up = tokio::time::timeout(
            Duration::from_millis(100),
            l.acquire_with(Priority::Interactive),
        )
        .await;
        assert!(gave_up.is_err(), "the window is full for a second");
        assert_eq!(l.waiting(Priority::Interactive), 0);
        let start = Instant::now();
        l.acquire_with(Priority::Bulk).await.unwrap();
        assert!(Instant::now() - start < Duration::from_millis(1100));
    }

    #[tokio::test]
    async fn an_exhausted_day_is_a_typed_error() {
        let l = LocationLimiter::new("loc");
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-daily-remaining", HeaderValue::from_static("0"));
        l.observe(&h).await;
        assert!(matches!(
            l.acquire().await,
            Err(GhlError::DailyBudgetExhausted { .. })
        ));
    }
}
