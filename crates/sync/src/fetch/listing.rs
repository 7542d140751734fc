//! Location-wide listings: every task of a location through task search, every appointment
//! through its calendars' events — instead of three requests under each contact.
//!
//! An import or a reconcile used to read each contact's tasks, notes and appointments: 3.2
//! requests per contact on the sandbox's data, which at HighLevel's 200,000 requests a day
//! per location made a reconcile of a 70,000-contact location impossible daily. HighLevel
//! lists tasks per location (`POST /locations/{id}/tasks/search`, paged by `skip`/`limit`)
//! and appointments per calendar (`GET /calendars/events`, by time range); only notes and
//! appointment notes have no listing wider than their parent, so they stay one request each.
//!
//! Pages are read one after another, each converged before the next is asked for, so memory
//! holds one page. Each record carries the time its page was requested (`read_at_ms`), which
//! is what [`crate::converge::apply_read`] needs to know whether the read saw a write.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use store::Record;

use crate::error::SyncError;
use crate::records;

/// Tasks per task-search page (the largest HighLevel is known to answer; see the README).
pub const TASK_PAGE: u32 = 100;

/// Which appointments a calendar walk reads: HighLevel lists events only inside a time range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppointmentWindow {
    /// How far back from now.
    pub past: Duration,
    /// How far ahead of now.
    pub future: Duration,
    /// One request covers this much of the range (HighLevel does not page events, so a
    /// bounded range keeps each answer small).
    pub step: Duration,
}

impl Default for AppointmentWindow {
    fn default() -> Self {
        AppointmentWindow {
            past: Duration::from_secs(365 * 86_400),
            future: Duration::from_secs(365 * 86_400),
            step: Duration::from_secs(92 * 86_400),
        }
    }
}

/// One page of records and when it was requested.
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<Record>,
    pub read_at_ms: i64,
    /// Task pages: the offset the next page starts at (a resumable position).
    pub next_skip: u32,
    /// The last page of its listing.
    pub last: bool,
}

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Every task of the location from offset `skip` (`completed` filters: `Some(false)` only
/// open ones), page by page: `f` gets each page before the next is read.
pub async fn for_each_task_page<F, Fut>(
    handle: &ghl::api::Location,
    completed: Option<bool>,
    mut skip: u32,
    mut f: F,
) -> Result<u64, SyncError>
where
    F: FnMut(Page) -> Fut,
    Fut: std::future::Future<Output = Result<(), SyncError>>,
{
    let location = handle.id().to_string();
    let mut seen = 0u64;
    loop {
        let mut req = ghl::api::TaskSearchRequest::new()
            .skip(skip)
            .limit(TASK_PAGE);
        if let Some(c) = completed {
            req = req.completed(c);
        }
        let read_at_ms = now_ms();
        let tasks = handle.search_tasks(&req).await?;
        let n = tasks.len() as u32;
        let records = tasks
            .iter()
            .filter_map(|t| {
                let v = json(t);
                let contact = t.contact_id.clone();
                let fallback = records::time_ms(&v, "dateAdded").unwrap_or(0);
                records::task(&location, contact.as_deref(), v, fallback)
            })
            .collect::<Vec<_>>();
        seen += records.len() as u64;
        skip += n;
        let last = n < TASK_PAGE;
        f(Page {
            records,
            read_at_ms,
            next_skip: skip,
            last,
        })
        .await?;
        if last {
            return Ok(seen);
        }
    }
}

/// Which location-wide listings the token may use. Connections made before drivesync asked
/// for `locations/tasks.readonly` and `calendars.readonly` lack them; their walks read tasks
/// and appointments under each contact instead, as they always did, until the location is
/// reconnected with the scopes (`drivesync status` names them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listings {
    pub task_search: bool,
    /// The location's calendar ids, when they may be listed.
    pub calendars: Option<Vec<String>>,
}

