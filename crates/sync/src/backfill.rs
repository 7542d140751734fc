//! Backfill: importing a location's contacts, tasks, notes, appointments and appointment
//! notes from HighLevel into the store, once, when a location is connected (and again on
//! request).
//!
//! - **Three phases, each the cheapest listing HighLevel has.** `contacts`: contacts a page at
//!   a time from `POST /contacts/search` (sorted by `dateAdded` ascending, followed by their
//!   `searchAfter` cursor, which unlike page numbers does not stop at 10,000 and reaches
//!   contacts added meanwhile), each with its notes (HighLevel lists notes only per contact:
//!   one request each). `tasks`: every task of the location from task search, a page of 100
//!   at a time. `appointments`: every appointment of each calendar through calendar events
//!   (see [`crate::fetch::listing`]), each with its notes (one request each). That is about
//!   1.2 requests per contact where reading tasks, notes and appointments under every contact
//!   took 3.2; see BENCHMARKS.md.
//! - **Streaming.** At most one page is held (plus the next being fetched in the contacts
//!   phase), so memory stays flat however large the location.
//! - **Checkpoints.** After every page the phase's checkpoint is saved: the contacts' cursor
//!   or the tasks' offset, and the running counts. A backfill stopped anywhere (crash, kill,
//!   error) resumes after the last whole page of the phase it was in (the appointments phase,
//!   a few requests per calendar, starts that phase over); what is read again is harmless
//!   because every record goes through [`converge`] (an equal state writes nothing).
//!   `restart` forgets the checkpoints and starts over.
//! - **Rate limit.** Several contacts are imported at once (`concurrency`) so there are always
//!   requests waiting on the location's limiter and the budget is spent as fast as it allows;
//!   the limiter (shared with every other task on the location) keeps every window under
//!   HighLevel's limit, so no 429 comes back.
//! - **Quiet.** A record seen for the first time is not news for the feed (`announce=false`);
//!   a record already stored whose state differs is described as any change would be.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};
use ghl::api::{Location, SearchRequest};
use ghl::models::Contact;
use ghl::GhlError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{BackfillCheckpoint, Store, StoreError};

use crate::converge;
use crate::describe::Origin;

/// The phase names in `backfill_state`, in the order they run.
pub const PHASE_CONTACTS: &str = "contacts";
pub const PHASE_TASKS: &str = "tasks";
pub const PHASE_APPOINTMENTS: &str = "appointments";

/// What the location has spent of its rate limit, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Requests this backfill has sent (retries included).
    pub requests: u64,
    /// 429s this backfill has received.
    pub rate_limited: u64,
    /// The location's burst limit as HighLevel last reported it: `max` per `interval`.
    pub max: u32,
    pub interval: Duration,
    /// Requests left today, as HighLevel last reported.
    pub daily_remaining: Option<u64>,
}

/// Where a backfill is, for a progress bar (the binary implements it with `indicatif`). Every
/// method has a default that does nothing. Called from the backfill's task: keep them quick.
pub trait Progress: Send + Sync {
    /// A phase began: its name, the number of items if HighLevel said (the search's
    /// `total`), and how many were done by earlier runs (a resumed backfill).
    fn phase_started(&self, _phase: &str, _total: Option<u64>, _done_before: u64) {}
    /// `items` more contacts are imported (with their tasks, notes and appointments).
    fn advanced(&self, _items: u64) {}
    /// The rate-limit budget after a page.
    fn budget(&self, _budget: Budget) {}
    /// The backfill ended successfully.
    fn finished(&self, _report: &BackfillReport) {}
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {}

#[derive(Clone, Debug)]
pub struct BackfillOptions {
    /// Forget the checkpoint and import everything again.
    pub restart: bool,
    /// Contacts per search page (HighLevel allows up to 500; each page is one checkpoint).
    pub page_size: u32,
    /// Contacts imported at once.
    pub concurrency: usize,
    /// Which appointments the calendars are asked for.
    pub appointment_window: crate::fetch::listing::AppointmentWindow,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        BackfillOptions {
            restart: false,
            page_size: 100,
            concurrency: 8,
            appointment_window: Default::default(),
        }
    }
}

