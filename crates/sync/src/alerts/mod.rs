//! Alerts (#15): rules evaluated every `evaluate_every` over what the store holds — webhooks
//! silent while polls find changes, signature refusals, lag, dead letters, a location to
//! reconnect or a token not refreshed, the daily budget, 429s, the store refusing writes —
//! each announced once in `#alerts` of the workspace it is about and to an optional outbound
//! webhook ([`notify`]), with what to do, again at most every `renotify_every` while it lasts,
//! and once when it recovers.
//!
//! No storm, however many replicas: the evaluation runs in the replica holding the store's
//! `alerts` lease ([`store::Store::try_lease`]), and every announcement follows a conditional
//! write of the open alert ([`store::alerts`]), so of two evaluators racing one announces.
//! Every replica writes what its HighLevel client saw of the request budget and of 429s
//! ([`store::Store::add_rate_usage`]) before looking at the lease, so the one evaluating sees
//! them all.
//!
//! The store refusing writes is the one alert that cannot be stored (or posted in Drive
//! Chat): the replica that was evaluating, when its lease write fails, keeps it in memory,
//! says it to the outbound webhook, and posts the recovery in `#alerts` once writes work
//! again. (Should that replica die while the store refuses writes, no other one says it.)

pub mod config;
pub mod facts;
pub mod notify;
pub mod rules;

use std::collections::{HashMap, HashSet};
use store::alerts::INSTALLATION;
use store::{RateUsage, Store, StoreError};
use tokio::task::JoinHandle;

pub use config::{AlertConfig, Thresholds};
pub use notify::{Announcement, Notice, Notifier};
pub use rules::{Finding, LocationFacts, Rule};

/// The store lease the evaluating replica holds.
pub const LEASE: &str = "alerts";

/// The running alerts of this process.
#[derive(Debug)]
pub struct Alerts {
    task: JoinHandle<()>,
}