impl Listings {
    /// Asks HighLevel: one task-search page of one task and the calendar list (a scope the
    /// client knows is missing costs no request).
    pub async fn probe(handle: &ghl::api::Location) -> Result<Listings, SyncError> {
        let req = ghl::api::TaskSearchRequest::new().skip(0).limit(1);
        let task_search = match handle.search_tasks(&req).await {
            Ok(_) => true,
            Err(ghl::GhlError::ScopeMissing { scope, .. }) => {
                tracing::info!(
                    location = handle.id(),
                    scope,
                    "task search not granted: tasks are read contact by contact"
                );
                false
            }
            Err(e) => return Err(e.into()),
        };
        let calendars = match handle.calendars().await {
            Ok(c) => Some(c.into_iter().map(|c| c.id).collect()),
            Err(ghl::GhlError::ScopeMissing { scope, .. }) => {
                tracing::info!(
                    location = handle.id(),
                    scope,
                    "calendars not listable: appointments are read contact by contact"
                );
                None
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Listings {
            task_search,
            calendars,
        })
    }

    /// What must still be read under each contact.
    pub fn per_contact_parts(&self) -> super::Parts {
        super::Parts {
            tasks: !self.task_search,
            notes: true,
            appointments: self.calendars.is_none(),
            appointment_notes: self.calendars.is_none(),
        }
    }
}

/// Every appointment of `calendars` inside `window`, a calendar and a step at a time: `f`
/// gets each page (an appointment met twice — it spans two steps — only once).
pub async fn for_each_appointment_page<F, Fut>(
    handle: &ghl::api::Location,
    calendars: &[String],
    window: AppointmentWindow,
    mut f: F,
) -> Result<u64, SyncError>
where
    F: FnMut(Page) -> Fut,
    Fut: std::future::Future<Output = Result<(), SyncError>>,
{
    let location = handle.id().to_string();
    let now = chrono::Utc::now();
    let start = now - chrono::Duration::from_std(window.past).unwrap_or_default();
    let end = now + chrono::Duration::from_std(window.future).unwrap_or_default();
    let step = chrono::Duration::from_std(window.step.max(Duration::from_secs(86_400)))
        .unwrap_or(chrono::Duration::days(1));
    let mut seen_ids = HashSet::new();
    let mut seen = 0u64;
    for calendar in calendars {
        let mut from = start;
        while from < end {
            let to = (from + step).min(end);
            let q = ghl::api::EventsQuery {
                start: Some(from),
                end: Some(to),
                calendar_id: Some(calendar.clone()),
                ..ghl::api::EventsQuery::default()
            };
            let read_at_ms = now_ms();
            let events = handle.calendar_events(&q).await?;
            let records = events
                .iter()
                .filter(|a| seen_ids.insert(a.id.clone()))
                .filter_map(|a| {
                    let v = json(a);
                    let fallback = records::time_ms(&v, "dateAdded").unwrap_or(0);
                    records::appointment(&location, v, fallback)
                })
                .collect::<Vec<_>>();
            seen += records.len() as u64;
            from = to;
            f(Page {
                records,
                read_at_ms,
                next_skip: 0,
                last: from >= end,
            })
            .await?;
        }
    }
    Ok(seen)
}

/// HighLevel's documented daily request budget per (app, location).
pub const DAILY_BUDGET: u64 = 200_000;

/// What a full reconcile of a location holding these records costs, in requests, before one
/// has been measured: a search page per 100 contacts, a notes read per contact, a task page
/// per 100 tasks, the calendar list and a request per calendar and window step (counted as
/// eight), and a notes read per appointment.
pub fn reconcile_cost_estimate(contacts: u64, tasks: u64, appointments: u64) -> u64 {
    contacts.div_ceil(100) + contacts + tasks.div_ceil(u64::from(TASK_PAGE)) + 1 + 8 + appointments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_is_about_one_request_per_contact() {
        // The sandbox's seeded ratio: per 2,000 contacts about 2,041 tasks, 396 appointments.
        let cost = reconcile_cost_estimate(2_000, 2_041, 396);
        assert_eq!(cost, 20 + 2_000 + 21 + 9 + 396);
        assert!((cost as f64 / 2_000.0) < 1.4);
    }
}