/// Records imported per kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub contacts: u64,
    pub tasks: u64,
    pub notes: u64,
    pub appointments: u64,
    pub appointment_notes: u64,
    /// Contacts deleted in HighLevel between being listed and being read: skipped.
    #[serde(default)]
    pub vanished: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.contacts += o.contacts;
        self.tasks += o.tasks;
        self.notes += o.notes;
        self.appointments += o.appointments;
        self.appointment_notes += o.appointment_notes;
        self.vanished += o.vanished;
    }
}

/// What a backfill run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BackfillReport {
    pub location_id: String,
    /// Imported by this run.
    pub imported: Counts,
    /// Imported by earlier, interrupted runs this one resumed.
    pub before: Counts,
    /// Search pages this run read.
    pub pages: u64,
    /// Requests this run sent (retries included) and 429s it received.
    pub requests: u64,
    pub rate_limited: u64,
    pub wall: Duration,
    /// The last backfill had finished: nothing was done (use `restart` to import again).
    pub already_complete: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("backfill of location {location} stopped while {during}: {source}; run the backfill again to resume from its last checkpoint")]
    HighLevel {
        location: String,
        during: String,
        #[source]
        source: GhlError,
    },
    #[error("backfill of location {location} stopped: the store failed ({source}); run the backfill again to resume from its last checkpoint")]
    Store {
        location: String,
        #[source]
        source: StoreError,
    },
    #[error("the backfill checkpoint of location {location} cannot be read ({reason}); start over with --restart")]
    BadCheckpoint { location: String, reason: String },
    #[error("backfill of location {location} stopped: {reason}; run the backfill again to resume")]
    Sync { location: String, reason: String },
}

/// A checkpoint's cursor JSON.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    /// Contacts: the `searchAfter` of the last contact of the last finished page.
    search_after: Option<Vec<Value>>,
    /// Tasks: how many the finished pages held (the next page's `skip`).
    #[serde(default)]
    skip: u32,
    counts: Counts,
}

/// Imports everything of `location` into `store` (see the module documentation).
pub async fn backfill(
    store: &Store,
    location: &Location,
    progress: &dyn Progress,
    opts: BackfillOptions,
) -> Result<BackfillReport, BackfillError> {
    let started = Instant::now();
    // An import waits behind everything else on the location's budget.
    let location = &location.clone().with_priority(ghl::api::Priority::Bulk);
    let lid = location.id().to_string();
    let limiter = location.limiter();
    let spent_before = limiter.usage();
    let store_err = |source| BackfillError::Store {
        location: lid.clone(),
        source,
    };
    if opts.restart {
        store.reset_backfill(&lid).await.map_err(store_err)?;
    }
    let checkpoints = store.backfill_checkpoints(&lid).await.map_err(store_err)?;
    let mut report = BackfillReport {
        location_id: lid.clone(),
        ..BackfillReport::default()
    };
    let mut phases = Vec::new();
    for phase in [PHASE_CONTACTS, PHASE_TASKS, PHASE_APPOINTMENTS] {
        let cp = checkpoints.iter().find(|c| c.phase == phase);
        let cursor: Cursor = match cp.and_then(|c| c.cursor.as_deref()) {
            Some(json) => serde_json::from_str(json).map_err(|e| BackfillError::BadCheckpoint {
                location: lid.clone(),
                reason: e.to_string(),
            })?,
            None => Cursor::default(),
        };
        report.before.add(&cursor.counts);
        phases.push((phase, cp.is_some_and(|c| c.done), cursor));
    }
    if phases.iter().all(|(_, done, _)| *done) {
        report.already_complete = true;
        report.wall = started.elapsed();
        progress.finished(&report);
        return Ok(report);
    }
    // Names, labels and the time zone first, so the imported records show with them.
    if let Err(e) = crate::context::refresh(store, location).await {
        tracing::warn!(location = %lid, error = %e, "the location's context was not read");
    }
    let listings = crate::fetch::listing::Listings::probe(location)
        .await
        .map_err(|e| sync_failed(&lid, "asking which listings the token may use", e))?;
    let parts = listings.per_contact_parts();
    let mut phases = phases.into_iter();
    let mut next = || phases.next().expect("three phases");
    let (_, done, cursor) = next();
    if !done {
        contacts_phase(store, location, progress, &opts, parts, cursor, &mut report).await?;
    }
    let (_, done, cursor) = next();
    if !done {
        if listings.task_search {
            tasks_phase(store, location, progress, cursor, &mut report).await?;
        } else {
            save_checkpoint(store, &lid, PHASE_TASKS, &cursor, 0, true).await?;
        }
    }
    let (_, done, cursor) = next();
    if !done {
        match &listings.calendars {
            Some(calendars) => {
                appointments_phase(store, location, progress, &opts, calendars, &mut report).await?
            }
            None => save_checkpoint(store, &lid, PHASE_APPOINTMENTS, &cursor, 0, true).await?,
        }
    }
    let spent = limiter.usage();
    report.requests = spent.requests - spent_before.requests;
    report.rate_limited = spent.rate_limited - spent_before.rate_limited;
    report.wall = started.elapsed();
    tracing::info!(
        location = %lid,
        contacts = report.imported.contacts,
        requests = report.requests,
        rate_limited = report.rate_limited,
        wall_ms = report.wall.as_millis() as u64,
        "backfill finished"
    );
    progress.finished(&report);
    Ok(report)
}

