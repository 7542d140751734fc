//! The dashboard for admins (`/w/{ws}/dashboard`): how the workspace's location has been
//! syncing over the last 24 hours, from the per-minute samples the sync engine keeps
//! ([`store::MetricSample`]) — lag, webhooks per minute, HighLevel's daily budget, webhook
//! refusals by reason, the queue and its dead letters — drawn as charts on the server; the
//! recent errors with HighLevel's traceIds; the alerts open now and the latest messages of #alerts.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::Html;
use maud::{html, Markup};
use store::audit::{AuditQuery, AuditScope, Outcome};
use store::{Channel, MetricSample};

use super::ago::ago;
use super::chart::{line_chart, Series};
use super::components;
use super::flash::Flash;
use super::layout::{self, Nav};
use crate::session::SignedIn;
use crate::{time, Error, Shared};

const WINDOW_MS: i64 = 24 * 3600 * 1000;
const MINUTE_MS: i64 = 60_000;
/// Errors and #alerts messages shown.
const RECENT: usize = 8;

pub(crate) async fn page(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    flash: Flash,
) -> Result<Html<String>, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let now = time::now_ms();
    let to = now - now.rem_euclid(MINUTE_MS);
    let from = to - WINDOW_MS;
    let samples = app.store.metric_samples(ctx.loc(), from).await?;
    let errors = recent_errors(&app, ctx.loc()).await?;
    let alerts = app
        .store
        .messages_before(ctx.loc(), Some(&Channel::Alerts), None, RECENT as u32)
        .await?;
    // The alerts open now on this location or on the whole installation (the rules' own rows).
    let open: Vec<store::OpenAlert> = app
        .store
        .open_alerts()
        .await?
        .into_iter()
        .filter(|a| a.scope == ctx.loc() || a.scope == store::alerts::INSTALLATION)
        .collect();
    let charts = charts(&samples, from, to);
    let content = html! {
        div.page-head {
            div {
                h1 { "Dashboard" }
                p { (ctx.ws.name) " · HighLevel location " code { (ctx.ws.location_id) } " · the last 24 hours, a sample a minute" }
            }
        }
        @if samples.is_empty() {
            div.panel.warning #no-samples { p { "No figures yet: drivesync records them once a minute while " code { "drivesync serve" } " runs." } }
        }
        div.charts #charts { @for c in charts { div.panel { (c) } } }
        div.grid {
            div.panel #recent-errors data-testid="recent-errors" {
                h2 { "Recent errors" }
                ul.feed {
                    @for e in &errors {
                        li.entry {
                            div.entry-body {
                                div { (e.what) }
                                @if let Some(t) = &e.trace_id { div.sub { "HighLevel traceId " code.trace-id { (t) } } }
                                div.meta { (ago(&ctx.seen, e.at_ms, now)) }
                            }
                        }
                    }
                    @if errors.is_empty() { li.empty { "No errors." } }
                }
                p.sub { a href=(format!("{}/audit?outcome=refused", ctx.base())) { "Every refusal in the audit trail →" } }
            }
            div.panel #open-alerts data-testid="open-alerts" {
                h2 { "Open alerts" }
                ul.feed #open-alert-list {
                    @for a in &open {
                        li.entry data-rule=(a.rule) {
                            div.entry-body {
                                div { (a.summary) }
                                div.meta {
                                    @if a.scope == store::alerts::INSTALLATION { "Whole installation · " }
                                    "open since " (ago(&ctx.seen, a.opened_ms, now))
                                    " · announced " (a.notifications) @if a.notifications == 1 { " time" } @else { " times" }
                                }
                            }
                        }
                    }
                    @if open.is_empty() { li.empty { "No alert is open." } }
                }
                h2 { "Latest in #alerts" }
                ul.feed {
                    @for m in &alerts { (components::message_item(&ctx.seen, m, now)) }
                    @if alerts.is_empty() { li.empty { "Nothing in #alerts." } }
                }
                p.sub { a href=(format!("{}/alerts", ctx.base())) { "Open #alerts →" } }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Nav::Dashboard,
        "Dashboard",
        &flash,
        content,
    ))
}

