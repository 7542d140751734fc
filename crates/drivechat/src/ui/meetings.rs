//! Meetings: a week of appointments by day, each with its appointment notes and the
//! contact's notes from around that time, so the context of a meeting is on one screen.

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Html;
use maud::html;
use serde::Deserialize;

use super::contacts::meeting_block;
use super::flash::Flash;
use super::layout::{self, Nav};
use super::{live_region, self_url};
use crate::reads;
use crate::session::SignedIn;
use crate::time::{self, DAY_MS};
use crate::{zone, Error, Shared};

/// Days shown per page.
const DAYS: u32 = 7;
/// A point inside the previous page's first day, to name that day: a week of days is at
/// least this long across any DST change (whole hours, at most one shift).
const DAYS_MS: i64 = 7 * DAY_MS - 2 * 3_600_000;
/// Appointments shown per page; a busier week continues on the next page.
const LIMIT: u32 = 200;

#[derive(Deserialize, Default)]
pub(crate) struct MeetingsQuery {
    from: Option<String>,
    after: Option<String>,
}

pub(crate) async fn page(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    Query(mq): Query<MeetingsQuery>,
    uri: Uri,
    flash: Flash,
) -> Result<Html<String>, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let now = time::now_ms();
    let tz = ctx.seen.zone;
    // Days are the member's: a meeting at 23:30 in New York is on that day for them.
    let from = match mq.from.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => zone::parse_day(d, tz).ok_or_else(|| {
            Error::BadRequest(format!("from must be a date as YYYY-MM-DD, not {d:?}"))
        })?,
        None => zone::day_start(now, tz),
    };
    let before = zone::days_later(from, tz, DAYS);
    let after = mq.after.clone().filter(|s| !s.is_empty());
    let page = reads::meetings(&app, ctx.loc(), from, before, after, LIMIT).await?;
    let path = format!("{}/meetings", ctx.base());
    let here = self_url(&uri);
    let mut days: Vec<(i64, Vec<&reads::Meeting>)> = Vec::new();
    for m in &page.items {
        let d = zone::day_start(m.appointment.due_ms.unwrap_or(from), tz);
        match days.last_mut() {
            Some((day, list)) if *day == d => list.push(m),
            _ => days.push((d, vec![m])),
        }
    }
    let list = html! {
        div #meetings data-testid="meetings" {
            @for (d, list) in &days {
                section.day data-day=(zone::iso_day(*d, tz)) {
                    h2 { (ctx.seen.day(*d, now)) @if *d == zone::day_start(now, tz) { " · today" } }
                    div.panel.stack {
                        @for m in list { (meeting_block(&ctx.seen, m, true, now, &app.config.highlevel_app_url)) }
                    }
                }
            }
            @if days.is_empty() { div.panel { p.empty { "No meetings these days." } } }
            @if let Some(next) = &page.next {
                nav.pager {
                    a.btn.ghost #next-page href=(format!("{path}?from={}&after={}", zone::iso_day(from, tz), next)) { "More this week →" }
                }
            }
        }
    };
    let content = html! {
        div.page-head {
            div {
                h1 { "Meetings" }
                p { (ctx.seen.day(from, now)) " – " (ctx.seen.day(zone::days_later(from, tz, DAYS - 1), now)) " · times in " span data-testid="zone" { (ctx.seen.zone_name()) } }
            }
            div.row {
                a.btn.ghost #prev-week href=(format!("{path}?from={}", zone::iso_day(from - DAYS_MS, tz))) { "← Earlier" }
                a.btn.ghost #this-week href=(path.clone()) { "Today" }
                a.btn.ghost #next-week href=(format!("{path}?from={}", zone::iso_day(before, tz))) { "Later →" }
            }
        }
        (live_region("meetings-region", &here, None, list))
    };
    Ok(layout::page(
        &ctx,
        Nav::Meetings,
        "Meetings",
        &flash,
        content,
    ))
}