fn high_level(location: &str, during: String) -> impl FnOnce(GhlError) -> BackfillError {
    let location = location.to_string();
    move |source| BackfillError::HighLevel {
        location,
        during,
        source,
    }
}

fn store_failed(location: &str) -> impl FnOnce(StoreError) -> BackfillError + '_ {
    move |source| BackfillError::Store {
        location: location.to_string(),
        source,
    }
}

fn checkpoint(phase: &str, cursor: &Cursor, items: u64, done: bool) -> BackfillCheckpoint {
    BackfillCheckpoint {
        phase: phase.into(),
        cursor: Some(serde_json::to_string(cursor).unwrap_or_default()),
        items: items as i64,
        done,
    }
}

async fn save_checkpoint(
    store: &Store,
    location: &str,
    phase: &str,
    cursor: &Cursor,
    items: u64,
    done: bool,
) -> Result<(), BackfillError> {
    store
        .save_backfill_checkpoint(location, &checkpoint(phase, cursor, items, done))
        .await
        .map_err(store_failed(location))
}

/// Contacts page by page, each with its notes.
async fn contacts_phase(
    store: &Store,
    location: &Location,
    progress: &dyn Progress,
    opts: &BackfillOptions,
    parts: crate::fetch::Parts,
    cursor: Cursor,
    report: &mut BackfillReport,
) -> Result<(), BackfillError> {
    let lid = location.id().to_string();
    let spent_before = location.limiter().usage();
    let page_size = opts.page_size.clamp(1, 500);
    let base = SearchRequest::new()
        .page_limit(page_size)
        .sort_by("dateAdded", false);
    let request = |after: &Option<Vec<Value>>| match after {
        Some(a) => base.clone().after(a.clone()),
        None => base.clone(),
    };
    let mut totals = cursor.counts;
    let mut after = cursor.search_after;
    let mut page = location
        .search_contacts(&request(&after))
        .await
        .map_err(high_level(&lid, "listing contacts".into()))?;
    report.pages += 1;
    progress.phase_started(PHASE_CONTACTS, page.total, totals.contacts);
    loop {
        let contacts = std::mem::take(&mut page.contacts);
        if contacts.is_empty() {
            break;
        }
        let full = contacts.len() as u32 >= page_size;
        let last_cursor = contacts.last().and_then(|c| c.search_after.clone());
        let next = match (&last_cursor, full) {
            (Some(c), true) => Some(request(&Some(c.clone()))),
            _ => None,
        };
        let n = contacts.len() as u64;
        // The next page is fetched while this one is imported, so the limiter never idles
        // at a page boundary.
        let (imported, next_page) = tokio::join!(
            import_page(store, location, contacts, parts, opts.concurrency.max(1)),
            async {
                match &next {
                    Some(r) => Some(location.search_contacts(r).await),
                    None => None,
                }
            }
        );
        let imported = imported?;
        totals.add(&imported);
        report.imported.add(&imported);
        after = last_cursor.or(after);
        let cp = Cursor {
            search_after: after.clone(),
            skip: 0,
            counts: totals,
        };
        save_checkpoint(store, &lid, PHASE_CONTACTS, &cp, totals.contacts, false).await?;
        progress.advanced(n);
        progress.budget(budget(location, spent_before).await);
        match next_page {
            None => break,
            Some(p) => {
                page = p.map_err(high_level(
                    &lid,
                    format!("listing contacts after {} imported", totals.contacts),
                ))?;
                report.pages += 1;
            }
        }
    }
    let cp = Cursor {
        search_after: after,
        skip: 0,
        counts: totals,
    };
    save_checkpoint(store, &lid, PHASE_CONTACTS, &cp, totals.contacts, true).await
}