/// The charts of `samples` (oldest first) from `from` to `to`.
fn charts(samples: &[MetricSample], from: i64, to: i64) -> Vec<Markup> {
    let series = |name: &str, f: &dyn Fn(&MetricSample) -> Option<f64>| Series {
        name: name.into(),
        points: samples.iter().map(|s| (s.minute_ms, f(s))).collect(),
    };
    let reasons: BTreeSet<&String> = samples.iter().flat_map(|s| s.refusals.keys()).collect();
    // Totals are stored; each minute shows how many were added since the one before.
    let refusals: Vec<Series> = reasons
        .into_iter()
        .map(|reason| Series {
            name: reason.clone(),
            points: samples
                .windows(2)
                .map(|w| {
                    let at = |s: &MetricSample| s.refusals.get(reason).copied().unwrap_or(0);
                    (w[1].minute_ms, Some((at(&w[1]) - at(&w[0])).max(0) as f64))
                })
                .collect(),
        })
        .collect();
    vec![
        line_chart(
            "chart-lag",
            "Lag: a webhook applied after HighLevel sent it (seconds)",
            " s",
            from,
            to,
            &[series("lag", &|s| s.lag_ms.map(|l| l as f64 / 1000.0))],
        ),
        line_chart(
            "chart-events",
            "Webhooks received per minute",
            "/min",
            from,
            to,
            &[series("webhooks", &|s| Some(s.events as f64))],
        ),
        line_chart(
            "chart-budget",
            "HighLevel's daily request budget left (as HighLevel last said)",
            "",
            from,
            to,
            &[series("requests left", &|s| {
                s.budget_remaining.map(|b| b as f64)
            })],
        ),
        line_chart(
            "chart-refusals",
            "Webhooks refused per minute, by reason",
            "/min",
            from,
            to,
            &refusals,
        ),
        line_chart(
            "chart-queue",
            "Queue depth",
            "",
            from,
            to,
            &[
                series("pending", &|s| Some(s.queue_pending as f64)),
                series("running", &|s| Some(s.queue_running as f64)),
            ],
        ),
        line_chart(
            "chart-dead",
            "Dead letters",
            "",
            from,
            to,
            &[series("dead letters", &|s| Some(s.dead_letters as f64))],
        ),
    ]
}

/// An error worth an admin's look.
struct RecentError {
    at_ms: i64,
    what: String,
    trace_id: Option<String>,
}

/// The location's latest write-backs HighLevel refused or that failed, and its latest dead
/// letters, newest first, with HighLevel's traceId where one was given.
async fn recent_errors(app: &Shared, loc: &str) -> Result<Vec<RecentError>, Error> {
    let mut out = Vec::new();
    for outcome in [Outcome::Refused, Outcome::Failed] {
        let page = app
            .store
            .audit_page(&AuditQuery {
                scope: AuditScope {
                    locations: vec![loc.to_string()],
                    instance: false,
                },
                outcome: Some(outcome),
                limit: RECENT as u32,
                ..AuditQuery::default()
            })
            .await?;
        out.extend(page.entries.into_iter().map(|e| RecentError {
            at_ms: e.at_ms,
            what: format!(
                "{} by {}: {}",
                e.kind,
                e.actor_name,
                e.message.unwrap_or_else(|| outcome.as_str().into())
            ),
            trace_id: e.trace_id,
        }));
    }
    let dead = app.store.dead_jobs(Some(loc), 1000).await?;
    out.extend(dead.into_iter().rev().take(RECENT).map(|j| {
        let error = j.last_error.unwrap_or_default();
        RecentError {
            at_ms: j.updated_at_ms,
            trace_id: trace_in(&error),
            what: format!("dead letter {} ({}): {error}", j.id, j.kind),
        }
    }));
    out.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
    out.truncate(RECENT);
    Ok(out)
}

/// The traceId a HighLevel error message carries ("… (traceId abc-123)").
fn trace_in(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("(traceId ")?;
    let id: String = rest.chars().take_while(|c| *c != ')').collect();
    Some(id).filter(|i| !i.is_empty() && !i.contains(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_id_is_read_from_an_error() {
        assert_eq!(
            trace_in("HighLevel answered 502 (server error) after 5 attempts (traceId 9f-1)"),
            Some("9f-1".into())
        );
        assert_eq!(trace_in("no trace"), None);
    }

    #[test]
    fn refusals_are_drawn_per_minute_from_totals() {
        let at = |m: i64, n: i64| MetricSample {
            minute_ms: m * MINUTE_MS,
            refusals: [("bad_signature".to_string(), n)].into(),
            ..MetricSample::default()
        };
        let html = charts(&[at(1, 10), at(2, 13), at(3, 13)], 0, 4 * MINUTE_MS)[3]
            .clone()
            .into_string();
        assert!(
            html.contains("bad_signature: latest 0/min, peak 3/min"),
            "{html}"
        );
    }
}