impl Alerts {
    /// Starts evaluating on the current Tokio runtime. `client` is the engine's (its limiters
    /// saw the budget and the 429s).
    pub fn start(
        store: Store,
        client: ghl::GhlClient,
        config: AlertConfig,
        outbound: Option<outbound::Sender>,
    ) -> Alerts {
        let notifier = Notifier::new(store.clone(), outbound);
        let evaluator = Evaluator {
            store,
            client,
            config,
            notifier,
            reported_429s: HashMap::new(),
            store_fault: None,
            evaluating: false,
        };
        Alerts {
            task: tokio::spawn(evaluator.run()),
        }
    }

    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl Drop for Alerts {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The store refusing writes, as this process saw it.
struct StoreFault {
    since_ms: i64,
    notified: tokio::time::Instant,
    number: i64,
    error: String,
}

struct Evaluator {
    store: Store,
    client: ghl::GhlClient,
    config: AlertConfig,
    notifier: Notifier,
    /// Per location, the limiter's 429 total already written to the store.
    reported_429s: HashMap<String, u64>,
    store_fault: Option<StoreFault>,
    /// Whether this replica held the lease at its last successful try.
    evaluating: bool,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Evaluator {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(self.config.evaluate_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.tick().await;
        }
    }

    async fn tick(&mut self) {
        if let Err(e) = self.write_usage().await {
            tracing::debug!(error = %e, "writing request budget figures failed");
        }
        // The lease is taken longer than an interval, so its holder keeps it from tick to
        // tick and another replica takes over within a few intervals of it stopping.
        let ttl = self.config.evaluate_every.saturating_mul(3);
        match self.store.try_lease(LEASE, &self.config.owner, ttl).await {
            // Said by the replica that was evaluating, so replicas do not all say it.
            Err(e @ StoreError::Database { .. }) if self.evaluating => {
                self.store_refuses(e.to_string()).await
            }
            Err(e) => tracing::debug!(error = %e, "alerts: taking the evaluation lease failed"),
            Ok(held) => {
                self.evaluating = held;
                self.store_recovered().await;
                if held {
                    if let Err(e) = self.evaluate().await {
                        tracing::warn!(error = %e, "alerts: evaluating the rules failed; trying again next time");
                    }
                }
            }
        }
    }

    /// Writes the 429s this process saw since its last call and the daily budget its last
    /// answers carried, per location.
    async fn write_usage(&mut self) -> Result<(), StoreError> {
        for limiter in self.client.limits().all() {
            let location = limiter.location().to_string();
            let total = limiter.usage().rate_limited;
            let before = self.reported_429s.get(&location).copied().unwrap_or(0);
            let (limit, remaining) = limiter.daily().await;
            if total == before && remaining.is_none() {
                continue;
            }
            let now = now_ms();
            let new_429s = total.saturating_sub(before);
            let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            self.store
                .add_rate_usage(&RateUsage {
                    location_id: location.clone(),
                    daily_limit: limit.map(as_i64),
                    daily_remaining: remaining.map(as_i64),
                    daily_seen_ms: remaining.map(|_| now),
                    rate_limited: as_i64(new_429s),
                    last_rate_limited_ms: (new_429s > 0).then_some(now),
                })
                .await?;
            self.reported_429s.insert(location, total);
        }
        Ok(())
    }

    /// Every rule over every location: new alerts opened, lasting ones re-announced when
    /// due, those no longer firing closed.
    async fn evaluate(&mut self) -> Result<(), StoreError> {
        let now = now_ms();
        let (locations, newest_webhook) = facts::gather(&self.store, now).await?;
        let mut firing: Vec<(String, Finding)> = Vec::new();
        for f in &locations {
            for finding in rules::check(self.config.thresholds(&f.location), f) {
                firing.push((f.location.clone(), finding));
            }
        }
        if let Some(f) = self.unattributed_refusals(newest_webhook).await? {
            firing.push((INSTALLATION.to_string(), f));
        }
        let due = now.saturating_sub(
            i64::try_from(self.config.renotify_every.as_millis()).unwrap_or(i64::MAX),
        );
        let mut open: HashMap<(String, String), store::OpenAlert> = self
            .store
            .open_alerts()
            .await?
            .into_iter()
            .map(|a| ((a.rule.clone(), a.scope.clone()), a))
            .collect();
        let mut seen = HashSet::new();
        for (scope, finding) in &firing {
            let rule = finding.rule.name();
            seen.insert((rule.to_string(), scope.clone()));
            let existing = open.remove(&(rule.to_string(), scope.clone()));
            let announcement = match existing {
                None if self.store.open_alert(rule, scope, &finding.summary).await? => {
                    tracing::warn!(rule, location = %scope, summary = %finding.summary, "alert opened");
                    Some((Announcement::Opened, now, 1))
                }
                Some(a)
                    if self
                        .store
                        .renotify_alert(rule, scope, &finding.summary, due)
                        .await? =>
                {
                    Some((Announcement::Reminder, a.opened_ms, a.notifications + 1))
                }
                _ => None,
            };
            if let Some((announcement, opened_ms, number)) = announcement {
                let notice = Notice {
                    announcement,
                    rule: finding.rule,
                    scope: scope.clone(),
                    summary: finding.summary.clone(),
                    opened_ms,
                    number,
                    now_ms: now,
                };
                if let Err(e) = self.notifier.say(&notice, true).await {
                    if announcement == Announcement::Opened {
                        // Not said: closed again, so the next evaluation opens and says it.
                        let _ = self.store.close_alert(rule, scope).await;
                    }
                    return Err(e);
                }
            }
        }
        for ((rule, scope), _) in open {
            if seen.contains(&(rule.clone(), scope.clone())) {
                continue;
            }
            let Some(closed) = self.store.close_alert(&rule, &scope).await? else {
                continue;
            };
            let Some(r) = Rule::parse(&rule) else {
                continue;
            };
            tracing::info!(rule, location = %scope, "alert recovered");
            self.notifier
                .say(
                    &Notice {
                        announcement: Announcement::Recovered,
                        rule: r,
                        scope,
                        summary: closed.summary,
                        opened_ms: closed.opened_ms,
                        number: closed.notifications + 1,
                        now_ms: now,
                    },
                    true,
                )
                .await?;
        }
        Ok(())
    }

    /// Signature refusals of webhooks that name no location known to deliver (a new install
    /// whose key is wrong refuses every webhook this way), newer than any verified webhook.
    async fn unattributed_refusals(
        &self,
        newest_webhook: Option<i64>,
    ) -> Result<Option<Finding>, StoreError> {
        let threshold = self.config.thresholds.signature_refusals;
        if threshold == 0 {
            return Ok(None);
        }
        let all = self.store.webhook_refusals().await?;
        let (n, _) = facts::signature_refusals(&all, store::refusals::UNATTRIBUTED, newest_webhook);
        Ok((n >= threshold).then(|| Finding {
            rule: Rule::SignatureRefusals,
            summary: format!(
                "{n} webhooks refused for their signature, naming no location that delivers \
                 here, since the last webhook that verified"
            ),
        }))
    }

    /// The store failed a write: said to the outbound webhook now and again every
    /// `renotify_every` (Drive Chat is in the store, so it hears of it on recovery).
    async fn store_refuses(&mut self, error: String) {
        let now = now_ms();
        let renotify = self.config.renotify_every;
        let (number, opened_ms) = match &mut self.store_fault {
            None => {
                tracing::error!(error = %error, "alert: the store refuses writes");
                self.store_fault = Some(StoreFault {
                    since_ms: now,
                    notified: tokio::time::Instant::now(),
                    number: 1,
                    error: error.clone(),
                });
                (1, now)
            }
            Some(f) if f.notified.elapsed() >= renotify => {
                f.notified = tokio::time::Instant::now();
                f.number += 1;
                f.error = error.clone();
                (f.number, f.since_ms)
            }
            Some(_) => return,
        };
        let notice = Notice {
            announcement: if number == 1 {
                Announcement::Opened
            } else {
                Announcement::Reminder
            },
            rule: Rule::StoreWrites,
            scope: INSTALLATION.to_string(),
            summary: store_summary(&error),
            opened_ms,
            number,
            now_ms: now,
        };
        let _ = self.notifier.say(&notice, false).await;
    }

    async fn store_recovered(&mut self) {
        let Some(fault) = self.store_fault.take() else {
            return;
        };
        tracing::info!("alert recovered: the store takes writes again");
        let notice = Notice {
            announcement: Announcement::Recovered,
            rule: Rule::StoreWrites,
            scope: INSTALLATION.to_string(),
            summary: store_summary(&fault.error),
            opened_ms: fault.since_ms,
            number: fault.number + 1,
            now_ms: now_ms(),
        };
        if let Err(e) = self.notifier.say(&notice, true).await {
            tracing::warn!(error = %e, "alerts: posting the store's recovery in #alerts failed");
        }
    }
}

fn store_summary(error: &str) -> String {
    format!("a write failed: {error}")
}