/// Every task of the location, a task-search page at a time, resumed at its offset.
async fn tasks_phase(
    store: &Store,
    location: &Location,
    progress: &dyn Progress,
    cursor: Cursor,
    report: &mut BackfillReport,
) -> Result<(), BackfillError> {
    let lid = location.id().to_string();
    progress.phase_started(PHASE_TASKS, None, cursor.counts.tasks);
    let totals = parking_lot::Mutex::new(cursor.counts);
    let imported = parking_lot::Mutex::new(Counts::default());
    let listed = crate::fetch::listing::for_each_task_page(location, None, cursor.skip, |page| {
        let (lid, totals, imported) = (&lid, &totals, &imported);
        async move {
            let n = page.records.len() as u64;
            for r in page.records {
                converge::apply_read(store, r, Origin::Backfill, false, page.read_at_ms).await?;
            }
            let counts = {
                let mut t = totals.lock();
                t.tasks += n;
                imported.lock().tasks += n;
                *t
            };
            let cp = Cursor {
                search_after: None,
                skip: page.next_skip,
                counts,
            };
            store
                .save_backfill_checkpoint(
                    lid,
                    &checkpoint(PHASE_TASKS, &cp, counts.tasks, page.last),
                )
                .await?;
            progress.advanced(n);
            Ok(())
        }
    })
    .await;
    report.imported.add(&imported.into_inner());
    listed
        .map(drop)
        .map_err(|e| sync_failed(&lid, "listing tasks", e))
}

/// A [`crate::error::SyncError`] of a listing as a backfill error.
fn sync_failed(location: &str, during: &str, e: crate::error::SyncError) -> BackfillError {
    match e {
        crate::error::SyncError::Ghl(e) => high_level(location, during.into())(e),
        crate::error::SyncError::Store(source) => BackfillError::Store {
            location: location.to_string(),
            source,
        },
        e => BackfillError::Sync {
            location: location.to_string(),
            reason: e.to_string(),
        },
    }
}

