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
use crate::{Error, Shared};

/// Days shown per page.
const DAYS: i64 = 7;
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
    let from = match mq.from.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => time::parse_day(d).ok_or_else(|| {
            Error::BadRequest(format!("from must be a date as YYYY-MM-DD, not {d:?}"))
        })?,
        None => time::day_start(now),
    };
    let before = from + DAYS * DAY_MS;
    let after = mq.after.clone().filter(|s| !s.is_empty());
    let page = reads::meetings(&app, ctx.loc(), from, before, after, LIMIT).await?;
    let path = format!("{}/meetings", ctx.base());
    let here = self_url(&uri);
    let mut days: Vec<(i64, Vec<&reads::Meeting>)> = Vec::new();
    for m in &page.items {
        let d = time::day_start(m.appointment.due_ms.unwrap_or(from));
        match days.last_mut() {
            Some((day, list)) if *day == d => list.push(m),
            _ => days.push((d, vec![m])),
        }
    }
    let list = html! {
        div #meetings data-testid="meetings" {
            @for (d, list) in &days {
                section.day data-day=(time::iso_day(*d)) {
                    h2 { (time::day(*d)) @if *d == time::day_start(now) { " · today" } }
                    div.panel.stack {
                        @for m in list { (meeting_block(m, true)) }
                    }
                }
            }
            @if days.is_empty() { div.panel { p.empty { "No meetings these days." } } }
            @if let Some(next) = &page.next {
                nav.pager {
                    a.btn.ghost #next-page href=(format!("{path}?from={}&after={}", time::iso_day(from), next)) { "More this week →" }
                }
            }
        }
    };
    let content = html! {
        div.page-head {
            div {
                h1 { "Meetings" }
                p { (time::day(from)) " – " (time::day(before - DAY_MS)) " · times in UTC" }
            }
            div.row {
                a.btn.ghost #prev-week href=(format!("{path}?from={}", time::iso_day(from - DAYS * DAY_MS))) { "← Earlier" }
                a.btn.ghost #this-week href=(path.clone()) { "Today" }
                a.btn.ghost #next-week href=(format!("{path}?from={}", time::iso_day(before))) { "Later →" }
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