/// Every appointment of the location's calendars, each with its notes.
async fn appointments_phase(
    store: &Store,
    location: &Location,
    progress: &dyn Progress,
    opts: &BackfillOptions,
    calendars: &[String],
    report: &mut BackfillReport,
) -> Result<(), BackfillError> {
    let lid = location.id().to_string();
    progress.phase_started(PHASE_APPOINTMENTS, None, 0);
    let counts = parking_lot::Mutex::new(Counts::default());
    let window = opts.appointment_window;
    let pages =
        crate::fetch::listing::for_each_appointment_page(location, calendars, window, |page| {
            let counts = &counts;
            async move {
                let notes_read_at = now_ms();
                // Owned records: see `fetch::walk::everything`.
                let notes = stream::iter(page.records.clone())
                    .map(|a| async move { crate::fetch::notes_of(location, &a).await })
                    .buffer_unordered(opts.concurrency.max(1))
                    .collect::<Vec<_>>()
                    .await;
                let n = page.records.len() as u64;
                let read_at = page.read_at_ms;
                for rec in page.records {
                    converge::apply_read(store, rec, Origin::Backfill, false, read_at).await?;
                    counts.lock().appointments += 1;
                }
                for listed in notes {
                    for rec in listed?.unwrap_or_default() {
                        converge::apply_read(store, rec, Origin::Backfill, false, notes_read_at)
                            .await?;
                        counts.lock().appointment_notes += 1;
                    }
                }
                progress.advanced(n);
                Ok(())
            }
        })
        .await;
    pages.map_err(|e| sync_failed(&lid, "listing appointments", e))?;
    let counts = counts.into_inner();
    report.imported.add(&counts);
    let cp = Cursor {
        counts,
        ..Cursor::default()
    };
    save_checkpoint(
        store,
        &lid,
        PHASE_APPOINTMENTS,
        &cp,
        counts.appointments,
        true,
    )
    .await
}

async fn budget(location: &Location, before: ghl::ratelimit::Usage) -> Budget {
    let limiter = location.limiter();
    let now = limiter.usage();
    let (max, interval, daily_remaining) = limiter.limits().await;
    Budget {
        requests: now.requests - before.requests,
        rate_limited: now.rate_limited - before.rate_limited,
        max,
        interval,
        daily_remaining,
    }
}

async fn import_page(
    store: &Store,
    location: &Location,
    contacts: Vec<Contact>,
    parts: crate::fetch::Parts,
    concurrency: usize,
) -> Result<Counts, BackfillError> {
    stream::iter(contacts)
        .map(|c| import_contact(store, location, c, parts))
        .buffer_unordered(concurrency)
        .try_fold(Counts::default(), |mut acc, c| async move {
            acc.add(&c);
            Ok(acc)
        })
        .await
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A contact and what must be read under it: its notes (HighLevel lists them nowhere else),
/// and its tasks and appointments only when the token may not list them location-wide. A
/// state's version is HighLevel's `dateUpdated`, else the time it was read: what the API
/// answers now is the newest state known.
async fn import_contact(
    store: &Store,
    location: &Location,
    contact: Contact,
    parts: crate::fetch::Parts,
) -> Result<Counts, BackfillError> {
    let lid = location.id();
    let mut counts = Counts::default();
    let Some(w) = crate::fetch::walk_contact(location, &contact, parts)
        .await
        .map_err(|e| sync_failed(lid, &format!("reading under contact {}", contact.id), e))?
    else {
        // Search hits always carry an id; one without is not a contact that can be kept.
        tracing::warn!(location = %lid, "a search hit without an id was skipped");
        return Ok(counts);
    };
    drop(contact);
    let Some(children) = w.children else {
        // Deleted since the search listed it: its deletion is the poller's to record.
        counts.vanished += 1;
        return Ok(counts);
    };
    // The search page was asked for no later than the reads under the contact.
    converge::apply_read(store, w.contact, Origin::Backfill, false, w.read_at_ms)
        .await
        .map_err(store_failed(lid))?;
    counts.contacts += 1;
    for r in children {
        match r.kind {
            store::RecordKind::Task => counts.tasks += 1,
            store::RecordKind::Note => counts.notes += 1,
            store::RecordKind::Appointment => counts.appointments += 1,
            store::RecordKind::AppointmentNote => counts.appointment_notes += 1,
            store::RecordKind::Contact => {}
        }
        converge::apply_read(store, r, Origin::Backfill, false, w.read_at_ms)
            .await
            .map_err(store_failed(lid))?;
    }
    Ok(counts)
}
